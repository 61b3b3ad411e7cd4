// Package cardscan counts payment-card-like numbers in a stream of bytes:
// 13 to 19 digits, plain or in groups split by single spaces or dashes (as
// cards are printed: "4111 1111 1111 1111", "3782-822463-10005"), starting
// with a prefix a card brand issues, passing the Luhn check, and not part
// of a word, a longer number or a decimal fraction.
//
// It flags; it never alters what it sees and never keeps a number: while
// digits stream past it holds at most the last 19 of them, and its results
// are a count and the offsets of the first few. A Scanner is an io.Writer
// that takes the plaintext in pieces of any size, so it can sit beside a
// hash in a one-pass pipeline; memory is constant.
//
// Chunks counts them in the chunks a collection takes, giving a Scanner
// only the few runs of digits that may hold one. On amd64 with AVX2 an
// assembly kernel (kernel_amd64.s) marks 64 bytes at a time where one may
// begin; elsewhere, and with -tags purego, Go finds them (countGo), with
// the same count.
package cardscan

import "encoding/binary"

// MaxOffsets is how many match offsets a Scanner keeps.
const MaxOffsets = 8

// maxDigits is the longest card number.
const maxDigits = 19

// group is a run of digits in a chain of groups.
type group struct {
	off    int64 // offset of its first digit
	n      int   // its digits (counted past maxDigits, kept up to it)
	digits [maxDigits]byte
	start  bool // may begin a number (not glued to a word or a decimal point)
}

// Scanner finds card-like numbers in what is written to it. The zero value
// is ready; Close ends the stream (a number at its very end counts then).
type Scanner struct {
	pos     int64 // offset of the next byte
	count   int
	offsets []int64

	groups [maxDigits + 1]group // the chain's last groups that a number may still use
	ng     int
	sep    byte // the chain's separator once known: ' ' or '-'
	// state between bytes
	inDigits   bool // the last byte was a digit of groups[ng-1]
	pendSep    byte // a separator after a group, waiting for a digit
	pendDot    bool // a '.' after a group, waiting to see whether a digit follows
	prevLetter bool // the byte before was a letter: a number cannot start here
	closed     bool
	onMatch    func(start, end int64) // Mask's
}

// class of a byte: digits, letters (which glue to a number), the rest.
const (
	cOther = iota
	cDigit
	cLetter
)

var class [256]uint8

func init() {
	for c := '0'; c <= '9'; c++ {
		class[c] = cDigit
	}
	for c := 'a'; c <= 'z'; c++ {
		class[c] = cLetter
		class[c-'a'+'A'] = cLetter
	}
}

// Write scans p. It never fails.
func (s *Scanner) Write(p []byte) (int, error) {
	for i := 0; i < len(p); i++ {
		if s.ng == 0 && !s.inDigits && s.pendSep == 0 && !s.pendDot && class[p[i]] != cDigit {
			// Text between numbers, the common case: skip to the next digit.
			j := i + 1
			for j < len(p) && class[p[j]] != cDigit {
				j++
			}
			s.prevLetter = class[p[j-1]] == cLetter
			s.pos += int64(j - i)
			i = j - 1
			continue
		}
		s.step(p[i])
		s.pos++
	}
	return len(p), nil
}

// step takes one byte through the state machine.
func (s *Scanner) step(c byte) {
	cl := class[c]
	if cl == cDigit {
		switch {
		case s.inDigits:
			s.addDigit(c)
		case s.pendDot:
			// digit '.' digit: a decimal fraction. The group before ends no
			// number, the one starting here begins none.
			s.pendDot = false
			s.reset()
			s.newGroup(c, false)
		case s.pendSep != 0:
			if s.sep != 0 && s.sep != s.pendSep {
				s.keepLast() // another separator: a new chain from the last group
			}
			s.sep, s.pendSep = s.pendSep, 0
			s.newGroup(c, true)
		default:
			s.newGroup(c, !s.prevLetter)
		}
		s.inDigits = true
		return
	}
	switch {
	case s.inDigits && (c == ' ' || c == '-'):
		s.endGroup()
		s.pendSep = c
	case s.inDigits && c == '.':
		s.pendDot = true // a decimal point or the end of a sentence: the next byte says
	case s.inDigits && cl == cLetter:
		s.reset() // glued to a word: this group ends no number
	case s.inDigits:
		s.endGroup()
		s.reset()
	case s.pendDot:
		s.pendDot = false // "4111...1111." and then not a digit
		s.endGroup()
		s.reset()
	case s.pendSep != 0:
		s.pendSep = 0 // two separators, or a separator and a non-digit: the chain ends
		s.reset()
	}
	s.inDigits = false
	s.prevLetter = cl == cLetter
}

