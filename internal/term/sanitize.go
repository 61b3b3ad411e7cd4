package term

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Clean makes text from elsewhere (a breached host's names, paths and
// messages, a store's keys) safe to print: control characters (C0, DEL,
// C1, so no escape sequence reaches a terminal), invalid UTF-8, and the
// Unicode controls that reorder or hide text (bidi overrides, zero-width
// marks) are written as visible escapes (\x1b, \u202e). Newlines and tabs
// are escaped too: one message stays one line.
func Clean(s string) string {
	if isClean(s, false) {
		return s
	}
	var b strings.Builder
	appendClean(&b, s, false)
	return b.String()
}

func isClean(s string, keepLines bool) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || unsafeRune(r, keepLines) {
			return false
		}
		i += n
	}
	return true
}

func unsafeRune(r rune, keepLines bool) bool {
	switch {
	case keepLines && (r == '\n' || r == '\t'):
		return false
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
		return true
	case r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0xfeff:
		return true
	}
	return unicode.Is(unicode.Cf, r) && r != 0xad
}

func appendClean(b *strings.Builder, s string, keepLines bool) {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(b, `\x%02x`, s[i])
		case unsafeRune(r, keepLines) && r < 0x100:
			fmt.Fprintf(b, `\x%02x`, r)
		case unsafeRune(r, keepLines):
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
}

// Writer passes text through Clean's escaping, keeping newlines and tabs,
// for a stream of lines from elsewhere (the host's stderr). A UTF-8
// sequence cut between two writes is kept until it is whole.
type Writer struct {
	mu   sync.Mutex
	w    io.Writer
	part []byte
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

func (c *Writer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	buf := append(c.part, p...)
	c.part = nil
	// Keep an incomplete UTF-8 sequence at the end for the next write.
	if k := incompleteTail(buf); k > 0 {
		c.part = append([]byte(nil), buf[len(buf)-k:]...)
		buf = buf[:len(buf)-k]
	}
	s := string(buf)
	if !isClean(s, true) {
		var b strings.Builder
		appendClean(&b, s, true)
		s = b.String()
	}
	if _, err := io.WriteString(c.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}

// incompleteTail is the length of a UTF-8 sequence begun but not finished
// at the end of b (0 if none).
func incompleteTail(b []byte) int {
	for k := 1; k <= 3 && k <= len(b); k++ {
		c := b[len(b)-k]
		if c < 0x80 {
			return 0
		}
		if c >= 0xc0 { // a lead byte
			need := 2
			if c >= 0xe0 {
				need = 3
			}
			if c >= 0xf0 {
				need = 4
			}
			if need > k {
				return k
			}
			return 0
		}
	}
	return 0
}

// IsTerminal reports whether the writer under c is a terminal.
func (c *Writer) IsTerminal() bool {
	f, ok := c.w.(*os.File)
	return ok && IsTerminal(f)
}

// Raw writes s as it is: for the caller's own output (a table redrawn
// with cursor movements), never for text from elsewhere.
func (c *Writer) Raw(s string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := io.WriteString(c.w, s)
	return err
}
