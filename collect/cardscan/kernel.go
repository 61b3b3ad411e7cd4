package cardscan

import "math/bits"

// blockMasks are a 64-byte block's bytes of the classes a number's start
// is told by, a bit per byte (bit k: byte k of the 64).
type blockMasks struct {
	digit uint64 // 0-9
	brand uint64 // a digit some brand's numbers begin with: 2-6, 9 (see brand)
	card  uint64 // a digit, ' ' or '-': what a number with its separators is made of
}

// masksOf is the masks of up to 64 bytes, bytes past b's end in none: the
// reference the kernel is tested against, and the masks of b's last bytes
// where they fill no block.
func masksOf(b []byte) blockMasks {
	var m blockMasks
	for k, c := range b[:min(len(b), 64)] {
		bit := uint64(1) << k
		if link[c] >= lDigit {
			m.digit |= bit
			m.card |= bit
		}
		if link[c] == lBrand {
			m.brand |= bit
		}
		if c == ' ' || c == '-' {
			m.card |= bit
		}
	}
	return m
}

// blocksGo is the kernel's work in Go: out[i] is the masks of b's i-th 64
// bytes (len(b) at least 64*len(out)).
func blocksGo(b []byte, out []blockMasks) {
	for i := range out {
		out[i] = masksOf(b[64*i : 64*i+64])
	}
}

// batch is how many blocks' masks the kernel marks at a call: 4 KiB of b,
// 1.5 KiB of masks on the stack.
const batch = 64

// countKernel is countGo's count, the chains found from the masks. A
// number the Scanner finds begins at a byte that
//   - is a digit some brand's numbers begin with (brand is false for the
//     others);
//   - starts a run of digits: the byte before is no digit, or b begins
//     there (a Scanner's groups begin so);
//   - starts 13 bytes or more of digits, ' ' and '-': its 13 digits or
//     more, joined by single separators of one kind.
//
// Those are the candidates: a few bit operations on each 64 bytes' masks
// find them, and most blocks of a log have none (its times begin with 1,
// its addresses and sizes are short, and a digit in a long run starts
// none). Each candidate's chain is looked at as countGo does: chains are
// disjoint, so the candidates in one already looked at are skipped, and a
// chain with no candidate holds no number. countGo looks at every chain
// that holds one too, with the same Scanner over the same bytes: the two
// count the same.
func countKernel(b []byte, from int) int {
	n := 0
	s := Scanner{onMatch: func(_, end int64) {
		if end > int64(from) {
			n++
		}
	}}
	var m [batch + 1]blockMasks
	words := (len(b) + 63) / 64 // the last may be part of a block
	full := len(b) / 64
	p := 0                  // the chains before b[p] are done
	var digitsBefore uint64 // the digits of the block before
	for w0 := 0; w0 < words; w0 += batch {
		k := min(batch, words-w0) // blocks counted at this batch
		// Their masks and the next block's (the 13 bytes from one of the
		// last 12 reach into it), if b goes on.
		withNext := min(k+1, words-w0)
		f := min(w0+withNext, full) - w0
		blocks(b[64*w0:64*(w0+f)], m[:f])
		if f < withNext { // b's last bytes, fewer than 64
			m[f] = masksOf(b[64*(w0+f):])
		}
		if withNext == k {
			m[k] = blockMasks{} // nothing after b
		}
		for j := 0; j < k; j++ {
			cur := &m[j]
			// All of it, whether or not there are starts: a branch on
			// those would be mispredicted often (random bytes have one
			// per block or so), one on cand seldom.
			cand := cur.brand &^ (cur.digit<<1 | digitsBefore>>63) & runs13(cur.card, m[j+1].card)
			digitsBefore = cur.digit
			if cand == 0 {
				continue
			}
			base := 64 * (w0 + j)
			if p > base {
				cand &= ^uint64(0) << uint(p-base) // those in a chain already looked at
			}
			for cand != 0 {
				first, last, maybe := chain(b, base+bits.TrailingZeros64(cand))
				if maybe && last+1 > from { // a number ends at last+1 at most
					s.rescan(b, first, last)
				}
				p = last + 1
				cand &= ^uint64(0) << uint(p-base) // 0 past the block
			}
		}
	}
	return n
}

// runs13 marks the bytes of a block that begin 13 bytes in a row of the
// class marked in c, next the same class of the block after: runs of 2,
// then 4, 8 and 13, each the run before ANDed with itself further on. The
// run of 13 from byte 63 reaches byte 11 of the next block; next's own
// runs, up to the 8 from its byte 4, need none of the block after it.
func runs13(c, next uint64) uint64 {
	n1 := next & (next >> 1)
	n2 := n1 & (n1 >> 2)
	n4 := n2 & (n2 >> 4)
	c1 := c & (c>>1 | next<<63)
	c2 := c1 & (c1>>2 | n1<<62)
	c4 := c2 & (c2>>4 | n2<<60)
	return c4 & (c4>>5 | n4<<59)
}