func (s *Scanner) newGroup(c byte, start bool) {
	if s.ng == len(s.groups) {
		s.drop(1)
	}
	g := &s.groups[s.ng]
	s.ng++
	*g = group{off: s.pos, start: start}
	g.digits[0] = c - '0'
	g.n = 1
}

func (s *Scanner) addDigit(c byte) {
	g := &s.groups[s.ng-1]
	if g.n < maxDigits {
		g.digits[g.n] = c - '0'
	}
	g.n++
}

// endGroup is called when the last group ended cleanly: a number may end
// with it. Windows of groups ending here are tried, the earliest start
// first; a match consumes its groups.
func (s *Scanner) endGroup() {
	if s.ng == 0 {
		return
	}
	last := s.ng - 1
	total := 0
	first := last + 1
	for i := last; i >= 0; i-- {
		total += s.groups[i].n
		if total > maxDigits {
			break
		}
		first = i
	}
	// first..last is the widest window of at most maxDigits digits.
	total = 0
	for i := first; i <= last; i++ {
		total += s.groups[i].n
	}
	for i := first; i <= last; i++ {
		if total < 13 {
			break
		}
		if s.groups[i].start && s.check(i, last, total) {
			s.match(s.groups[i].off, s.groups[last].off+int64(s.groups[last].n))
			s.ng = 0
			s.sep = 0
			return
		}
		total -= s.groups[i].n
	}
	// Groups that no later window can use (too far back) are dropped.
	if first > 0 {
		s.drop(first)
	}
}

// check tests the digits of groups i..last as a card number.
func (s *Scanner) check(i, last, total int) bool {
	var d [maxDigits]byte
	k := 0
	for j := i; j <= last; j++ {
		g := &s.groups[j]
		k += copy(d[k:], g.digits[:g.n])
	}
	ok := Valid(d[:total])
	d = [maxDigits]byte{}
	return ok
}

func (s *Scanner) match(off, end int64) {
	if s.onMatch != nil {
		s.onMatch(off, end)
	}
	s.count++
	if len(s.offsets) < MaxOffsets {
		s.offsets = append(s.offsets, off)
	}
}

// drop forgets the first n groups.
func (s *Scanner) drop(n int) {
	copy(s.groups[:], s.groups[n:s.ng])
	for i := s.ng - n; i < s.ng; i++ {
		s.groups[i] = group{}
	}
	s.ng -= n
}

// keepLast starts a new chain with the last group only.
func (s *Scanner) keepLast() {
	if s.ng > 1 {
		s.drop(s.ng - 1)
	}
}

// reset ends the chain.
func (s *Scanner) reset() {
	for i := 0; i < s.ng; i++ {
		s.groups[i] = group{}
	}
	s.ng = 0
	s.sep = 0
}

// Close ends the stream: a number that the stream ends with is counted.
func (s *Scanner) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.inDigits || s.pendDot {
		s.inDigits, s.pendDot = false, false
		s.endGroup()
	}
	s.pendSep = 0
	s.reset()
	return nil
}

// Count is how many card-like numbers were seen.
func (s *Scanner) Count() int { return s.count }

// Offsets are the byte offsets of the first MaxOffsets of them.
func (s *Scanner) Offsets() []int64 { return s.offsets }

// Valid reports whether digits (values 0-9, not ASCII) are 13 to 19
// digits long, start with a prefix a card brand issues for that length,
// and pass the Luhn check.
func Valid(d []byte) bool {
	return len(d) >= 13 && len(d) <= maxDigits && brand(d) && luhn(d)
}

func luhn(d []byte) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i])
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

// prefix reads the first n digits as a number.
func prefix(d []byte, n int) int {
	v := 0
	for i := 0; i < n && i < len(d); i++ {
		v = v*10 + int(d[i])
	}
	return v
}

