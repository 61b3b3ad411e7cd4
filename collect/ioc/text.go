package ioc

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// Text looks for a list's indicators in text. Hashes (whole hex patterns
// of 32 bytes or more) are found as runs of hex (hexRuns). Other patterns
// go to matchers by length, as the stride a matcher may take is set by
// its shortest pattern: those of 23 bytes or more (URLs, paths, many
// domains) to one looking at an 8-byte window every 16 bytes, those of 11
// to 22 to one looking at a 4-byte window every 8 to 16, shorter ones to
// one of their own, slower. IPv4 addresses, short and made of the digits
// and dots a log is full of, are found from their dots and looked up
// whole.
type Text struct {
	hex              *hexRuns
	long, mid, short *Matcher
	ipv4             map[[4]byte][]int
	quads            []uint64 // a filter of the addresses' hashes, before the map
	pairs            []uint64 // the addresses' first two bytes, a bit each
	maxLen           int
}

func quadBit(q [4]byte) uint32 {
	return (uint32(q[0])<<24 | uint32(q[1])<<16 | uint32(q[2])<<8 | uint32(q[3])) * 0x9E3779B1 >> 16
}

func newText(ps []Pattern, ipv4 map[[4]byte][]int) *Text {
	var hexes, long, mid, short []Pattern
	t := &Text{ipv4: ipv4, maxLen: 15}
	for _, p := range ps {
		switch {
		case isHexPattern(p):
			hexes = append(hexes, p)
		case len(p.Text) >= wide8:
			long = append(long, p)
		case len(p.Text) >= 11:
			mid = append(mid, p)
		default:
			short = append(short, p)
		}
		t.maxLen = max(t.maxLen, len(p.Text))
	}
	t.hex = newHexRuns(hexes)
	t.long, t.mid, t.short = NewMatcher(long), NewMatcher(mid), NewMatcher(short)
	t.quads = make([]uint64, 1<<16/64)
	t.pairs = make([]uint64, 1<<16/64)
	for q := range ipv4 {
		h := quadBit(q)
		t.quads[h>>6] |= 1 << (h & 63)
		t.pairs[int(q[0])<<2|int(q[1])>>6] |= 1 << (q[1] & 63)
	}
	if t.hex == nil && t.long == nil && t.mid == nil && t.short == nil && len(ipv4) == 0 {
		return nil
	}
	return t
}

// MaxLen is the longest text looked for.
func (t *Text) MaxLen() int { return t.maxLen }

// Scan calls fn(id, start, end) for every match in b ending past from.
// It goes through b a block at a time, each looked at by every matcher
// while it is in the cache.
func (t *Text) Scan(b []byte, from int, fn func(id, start, end int)) {
	if t == nil {
		return
	}
	for lo := from; lo < len(b); lo += scanBlock {
		hi := min(len(b), lo+scanBlock)
		if useKernels {
			t.long.scan(b, lo, hi, fn)
			t.mid.scan(b, lo, hi, fn)
			t.short.scan(b, lo, hi, fn)
			if t.hex != nil || len(t.ipv4) > 0 {
				t.scanMarked(b, lo, hi, fn)
			}
			continue
		}
		if t.hex != nil && t.long != nil && t.long.width == 8 && t.long.stride <= t.hex.stride {
			t.long.scanWithHex(t.hex, b, lo, hi, fn)
		} else {
			t.hex.scan(b, lo, hi, fn)
			t.long.scan(b, lo, hi, fn)
		}
		t.mid.scan(b, lo, hi, fn)
		t.short.scan(b, lo, hi, fn)
		if len(t.ipv4) > 0 {
			t.scanIPv4(b, lo, hi, fn)
		}
	}
}

// useKernels: hex runs and addresses are found from marks, and the long
// patterns' windows tested a KiB at a time (filterWords): with the fast
// kernels where there are (a test turns it on where there are none, and
// off where there are).
var useKernels = haveMarks

