package ioc

import (
	"encoding/binary"
	"strings"
)

// hexRuns finds whole hex patterns (the hashes of a list): such a pattern
// matches only as a whole run of name bytes (letters, digits, - and _)
// that is all hex and of its length. An 8-byte window every stride bytes,
// stride the shortest length less 7, lies inside each such run; a window
// that is all hex (few in a log are) is grown to its run, which is looked
// up whole when its length is one of the patterns'.
type hexRuns struct {
	ids    map[string][]int // lower-case hex → pattern IDs
	has    [129]bool        // has[n]: some pattern is n bytes long
	stride int
	maxLen int
}

// hexRunMin is the shortest pattern taken (an MD5 is 32).
const hexRunMin = 32

func isHexPattern(p Pattern) bool {
	if !p.Whole || len(p.Text) < hexRunMin || len(p.Text) > 128 {
		return false
	}
	for i := 0; i < len(p.Text); i++ {
		if !isHex(p.Text[i]) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f' }

func newHexRuns(ps []Pattern) *hexRuns {
	if len(ps) == 0 {
		return nil
	}
	h := &hexRuns{ids: make(map[string][]int, len(ps)), stride: 128}
	for _, p := range ps {
		k := strings.ToLower(p.Text)
		h.ids[k] = append(h.ids[k], p.ID)
		h.has[len(k)] = true
		h.stride = min(h.stride, len(k)-7)
		h.maxLen = max(h.maxLen, len(k))
	}
	return h
}

// allHex reports whether the 8 bytes of w are hex digits; it may say yes
// of a few control bytes too (0x10-0x19), which the caller checks again.
func allHex(w uint64) bool {
	const low7, high = 0x7f7f7f7f7f7f7f7f, 0x8080808080808080
	x := (w | 0x2020202020202020) & low7
	digit := (x + 0x5050505050505050) &^ (x + 0x4646464646464646) // 0x30-0x39
	alpha := (x + 0x1f1f1f1f1f1f1f1f) &^ (x + 0x1919191919191919) // 0x61-0x66
	return (digit|alpha)&^w&high == high
}

func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// scan calls fn for each pattern found whole in b ending in (from, to].
func (h *hexRuns) scan(b []byte, from, to int, fn func(id, start, end int)) {
	if h == nil {
		return
	}
	first := max(0, from-h.maxLen+1)
	first -= first % h.stride
	for i := first; i < to && i+8 <= len(b); i += h.stride {
		if !allHex(binary.LittleEndian.Uint64(b[i:])) {
			continue
		}
		// The next window to look at lies past this run.
		for e := h.run(b, i, from, to, fn); i+h.stride < e; {
			i += h.stride
		}
	}
}

// run looks up the run of name bytes around the all-hex window at b[i:]
// and returns where the run ends. The run is grown no further than a
// pattern could be long past the block: a host's file of one endless run
// costs one pass.
func (h *hexRuns) run(b []byte, i, from, to int, fn func(id, start, end int)) int {
	s, e := i, i
	for s > 0 && i-s <= 128 && nameByte(b[s-1]) {
		s--
	}
	for limit := min(len(b), max(to, i+8)+129); e < limit && nameByte(b[e]); {
		e++
	}
	n := e - s
	if n > 128 || !h.has[n] || e <= from || e > to || e < len(b) && b[e] == '.' && e+1 < len(b) && nameByte(b[e+1]) {
		return e
	}
	var key [128]byte
	for k := 0; k < n; k++ {
		c := b[s+k]
		if !isHex(c) {
			return e
		}
		key[k] = c | 0x20 // digits have the bit already
	}
	for _, id := range h.ids[string(key[:n])] {
		fn(id, s, e)
	}
	return e
}
