package ioc

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const list = `# INC-42 indicators
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709
D41D8CD98F00B204E9800998ECF8427E
203.0.113.7
cidr:198.51.100.0/24
2001:db8::dead:beef
evil-cdn.example.com
/var/www/shop/pub/media/.cache/x.php
string:eval(base64_decode(
C:\Windows\Temp\mimi.exe
`

func TestParse(t *testing.T) {
	l, err := Parse(strings.NewReader(list))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range l.Entries {
		got = append(got, e.String())
	}
	want := "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709 md5:d41d8cd98f00b204e9800998ecf8427e ip:203.0.113.7 cidr:198.51.100.0/24 ip:2001:db8::dead:beef domain:evil-cdn.example.com path:/var/www/shop/pub/media/.cache/x.php string:eval(base64_decode( path:C:\\Windows\\Temp\\mimi.exe"
	if strings.Join(got, " ") != want {
		t.Errorf("entries\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
	if l.Entries[1].Line != 3 {
		t.Errorf("line numbers: %+v", l.Entries[1])
	}
	for _, c := range []struct{ addr, want string }{{"203.0.113.7", "ip:203.0.113.7"}, {"198.51.100.77", "cidr:198.51.100.0/24"},
		{"::ffff:203.0.113.7", "ip:203.0.113.7"}, {"2001:db8::dead:beef", "ip:2001:db8::dead:beef"}, {"10.0.0.1", ""}} {
		hits := l.Addr(c.addr)
		if (c.want == "") != (len(hits) == 0) || len(hits) > 0 && hits[0].String() != c.want {
			t.Errorf("Addr(%s) = %v, want %s", c.addr, hits, c.want)
		}
	}
	if h := l.Hash("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"); len(h) != 1 {
		t.Errorf("hash in upper case: %v", h)
	}
}

func TestParseBadLines(t *testing.T) {
	for in, want := range map[string]string{
		"ok.example.com\nsha256:abc\n":    "line 2: \"sha256:abc\": a sha256 is 64 hex digits",
		"cidr:10.0.0.0/99":                "line 1:",
		"ip:10.0.0.300":                   "line 1:",
		"domain:not a domain":             "line 1:",
		"abc":                             "shorter than 4 bytes",
		"path:relative/x":                 "absolute",
		"203.0.113.7\n# c\n203.0.113.7\n": "line 3: ip:203.0.113.7 is on line 1 already",
		"string:":                         "no value",
	} {
		_, err := Parse(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

func scanAll(m *Matcher, text string) []string {
	var out []string
	m.Scan([]byte(text), 0, func(id, s, e int) { out = append(out, fmt.Sprintf("%d@%d", id, s)) })
	return out
}

func TestMatcher(t *testing.T) {
	m := NewMatcher([]Pattern{{Text: "evil.example.com", Whole: true, ID: 0}, {Text: "10.0.0.5", Whole: true, ID: 1}, {Text: "eval(base64", ID: 2}})
	for text, want := range map[string]string{
		"GET http://EVIL.example.COM/x":  "0@11",
		"notevil.example.com":            "",
		"evil.example.com.au":            "",
		"evil.example.com.":              "0@0",
		"from 10.0.0.5:443":              "1@5",
		"from 110.0.0.5 and 10.0.0.55":   "",
		"<?php EVAL(base64_decode($x));": "2@6",
		"eval(base64eval(base64":         "2@0 2@11",
		"":                               "",
		"abc":                            "",
	} {
		if got := strings.Join(scanAll(m, text), " "); got != want {
			t.Errorf("%q: %q, want %q", text, got, want)
		}
	}
}

// TestMatcherAgainstNaive: on random text with planted patterns, the
// strided matcher finds exactly what a naive search does, in one piece
// or scanned in pieces with a tail kept.
func TestMatcherAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alpha := "abcdefghij.-/ 0123456789XYZ\n"
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		return string(b)
	}
	defer func(u bool) { useKernels = u }(useKernels)
	for round := 0; round < 100; round++ {
		// Odd rounds: long patterns only, whose windows are 8 bytes every
		// 16, tested a KiB at a time or one by one (useKernels).
		useKernels = round%4 < 2
		var ps []Pattern
		for i := 0; i < 1+r.IntN(30); i++ {
			n := 4 + r.IntN(12)
			if round%2 == 1 {
				n = wide8 + r.IntN(20)
			}
			ps = append(ps, Pattern{Text: word(n), ID: i})
		}
		text := []byte(word(5000))
		for i := 0; i < 40; i++ {
			p := ps[r.IntN(len(ps))].Text
			at := r.IntN(len(text) - len(p))
			copy(text[at:], strings.ToUpper(p))
		}
		want := map[string]bool{}
		lower := strings.ToLower(string(text))
		for _, p := range ps {
			pl := strings.ToLower(p.Text)
			for i := 0; i+len(pl) <= len(lower); i++ {
				if lower[i:i+len(pl)] == pl {
					want[fmt.Sprintf("%d@%d", p.ID, i)] = true
				}
			}
		}
		m := NewMatcher(ps)
		got := map[string]bool{}
		m.Scan(text, 0, func(id, s, e int) { got[fmt.Sprintf("%d@%d", id, s)] = true })
		// In pieces, keeping the last MaxLen-1 bytes of each.
		pieces := map[string]bool{}
		var tail []byte
		base := 0
		for off := 0; off < len(text); {
			n := min(1+r.IntN(700), len(text)-off)
			buf := append(append([]byte(nil), tail...), text[off:off+n]...)
			start := base
			m.Scan(buf, len(tail), func(id, s, e int) { pieces[fmt.Sprintf("%d@%d", id, start+s)] = true })
			keep := min(len(buf), m.MaxLen()-1)
			tail = buf[len(buf)-keep:]
			base = start + len(buf) - keep
			off += n
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprint(pieces) != fmt.Sprint(want) {
			t.Fatalf("round %d: got %d, in pieces %d, want %d matches", round, len(got), len(pieces), len(want))
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(list))
	f.Add([]byte("ip:::1\ncidr:0.0.0.0/0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Parse(strings.NewReader(string(b)))
		if err != nil {
			return
		}
		// Every entry written back as TYPE:VALUE parses to itself.
		var out strings.Builder
		for _, e := range l.Entries {
			out.WriteString(e.String() + "\n")
		}
		l2, err := Parse(strings.NewReader(out.String()))
		if err != nil || len(l2.Entries) != len(l.Entries) {
			t.Fatalf("re-parse: %v", err)
		}
		for i := range l.Entries {
			if l.Entries[i].String() != l2.Entries[i].String() {
				t.Fatalf("%s became %s", l.Entries[i], l2.Entries[i])
			}
		}
	})
}

// BenchmarkScan: a 10,000-entry list over log-like text.
func BenchmarkScan(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	var ps []Pattern
	for i := 0; i < 10000; i++ {
		switch i % 3 {
		case 0:
			ps = append(ps, Pattern{Text: fmt.Sprintf("%064x", r.Uint64()), Whole: true, ID: i})
		case 1:
			ps = append(ps, Pattern{Text: fmt.Sprintf("%d.%d.%d.%d", r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(256)), Whole: true, ID: i})
		default:
			ps = append(ps, Pattern{Text: fmt.Sprintf("bad%d.example.net", r.IntN(1e6)), Whole: true, ID: i})
		}
	}
	m := NewMatcher(ps)
	var text strings.Builder
	for text.Len() < 8<<20 {
		fmt.Fprintf(&text, "203.0.113.%d - - [30/Nov/2026:21:14:%02d +0100] \"GET /checkout/cart/?id=%d HTTP/1.1\" 200 %d \"https://shop.example.com/\" \"Mozilla/5.0\"\n",
			r.IntN(255), r.IntN(60), r.IntN(1e6), r.IntN(1e5))
	}
	buf := []byte(text.String())
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Scan(buf, 0, func(id, s, e int) {})
	}
}

func TestTextIPv4(t *testing.T) {
	l, err := Parse(strings.NewReader("10.0.0.5\n203.0.113.7\n"))
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]int{
		"from 10.0.0.5:443":                 1,
		"[10.0.0.5] and (203.0.113.7)":      2,
		"110.0.0.5 10.0.0.55 10.0.0.5.1":    0,
		"5.10.0.0.5 v10.0.0.5 10.0.0.5x":    0,
		"10.0.0.5.":                         1,
		"ip=10.0.0.5,203.0.113.7;10.0.0.05": 2,
		"10.00.0.5 010.0.0.5":               0,
	} {
		n := 0
		l.Text().Scan([]byte(text), 0, func(id, s, e int) { n++ })
		if n != want {
			t.Errorf("%q: %d hits, want %d", text, n, want)
		}
	}
}

// feed is a list shaped like a threat-intelligence feed (as make bench's
// is): half SHA-256, MD5, domains, IPv4, a few prefixes and strings.
func feed(n int) string {
	r := rand.New(rand.NewPCG(7, 7))
	var b strings.Builder
	for i := 0; i < n; i++ {
		switch k := i % 20; {
		case k < 10:
			fmt.Fprintf(&b, "%016x%016x%016x%016x\n", r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64())
		case k < 13:
			fmt.Fprintf(&b, "%016x%016x\n", r.Uint64(), r.Uint64())
		case k < 16:
			fmt.Fprintf(&b, "cdn%d-%x.example.net\n", i, r.Uint32())
		case k < 19:
			fmt.Fprintf(&b, "%d.%d.%d.%d\n", 1+r.IntN(223), r.IntN(256), r.IntN(256), 1+r.IntN(254))
		default:
			fmt.Fprintf(&b, "string:/wp-content/x%x.php\n", r.Uint32())
		}
	}
	return b.String()
}

// BenchmarkFeed: a 10,000-entry feed over access-log text.
func BenchmarkFeed(b *testing.B) {
	l, err := Parse(strings.NewReader(feed(10000)))
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	var text strings.Builder
	for text.Len() < 8<<20 {
		fmt.Fprintf(&text, "203.0.113.%d - - [30/Nov/2026:21:14:%02d +0100] \"GET /checkout/cart/?id=%d HTTP/1.1\" 200 %d \"https://shop.example.com/\" \"Mozilla/5.0 (X11; Linux x86_64)\"\n",
			r.IntN(255), r.IntN(60), r.IntN(1e6), r.IntN(1e5))
	}
	buf := []byte(text.String())
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.Text().Scan(buf, 0, func(id, s, e int) {})
	}
}

// reference finds what Text must: every case-insensitive occurrence of
// each pattern, whole ones only where they stand alone, and each IPv4
// indicator where it stands alone as an address (not inside a longer
// number, version or name). It is slow and plain on purpose.
func reference(ps []Pattern, ipv4 map[string][]int, b []byte) map[string]bool {
	out := map[string]bool{}
	lower := make([]byte, len(b)) // ASCII only: strings.ToLower would turn a bad byte into U+FFFD
	for i, c := range b {
		lower[i] = fold(c)
	}
	digit := func(i int) bool { return i >= 0 && i < len(b) && isDigit(b[i]) }
	for _, p := range ps {
		t := make([]byte, len(p.Text))
		for i := range t {
			t[i] = fold(p.Text[i])
		}
		for s := 0; s+len(t) <= len(b); s++ {
			e := s + len(t)
			if string(lower[s:e]) != string(t) {
				continue
			}
			if p.Whole && !(alone(b, s-1) && alone(b, e) && !(e < len(b) && b[e] == '.' && !alone(b, e+1) && e+1 < len(b))) {
				continue
			}
			out[fmt.Sprintf("%d@%d-%d", p.ID, s, e)] = true
		}
	}
	for a, ids := range ipv4 {
		for s := 0; s+len(a) <= len(b); s++ {
			e := s + len(a)
			if string(b[s:e]) != a || digit(s-1) || s > 0 && b[s-1] == '.' || !alone(b, s-1) || !alone(b, e) {
				continue
			}
			if e < len(b) && b[e] == '.' && (digit(e+1) || !alone(b, e+1)) {
				continue
			}
			for _, id := range ids {
				out[fmt.Sprintf("%d@%d-%d", id, s, e)] = true
			}
		}
	}
	return out
}

// FuzzTextReference: Text finds exactly what reference does, scanned
// whole and in pieces with a tail kept (as collect does chunk by chunk).
func FuzzTextReference(f *testing.F) {
	f.Add(int64(1), []byte("203.0.113.7 - GET /x?a=10.0.0.5.1 evil.example.com.au EVIL-cdn.example.com. 1.2.3.4"), uint16(300))
	f.Add(int64(2), []byte("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855xx eval(base64_decode( 10.0.0.5"), uint16(7))
	f.Fuzz(func(t *testing.T, seed int64, text []byte, piece uint16) {
		r := rand.New(rand.NewPCG(uint64(seed), 9))
		alpha := "abcdef0123456789.-_/:x "
		word := func(n int) string {
			w := make([]byte, n)
			for i := range w {
				w[i] = alpha[r.IntN(len(alpha))]
			}
			return string(w)
		}
		var ps []Pattern
		ipv4 := map[string][]int{}
		quads := map[[4]byte][]int{}
		n := 1 + r.IntN(40)
		for i := 0; i < n; i++ {
			switch r.IntN(5) {
			case 4: // a hash: hex, sometimes with a hex-looking neighbour planted
				h := make([]byte, []int{32, 40, 64}[r.IntN(3)])
				for k := range h {
					h[k] = "0123456789abcdefABCDEF"[r.IntN(22)]
				}
				ps = append(ps, Pattern{Text: string(h), Whole: true, ID: i})
			case 0:
				a := fmt.Sprintf("%d.%d.%d.%d", r.IntN(12), r.IntN(256), r.IntN(3), r.IntN(256))
				if _, dup := ipv4[a]; dup {
					continue
				}
				q, _ := quadOf(a)
				ipv4[a] = append(ipv4[a], i)
				quads[q] = append(quads[q], i)
			case 1:
				ps = append(ps, Pattern{Text: word(4 + r.IntN(8)), Whole: r.IntN(2) == 0, ID: i})
			case 2:
				ps = append(ps, Pattern{Text: word(11 + r.IntN(60)), Whole: r.IntN(2) == 0, ID: i})
			default:
				ps = append(ps, Pattern{Text: word(19 + r.IntN(12)), Whole: true, ID: i})
			}
		}
		// Plant some patterns, some upper-cased, in the text (sometimes
		// repeated past a few KiB: the long windows are tested a KiB at a
		// time).
		b := append([]byte(nil), text...)
		for len(text) > 0 && r.IntN(3) == 0 && len(b) < 3000 {
			b = append(b, text...)
		}
		for i := 0; i < 1+r.IntN(20); i++ {
			var p string
			if len(ps) > 0 && r.IntN(3) > 0 {
				p = ps[r.IntN(len(ps))].Text
			} else {
				for a := range ipv4 {
					p = a
					break
				}
			}
			if r.IntN(2) == 0 {
				p = strings.ToUpper(p)
			}
			at := 0
			if len(b) > 0 {
				at = r.IntN(len(b) + 1)
			}
			b = append(b[:at], append([]byte(p+string(alpha[r.IntN(len(alpha))])), b[at:]...)...)
		}
		want := reference(ps, ipv4, b)
		defer func(n int) { scanBlock = n }(scanBlock)
		scanBlock = 1 + r.IntN(64) // blocks' edges inside the text
		if r.IntN(4) == 0 {
			scanBlock = 1 + r.IntN(4096)
		}
		tx := newText(ps, quads)
		if tx == nil {
			if len(want) > 0 {
				t.Fatalf("no Text for %d patterns", len(ps))
			}
			return
		}
		// Both ways of finding hex runs and addresses: from marks and
		// from windows and dots.
		defer func(u bool) { useKernels = u }(useKernels)
		for _, marked := range []bool{false, true} {
			useKernels = marked
			got := map[string]bool{}
			tx.Scan(b, 0, func(id, s, e int) { got[fmt.Sprintf("%d@%d-%d", id, s, e)] = true })
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("marks %v, whole: got %v\nwant %v\ntext %q\npatterns %+v\nipv4 %v", marked, got, want, b, ps, ipv4)
			}
			pieces := map[string]bool{}
			var tail []byte
			base, step := 0, 1+int(piece)%997
			for off := 0; off < len(b); {
				k := min(step, len(b)-off)
				buf := append(append([]byte(nil), tail...), b[off:off+k]...)
				start := base
				tx.Scan(buf, len(tail), func(id, s, e int) { pieces[fmt.Sprintf("%d@%d-%d", id, start+s, start+e)] = true })
				keep := min(len(buf), tx.MaxLen()-1)
				tail = buf[len(buf)-keep:]
				base = start + len(buf) - keep
				off += k
			}
			// A match found in pieces may end at a piece's edge where the
			// whole text continues it: the next piece decides. Compare only
			// what both views can decide: the whole text's matches are found.
			for k := range want {
				if !pieces[k] {
					t.Fatalf("marks %v, in pieces of %d: missed %s of %v\ntext %q", marked, step, k, want, b)
				}
			}
		}
	})
}

// BenchmarkCorpus: the 10,000-entry feed over 4 MiB of each file of a
// make bench corpus (CUSTOS_BENCH_CORPUS=/tmp/custos-bench/corpus-1GiB),
// by part: the long and mid matchers, IPv4 addresses, all of it.
func BenchmarkCorpus(b *testing.B) {
	dir := os.Getenv("CUSTOS_BENCH_CORPUS")
	if dir == "" {
		b.Skip("CUSTOS_BENCH_CORPUS is not set")
	}
	l, err := Parse(strings.NewReader(feed(10000)))
	if err != nil {
		b.Fatal(err)
	}
	var buf []byte
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			f, _ := os.Open(p)
			data, _ := io.ReadAll(io.LimitReader(f, 4<<20))
			f.Close()
			buf = append(buf, data...)
		}
		return nil
	})
	t := l.Text()
	nop := func(id, s, e int) {}
	// In 2 MiB chunks, each scanned twice as collect does (compressed,
	// then scanned while in the cache): the second scan is timed.
	const chunk = 2 << 20
	for _, c := range []struct {
		name string
		scan func(b []byte)
	}{
		{"read", func(b []byte) { bytes.IndexByte(b, 0xfe) }},
		{"hex", func(b []byte) { t.hex.scan(b, 0, len(b), nop) }},
		{"long", func(b []byte) { t.long.Scan(b, 0, nop) }},
		{"hex+long", func(b []byte) { t.long.scanWithHex(t.hex, b, 0, len(b), nop) }},
		{"ipv4", func(b []byte) { t.scanIPv4(b, 0, len(b), nop) }},
		{"marked", func(b []byte) { // hex and ipv4 from marks
			for lo := 0; lo < len(b); lo += scanBlock {
				t.scanMarked(b, lo, min(len(b), lo+scanBlock), nop)
			}
		}},
		{"all", func(b []byte) { t.Scan(b, 0, nop) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(buf)))
			for i := 0; i < b.N; i++ {
				for off := 0; off < len(buf); off += chunk {
					b.StopTimer()
					p := buf[off:min(len(buf), off+chunk)]
					bytes.IndexByte(p, 0xfe)
					b.StartTimer()
					c.scan(p)
				}
			}
		})
	}
}

// BenchmarkHostileRuns: text a host could plant to slow the scan down, one
// endless hex run and one endless dotted number, 2 MiB each as a chunk.
func BenchmarkHostileRuns(b *testing.B) {
	l, err := Parse(strings.NewReader(feed(10000)))
	if err != nil {
		b.Fatal(err)
	}
	for name, unit := range map[string]string{"hex": "a", "dotted": "1.", "domain": ".example"} {
		buf := bytes.Repeat([]byte(unit), (2<<20)/len(unit))
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(buf)))
			for i := 0; i < b.N; i++ {
				l.Text().Scan(buf, 0, func(id, s, e int) {})
			}
		})
	}
}
