//go:build !amd64 || purego

package ioc

// haveMarks: no fast kernel here; the scan finds dots with
// bytes.IndexByte and hex runs from 8-byte windows instead.
var haveMarks = false

// kernelsBuilt: this build holds no kernel.
const kernelsBuilt = false

func marksFast(b []byte, carry *[2]uint64, out []uint64) { marksGeneric(b, carry, out) }

func filterFast(b []byte, words int, bloom []uint64, out []uint64) {
	filterGeneric(b, words, bloom, out)
}