// brand reports whether a brand issues numbers of this length with this
// prefix (ISO/IEC 7812 ranges as the brands publish them). Prefix 1 (UATP)
// and 7, 8 (industry, petroleum, healthcare) are left out: they collide with
// Unix timestamps and identifiers far more often than they find cards.
func brand(d []byte) bool {
	n := len(d)
	in := func(lo, hi int, digits int) bool { p := prefix(d, digits); return p >= lo && p <= hi }
	switch d[0] {
	case 4: // Visa
		return n == 13 || n == 16 || n == 19
	case 5:
		switch {
		case in(51, 55, 2): // Mastercard
			return n == 16
		case in(506099, 506198, 6), in(507865, 507964, 6): // Verve
			return n == 16 || n == 18 || n == 19
		case in(508, 508, 3): // RuPay
			return n == 16
		case in(50, 50, 2), in(56, 59, 2): // Maestro
			return n >= 13
		}
	case 2:
		switch {
		case in(2221, 2720, 4): // Mastercard
			return n == 16
		case in(2200, 2204, 4): // Mir
			return n >= 16
		}
	case 3:
		switch {
		case in(34, 34, 2), in(37, 37, 2): // American Express
			return n == 15
		case in(3528, 3589, 4): // JCB
			return n >= 16
		case in(300, 305, 3), in(3095, 3095, 4), in(36, 36, 2), in(38, 39, 2): // Diners Club
			return n >= 14
		case in(353, 353, 3), in(356, 356, 3): // RuPay (JCB co-brand)
			return n == 16
		}
	case 6:
		switch {
		case in(6011, 6011, 4), in(644, 649, 3), in(65, 65, 2), in(622126, 622925, 6): // Discover
			return n >= 16
		case in(62, 62, 2): // UnionPay
			return n >= 16
		case in(60, 60, 2): // RuPay
			return n == 16
		case in(6304, 6304, 4), in(6759, 6759, 4), in(6761, 6763, 4), in(67, 69, 2), in(63, 63, 2), in(66, 66, 2), in(61, 61, 2): // Maestro and others of 6
			return n >= 13
		}
	case 9:
		return in(9792, 9792, 4) && n == 16 // Troy
	}
	return false
}

// Mask returns s with the digits of every card-like number in it replaced
// by 'X', and how many there were: for text custos renders itself (a
// statement a database server is running), never for evidence it stores
// as it found it.
func Mask(s string) (string, int) {
	var spans [][2]int64
	sc := Scanner{onMatch: func(a, b int64) { spans = append(spans, [2]int64{a, b}) }}
	sc.Write([]byte(s))
	sc.Close()
	if len(spans) == 0 {
		return s, 0
	}
	b := []byte(s)
	for _, sp := range spans {
		for i := sp[0]; i < sp[1]; i++ {
			if class[b[i]] == cDigit {
				b[i] = 'X'
			}
		}
	}
	return string(b), len(spans)
}

// Chunks counts card-like numbers in plaintext seen chunk by chunk (the
// collection pipeline's Counter): safe for concurrent use, no state.
type Chunks struct{}

// Count counts the numbers in b, a whole stream (one at its very end
// counts), that end after offset from: with from at the start of a chunk
// and b the end of the chunk before it and the start of this one, the
// numbers that straddle the two.
//
// It runs on every chunk of every artifact, and logs are full of digits
// (addresses, times, sizes) that would take a Scanner through its state
// machine byte by byte. So only chains that may hold a number are given
// to a Scanner (countGo says how and why that finds what one Scanner over
// all of b would). Where the machine has AVX2 (haveKernel), a kernel
// marks 64 bytes at a time where a number may begin and countKernel
// looks at the chains there only, a few bit operations per 64 bytes in
// between; elsewhere countGo walks b with an 8-byte prefilter. Both count
// the same.
func (Chunks) Count(b []byte, from int) int {
	if haveKernel {
		return countKernel(b, from)
	}
	return countGo(b, from)
}

