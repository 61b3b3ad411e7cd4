package ioc

import (
	"encoding/binary"
	"math/bits"
)

// Pattern is one text to look for. Whole patterns match only where they
// stand alone: not inside a longer name, number or hex string.
type Pattern struct {
	Text  string
	Whole bool
	ID    int
}

// Matcher finds many patterns in text at once, without regard to ASCII
// case. It looks at one window (4 or 8 bytes) every stride bytes only:
// each pattern files the windows at stride consecutive offsets of its
// own, so one aligned window of every occurrence is looked at. A filter
// of two bits in one word keeps the windows no pattern has to one memory
// access; candidates are compared in full.
type Matcher struct {
	pats   []pattern
	width  int // bytes per window: 8 when every pattern is long enough
	stride int
	maxLen int
	bits   uint // the filter has 1<<bits bits
	bloom  []uint64
	hshift uint     // a window's bucket is its filter hash >> hshift
	head   []uint32 // cands[head[h]:head[h+1]] are the windows in bucket h
	cands  []cand
	groups map[groupKey][]int32 // the patterns of a shared window (cand.p < 0)
	gbits  []uint64             // a bit per group key, tested before the map
}

// groupKey is a shared window, its offset in the patterns filing it, and
// a pattern's first 8 bytes.
type groupKey struct {
	w, head uint64
	off     int32
}

func (k groupKey) hash() uint64 { return mix(k.head^mix(k.w^uint64(k.off))) >> 20 }

type pattern struct {
	text   []byte // ASCII lower case
	whole  bool
	id     int
	anchor int // the first of its stride windows filed
}

type cand struct {
	w    uint64 // the window
	last uint32 // the pattern's last 4 bytes: a second, cheap test
	p    int32  // pattern index; -1: the patterns in groups
	off  int32  // the window's offset in the pattern
}

// groupMin is how many patterns filing one window at one offset are told
// apart by a map rather than one by one.
const groupMin = 4

