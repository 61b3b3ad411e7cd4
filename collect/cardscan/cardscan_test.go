package cardscan

import (
	"bytes"
	"fmt"
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

// countRef is what Chunks.Count must equal: one Scanner over all of b.
func countRef(b []byte, from int) int {
	n := 0
	s := Scanner{onMatch: func(_, end int64) {
		if end > int64(from) {
			n++
		}
	}}
	s.Write(b)
	s.Close()
	return n
}

// counts are Chunks.Count and the two paths it takes, each of which must
// be countRef: countKernel runs everywhere, with the Go masks where there
// is no kernel.
var counts = []struct {
	name  string
	count func([]byte, int) int
}{{"Count", Chunks{}.Count}, {"countGo", countGo}, {"countKernel", countKernel}}

func TestChunksCount(t *testing.T) {
	for _, c := range []struct {
		in   string
		from int
		want int
	}{
		{"4111111111111111", 0, 1},
		{"4111111111111111", 15, 1},
		{"4111111111111111", 16, 0},
		{"x4111111111111111", 0, 0},
		{"-4111111111111111", 0, 1},
		{"0.4111111111111111", 0, 0},
		{"4111111111111111.5", 0, 0},
		{"4111111111111111.", 0, 1},
		{"4111111111111111. ", 0, 1},
		{"4111111111111111-", 0, 1},
		{"4111111111111111 x", 0, 1},
		{"1.2.4111111111111111", 0, 0},
		{"4111111111111111,5555555555554444", 17, 1},
		{"2024 4111 1111 1111 1111 ok", 0, 1},
		{"4111 1111 1111 1111 5555 5555 5555 4444", 20, 1},
		{strings.Repeat("12:34 ", 10) + "4111-1111-1111-1111", 0, 1},
	} {
		for _, impl := range counts {
			if got := impl.count([]byte(c.in), c.from); got != c.want || got != countRef([]byte(c.in), c.from) {
				t.Errorf("%s: %q from %d: %d, want %d (reference %d)", impl.name, c.in, c.from, got, c.want, countRef([]byte(c.in), c.from))
			}
		}
	}
	r := rand.New(rand.NewPCG(8, 9))
	for _, data := range [][]byte{nginxText(1 << 20), logText(1 << 20), jsonText(1 << 20), cardText(r, 1<<20)} {
		for _, from := range []int{0, 1, 4095, len(data) / 2, len(data)} {
			for _, impl := range counts {
				if got, want := impl.count(data, from), countRef(data, from); got != want {
					t.Errorf("%s: %q...: from %d: %d, want %d", impl.name, data[:40], from, got, want)
				}
			}
		}
	}
}

// cardText is digits, separators, dots and letters mixed with cards: text
// where chains are long and many numbers are found.
func cardText(r *rand.Rand, n int) []byte {
	var b bytes.Buffer
	for b.Len() < n {
		switch r.IntN(4) {
		case 0:
			b.WriteString(randomCard(r))
		case 1:
			b.WriteString(noise(r))
		default:
			for k := r.IntN(8); k >= 0; k-- {
				b.WriteByte("0123456789  --..ax:"[r.IntN(19)])
			}
		}
	}
	return b.Bytes()[:n]
}

// FuzzChunksCount: the prefilters of Chunks.Count change no count.
func FuzzChunksCount(f *testing.F) {
	for _, s := range []string{
		"4111111111111111", "x4111111111111111", "4111111111111111x", "0.4111111111111111", "4111111111111111.5",
		"4111111111111111.", "1.2.3.4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111",
		"4111 1111-1111 1111", "4111  1111 1111 1111", "- 4111-1111-1111-1111 -", "a-4111111111111111",
		"41111111111111111111", "5555555555554444411111111111111111111", "2024 4111 1111 1111 1111 ok",
		"4111111111111111,5555555555554444", "4111 1111 1111 1111 5555 5555 5555 4444", "3782-822463-10005",
		"1.2 3-4.5 6-7.8 9 0 1 2 3 4111111111111111", "203.0.113.5 - - [21/Nov/2026:12:34:56 +0000] 200 51234",
	} {
		f.Add([]byte(s), uint16(0))
		f.Add([]byte(s), uint16(len(s)/2))
		f.Add([]byte(s), uint16(len(s)))
	}
	f.Fuzz(func(t *testing.T, b []byte, from uint16) {
		for _, impl := range counts {
			at := int(from) % (len(b) + 1)
			if got, want := impl.count(b, at), countRef(b, at); got != want {
				t.Fatalf("%s: %q from %d: %d, reference %d", impl.name, b, at, got, want)
			}
			// And b made into text where long chains and numbers are common.
			d := textOf(b)
			at = int(from) % (len(d) + 1)
			if got, want := impl.count(d, at), countRef(d, at); got != want {
				t.Fatalf("%s: %q from %d: %d, reference %d", impl.name, d, at, got, want)
			}
		}
	})
}

// textOf makes text of b where numbers that pass are common: a byte is a
// card (plain or in groups), or one of digits, joiners and the bytes about
// them.
func textOf(b []byte) []byte {
	cards := []string{"4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "4222222222222",
		"378282246310005", "3782 822463 10005", "30569309025904", "5555555555554444", "6011111111111117",
		"2223003122003222", "6200000000000005", "4000000000000000006", "3530111333300000", "9792 0000 0000 0003",
		"2200000000000004", "5000000000005"}
	const alphabet = "0123456789012345678901234567890123456789 -.a,"
	var t []byte
	for _, c := range b {
		if c%4 == 0 {
			t = append(t, cards[int(c/4)%len(cards)]...)
		} else {
			t = append(t, alphabet[int(c)%len(alphabet)])
		}
	}
	return t
}

// jsonText is the processes and sockets sources: JSON lines with ids,
// addresses, ports, times and digests.
func jsonText(n int) []byte {
	r := rand.New(rand.NewPCG(10, 11))
	var b bytes.Buffer
	for b.Len() < n {
		pid := r.IntN(400000)
		if r.IntN(2) == 0 {
			fmt.Fprintf(&b, `{"pid":%d,"ppid":%d,"name":"php-fpm","uid":33,"euid":33,"user":"www-data","state":"S","threads":1,"started":"2026-11-21T12:%02d:%02d.%09dZ","cmdline":["php-fpm: pool www"],"cwd":"/","exe":"/usr/sbin/php-fpm8.2","exe_size":%d,"exe_sha256":"%016x%016x%016x%016x"}`+"\n",
				pid, r.IntN(4000), r.IntN(60), r.IntN(60), r.IntN(1e9), r.IntN(1<<24), r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64())
		} else {
			fmt.Fprintf(&b, `{"family":"inet","type":"tcp","local_addr":"10.0.%d.%d","local_port":443,"remote_addr":"203.0.113.%d","remote_port":%d,"state":"ESTABLISHED","pid":%d,"uids":[33,33,33,33],"process":"nginx"}`+"\n",
				r.IntN(256), r.IntN(256), r.IntN(256), 1024+r.IntN(64000), pid)
		}
	}
	return b.Bytes()[:n]
}

// nginxText is nginx access-log lines (combined format and the request
// time): addresses, times, paths with ids and cache busters, statuses,
// sizes, referers and user agents with their version numbers.
func nginxText(n int) []byte {
	r := rand.New(rand.NewPCG(12, 13))
	paths := []string{"/", "/checkout/cart/", "/static/version1732156800/frontend/Magento/luma/en_US/mage/calendar.css",
		"/catalog/product/view/id/%d", "/api/v1/orders/%d?expand=items", "/media/catalog/product/cache/%d/a/b/ab-%d.jpg",
		"/customer/section/load/?sections=cart&_=%d", "/wp-login.php", "/search?q=red+shoes&page=%d"}
	agents := []string{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.85 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "curl/8.5.0", "Googlebot/2.1 (+http://www.google.com/bot.html)"}
	var b bytes.Buffer
	for b.Len() < n {
		path := paths[r.IntN(len(paths))]
		switch strings.Count(path, "%d") {
		case 1:
			path = fmt.Sprintf(path, []int64{r.Int64N(100000), 1732156800000 + r.Int64N(1e8)}[r.IntN(2)])
		case 2:
			path = fmt.Sprintf(path, r.Int64N(1<<31), r.IntN(1000))
		}
		fmt.Fprintf(&b, "%d.%d.%d.%d - - [21/Nov/2026:%02d:%02d:%02d +0000] \"GET %s HTTP/1.1\" %d %d \"https://shop.example/\" \"%s\" %d.%03d\n",
			r.IntN(224), r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(24), r.IntN(60), r.IntN(60), path,
			[]int{200, 200, 200, 304, 302, 404, 500}[r.IntN(7)], r.IntN(200000), agents[r.IntN(len(agents))], r.IntN(3), r.IntN(1000))
	}
	return b.Bytes()[:n]
}

// BenchmarkChunksCount runs Chunks.Count (fast: the kernel's path where
// there is one), countGo (go) and one Scanner over all of it (full, what
// Count was) on a chunk of each kind, side by side: the machine is noisy,
// compare them.
func BenchmarkChunksCount(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	random := make([]byte, 2<<20)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	for _, in := range []struct {
		name string
		data []byte
	}{{"nginx", nginxText(2 << 20)}, {"log", logText(2 << 20)}, {"json", jsonText(2 << 20)}, {"random", random}} {
		for _, impl := range []struct {
			name  string
			count func([]byte, int) int
		}{{"fast", Chunks{}.Count}, {"go", countGo}, {"full", countRef}} {
			b.Run(in.name+"/"+impl.name, func(b *testing.B) {
				b.SetBytes(int64(len(in.data)))
				for b.Loop() {
					impl.count(in.data, 0)
				}
			})
		}
	}
}
