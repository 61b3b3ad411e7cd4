package cardscan

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

func scan(s string) (int, []int64) {
	var sc Scanner
	sc.Write([]byte(s))
	sc.Close()
	return sc.Count(), sc.Offsets()
}

func TestScan(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{"4111111111111111", 1},
		{"card=4111111111111111&x=1", 1},
		{`{"cc":"5555555555554444"}`, 1},
		{"4111 1111 1111 1111", 1},
		{"4111-1111-1111-1111", 1},
		{"amex 3782 822463 10005 ok", 1},   // 4-6-5
		{"378282246310005", 1},             // Amex
		{"6011111111111117", 1},            // Discover
		{"3530111333300000", 1},            // JCB
		{"30569309025904", 1},              // Diners, 14
		{"2223003122003222", 1},            // Mastercard 2-series
		{"6200000000000005", 1},            // UnionPay
		{"4222222222222", 1},               // Visa, 13
		{"4111111111111112", 0},            // Luhn fails
		{"411111111111", 0},                // 12 digits
		{"41111111111111111111", 0},        // 20 digits: a longer number
		{"x4111111111111111", 0},           // glued to a word
		{"4111111111111111x", 0},           // glued to a word
		{"ab4111111111111111cd", 0},        // inside a hex digest
		{"0.4111111111111111", 0},          // a decimal fraction
		{"4111111111111111.5", 0},          // a decimal
		{"paid with 4111111111111111.", 1}, // end of a sentence
		{"1732156800123456789", 0},         // a timestamp in ns (prefix 1)
		{"9111111111111111", 0},            // no brand issues 9111
		{"4111 1111-1111 1111", 0},         // mixed separators are two chains
		{"4111  1111 1111 1111", 0},        // two spaces end the chain
		{"2024 4111 1111 1111 1111 ok", 1}, // a year before the number
		{"4111111111111111 2030", 1},       // an expiry after it
		{"4111111111111111,5555555555554444", 2},
		{"4111 1111 1111 1111 5555 5555 5555 4444", 2},
		{"", 0},
		{"12:34:56 10.0.0.1 GET /a?id=123456 200 5123", 0},
		{"ref 4111111111111111", 1},
		{"\n4111111111111111\n", 1},
	} {
		if got, _ := scan(c.in); got != c.want {
			t.Errorf("%q: %d card-like numbers, want %d", c.in, got, c.want)
		}
	}
	if _, off := scan("card=4111 1111 1111 1111 and 5555555555554444"); len(off) != 2 || off[0] != 5 || off[1] != 29 {
		t.Errorf("offsets %v", off)
	}
	if m, n := Mask("select * from t where pan='4111111111111111' and id=12"); n != 1 || strings.Contains(m, "4111") || !strings.Contains(m, "id=12") {
		t.Errorf("mask %q %d", m, n)
	}
}

// luhnComplete appends the check digit that makes d pass.
func luhnComplete(d []byte) []byte {
	for c := byte(0); c < 10; c++ {
		if luhn(append(append([]byte(nil), d...), c)) {
			return append(d, c)
		}
	}
	panic("unreachable")
}

var brands = []struct {
	prefix string
	n      []int
}{{"4", []int{13, 16, 19}}, {"51", []int{16}}, {"55", []int{16}}, {"2221", []int{16}}, {"2720", []int{16}},
	{"34", []int{15}}, {"37", []int{15}}, {"6011", []int{16, 19}}, {"65", []int{16}}, {"3528", []int{16}}, {"3589", []int{19}},
	{"36", []int{14}}, {"62", []int{16, 19}}, {"2200", []int{16}}}

// randomCard makes a valid number of a random brand and length, printed
// plain or in groups.
func randomCard(r *rand.Rand) string {
	b := brands[r.IntN(len(brands))]
	n := b.n[r.IntN(len(b.n))]
	d := []byte{}
	for _, c := range b.prefix {
		d = append(d, byte(c-'0'))
	}
	for len(d) < n-1 {
		d = append(d, byte(r.IntN(10)))
	}
	d = luhnComplete(d)
	var s strings.Builder
	sep := []string{"", " ", "-"}[r.IntN(3)]
	for i, v := range d {
		if sep != "" && i > 0 && i%4 == 0 {
			s.WriteString(sep)
		}
		s.WriteByte('0' + v)
	}
	return s.String()
}