// maxStride is the most bytes between windows looked at: each pattern
// files that many windows. When every pattern has wide8 bytes or more
// (URLs, paths, most domains) the windows are 8 bytes: fewer of them
// are shared between patterns or with the text. The filter has about
// bitsPerWindow bits per window filed (a few percent of the text's pass).
const (
	maxStride = 16
	wide8     = maxStride + 7
	maxBits   = 22 // the filter: 512 KiB at most
	// digitCost is what filing a window of digits only costs, counted
	// as patterns sharing it: about what a number-heavy log makes of it.
	digitCost     = 64
	bitsPerWindow = 16
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

// key8 and key4 are the 8 or 4 bytes at b as one word for the filter and
// the candidates, made case-blind the cheap way: bit 5 set in every byte
// folds A-Z onto a-z (and a few other bytes onto others, which the full
// comparison of a candidate tells apart).
func key8(b []byte) uint64 { return binary.LittleEndian.Uint64(b) | 0x2020202020202020 }

func key4(b []byte) uint64 { return uint64(binary.LittleEndian.Uint32(b) | 0x20202020) }

func (m *Matcher) windowAt(b []byte) uint64 {
	if m.width == 8 {
		return key8(b)
	}
	return key4(b)
}

// hash is a window's bucket among the candidates (its top m.bits bits)
// and the two bits it sets in its filter word.
func (m *Matcher) hash(w uint64) (h uint32, word uint64) {
	x := filterMix(w)
	return uint32(x >> (64 - m.bits)), wordBits(x)
}

// filterMix mixes a window for the filter: each half multiplied by a
// constant of its own, 32 by 32 bits into 64 (what AVX2 multiplies four
// windows at a time with, filter_amd64.s), the two products XORed. Their
// top bits depend on every bit of the window.
func filterMix(w uint64) uint64 {
	return uint64(uint32(w))*0x9E3779B1 ^ (w>>32)*0x85EBCA77
}

// filterWord is where a mixed window's two bits are in the filter: its
// top bits, after a constant shift (the loop over windows keeps its one
// variable shift register for the bits).
func (m *Matcher) filterWord(x uint64) int { return int(x>>filterShift) & (len(m.bloom) - 1) }

const filterShift = 48 // the filter has 1<<16 words at most (maxBits)

func mix(w uint64) uint64 { return (w ^ w>>29) * 0x9E3779B97F4A7C15 }

// wordBits are the two bits a mixed window sets in its filter word: from
// bits 36-47 of the mix, below the word's place.
func wordBits(x uint64) uint64 { return 1<<(x>>36&63) | 1<<(x>>42&63) }

// digits reports whether a window is digits only (as timestamps, ids and
// sizes in a log are): such windows are filed only where a pattern has
// no others (digitCost).
func digits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// NewMatcher builds a matcher; nil when there is nothing to look for.
// Patterns shorter than 4 bytes are ignored (Parse refuses them).
func NewMatcher(ps []Pattern) *Matcher {
	m := &Matcher{stride: maxStride, width: 8}
	for _, p := range ps {
		if len(p.Text) < 4 {
			continue
		}
		t := make([]byte, len(p.Text))
		for i := range t {
			t[i] = fold(p.Text[i])
		}
		m.pats = append(m.pats, pattern{text: t, whole: p.Whole, id: p.ID})
		if len(t) < wide8 {
			m.width = 4
		}
		m.maxLen = max(m.maxLen, len(t))
	}
	if len(m.pats) == 0 {
		return nil
	}
	for _, p := range m.pats {
		m.stride = min(m.stride, len(p.text)-m.width+1)
	}
	// Each pattern files the stride windows, among its own, that the
	// fewest patterns share and that are not all digits: a window many
	// patterns hold (".exa" of a thousand domains) would send every
	// occurrence of it in the text to a long list of candidates.
	windows := 0
	for _, p := range m.pats {
		windows += len(p.text) - m.width + 1
	}
	shared := make(map[uint64]int, windows) // (grown from empty, it is rehashed a dozen times)
	for _, p := range m.pats {
		for off := 0; off+m.width <= len(p.text); off++ {
			shared[m.windowAt(p.text[off:])]++
		}
	}
	var cost []int
	for i := range m.pats {
		p := &m.pats[i]
		cost = cost[:0]
		for off := 0; off+m.width <= len(p.text); off++ {
			c := shared[m.windowAt(p.text[off:])]
			if digits(p.text[off : off+m.width]) {
				c += digitCost
			}
			cost = append(cost, c)
		}
		// The cheapest run of stride windows.
		sum := 0
		for off := 0; off < m.stride; off++ {
			sum += cost[off]
		}
		best := sum
		for k := 1; k+m.stride <= len(cost); k++ {
			sum += cost[k+m.stride-1] - cost[k-1]
			if sum < best {
				best, p.anchor = sum, k
			}
		}
	}
	// The windows filed. Where many patterns file one window at one
	// offset (".example" of a thousand domains of one shape), they are
	// one candidate, told apart by their first 8 bytes through a map: a
	// common window in the text then costs one lookup, not a thousand
	// comparisons.
	type filing struct {
		w   uint64
		off int32
	}
	byFiling := make(map[filing][]int32, len(m.pats)*m.stride)
	var order []filing
	minLen := m.maxLen
	for i, p := range m.pats {
		minLen = min(minLen, len(p.text))
		for off := p.anchor; off < p.anchor+m.stride; off++ {
			f := filing{m.windowAt(p.text[off:]), int32(off)}
			if byFiling[f] == nil {
				order = append(order, f)
			}
			byFiling[f] = append(byFiling[f], int32(i))
		}
	}
	var cands []cand
	for _, f := range order {
		ps := byFiling[f]
		if len(ps) < groupMin || minLen < 8 {
			for _, i := range ps {
				t := m.pats[i].text
				cands = append(cands, cand{f.w, window(t[len(t)-4:]), i, f.off})
			}
			continue
		}
		if m.groups == nil {
			m.groups = map[groupKey][]int32{}
		}
		for _, i := range ps {
			k := groupKey{f.w, key8(m.pats[i].text), f.off}
			m.groups[k] = append(m.groups[k], i)
		}
		cands = append(cands, cand{f.w, 0, -1, f.off})
	}
	if len(m.groups) > 0 {
		n := 1 << 12
		for n < len(m.groups)*16 && n < 1<<22 {
			n <<= 1
		}
		m.gbits = make([]uint64, n/64)
		for k := range m.groups {
			h := k.hash() & uint64(n-1)
			m.gbits[h>>6] |= 1 << (h & 63)
		}
	}
	// The filter: about bitsPerWindow bits per window filed, two set in
	// one word.
	m.bits = 12
	for m.bits < maxBits && 1<<m.bits < len(cands)*bitsPerWindow {
		m.bits++
	}
	m.bloom = make([]uint64, 1<<(m.bits-6))
	// Candidates in one flat array sorted by bucket (about one window
	// each), found through head: no map lookup on the hot path.
	m.hshift = 6
	for m.hshift > 0 && 1<<(m.bits-m.hshift) < len(cands) {
		m.hshift--
	}
	count := make([]uint32, 1<<(m.bits-m.hshift)+1)
	for _, c := range cands {
		h, bits := m.hash(c.w)
		count[h>>m.hshift+1]++
		m.bloom[m.filterWord(filterMix(c.w))] |= bits
	}
	for i := 1; i < len(count); i++ {
		count[i] += count[i-1]
	}
	m.head = append([]uint32(nil), count...)
	m.cands = make([]cand, len(cands))
	for _, c := range cands {
		h, _ := m.hash(c.w)
		m.cands[count[h>>m.hshift]] = c
		count[h>>m.hshift]++
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
	m.scan(b, from, len(b), fn)
}

// scan is Scan of the matches ending in (from, to]; the bytes of b past
// to are context (whether a match stands alone).
func (m *Matcher) scan(b []byte, from, to int, fn func(id, start, end int)) {
	if m == nil {
		return
	}
	// A match starting at s is found at an aligned window within it;
	// start the windows early enough to see one ending past from.
	first := max(0, from-m.maxLen+1)
	first -= first % m.stride
	i := first
	if useKernels && m.width == 8 && m.stride == 16 {
		i = m.scanKiB(b, from, to, i, fn)
	}
	for ; i < to; i += m.stride {
		var w, x uint64
		if i, w, x = m.next(b, i, to); i >= to {
			return
		}
		m.check(b, from, to, i, w, uint32(x>>(64-m.bits)), fn)
	}
}

// scanKiB is scan of the windows from i on a KiB (64 windows) at a time,
// through filterWords, while a whole KiB lies before to and inside b; it
// returns where the windows left begin.
func (m *Matcher) scanKiB(b []byte, from, to, i int, fn func(id, start, end int)) int {
	var out [64]uint64
	for {
		words := min((min(to, len(b))-i)/1024, len(out))
		if words <= 0 {
			return i
		}
		filterWords(b[i:], words, m.bloom, out[:])
		for j, o := range out[:words] {
			for ; o != 0; o &= o - 1 {
				at := i + 1024*j + 16*bits.TrailingZeros64(o)
				w := key8(b[at : at+8])
				m.check(b, from, to, at, w, uint32(filterMix(w)>>(64-m.bits)), fn)
			}
		}
		i += 1024 * words
	}
}

// next is the first window at i, i+stride, ... before to (and 8 or 4
// bytes inside b) whose filter bits are set, with its key and mix; to if
// there is none. It calls nothing: the loop, run once per window, keeps
// everything in registers.
func (m *Matcher) next(b []byte, i, to int) (int, uint64, uint64) {
	// The two bits are tested one at a time (BTQ, no shift register),
	// the second seldom.
	bloom, mask, stride := m.bloom, uint64(len(m.bloom)-1), m.stride
	if m.width == 8 {
		for end := min(to, len(b)-7); i < end; i += stride {
			w := key8(b[i : i+8]) // (a slice of known length: no pointer masking)
			x := filterMix(w)
			f := bloom[x>>filterShift&mask]
			if f&(1<<(x>>36&63)) != 0 && f&(1<<(x>>42&63)) != 0 {
				return i, w, x
			}
		}
		return to, 0, 0
	}
	for end := min(to, len(b)-3); i < end; i += stride {
		w := key4(b[i : i+4])
		x := filterMix(w)
		f := bloom[x>>filterShift&mask]
		if f&(1<<(x>>36&63)) != 0 && f&(1<<(x>>42&63)) != 0 {
			return i, w, x
		}
	}
	return to, 0, 0
}

// scanWithHex is scan of an 8-byte matcher and hexRuns h in one pass:
// each window is loaded once, looked up in the filter and, outside a run
// of hex already looked at, tested for hex (h's stride is never shorter
// than the matcher's, so the matcher's windows serve it too).
func (m *Matcher) scanWithHex(h *hexRuns, b []byte, from, to int, fn func(id, start, end int)) {
	first := max(0, from-max(m.maxLen, h.maxLen)+1)
	first -= first % m.stride
	bloom, mask, stride := m.bloom, uint64(len(m.bloom)-1), m.stride
	hexNext := 0 // windows before it lie in a run of hex looked up already
	for i := first; i < to && i+8 <= len(b); i += stride {
		raw := binary.LittleEndian.Uint64(b[i:])
		if i >= hexNext && allHex(raw) {
			hexNext = h.run(b, i, from, to, fn)
		}
		w := raw | 0x2020202020202020 // key8
		x := filterMix(w)
		bits := wordBits(x)
		if bloom[x>>filterShift&mask]&bits == bits {
			m.check(b, from, to, i, w, uint32(x>>(64-m.bits)), fn)
		}
	}
}

// check compares the candidates of the window w at b[i:] in full.
func (m *Matcher) check(b []byte, from, to, i int, w uint64, h uint32, fn func(id, start, end int)) {
	hb := h >> m.hshift
	for _, c := range m.cands[m.head[hb]:m.head[hb+1]] {
		if c.w != w {
			continue
		}
		if c.p >= 0 {
			m.compare(b, from, to, int(c.p), i-int(c.off), c.last, fn)
			continue
		}
		s := i - int(c.off)
		if s < 0 || s+8 > len(b) {
			continue
		}
		k := groupKey{w, key8(b[s:]), c.off}
		if h := k.hash() & uint64(len(m.gbits)*64-1); m.gbits[h>>6]&(1<<(h&63)) == 0 {
			continue // a text of shared windows costs a bit test each, not a map lookup
		}
		for _, p := range m.groups[k] {
			t := m.pats[p].text
			m.compare(b, from, to, int(p), s, window(t[len(t)-4:]), fn)
		}
	}
}

// compare reports pattern p if it is at b[s:].
func (m *Matcher) compare(b []byte, from, to, pi, s int, last uint32, fn func(id, start, end int)) {
	p := &m.pats[pi]
	e := s + len(p.text)
	if s < 0 || e > to || e <= from || window(b[e-4:]) != last || !equalFold(b[s:e], p.text) {
		return
	}
	if p.whole && !(alone(b, s-1) && alone(b, e) && !(e < len(b) && b[e] == '.' && e+1 < len(b) && !alone(b, e+1))) {
		return
	}
	fn(p.id, s, e)
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
