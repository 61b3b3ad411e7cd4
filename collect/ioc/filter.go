package ioc

// filterWords tests the windows of b at 0, 16, 32, ... (64 to each KiB,
// words KiB of b) against a matcher's filter, as next does one at a
// time: bit k of out[j] is set when the two bits of the window at
// 1024*j+16*k are both in its word. A fast kernel does four windows at a
// time where the machine has one (haveMarks: the AVX2 of marks).
func filterWords(b []byte, words int, bloom []uint64, out []uint64) {
	if words == 0 {
		return
	}
	_, _ = b[words*1024-1], out[words-1]
	if haveMarks {
		filterFast(b, words, bloom, out)
		return
	}
	filterGeneric(b, words, bloom, out)
}

// filterGeneric is filterWords a window at a time: the reference the
// fast kernel is fuzzed against.
func filterGeneric(b []byte, words int, bloom []uint64, out []uint64) {
	mask := uint64(len(bloom) - 1)
	for j := 0; j < words; j++ {
		var o uint64
		for k := 0; k < 64; k++ {
			i := 1024*j + 16*k
			x := filterMix(key8(b[i : i+8]))
			f := bloom[x>>filterShift&mask]
			if f&(1<<(x>>36&63)) != 0 && f&(1<<(x>>42&63)) != 0 {
				o |= 1 << k
			}
		}
		out[j] = o
	}
}
