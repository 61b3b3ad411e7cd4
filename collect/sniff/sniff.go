// Package sniff tells whether a file looks out of place where it lies:
// code in a file whose name says it is none (a PHP web shell behind PNG
// magic, a skimmer in an .svg), content that is not what its extension
// says, a hidden file or folder among uploads. It reads content as it
// streams past (an io.Writer, bounded memory) and only judges; it never
// alters anything.
package sniff

import (
	"bytes"
	"path"
	"strings"
)

// markers are the signs of code; each is matched without regard to case.
var markers = [][]byte{[]byte("<?php"), []byte("<script"), []byte("eval(")}

// shortTag "<?=" counts only before a space or a variable, so random bytes
// of an image do not match it.
var shortTag = []byte("<?=")

const maxMarker = 7

// magic is what a file of an extension starts with (any one of them).
var magic = map[string][]string{
	"png": {"\x89PNG\r\n\x1a\n"}, "jpg": {"\xff\xd8\xff"}, "jpeg": {"\xff\xd8\xff"}, "gif": {"GIF87a", "GIF89a"},
	"webp": {"RIFF"}, "bmp": {"BM"}, "ico": {"\x00\x00\x01\x00", "\x00\x00\x02\x00"}, "pdf": {"%PDF-"},
	"zip": {"PK\x03\x04", "PK\x05\x06"}, "gz": {"\x1f\x8b"}, "tgz": {"\x1f\x8b"}, "woff": {"wOFF"}, "woff2": {"wOF2"},
	"ttf": {"\x00\x01\x00\x00", "true"}, "otf": {"OTTO"}, "mp3": {"ID3", "\xff\xfb", "\xff\xf3", "\xff\xf2"},
	"webm": {"\x1a\x45\xdf\xa3"}, "tif": {"II*\x00", "MM\x00*"}, "tiff": {"II*\x00", "MM\x00*"}, "psd": {"8BPS"},
}

// ftyp are extensions whose files carry "ftyp" at offset 4.
var ftyp = map[string]bool{"mp4": true, "m4v": true, "mov": true, "avif": true, "heic": true, "3gp": true}

// Sniffer watches one file's content.
type Sniffer struct {
	ext    string
	codeOK bool // the extension is one where code belongs
	head   []byte
	tail   []byte // the last bytes of the previous write, for markers split across writes
	n      int64
	found  string
}

// New watches a file named name; codeExt are the extensions (without the
// dot, any case) where code markers are expected.
func New(name string, codeExt []string) *Sniffer {
	ext := strings.ToLower(strings.TrimPrefix(path.Ext(name), "."))
	s := &Sniffer{ext: ext}
	for _, c := range codeExt {
		if strings.EqualFold(c, ext) {
			s.codeOK = true
		}
	}
	return s
}

// Write looks at p. It never fails.
func (s *Sniffer) Write(p []byte) (int, error) {
	if len(s.head) < 16 {
		s.head = append(s.head, p[:min(len(p), 16-len(s.head))]...)
	}
	s.n += int64(len(p))
	if s.found == "" && !s.codeOK {
		buf := p
		if len(s.tail) > 0 {
			buf = append(append([]byte(nil), s.tail...), p[:min(len(p), maxMarker)]...)
			if m := find(buf); m != "" {
				s.found = m
			}
			buf = p
		}
		if s.found == "" {
			s.found = find(buf)
		}
		s.tail = append(s.tail, p[max(0, len(p)-(maxMarker-1)):]...)
		if len(s.tail) > maxMarker-1 {
			s.tail = append(s.tail[:0], s.tail[len(s.tail)-(maxMarker-1):]...)
		}
	}
	return len(p), nil
}

// find returns the first marker in b, or "".
func find(b []byte) string {
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '<' && c != 'e' && c != 'E' {
			j := bytes.IndexAny(b[i:], "<eE")
			if j < 0 {
				return ""
			}
			i += j
		}
		for _, m := range markers {
			if len(b)-i >= len(m) && bytes.EqualFold(b[i:i+len(m)], m) {
				return string(m)
			}
		}
		if len(b)-i > len(shortTag) && bytes.Equal(b[i:i+3], shortTag) {
			if n := b[i+3]; n == ' ' || n == '$' || n == '\n' || n == '\t' {
				return "<?="
			}
		}
	}
	return ""
}

// Verdict says why the file looks out of place, or "".
func (s *Sniffer) Verdict() string {
	if s.found != "" {
		if s.ext == "" {
			return "holds code (" + s.found + ")"
		}
		return "holds code (" + s.found + ") in a ." + s.ext + " file"
	}
	if s.n == 0 {
		return ""
	}
	if ftyp[s.ext] {
		if len(s.head) < 8 || string(s.head[4:8]) != "ftyp" {
			return "named ." + s.ext + " but its content is not one"
		}
		return ""
	}
	want, ok := magic[s.ext]
	if !ok {
		return ""
	}
	for _, m := range want {
		if bytes.HasPrefix(s.head, []byte(m)) {
			return ""
		}
	}
	return "named ." + s.ext + " but its content is not one (starts " + printable(s.head) + ")"
}

func printable(b []byte) string {
	var out strings.Builder
	for _, c := range b[:min(len(b), 8)] {
		if c >= 0x20 && c < 0x7f {
			out.WriteByte(c)
		} else {
			out.WriteByte('.')
		}
	}
	return strings.TrimSpace(out.String())
}

// Hidden says whether a path below one of roots has a segment starting
// with a dot (a hidden file or folder), and names it. A path under none of
// the roots is judged by its last two segments.
func Hidden(p string, roots []string) string {
	rel, best := "", -1
	for _, r := range roots {
		r = strings.TrimSuffix(r, "/")
		if r != "" && strings.HasPrefix(p, r+"/") && len(r) > best {
			rel, best = p[len(r)+1:], len(r)
		}
	}
	if rel == "" {
		segs := strings.Split(p, "/")
		rel = strings.Join(segs[max(0, len(segs)-2):], "/")
	}
	for _, seg := range strings.Split(rel, "/") {
		if len(seg) > 1 && seg[0] == '.' && seg != ".." {
			return seg
		}
	}
	return ""
}
