package custody

import (
	"strings"
	"unicode/utf8"
)

// A host's file names are bytes; the manifest is JSON, which holds only
// valid UTF-8. Names from a POSIX host (those starting with "/") are
// therefore recorded escaped, losslessly and readably:
//
//   - a byte that is not part of a valid UTF-8 sequence, and an ASCII
//     control byte (0x01-0x1f, 0x7f), is written \xHH (lower-case hex);
//   - a backslash is written \\;
//   - everything else is kept as it is.
//
// So a name without backslashes, control characters or invalid UTF-8 is
// recorded unchanged. Windows names (C:\...) are never escaped: their
// backslash is the separator. docs/manifest.md describes the same rules.

// EscapePath records a POSIX host path as the manifest holds it.
func EscapePath(p string) string {
	if !needsEscape(p) {
		return p
	}
	var b strings.Builder
	b.Grow(len(p) + 8)
	for i := 0; i < len(p); {
		c := p[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\\':
				b.WriteString(`\\`)
			case c < 0x20 || c == 0x7f:
				b.WriteString(`\x`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&0xf])
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(p[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(`\x`)
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xf])
		} else {
			b.WriteString(p[i : i+size])
		}
		i += size
	}
	return b.String()
}

func needsEscape(p string) bool {
	for i := 0; i < len(p); i++ {
		if c := p[i]; c == '\\' || c < 0x20 || c == 0x7f {
			return true
		} else if c >= utf8.RuneSelf {
			return !utf8.ValidString(p[i:])
		}
	}
	return false
}

// UnescapePath gives back the bytes of a path EscapePath recorded. A
// backslash not followed by a backslash or xHH is kept as it is.
func UnescapePath(p string) string {
	if strings.IndexByte(p, '\\') < 0 {
		return p
	}
	b := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+1 < len(p) {
			if p[i+1] == '\\' {
				b = append(b, '\\')
				i++
				continue
			}
			if p[i+1] == 'x' && i+3 < len(p) {
				if h, ok := unhex(p[i+2]); ok {
					if l, ok := unhex(p[i+3]); ok {
						b = append(b, h<<4|l)
						i += 3
						continue
					}
				}
			}
		}
		b = append(b, p[i])
	}
	return string(b)
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
