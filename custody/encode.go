package custody

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/custos-ir/custos/internal/iox"
)

// The manifest of a tree of 20,000 small files has 20,000 file records;
// encoding them through reflection and indenting every field on its own
// line cost a fifth of such a collection's CPU. File records are therefore
// encoded by hand (the same bytes encoding/json writes, tested against it)
// and written one record per line.

// MarshalJSON encodes f exactly as encoding/json would encode its fields.
func (f File) MarshalJSON() ([]byte, error) { return f.appendJSON(make([]byte, 0, 384)), nil }

func (f *File) appendJSON(b []byte) []byte {
	b = append(b, `{"path":`...)
	b = appendString(b, f.Path)
	b = append(b, `,"type":`...)
	b = appendString(b, f.Type)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, f.Size, 10)
	b = append(b, `,"mode":`...)
	b = appendString(b, f.Mode)
	b = append(b, `,"uid":`...)
	b = strconv.AppendUint(b, uint64(f.UID), 10)
	b = append(b, `,"gid":`...)
	b = strconv.AppendUint(b, uint64(f.GID), 10)
	b = appendUintField(b, `,"inode":`, f.Inode)
	b = appendUintField(b, `,"device":`, f.Device)
	b = appendUintField(b, `,"nlink":`, f.Nlink)
	b = appendTimeField(b, `,"atime":`, f.Atime)
	b = appendTimeField(b, `,"mtime":`, f.Mtime)
	b = appendTimeField(b, `,"ctime":`, f.Ctime)
	b = appendTimeField(b, `,"btime":`, f.Btime)
	b = appendStringField(b, `,"link":`, f.Link)
	b = appendStringField(b, `,"target":`, f.Target)
	b = append(b, `,"stored":`...)
	b = strconv.AppendBool(b, f.Stored)
	b = appendStringField(b, `,"sha256":`, f.SHA256)
	if f.Read != 0 {
		b = append(b, `,"read":`...)
		b = strconv.AppendInt(b, f.Read, 10)
	}
	if f.Holes != 0 {
		b = append(b, `,"holes":`...)
		b = strconv.AppendInt(b, f.Holes, 10)
	}
	b = appendStringField(b, `,"method":`, f.Method)
	b = appendStringField(b, `,"error":`, f.Error)
	b = appendStringField(b, `,"note":`, f.Note)
	if len(f.Flags) > 0 {
		b = append(b, `,"flags":[`...)
		for i, s := range f.Flags {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		b = append(b, ']')
	}
	if len(f.Redacted) > 0 {
		b = append(b, `,"redacted":[`...)
		for i, s := range f.Redacted {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		b = append(b, ']')
	}
	if f.StoredSize != 0 {
		b = append(b, `,"stored_size":`...)
		b = strconv.AppendInt(b, f.StoredSize, 10)
	}
	b = appendStringField(b, `,"stored_sha256":`, f.StoredSHA256)
	b = appendStringField(b, `,"stored_as":`, f.StoredAs)
	if len(f.Attrs) > 0 {
		b = append(b, `,"attrs":[`...)
		for i, s := range f.Attrs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		b = append(b, ']')
	}
	if f.Sensitive {
		b = append(b, `,"sensitive":true`...)
	}
	return append(b, '}')
}

func appendUintField(b []byte, key string, v uint64) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendUint(append(b, key...), v, 10)
}

func appendStringField(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return appendString(append(b, key...), v)
}

func appendTimeField(b []byte, key string, t *time.Time) []byte {
	if t == nil {
		return b
	}
	b = append(append(b, key...), '"')
	return append(t.AppendFormat(b, time.RFC3339Nano), '"')
}

const hexDigits = "0123456789abcdef"

// appendString quotes s as encoding/json does without HTML escaping:
// control characters as \u00XX (\n, \r, \t, \b, \f short), invalid UTF-8
// as U+FFFD, U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(append(b, s[start:]...), '"')
}

