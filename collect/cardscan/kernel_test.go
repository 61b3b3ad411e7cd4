package cardscan

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/custos-ir/custos/internal/testenv"
)

// kernelRuns says whether the kernel can be compared with masksOf here.
// Without it in the build (not amd64, purego) blocks is blocksGo, masksOf
// itself: nothing to compare. A build with it on a machine that cannot
// run it (x86-64 without AVX2) fails under CI, whose machine must test
// it, and passes elsewhere.
func kernelRuns(t *testing.T) bool {
	t.Helper()
	if kernelBuilt && !haveKernel && testenv.CI() {
		t.Fatal("this machine has no AVX2: the AVX2 kernel goes untested (CI=true)")
	}
	return haveKernel
}

// checkBlocks: the kernel's masks of in's blocks are masksOf's.
func checkBlocks(t *testing.T, in []byte) {
	t.Helper()
	if !kernelRuns(t) {
		return
	}
	got := make([]blockMasks, len(in)/64)
	blocks(in, got)
	for i := range got {
		if want := masksOf(in[64*i:]); got[i] != want {
			t.Fatalf("block %d %q:\n got %064b %064b %064b\nwant %064b %064b %064b", i, in[64*i:64*i+64],
				got[i].digit, got[i].brand, got[i].card, want.digit, want.brand, want.card)
		}
	}
}

