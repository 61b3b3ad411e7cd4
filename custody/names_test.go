package custody

import (
	"testing"
	"unicode/utf8"
)

func TestEscapePath(t *testing.T) {
	for _, c := range []struct{ raw, rec string }{
		{"/var/log/syslog", "/var/log/syslog"},
		{"/home/jörg/日本", "/home/jörg/日本"},
		{"/tmp/caf\xe9", `/tmp/caf\xe9`},
		{"/tmp/\xff\xfe", `/tmp/\xff\xfe`},
		{`/tmp/..\..\etc\shadow`, `/tmp/..\\..\\etc\\shadow`},
		{`/tmp/a\x41`, `/tmp/a\\x41`},
		{"/tmp/line\nbreak\t\x7f", `/tmp/line\x0abreak\x09\x7f`},
		{"/tmp/\xed\xa0\x80", `/tmp/\xed\xa0\x80`}, // a UTF-16 surrogate is not UTF-8
	} {
		if got := EscapePath(c.raw); got != c.rec {
			t.Errorf("EscapePath(%q) = %q, want %q", c.raw, got, c.rec)
		}
		if got := UnescapePath(c.rec); got != c.raw {
			t.Errorf("UnescapePath(%q) = %q, want %q", c.rec, got, c.raw)
		}
		if got := TarName(c.rec); got != c.raw[1:] {
			t.Errorf("TarName(%q) = %q, want %q", c.rec, got, c.raw[1:])
		}
	}
	// Windows paths keep today's names.
	if got := TarName(`C:\Windows\System32\x.evtx`); got != "C/Windows/System32/x.evtx" {
		t.Errorf("TarName of a Windows path: %q", got)
	}
}

// FuzzEscapePath: every byte string comes back, and what the manifest holds
// is valid UTF-8 without control characters.
func FuzzEscapePath(f *testing.F) {
	for _, s := range []string{"/a", "/\xff", `/\\x41`, "/\n", "/é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		e := EscapePath(p)
		if !utf8.ValidString(e) {
			t.Fatalf("EscapePath(%q) = %q: not UTF-8", p, e)
		}
		for i := 0; i < len(e); i++ {
			if e[i] < 0x20 || e[i] == 0x7f {
				t.Fatalf("EscapePath(%q) = %q holds a control byte", p, e)
			}
		}
		if back := UnescapePath(e); back != p {
			t.Fatalf("UnescapePath(EscapePath(%q)) = %q", p, back)
		}
	})
}