// indentShallow indents compact JSON like json.Indent with two spaces, but
// only to depth deep: containers nested deeper stay on one line.
func indentShallow(src []byte, deep int) []byte {
	var b bytes.Buffer
	b.Grow(len(src) + len(src)/16)
	in := &indenter{w: &b, deep: deep}
	in.Write(src)
	in.flush()
	return b.Bytes()
}

// indenter is indentShallow as a writer, for manifests written straight
// to a store: a multi-megabyte manifest is never held twice.
type indenter struct {
	w      io.Writer
	deep   int
	depth  int
	inStr  bool
	esc    bool
	opened bool // a { or [ was written; its newline waits for the next byte
	out    []byte
	err    error
}

func (in *indenter) nl(d int) {
	in.out = append(in.out, '\n')
	for ; d > 0; d-- {
		in.out = append(in.out, ' ', ' ')
	}
}

func (in *indenter) Write(p []byte) (int, error) {
	for _, c := range p {
		if in.opened {
			in.opened = false
			if c == '}' || c == ']' {
				in.out = append(in.out, c) // {} and [] stay as they are
				continue
			}
			in.depth++
			if in.depth <= in.deep {
				in.nl(in.depth)
			}
		}
		if in.inStr {
			in.out = append(in.out, c)
			switch {
			case in.esc:
				in.esc = false
			case c == '\\':
				in.esc = true
			case c == '"':
				in.inStr = false
			}
			continue
		}
		switch c {
		case '"':
			in.inStr = true
			in.out = append(in.out, c)
		case '{', '[':
			in.out = append(in.out, c)
			in.opened = true
		case '}', ']':
			in.depth--
			if in.depth < in.deep {
				in.nl(in.depth)
			}
			in.out = append(in.out, c)
		case ',':
			in.out = append(in.out, c)
			if in.depth <= in.deep {
				in.nl(in.depth)
			}
		case ':':
			in.out = append(in.out, c)
			if in.depth <= in.deep {
				in.out = append(in.out, ' ')
			}
		default:
			in.out = append(in.out, c)
		}
		if len(in.out) >= 64<<10 {
			in.flush()
		}
	}
	return len(p), in.err
}

func (in *indenter) flush() error {
	if len(in.out) > 0 && in.err == nil {
		_, in.err = in.w.Write(in.out)
	}
	in.out = in.out[:0]
	return in.err
}

// MarshalJSON encodes an artifact as encoding/json would, except that its
// file records come last and are encoded by hand, straight into one buffer.
func (a Artifact) MarshalJSON() ([]byte, error) { return a.appendJSON(nil) }

// appendJSON appends the artifact's compact JSON to b. Large artifacts are
// encoded straight into the caller's buffer: each fresh multi-megabyte
// buffer costs page faults, and encoding/json would add two more copies.
func (a *Artifact) appendJSON(b []byte) ([]byte, error) {
	if a.sealed.valid(a) {
		return append(b, a.sealed.b...), nil
	}
	if a.list != nil {
		w := bytes.NewBuffer(b)
		err := a.writeJSON(w)
		return w.Bytes(), err
	}
	h, err := a.head()
	if err != nil || len(a.Files) == 0 {
		return append(b, h...), err
	}
	if b == nil {
		b = make([]byte, 0, len(h)+len(a.Files)*512+16)
	}
	b = append(b, h[:len(h)-1]...)
	b = append(b, `,"files":[`...)
	for i := range a.Files {
		if i > 0 {
			b = append(b, ',')
		}
		b = a.Files[i].appendJSON(b)
	}
	return append(b, ']', '}'), nil
}

// head is the artifact's compact JSON without its file records.
func (a *Artifact) head() ([]byte, error) {
	type plain Artifact // the same fields, without this method
	p := plain(*a)
	p.Files = nil
	var head bytes.Buffer
	enc := json.NewEncoder(&head)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return bytes.TrimRight(head.Bytes(), "\n"), nil
}

