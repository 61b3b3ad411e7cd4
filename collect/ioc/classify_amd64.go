//go:build !purego

package ioc

import "golang.org/x/sys/cpu"

// haveMarks: the AVX2 kernel (classify_amd64.s), built here, runs on this
// machine.
var haveMarks = cpu.X86.HasAVX2

// kernelsBuilt: this build holds the kernels.
const kernelsBuilt = true

//go:noescape
func marks4AVX2(p *byte, n int, carry *[2]uint64, out *uint64)

func marksFast(b []byte, carry *[2]uint64, out []uint64) {
	n := len(b) &^ 255
	if n > 0 {
		marks4AVX2(&b[0], n, carry, &out[0])
	}
	if n < len(b)&^63 { // the last groups, fewer than four
		marksGeneric(b[n:len(b)&^63], carry, out[n/32:])
	}
}

//go:noescape
func filterAVX2(p *byte, words int, bloom *uint64, mask uint64, out *uint64)

func filterFast(b []byte, words int, bloom []uint64, out []uint64) {
	filterAVX2(&b[0], words, &bloom[0], uint64(len(bloom)-1), &out[0])
}