// noise is text with no digits in it, ending and starting at a boundary.
func noise(r *rand.Rand) string {
	words := []string{" GET /checkout ", " [info] ", "\n", " user=jane ", ` "ok": `, ", ", " <script>", " ; "}
	var s strings.Builder
	for i := r.IntN(4) + 1; i > 0; i-- {
		s.WriteString(words[r.IntN(len(words))])
	}
	return s.String()
}

// writeSplit writes b in random pieces.
func writeSplit(r *rand.Rand, sc *Scanner, b []byte) {
	for len(b) > 0 {
		n := r.IntN(len(b)) + 1
		if r.IntN(3) == 0 {
			n = min(n, r.IntN(3)+1)
		}
		sc.Write(b[:n])
		b = b[n:]
	}
	sc.Close()
}

// Property: every card embedded in digit-free text is found, at its
// offset, however the stream is cut into writes.
func TestProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 3000; iter++ {
		var text strings.Builder
		var want []int64
		text.WriteString(noise(r))
		for k := r.IntN(5); k > 0; k-- {
			want = append(want, int64(text.Len()))
			text.WriteString(randomCard(r))
			text.WriteString(noise(r))
		}
		var sc Scanner
		writeSplit(r, &sc, []byte(text.String()))
		if sc.Count() != len(want) {
			t.Fatalf("%q: %d found, want %d", text.String(), sc.Count(), len(want))
		}
		for i, off := range sc.Offsets() {
			if off != want[i] {
				t.Fatalf("%q: offsets %v, want %v", text.String(), sc.Offsets(), want)
			}
		}
	}
}

// FuzzScan: on any input, cutting the stream into pieces changes nothing,
// and every offset starts a number that passes the checks.
func FuzzScan(f *testing.F) {
	for _, s := range []string{"4111111111111111", "4111 1111 1111 1111", "0.4111111111111111", "x 3782-822463-10005 y", "12.34.56 4111"} {
		f.Add([]byte(s), uint64(1))
	}
	f.Fuzz(func(t *testing.T, b []byte, seed uint64) {
		var whole Scanner
		whole.Write(b)
		whole.Close()
		var parts Scanner
		writeSplit(rand.New(rand.NewPCG(seed, 7)), &parts, b)
		if whole.Count() != parts.Count() || len(whole.Offsets()) != len(parts.Offsets()) {
			t.Fatalf("whole %d %v, in pieces %d %v", whole.Count(), whole.Offsets(), parts.Count(), parts.Offsets())
		}
		for i, off := range whole.Offsets() {
			if parts.Offsets()[i] != off {
				t.Fatalf("offsets differ: %v %v", whole.Offsets(), parts.Offsets())
			}
			if off < 0 || off >= int64(len(b)) || class[b[off]] != cDigit {
				t.Fatalf("offset %d is not a digit of %q", off, b)
			}
			var d []byte
			for j := off; j < int64(len(b)) && len(d) < maxDigits; j++ {
				if class[b[j]] == cDigit {
					d = append(d, b[j]-'0')
				} else if b[j] != ' ' && b[j] != '-' {
					break
				}
				if Valid(d) {
					break
				}
			}
			if !Valid(d) {
				t.Fatalf("offset %d of %q starts no valid number (%v)", off, b, d)
			}
		}
	})
}

// logText is access-log-like text: timestamps, addresses, paths, numbers.
func logText(n int) []byte {
	r := rand.New(rand.NewPCG(3, 4))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString("203.0.113.")
		b.WriteString(string(rune('0' + r.IntN(10))))
		b.WriteString(` - - [21/Nov/2026:12:34:56 +0000] "GET /catalog/product/view/id/`)
		b.WriteString(strings.Repeat("7", r.IntN(6)+1))
		b.WriteString(`?utm_source=mail&t=1732156800123 HTTP/1.1" 200 51234 "https://shop.example/checkout/" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"` + "\n")
	}
	return b.Bytes()[:n]
}

func BenchmarkScanLog(b *testing.B) {
	data := logText(4 << 20)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var sc Scanner
		for off := 0; off < len(data); off += 64 << 10 {
			sc.Write(data[off:min(off+64<<10, len(data))])
		}
		sc.Close()
	}
}

func BenchmarkScanBinary(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	data := make([]byte, 4<<20)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var sc Scanner
		sc.Write(data)
		sc.Close()
	}
}