// writeJSON writes the artifact's compact JSON to w, its file records
// one chunk at a time: the whole record of a large tree is never held.
func (a *Artifact) writeJSON(w io.Writer) error {
	h, err := a.head()
	if err != nil {
		return err
	}
	if len(a.Files) == 0 && a.list == nil {
		_, err := w.Write(h)
		return err
	}
	if _, err := w.Write(append(h[:len(h)-1:len(h)-1], `,"files":[`...)); err != nil {
		return err
	}
	var buf []byte
	for i := range a.Files {
		buf = buf[:0]
		if i > 0 {
			buf = append(buf, ',')
		}
		if _, err := w.Write(a.Files[i].appendJSON(buf)); err != nil {
			return err
		}
	}
	if a.list != nil {
		if len(a.Files) > 0 {
			if _, err := w.Write([]byte{','}); err != nil {
				return err
			}
		}
		if err := a.list.writeJSON(w); err != nil {
			return err
		}
	}
	_, err = w.Write([]byte("]}"))
	return err
}

// writeCompact writes the manifest's compact JSON to w with its artifacts
// last, each from its sealed bytes where it has them.
func (m *Manifest) writeCompact(w io.Writer) error {
	type plain Manifest
	// The outer Artifacts, shallower than the embedded one, hides it: the
	// head is every field but the artifacts, which follow it.
	head := struct {
		*plain
		Artifacts *struct{} `json:"artifacts,omitempty"`
	}{plain: (*plain)(m)}
	var hb bytes.Buffer
	enc := json.NewEncoder(&hb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(head); err != nil {
		return err
	}
	h := bytes.TrimSuffix(bytes.TrimRight(hb.Bytes(), "\n"), []byte("}"))
	if _, err := w.Write(append(h, `,"artifacts":[`...)); err != nil {
		return err
	}
	var buf []byte
	for i := range m.Artifacts {
		a := &m.Artifacts[i]
		if i > 0 {
			if _, err := w.Write([]byte{','}); err != nil {
				return err
			}
		}
		if a.list != nil {
			if err := a.writeJSON(w); err != nil {
				return err
			}
			continue
		}
		var b []byte
		if a.sealed.valid(a) {
			b = a.sealed.b
		} else {
			var err error
			if buf, err = a.appendJSON(buf[:0]); err != nil {
				return err
			}
			b = buf
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	_, err := w.Write([]byte("]}\n"))
	return err
}

// WriteTo writes the manifest's canonical bytes (see Marshal) to w.
func (m *Manifest) WriteTo(w io.Writer) (int64, error) {
	cw := &iox.CountingWriter{W: w}
	in := &indenter{w: cw, deep: fileDepth}
	if err := m.writeCompact(in); err != nil {
		return cw.N, err
	}
	err := in.flush()
	return cw.N, err
}

// errLarge is Seal's answer for an artifact whose file records are kept
// compressed: its record is written as a stream (writeJSON), never whole.
var errLarge = errors.New("artifact record too large to seal whole")

// sealed is an artifact's encoding kept for reuse (the journal's bytes are
// the manifest's), with what it was made from: a copy whose files, errors,
// warnings or status were changed afterwards is encoded again.
type sealed struct {
	b          []byte
	files      *File
	nf, ne, nw int
	status     string
}

func (s *sealed) valid(a *Artifact) bool {
	if s == nil || a.list != nil || len(a.Files) != s.nf || len(a.Errors) != s.ne || len(a.Warnings) != s.nw || a.Status != s.status {
		return false
	}
	return s.nf == 0 || &a.Files[0] == s.files
}

// Seal encodes a finished artifact record and keeps the bytes, so that
// writing it again (the manifest after the journal) costs a copy, not an
// encoding. Changing the record afterwards in place other than by
// appending to its lists or setting its status is not allowed.
func (a *Artifact) Seal() ([]byte, error) {
	a.sealed = nil
	if a.list != nil {
		return nil, errLarge
	}
	b, err := a.appendJSON(nil)
	if err != nil {
		return nil, err
	}
	s := &sealed{b: b, nf: len(a.Files), ne: len(a.Errors), nw: len(a.Warnings), status: a.Status}
	if s.nf > 0 {
		s.files = &a.Files[0]
	}
	a.sealed = s
	return b, nil
}
