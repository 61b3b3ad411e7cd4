package ioc

// marks finds, 64 bytes of b at a time (len(b) a multiple of 64), where
// an IPv4 address or a hash may begin, as two words of a bit per byte
// (bit k: byte k of the 64) written to out (len(b)/32 words):
//
//   - the dots that may be an address's first: a dot after a run of 1
//     to 3 digits that follows a byte continuing nothing (not a letter,
//     digit, -, _ or dot, or b's start), and before 1 to 3 digits and a
//     second dot (bits 60-63: whatever follows; a log's versions, HTTP/1.1
//     and Mozilla/5.0, mostly stop here);
//   - the 16-byte spans, aligned in b, that are all hex digits (bits 0,
//     16, 32, 48): a hex run of 31 bytes or more fills one.
//
// carry is the digits and name bytes of the 64 bytes before b (zero
// before the text), and is left as those of b's last 64. A fast kernel
// does this 32 bytes at a time where the machine has one (haveMarks);
// the scan then looks at a log's dots and hex letters a few bit
// operations per 64 bytes, not a call or a window each.
func marks(b []byte, carry *[2]uint64, out []uint64) {
	if len(b) < 64 {
		return
	}
	_ = out[len(b)/32-1]
	if haveMarks {
		marksFast(b, carry, out)
		return
	}
	marksGeneric(b, carry, out)
}

// classes are a 64-byte group's masks: its dots, digits, bytes that
// continue a name or a number (letters, digits, -, _ and dots), and hex
// digits.
type classes struct{ dot, digit, name, hex uint64 }

func classify(g []byte) classes {
	var m classes
	for k, c := range g[:64] {
		bit := uint64(1) << k
		if c == '.' {
			m.dot |= bit
		}
		if isDigit(c) {
			m.digit |= bit
		}
		if c == '.' || !alone(g, k) {
			m.name |= bit
		}
		if isHex(c) {
			m.hex |= bit
		}
	}
	return m
}

// marksOf is one group's two words from its classes and its carry.
func marksOf(m classes, carry *[2]uint64) (dots, spans uint64) {
	pd, px := carry[0], carry[1]
	d1 := m.digit<<1 | pd>>63 // bit k: byte k-1 is a digit
	d2 := m.digit<<2 | pd>>62
	d3 := m.digit<<3 | pd>>61
	x2 := m.name<<2 | px>>62 // bit k: byte k-2 continues a name
	x3 := m.name<<3 | px>>61
	x4 := m.name<<4 | px>>60
	// After the dot, 1 to 3 digits and a second dot (bits 60-63: what
	// follows is not known, so they are kept).
	g1 := m.digit>>1 | 1<<63 // bit k: byte k+1 is a digit
	g2 := m.digit>>2 | 3<<62
	g3 := m.digit>>3 | 7<<61
	e2 := m.dot>>2 | 3<<62 // bit k: byte k+2 is a dot
	e3 := m.dot>>3 | 7<<61
	e4 := m.dot>>4 | 15<<60
	dots = m.dot & d1 & (^x2 | d2&^x3 | d2&d3&^x4) & g1 & (e2 | g2&e3 | g2&g3&e4)
	h := m.hex
	h &= h >> 8
	h &= h >> 4
	h &= h >> 2
	h &= h >> 1
	carry[0], carry[1] = m.digit, m.name
	return dots, h & 0x0001000100010001
}

// marksGeneric is marks a byte at a time: the reference the fast kernel
// is fuzzed against, and the kernel where there is none.
func marksGeneric(b []byte, carry *[2]uint64, out []uint64) {
	for g := 0; g+64 <= len(b); g += 64 {
		out[g/32], out[g/32+1] = marksOf(classify(b[g:g+64]), carry)
	}
}