// scanBlock is how many bytes Scan looks for everything in at once: a
// fraction of a second-level cache. (A variable: tests make it small.)
var scanBlock = 128 << 10

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanIPv4 finds dotted quads standing alone (not inside a longer number,
// version or name) from the dots of b (bytes.IndexByte runs at memory
// speed). A dot with digits on both sides is taken further only when the
// numbers around it begin an address of the list (a table of 65,536
// bits, in the first-level cache): a log's versions, sizes and other
// addresses mostly stop there.
func (t *Text) scanIPv4(b []byte, from, to int, fn func(id, start, end int)) {
	for i := max(0, from-15); i < len(b); {
		k := bytes.IndexByte(b[i:], '.')
		if k < 0 {
			return
		}
		d := i + k
		if d >= to {
			return
		}
		// No dot in the digits and dots that follow begins an address:
		// each has a dot before its digits. The next dot looked at lies
		// past them (or past the block).
		for i = d + 1; i < to && (isDigit(b[i]) || b[i] == '.'); i++ {
		}
		if d == 0 || !isDigit(b[d-1]) {
			continue
		}
		s := d - 1
		for s > 0 && d-s < 3 && isDigit(b[s-1]) {
			s--
		}
		if s > 0 && (isDigit(b[s-1]) || b[s-1] == '.' || !alone(b, s-1)) {
			continue
		}
		t.ipv4At(b, s, d, from, to, fn)
	}
}

// ipv4At looks up the address that may begin at b[s:], whose first dot is
// b[d] (1 to 3 digits after s, with nothing before s that would continue
// them): first in the table of first two numbers, then whole.
func (t *Text) ipv4At(b []byte, s, d, from, to int, fn func(id, start, end int)) {
	if d+1 >= len(b) || !isDigit(b[d+1]) {
		return
	}
	n1 := 0
	for _, c := range b[s:d] {
		n1 = n1*10 + int(c-'0')
	}
	n2 := 0
	for k := d + 1; k < len(b) && k <= d+3 && isDigit(b[k]); k++ {
		n2 = n2*10 + int(b[k]-'0')
	}
	if n1 > 255 || n2 > 255 || t.pairs[n1<<2|n2>>6]&(1<<(n2&63)) == 0 {
		return
	}
	a, e, ok := parseQuad(b, s)
	if !ok {
		return
	}
	if e <= from || e > to || !alone(b, e) || (e < len(b) && b[e] == '.' && e+1 < len(b) && (isDigit(b[e+1]) || !alone(b, e+1))) {
		return
	}
	if h := quadBit(a); t.quads[h>>6]&(1<<(h&63)) == 0 {
		return
	}
	for _, id := range t.ipv4[a] {
		fn(id, s, e)
	}
}

// scanMarked finds hex runs and IPv4 addresses ending in (from, to] from
// where marks says they may begin.
func (t *Text) scanMarked(b []byte, from, to int, fn func(id, start, end int)) {
	lo := to
	if t.hex != nil {
		lo = max(0, from-t.hex.maxLen+1)
	}
	ipv4 := len(t.ipv4) > 0
	if ipv4 {
		// An address ending past from has its first dot at from-15 or
		// later; the 4 bytes before that say whether it stands alone
		// (the carry at lo is zero: the first 4 of lo's marks, before
		// from-15, may be wrong).
		lo = min(lo, max(0, from-19))
	}
	lo &^= 63
	// A span of hex beginning before to may run 15 bytes past it.
	end := min(len(b), to+16)
	var (
		out     [markGroups * 2]uint64
		pad     [64]byte
		carry   [2]uint64
		hexNext int // spans before it lie in a run looked up already
	)
	for p := lo; p < end; p += markGroups * 64 {
		n := min(end-p, markGroups*64)
		full := n &^ 63
		marks(b[p:p+full], &carry, out[:])
		if full < n {
			// The last bytes, padded with bytes of no class.
			pad = [64]byte{}
			copy(pad[:], b[p+full:p+n])
			marks(pad[:], &carry, out[full/32:])
		}
		for g := 0; g < (n+63)/64; g++ {
			dots, spans := out[2*g], out[2*g+1]
			if dots|spans == 0 {
				continue
			}
			base := p + g*64
			for ; dots != 0 && ipv4; dots &= dots - 1 {
				d := base + bits.TrailingZeros64(dots)
				if d >= to {
					break
				}
				if d >= 3 && d+5 <= len(b) && !t.pairAt(binary.LittleEndian.Uint64(b[d-3:d+5])) {
					continue
				}
				s := d - 1
				for s > 0 && d-s < 3 && isDigit(b[s-1]) {
					s--
				}
				t.ipv4At(b, s, d, from, to, fn)
			}
			for ; spans != 0 && t.hex != nil; spans &= spans - 1 {
				i := base + bits.TrailingZeros64(spans)
				if i >= to {
					break
				}
				if i >= hexNext {
					hexNext = t.hex.run(b, i, from, to, fn)
				}
			}
		}
	}
}

// pairAt reports whether the first two numbers around a dot, in v (the
// 3 bytes before it, the dot, the 4 after), may begin an address of the
// list: the table of first two numbers, with no branch on how many
// digits each has (a log's addresses have 1, 2 or 3 at random, and a
// branch on it is mispredicted half the time). An address's numbers are
// read right whatever v holds past them; what is not an address may pass,
// and ipv4At reads it whole.
func (t *Text) pairAt(v uint64) bool {
	// c is a byte less '0'; digit(c) is all ones if the byte is a
	// digit, by arithmetic shifts (an if here compiles to a branch).
	digit := func(c int64) int64 { return (c - 10) >> 63 &^ (c >> 63) }
	at := func(k uint) int64 { return int64(v>>(8*k)&0xff) - '0' }
	c0, c1, c2, c4, c5, c6 := at(0), at(1), at(2), at(4), at(5), at(6)
	d1 := digit(c1)
	n1 := c2 + (10*c1)&d1 + (100*c0)&d1&digit(c0)
	d5 := digit(c5)
	two := 10*c4 + c5
	n2 := c4 + (two-c4)&d5 + (10*two+c6-two)&d5&digit(c6)
	if uint64(n1) > 255 || uint64(n2) > 255 {
		return false
	}
	return t.pairs[n1<<2|n2>>6]&(1<<(n2&63)) != 0
}

// markGroups is how many 64-byte groups are marked at once: their marks
// (1 KiB) stay in the first-level cache with the bytes.
const markGroups = 64

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