// countGo is Count in Go alone: the reference the kernel's path is tested
// against, and Count where there is no kernel (not amd64, -tags purego,
// no AVX2).
//
// It runs on every chunk of every artifact, and logs are full of digits
// (addresses, times, sizes) that would take a Scanner through its state
// machine byte by byte. So countGo looks for chains first: digits each joined
// to the next by one ' ', '-' or '.' at most. A number the Scanner finds
// lies in one chain (any other byte, or two joiners, ends its groups), and
// only a chain that may hold one is given to a Scanner, with the byte on
// each side. That Scanner is in the state a scan of all of b would be in at
// the chain: the byte before it is neither a digit nor a joiner after one
// (or the chain would reach further), and such a byte leaves a Scanner with
// no groups and nothing pending, only whether it was a letter. After the
// chain, the byte after it and Close do what the byte after that would (it
// is no digit, or the chain would go on).
func countGo(b []byte, from int) int {
	n := 0
	s := Scanner{onMatch: func(_, end int64) {
		if end > int64(from) {
			n++
		}
	}}
	for p := 0; p+1 < len(b); {
		// The 13 digits or more of a number span 13 bytes or more with no two
		// non-digits side by side: a number that begins at p or later covers
		// a pair of bytes at p, p+12, p+24, ..., and one of the two is a digit.
		if link[b[p]]|link[b[p+1]] < lDigit { // neither is a digit
			p += 12
			continue
		}
		// The digits of a number are joined by ' ' or '-' only (the Scanner
		// drops its groups at digit '.' digit), and 13 of them span 13 bytes:
		// if that covers p and p+1, it covers the 8 bytes at p-6 or those at p.
		if p >= 6 && p+8 <= len(b) && !cardBytes(le.Uint64(b[p-6:])) && !cardBytes(le.Uint64(b[p:])) {
			p += 12
			continue
		}
		d := p
		if link[b[p]] < lDigit {
			d = p + 1
		}
		first, last, maybe := chain(b, d)
		if maybe && last+1 > from { // a number ends at last+1 at most
			s.rescan(b, first, last)
		}
		p = last + 1 // the next chain begins after b[last+1]
	}
	return n
}

// rescan takes the chain first..last of b, with the byte on each side,
// through a new Scanner that reports to the same onMatch.
func (s *Scanner) rescan(b []byte, first, last int) {
	lo, hi := max(first-1, 0), min(last+2, len(b))
	*s = Scanner{pos: int64(lo), onMatch: s.onMatch, offsets: s.offsets[:0]}
	s.Write(b[lo:hi])
	s.Close()
}

// Bytes as the prefilter of Chunks.Count sees them.
const (
	lOther = iota
	lJoin  // may join two digits of a chain: ' ', '-', '.'
	lDigit // a digit no brand's numbers begin with: 0, 1, 7, 8
	lBrand // a digit some brand's numbers begin with (see brand)
)

var link [256]uint8

func init() {
	for c := '0'; c <= '9'; c++ {
		link[c] = lDigit
	}
	for _, c := range "234569" {
		link[c] = lBrand
	}
	link[' '], link['-'], link['.'] = lJoin, lJoin, lJoin
}

const (
	ones = 0x0101010101010101
	high = 0x8080808080808080 // the top bit of each byte
)

var le = binary.LittleEndian

// cardBytes reports whether the 8 bytes of w are all digits, ' ' or '-',
// testing them at once (SWAR): it is asked at most bytes with digits.
func cardBytes(w uint64) bool {
	// No byte borrows from the next: each is 0x80 or more once w|high.
	digit := ((w | high) - '0'*ones) &^ ((w | high) - ('9'+1)*ones) &^ w
	return (digit|is(w, ' ')|is(w, '-'))&high == high
}

// is marks with its top bit each byte of w that is c.
func is(w uint64, c byte) uint64 {
	t := w ^ uint64(c)*ones // bytes that were c are 0
	return ^((t&^high + ^uint64(high)) | t) & high
}

// chain finds the chain around the digit b[d], its first and last digits,
// and whether a number may lie in it. A number begins a run of digits (a
// Scanner's group) with a digit that begins some brand's numbers, so it may
// if 13 digits or more follow the first such digit (with it) in the chain:
// the millisecond times of logs begin with 1. It goes run by run, not byte
// by byte through a switch: the branches are taken as predicted.
func chain(b []byte, d int) (first, last int, maybe bool) {
	first = d
	for {
		for first > 0 && link[b[first-1]] >= lDigit {
			first--
		}
		if first < 2 || link[b[first-1]] != lJoin || link[b[first-2]] < lDigit {
			break
		}
		first -= 2
	}
	digits, mark := 0, -1
	for j := first; ; j = last + 2 {
		if mark < 0 && link[b[j]] == lBrand {
			mark = digits
		}
		last = j
		for last+1 < len(b) && link[b[last+1]] >= lDigit {
			last++
		}
		digits += last + 1 - j
		if last+2 >= len(b) || link[b[last+1]] != lJoin || link[b[last+2]] < lDigit {
			break
		}
	}
	return first, last, mark >= 0 && digits-mark >= 13
}

// Reach is the longest number with its separators, and the byte on each
// side that decides whether it stands alone.
func (Chunks) Reach() int { return 2*maxDigits + 1 }
