//go:build !purego

package sha256x

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/custos-ir/custos/internal/testenv"
)

type mode struct {
	name string
	set  func() (restore func())
}

// modes: the kernels, if they run here, and crypto/sha256 as on an x86-64
// without SHA-NI.
func modes() []mode {
	std := mode{"crypto", func() func() {
		was := useSHANI
		useSHANI = false
		return func() { useSHANI = was }
	}}
	if !useSHANI {
		return []mode{std}
	}
	return []mode{{"sha-ni", func() func() { return func() {} }}, std}
}

// kernelRuns says whether the kernels can be compared with the reference
// here. A machine without SHA-NI cannot run them: under CI, whose machine
// must test them, that fails; elsewhere there is nothing to compare.
func kernelRuns(t *testing.T) bool {
	t.Helper()
	if !useSHANI && testenv.CI() {
		t.Fatal("this machine has no SHA-NI: the SHA-NI kernels go untested (CI=true)")
	}
	return useSHANI
}

var k256 = [64]uint32{
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

// refBlock is FIPS 180-4's compression function, written plainly.
func refBlock(h *[8]uint32, p []byte) {
	for ; len(p) >= 64; p = p[64:] {
		var w [64]uint32
		for i := range 16 {
			w[i] = binary.BigEndian.Uint32(p[4*i:])
		}
		for i := 16; i < 64; i++ {
			s0 := bits.RotateLeft32(w[i-15], -7) ^ bits.RotateLeft32(w[i-15], -18) ^ w[i-15]>>3
			s1 := bits.RotateLeft32(w[i-2], -17) ^ bits.RotateLeft32(w[i-2], -19) ^ w[i-2]>>10
			w[i] = w[i-16] + s0 + w[i-7] + s1
		}
		a, b, c, d, e, f, g, hh := h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]
		for i := range 64 {
			t1 := hh + (bits.RotateLeft32(e, -6) ^ bits.RotateLeft32(e, -11) ^ bits.RotateLeft32(e, -25)) +
				(e&f ^ ^e&g) + k256[i] + w[i]
			t2 := (bits.RotateLeft32(a, -2) ^ bits.RotateLeft32(a, -13) ^ bits.RotateLeft32(a, -22)) +
				(a&b ^ a&c ^ b&c)
			hh, g, f, e, d, c, b, a = g, f, e, d+t1, c, b, a, t1+t2
		}
		h[0] += a
		h[1] += b
		h[2] += c
		h[3] += d
		h[4] += e
		h[5] += f
		h[6] += g
		h[7] += hh
	}
}

// TestKernels: block and block2 are refBlock, for random states, block
// counts and alignments of p.
func TestKernels(t *testing.T) {
	if !kernelRuns(t) {
		return
	}
	r := rand.New(rand.NewPCG(6, 6))
	buf := random(r, 64*20+16)
	for i := range 5000 {
		var ha, hb [8]uint32
		for j := range 8 {
			ha[j], hb[j] = r.Uint32(), r.Uint32()
		}
		if i == 0 {
			ha, hb = iv, iv // both the same state
		}
		off := r.IntN(16)
		p := buf[off : off+64*r.IntN(20)]
		for j := range p {
			p[j] = byte(r.Uint32())
		}
		wa, wb := ha, hb
		refBlock(&wa, p)
		refBlock(&wb, p)
		g := ha
		block(&g, p)
		if g != wa {
			t.Fatalf("block, %d blocks: got %x want %x", len(p)/64, g, wa)
		}
		ga, gb := ha, hb
		block2(&ga, &gb, p)
		if ga != wa || gb != wb {
			t.Fatalf("block2, %d blocks: got %x %x want %x %x", len(p)/64, ga, gb, wa, wb)
		}
	}
}
