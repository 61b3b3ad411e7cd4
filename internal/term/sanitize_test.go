package term

import (
	"bytes"
	"strings"
	"testing"
)

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"web01":                    "web01",
		"caf\u00e9 \u4e2d":         "caf\u00e9 \u4e2d",
		"x\x1b[2Jy":                `x\x1b[2Jy`,
		"a\x07b\x7fc\u009bd":       `a\x07b\x7fc\x9bd`,
		"bad\xffutf8":              `bad\xffutf8`,
		"left\u202egnp.exe":        `left\u202egnp.exe`,
		"two\nlines\ttab":          `two\x0alines\x09tab`,
		"zero\u200bwidth\ufeffbom": `zero\u200bwidth\ufeffbom`,
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriterKeepsLinesAndSplitRunes(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	in := "custos: ok caf\u00e9\n\x1b]52;c;x\x07 \u4e2d\n"
	for i := 0; i < len(in); i++ { // one byte at a time: runes split
		w.Write([]byte{in[i]})
	}
	want := "custos: ok caf\u00e9\n" + `\x1b]52;c;x\x07` + " \u4e2d\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}

func FuzzClean(f *testing.F) {
	f.Add("x\x1b[2J\u202e\xff")
	f.Fuzz(func(t *testing.T, s string) {
		c := Clean(s)
		if strings.ContainsAny(c, "\x1b\x07\n\r\x7f\u009b\u202e") || !isClean(c, false) {
			t.Fatalf("Clean(%q) = %q", s, c)
		}
	})
}
