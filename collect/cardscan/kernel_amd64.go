//go:build !purego

package cardscan

import "golang.org/x/sys/cpu"

// haveKernel: the AVX2 kernel (kernel_amd64.s), built here, runs on this
// machine.
var haveKernel = cpu.X86.HasAVX2

// kernelBuilt: this build holds the kernel.
const kernelBuilt = true

//go:noescape
func blocksAVX2(p *byte, n int, out *blockMasks)

// blocks marks b's blocks, out[i] the i-th's (len(b) 64*len(out)).
func blocks(b []byte, out []blockMasks) {
	if len(out) == 0 {
		return
	}
	_ = b[64*len(out)-1]
	if !haveKernel {
		blocksGo(b, out) // the kernel would fault here
		return
	}
	blocksAVX2(&b[0], len(out), &out[0])
}
