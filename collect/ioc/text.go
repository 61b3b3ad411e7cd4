package ioc

import (
	"bytes"
	"net/netip"
)

// Text looks for a list's indicators in text. Patterns of 11 bytes or more
// (hashes, most domains and strings) go to a matcher that looks at every
// 8th window; IPv4 addresses, which are short and made of the digits and
// dots a log is full of, are found from their dots (bytes.IndexByte runs
// at memory speed) and looked up whole; what short text is left goes to a
// matcher of its own, slower, and only when the list has some.
type Text struct {
	long, short *Matcher
	ipv4        map[[4]byte][]int
	quads       []uint64 // a filter of the addresses' hashes, before the map
	maxLen      int
}

func quadBit(q [4]byte) uint32 {
	return (uint32(q[0])<<24 | uint32(q[1])<<16 | uint32(q[2])<<8 | uint32(q[3])) * 0x9E3779B1 >> 16
}

func newText(ps []Pattern, ipv4 map[[4]byte][]int) *Text {
	var long, short []Pattern
	t := &Text{ipv4: ipv4, maxLen: 15}
	for _, p := range ps {
		if len(p.Text) >= 11 {
			long = append(long, p)
		} else {
			short = append(short, p)
		}
		t.maxLen = max(t.maxLen, len(p.Text))
	}
	t.long, t.short = NewMatcher(long), NewMatcher(short)
	t.quads = make([]uint64, 1<<16/64)
	for q := range ipv4 {
		h := quadBit(q)
		t.quads[h>>6] |= 1 << (h & 63)
	}
	if t.long == nil && t.short == nil && len(ipv4) == 0 {
		return nil
	}
	return t
}

// MaxLen is the longest text looked for.
func (t *Text) MaxLen() int { return t.maxLen }

// Scan calls fn(id, start, end) for every match in b ending past from.
func (t *Text) Scan(b []byte, from int, fn func(id, start, end int)) {
	if t == nil {
		return
	}
	t.long.Scan(b, from, fn)
	t.short.Scan(b, from, fn)
	if len(t.ipv4) > 0 {
		t.scanIPv4(b, from, fn)
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanIPv4 finds dotted quads standing alone (not inside a longer number,
// version or name) from the dots of b.
func (t *Text) scanIPv4(b []byte, from int, fn func(id, start, end int)) {
	for i := max(0, from-15); i < len(b); {
		k := bytes.IndexByte(b[i:], '.')
		if k < 0 {
			return
		}
		d := i + k
		i = d + 1
		if d == 0 || d+1 >= len(b) || !isDigit(b[d-1]) || !isDigit(b[d+1]) {
			continue
		}
		s := d - 1
		for s > 0 && d-s < 3 && isDigit(b[s-1]) {
			s--
		}
		if s > 0 && (isDigit(b[s-1]) || b[s-1] == '.' || !alone(b, s-1)) {
			continue
		}
		a, e, ok := parseQuad(b, s)
		if !ok {
			continue
		}
		i = max(i, e)
		if e <= from || !alone(b, e) || (e < len(b) && b[e] == '.' && e+1 < len(b) && (isDigit(b[e+1]) || !alone(b, e+1))) {
			continue
		}
		if h := quadBit(a); t.quads[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		for _, id := range t.ipv4[a] {
			fn(id, s, e)
		}
	}
}

// parseQuad reads a.b.c.d (each 0-255, no leading zeros past one digit)
// at b[s:], returning the address and where it ends.
func parseQuad(b []byte, s int) ([4]byte, int, bool) {
	var q [4]byte
	i := s
	for part := 0; part < 4; part++ {
		if part > 0 {
			if i >= len(b) || b[i] != '.' {
				return q, 0, false
			}
			i++
		}
		n, digits := 0, 0
		for i < len(b) && isDigit(b[i]) && digits < 4 {
			n = n*10 + int(b[i]-'0')
			i++
			digits++
		}
		if digits == 0 || digits > 3 || n > 255 || (digits > 1 && b[i-digits] == '0') {
			return q, 0, false
		}
		q[part] = byte(n)
	}
	return q, i, true
}

// quadOf is an IPv4 indicator's four bytes.
func quadOf(v string) ([4]byte, bool) {
	a, err := netip.ParseAddr(v)
	if err != nil || !a.Is4() {
		return [4]byte{}, false
	}
	return a.As4(), true
}
