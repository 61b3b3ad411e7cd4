//go:build !amd64 || purego

package cardscan

// haveKernel: no kernel here; Count is countGo.
var haveKernel = false

// kernelBuilt: this build holds no kernel.
const kernelBuilt = false

// blocks marks b's blocks, out[i] the i-th's (len(b) 64*len(out)): in Go,
// for countKernel's tests.
func blocks(b []byte, out []blockMasks) { blocksGo(b, out) }