// TestBlocksEveryByte: every byte value at every place in a block, in one
// call of one to several blocks, and text dense in the classes.
func TestBlocksEveryByte(t *testing.T) {
	for shift := 0; shift < 64; shift++ {
		in := make([]byte, 256+128)
		for i := 0; i < 256; i++ {
			in[shift+i] = byte(i)
		}
		checkBlocks(t, in)
		checkBlocks(t, in[shift&^63:shift&^63+64]) // one block alone
	}
	// Each byte value alone in a block of each other byte value, at each place.
	for v := 0; v < 256; v++ {
		for _, fill := range []byte{0, '0', '4', ' ', '-', 'a', 0xff} {
			in := bytes.Repeat([]byte{fill}, 64*64)
			for k := 0; k < 64; k++ {
				in[65*k] = byte(v) // byte k of block k
			}
			checkBlocks(t, in)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	const alpha = "0123456789 -.a/+\x00\xff\xb0\xad"
	for n := 0; n < 500; n++ {
		in := make([]byte, 64*(1+r.IntN(70)))
		for i := range in {
			in[i] = alpha[r.IntN(len(alpha))]
		}
		checkBlocks(t, in)
	}
}

// TestRuns13: runs13 marks the bytes that begin 13 in a row, next's too.
func TestRuns13(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 20000; n++ {
		var c, next uint64
		// Long runs are what matters: set bits in runs.
		for k := r.IntN(6); k >= 0; k-- {
			at, l := r.IntN(128), r.IntN(20)
			for i := at; i < at+l && i < 128; i++ {
				if i < 64 {
					c |= 1 << i
				} else {
					next |= 1 << (i - 64)
				}
			}
		}
		if r.IntN(4) == 0 {
			c, next = r.Uint64()|r.Uint64(), r.Uint64()|r.Uint64()
		}
		want := uint64(0)
		for i := 0; i < 64; i++ {
			ok := true
			for j := i; j < i+13; j++ {
				if j < 64 && c>>j&1 == 0 || j >= 64 && next>>(j-64)&1 == 0 {
					ok = false
				}
			}
			if ok {
				want |= 1 << i
			}
		}
		if got := runs13(c, next); got != want {
			t.Fatalf("c %064b next %064b:\n got %064b\nwant %064b", c, next, got, want)
		}
	}
}

// TestCountKernelBoundaries: a number, or a chain too short by one, at
// every place across block boundaries and b's end, among text of each
// kind a chain may run into.
func TestCountKernelBoundaries(t *testing.T) {
	nums := []string{"4111111111111111", "4222222222222", "4111 1111 1111 1111", "3782-822463-10005",
		"422222222222", "1111111111111", "4111111111111111111", "4111.1111 1111 1111", "9792 0000 0000 0003"}
	fills := []string{"x", " ", "-", ".", "1", "4", "1 ", "4-", "a1"}
	tails, froms := []int{0, 1, 2, 13}, func(at, n, end int) []int { return []int{0, at, at + n/2, at + n, end} }
	if testing.Short() { // -race: the fills that make the longest chains, fewer ends
		fills, tails = []string{" ", "1", "4-"}, []int{0, 13}
		froms = func(at, n, end int) []int { return []int{0, at + n/2} }
	}
	for _, fill := range fills {
		for _, num := range nums {
			for at := 0; at < 200; at++ {
				for _, tail := range tails {
					in := []byte(string(bytes.Repeat([]byte(fill), 200))[:at] + num + string(bytes.Repeat([]byte(fill), 20))[:tail])
					for _, from := range froms(at, len(num), len(in)) {
						if got, want := countKernel(in, from), countGo(in, from); got != want {
							t.Fatalf("%q from %d: %d, countGo %d", in, from, got, want)
						}
					}
				}
			}
		}
	}
}

// dense maps b to text of the bytes that make and break chains, so that
// long chains, candidates and numbers are common.
func dense(b []byte, alphabet string) []byte {
	d := make([]byte, len(b))
	for i, c := range b {
		d[i] = alphabet[int(c)%len(alphabet)]
	}
	return d
}

// FuzzCountKernel: countKernel is countGo on any bytes and any from, on
// b itself, on b made dense in digits, separators, dots and letters, and
// on those cut to lengths about the blocks and the 13 bytes a start looks
// ahead.
func FuzzCountKernel(f *testing.F) {
	f.Add([]byte("4111111111111111"), uint16(0), uint8(0))
	f.Add([]byte("2024 4111 1111 1111 1111 ok 1.2 3-4.5 6-7.8 9 0 1 2 3 4111111111111111 x4111111111111111"), uint16(17), uint8(1))
	f.Add(bytes.Repeat([]byte("4111 1111 1111 1111 "), 10), uint16(64), uint8(2))
	f.Add(bytes.Repeat([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, 12), uint16(100), uint8(3))
	f.Add(nginxText(300), uint16(128), uint8(4))
	alphabets := []string{
		"0123456789",
		"0123456789 -",
		"4111 -",
		"0123456789 -.a",
		"44444444 -.x",
		"0123456789012345678901234567890123456789 -.a,",
		"1 2-3.4a5",
	}
	f.Fuzz(func(t *testing.T, b []byte, from uint16, mode uint8) {
		ins := [][]byte{b}
		if mode%2 == 1 {
			ins = append(ins, textOf(b))
		}
		d := dense(b, alphabets[int(mode/2)%len(alphabets)])
		ins = append(ins, d)
		// Lengths about a block's end and about 13 bytes before it.
		for _, n := range []int{63, 64, 65, 64 - 13, 64 - 12, 64 - 11, 127, 128, 129, 128 - 12, 128 + 12} {
			if n <= len(d) {
				ins = append(ins, d[:n])
			}
		}
		for _, in := range ins {
			for _, at := range []int{int(from) % (len(in) + 1), int(from), 0} {
				if got, want := countKernel(in, at), countGo(in, at); got != want {
					t.Fatalf("%q from %d: %d, countGo %d", in, at, got, want)
				}
			}
		}
	})
}

// FuzzBlocks: the kernel's masks are masksOf's, whatever the bytes and
// their alignment in memory.
func FuzzBlocks(f *testing.F) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	f.Add(all, uint8(0))
	f.Add([]byte("203.0.113.7 - - [30/Nov/2026] \"GET /a?_=1732156800123 HTTP/1.1\" 4111 1111-1111 1111"), uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, pad uint8) {
		buf := make([]byte, int(pad%64)+len(b)+64)
		copy(buf[pad%64:], b)
		in := buf[pad%64 : int(pad%64)+(len(b)+63)&^63]
		checkBlocks(t, in)
	})
}
