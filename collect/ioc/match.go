package ioc

import (
	"encoding/binary"
)

// Pattern is one text to look for. Whole patterns match only where they
// stand alone: not inside a longer name, number or hex string.
type Pattern struct {
	Text  string
	Whole bool
	ID    int
}

// Matcher finds many patterns in text at once, without regard to ASCII
// case. It looks at every stride-th 4-byte window only (stride is the
// shortest pattern's length less 3, at most 8): each pattern is filed
// under the windows at its first stride offsets, so one aligned window of
// every occurrence is looked at. A 1 Mbit filter keeps the windows no
// pattern has to a bit test; candidates are compared in full.
type Matcher struct {
	pats   []pattern
	stride int
	maxLen int
	bloom  []uint64
	head   []uint32 // cands[head[h]:head[h+1]] are the windows hashing to h
	cands  []cand
}

type pattern struct {
	text   []byte // ASCII lower case
	whole  bool
	id     int
	anchor int // the first of its stride windows filed
}

type cand struct {
	w    uint32 // the window
	last uint32 // the pattern's last 4 bytes: a second, cheap test
	p    int32  // pattern index
	off  int32  // the window's offset in the pattern
}

// The filter has 4 Mbit (512 KiB): a few percent of windows pass it with
// 10,000 patterns. Candidates are found through a table of 2^18 buckets
// (1 MiB), the filter's hash shortened.
const (
	bloomBits = 22
	headBits  = 18
)

func fold(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// window is the 4 bytes at b as one word, ASCII lower-cased (letters only:
// other bytes keep their value).
func window(b []byte) uint32 {
	w := binary.LittleEndian.Uint32(b)
	// Lower-case A-Z in all four bytes at once: set 0x20 in each byte
	// that is in 'A'..'Z'.
	heptets := w & 0x7f7f7f7f
	isGE := heptets + 0x3f3f3f3f // byte >= 'A' (0x41) sets bit 7
	isGT := heptets + 0x25252525 // byte > 'Z' (0x5a) sets bit 7
	upper := isGE &^ isGT &^ w & 0x80808080
	return w | upper>>2
}

func hash(w uint32) uint32 { return (w * 0x9E3779B1) >> (32 - bloomBits) }

// hash2 is the filter's second hash: a window passes only when both its
// bits are set (a repetitive log's common windows would otherwise hit
// one false bit on every line).
func hash2(w uint32) uint32 { return (w * 0x85EBCA77) >> (32 - bloomBits) }

// NewMatcher builds a matcher; nil when there is nothing to look for.
// Patterns shorter than 4 bytes are ignored (Parse refuses them).
func NewMatcher(ps []Pattern) *Matcher {
	m := &Matcher{stride: 8, bloom: make([]uint64, 1<<bloomBits/64)}
	for _, p := range ps {
		if len(p.Text) < 4 {
			continue
		}
		t := make([]byte, len(p.Text))
		for i := range t {
			t[i] = fold(p.Text[i])
		}
		m.pats = append(m.pats, pattern{text: t, whole: p.Whole, id: p.ID})
		m.stride = min(m.stride, len(t)-3)
		m.maxLen = max(m.maxLen, len(t))
	}
	if len(m.pats) == 0 {
		return nil
	}
	// Each pattern files the stride windows, among its own, that the
	// fewest patterns share: a window many patterns hold (".exa" of a
	// thousand domains) would send every occurrence of it in the text to
	// a long list of candidates.
	shared := map[uint32]int{}
	for _, p := range m.pats {
		for off := 0; off+4 <= len(p.text); off++ {
			shared[window(p.text[off:])]++
		}
	}
	for i := range m.pats {
		p := &m.pats[i]
		best := -1
		for k := 0; k+m.stride-1+4 <= len(p.text); k++ {
			cost := 0
			for off := k; off < k+m.stride; off++ {
				cost += shared[window(p.text[off:])]
			}
			if best < 0 || cost < best {
				best, p.anchor = cost, k
			}
		}
	}
	// Candidates in one flat array sorted by hash, found through head:
	// no map lookup on the hot path.
	count := make([]uint32, 1<<headBits+1)
	for _, p := range m.pats {
		for off := p.anchor; off < p.anchor+m.stride; off++ {
			w := window(p.text[off:])
			h, h2 := hash(w), hash2(w)
			count[h>>(bloomBits-headBits)+1]++
			m.bloom[h>>6] |= 1 << (h & 63)
			m.bloom[h2>>6] |= 1 << (h2 & 63)
		}
	}
	for i := 1; i < len(count); i++ {
		count[i] += count[i-1]
	}
	m.head = append([]uint32(nil), count...)
	m.cands = make([]cand, count[len(count)-1])
	for i, p := range m.pats {
		for off := p.anchor; off < p.anchor+m.stride; off++ {
			w := window(p.text[off:])
			h := hash(w) >> (bloomBits - headBits)
			m.cands[count[h]] = cand{w, window(p.text[len(p.text)-4:]), int32(i), int32(off)}
			count[h]++
		}
	}
	return m
}

// MaxLen is the longest pattern: a stream scanned in pieces keeps that
// much of the piece before, less one byte.
func (m *Matcher) MaxLen() int {
	if m == nil {
		return 0
	}
	return m.maxLen
}

// Scan calls fn(id, start, end) for every match in b whose end is past
// from (matches before it were found in an earlier call over the same
// bytes).
func (m *Matcher) Scan(b []byte, from int, fn func(id, start, end int)) {
	if m == nil {
		return
	}
	// A match starting at s is found at an aligned window within it;
	// start the windows early enough to see one ending past from.
	first := max(0, from-m.maxLen+1)
	first -= first % m.stride
	for i := first; i+4 <= len(b); i += m.stride {
		w := window(b[i:])
		h := hash(w)
		if m.bloom[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		if h2 := hash2(w); m.bloom[h2>>6]&(1<<(h2&63)) == 0 {
			continue
		}
		hb := h >> (bloomBits - headBits)
		for _, c := range m.cands[m.head[hb]:m.head[hb+1]] {
			if c.w != w {
				continue
			}
			p := &m.pats[c.p]
			s := i - int(c.off)
			e := s + len(p.text)
			if s < 0 || e > len(b) || e <= from || window(b[e-4:]) != c.last || !equalFold(b[s:e], p.text) {
				continue
			}
			if p.whole && !(alone(b, s-1) && alone(b, e) && !(e < len(b) && b[e] == '.' && e+1 < len(b) && !alone(b, e+1))) {
				continue
			}
			fn(p.id, s, e)
		}
	}
}

func equalFold(b, lower []byte) bool {
	for i, c := range lower {
		if fold(b[i]) != c {
			return false
		}
	}
	return true
}

// alone reports whether b[i] (out of range: yes) cannot continue a name,
// a number or a hex string.
func alone(b []byte, i int) bool {
	if i < 0 || i >= len(b) {
		return true
	}
	c := b[i]
	return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_')
}
