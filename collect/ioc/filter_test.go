package ioc

import (
	"math/rand/v2"
	"testing"
)

// FuzzFilter: the fast filter kernel passes the windows filterGeneric
// does, whatever the bytes and the filter (its size and how full).
func FuzzFilter(f *testing.F) {
	f.Add([]byte("GET /wp-content/x85d9da8.php HTTP/1.1 cdn13-482e1335.example.net"), int64(1), uint8(10), uint8(2))
	f.Fuzz(func(t *testing.T, text []byte, seed int64, size, fill uint8) {
		if !kernelRuns(t) {
			return
		}
		r := rand.New(rand.NewPCG(uint64(seed), 5))
		words := 1 + r.IntN(3)
		b := make([]byte, words*1024)
		for i := range b {
			if len(text) > 0 {
				b[i] = text[i%len(text)]
			} else {
				b[i] = byte(r.Uint32())
			}
		}
		for i := 0; i < len(b)/64; i++ { // a few random bytes, unlike the text
			b[r.IntN(len(b))] = byte(r.Uint32())
		}
		bloom := make([]uint64, 1<<(size%17))
		for i := range bloom {
			for k := 0; k < int(fill%8); k++ {
				bloom[i] |= 1 << r.IntN(64)
			}
		}
		// Plant the windows of a few positions, so that some pass.
		mask := uint64(len(bloom) - 1)
		var planted []int
		for k := 0; k < 8; k++ {
			i := 16 * r.IntN(len(b)/16)
			x := filterMix(key8(b[i : i+8]))
			bloom[x>>filterShift&mask] |= wordBits(x)
			planted = append(planted, i)
		}
		want := make([]uint64, words)
		got := make([]uint64, words)
		filterGeneric(b, words, bloom, want)
		for _, i := range planted {
			if want[i/1024]&(1<<(i%1024/16)) == 0 {
				t.Fatalf("the window planted at %d does not pass", i)
			}
		}
		filterFast(b, words, bloom, got)
		for j := range want {
			if got[j] != want[j] {
				t.Fatalf("word %d: got %064b\nwant %064b", j, got[j], want[j])
			}
		}
	})
}
