package ioc

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/custos-ir/custos/internal/testenv"
)

// kernelRuns says whether the fast kernels can be compared with the Go
// references here. Without a kernel in the build (arm64, purego) the
// "fast" path is the reference itself: nothing to compare. A build with
// the kernels on a machine that cannot run them (x86-64 without AVX2)
// fails under CI, whose machine must test them, and passes elsewhere.
func kernelRuns(t *testing.T) bool {
	t.Helper()
	if kernelsBuilt && !haveMarks && testenv.CI() {
		t.Fatal("this machine has no AVX2: the AVX2 kernels go untested (CI=true)")
	}
	return haveMarks
}

// checkMarks: the fast kernel's marks and carry are marksGeneric's.
func checkMarks(t *testing.T, in []byte, carry [2]uint64) {
	t.Helper()
	if !kernelRuns(t) {
		return
	}
	want := make([]uint64, len(in)/32)
	got := make([]uint64, len(in)/32)
	wc, gc := carry, carry
	marksGeneric(in, &wc, want)
	marksFast(in, &gc, got)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("group %d word %d: got %064b\nwant %064b\\nbytes %q carry %x", i/2, i%2, got[i], want[i], in[i/2*64:i/2*64+64], carry)
		}
	}
	if gc != wc {
		t.Fatalf("carry: got %x want %x", gc, wc)
	}
}

// FuzzMarks: the fast kernel is marksGeneric, whatever the bytes, their
// alignment and the carry.
func FuzzMarks(f *testing.F) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	f.Add(all, int64(0))
	f.Add([]byte("203.0.113.7 - - [30/Nov/2026] \"GET /a-b_c?x=e3b0c44298fc1c149afbf4c8996fb924 HTTP/1.1\" 1.2.3"), int64(1))
	f.Fuzz(func(t *testing.T, b []byte, seed int64) {
		r := rand.New(rand.NewPCG(uint64(seed), 3))
		pad := r.IntN(64)
		buf := make([]byte, pad+len(b)+64)
		copy(buf[pad:], b)
		in := buf[pad : pad+(len(b)+63)&^63]
		if len(in) == 0 {
			return
		}
		checkMarks(t, in, [2]uint64{r.Uint64() & -uint64(r.IntN(2)), r.Uint64() & -uint64(r.IntN(2))})
	})
}

func TestMarksEveryByte(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for shift := 0; shift < 64; shift++ {
		in := make([]byte, 256+128)
		for i := 0; i < 256; i++ {
			in[shift+i] = byte(i)
		}
		checkMarks(t, in, [2]uint64{})
		checkMarks(t, in, [2]uint64{r.Uint64(), r.Uint64()})
	}
	// Text of the classes that matter, dense, in one to several runs of
	// four groups at a time and the groups left.
	const alpha = "0123456789.abcfgAFGz-_ /:"
	for n := 0; n < 2000; n++ {
		in := make([]byte, 64*(1+r.IntN(40)))
		for i := range in {
			in[i] = alpha[r.IntN(len(alpha))]
		}
		checkMarks(t, in, [2]uint64{r.Uint64(), r.Uint64()})
	}
}

// TestPairAt: the branch-free reading of the numbers around a dot is
// the table's answer for every first two numbers of an address, whatever
// stands before and after them.
func TestPairAt(t *testing.T) {
	quads := map[[4]byte][]int{}
	r := rand.New(rand.NewPCG(4, 4))
	for i := 0; i < 300; i++ {
		quads[[4]byte{byte(r.IntN(256)), byte(r.IntN(256)), 1, 2}] = []int{i}
	}
	tx := newText(nil, quads)
	for a := 0; a < 256; a++ {
		for c := 0; c < 256; c++ {
			s := fmt.Sprintf("%d.%d.", a, c)
			// The dot at byte 3 of 8: pad before with a byte that stands
			// alone, after with anything.
			pre := 3 - len(fmt.Sprint(a))
			var w [8]byte
			for i := range w {
				w[i] = byte(r.Uint32())
			}
			for i := 0; i < pre; i++ {
				w[i] = " ([/=,"[r.IntN(6)]
			}
			copy(w[pre:], s)
			want := tx.pairs[a<<2|c>>6]&(1<<(c&63)) != 0
			if got := tx.pairAt(binary.LittleEndian.Uint64(w[:])); got != want {
				t.Fatalf("%q: %v, want %v", w, got, want)
			}
		}
	}
}
