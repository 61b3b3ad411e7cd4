// Package jsonx reads JSON that came from outside strictly: one document,
// no duplicate object keys at any depth, no unknown fields, bounded size.
// encoding/json takes the last of duplicate keys silently, so a document
// can mean one thing to custos and another to a strict reader; custos
// refuses it instead.
package jsonx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrDuplicate is wrapped by Check's error for a key given twice.
var ErrDuplicate = errors.New("duplicate key")

// Check reports the first duplicate object key in b (at any depth),
// trailing data after its one JSON value, or JSON that is not valid. It
// does not decode into Go values; Decode does both. It is a scanner of
// its own, without allocations for keys that need no decoding: a
// manifest's million file records are each checked.
func Check(b []byte) error {
	s := scanner{b: b}
	s.space()
	if err := s.value(0); err != nil {
		return err
	}
	s.space()
	if s.i != len(b) {
		return errors.New("trailing data after the JSON document")
	}
	return nil
}

// maxDepth bounds nesting: encoding/json allows 10,000 levels, far more
// than any custos document has.
const maxDepth = 64

type scanner struct {
	b []byte
	i int
}

func (s *scanner) errf(format string, args ...any) error {
	return fmt.Errorf("invalid JSON at offset %d: "+format, append([]any{s.i}, args...)...)
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) value(depth int) error {
	if s.i >= len(s.b) {
		return s.errf("unexpected end")
	}
	switch c := s.b[s.i]; {
	case c == '{':
		if depth >= maxDepth {
			return fmt.Errorf("nested deeper than %d levels", maxDepth)
		}
		return s.object(depth)
	case c == '[':
		if depth >= maxDepth {
			return fmt.Errorf("nested deeper than %d levels", maxDepth)
		}
		return s.array(depth)
	case c == '"':
		_, _, err := s.str()
		return err
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	}
	return s.errf("unexpected %q", s.b[s.i])
}

func (s *scanner) lit(w string) error {
	if !bytes.HasPrefix(s.b[s.i:], []byte(w)) {
		return s.errf("bad literal")
	}
	s.i += len(w)
	return nil
}

func (s *scanner) number() error {
	st := s.i
	if s.b[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case digits() == 0:
		return s.errf("bad number")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return s.errf("bad number")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return s.errf("bad number")
		}
	}
	if s.i == st {
		return s.errf("bad number")
	}
	return nil
}

// str scans a string; raw is its bytes between the quotes, plain says
// they need no decoding (no escape, nothing but ASCII).
func (s *scanner) str() (raw []byte, plain bool, err error) {
	s.i++ // the opening quote
	st := s.i
	plain = true
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			raw = s.b[st:s.i]
			s.i++
			return raw, plain, nil
		case c == '\\':
			plain = false
			s.i++
			if s.i >= len(s.b) {
				return nil, false, s.errf("unexpected end")
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				s.i++
				for k := 0; k < 4; k++ {
					if s.i >= len(s.b) || !isHex(s.b[s.i]) {
						return nil, false, s.errf("bad \\u escape")
					}
					s.i++
				}
			default:
				return nil, false, s.errf("bad escape")
			}
		case c < 0x20:
			return nil, false, s.errf("control character in a string")
		default:
			if c >= 0x80 {
				plain = false
			}
			s.i++
		}
	}
	return nil, false, s.errf("unexpected end")
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func (s *scanner) array(depth int) error {
	s.i++
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		s.space()
		if err := s.value(depth + 1); err != nil {
			return err
		}
		if end, err := s.after(']'); end || err != nil {
			return err
		}
	}
}

// after reads what follows a member of an array or object: a comma
// (another member comes) or its closing byte (end).
func (s *scanner) after(closing byte) (end bool, err error) {
	s.space()
	if s.i >= len(s.b) {
		return false, s.errf("unexpected end")
	}
	switch s.b[s.i] {
	case ',':
		s.i++
		return false, nil
	case closing:
		s.i++
		return true, nil
	}
	return false, s.errf("expected , or %c", closing)
}

// object scans an object, refusing a key given twice. Keys are compared
// as encoding/json decodes them (escapes resolved, bad UTF-8 replaced).
func (s *scanner) object(depth int) error {
	s.i++
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	var few [24][]byte
	keys := few[:0]
	var many map[string]bool
	for {
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.errf("expected a key")
		}
		k, plain, err := s.str()
		if err != nil {
			return err
		}
		if !plain {
			var d string
			if err := json.Unmarshal(s.b[s.i-len(k)-2:s.i], &d); err != nil {
				return s.errf("bad key: %v", err)
			}
			k = []byte(d)
		}
		if many != nil {
			if many[string(k)] {
				return fmt.Errorf("%w %q", ErrDuplicate, k)
			}
			many[string(k)] = true
		} else {
			for _, o := range keys {
				if bytes.Equal(o, k) {
					return fmt.Errorf("%w %q", ErrDuplicate, k)
				}
			}
			if keys = append(keys, k); len(keys) == cap(few) {
				many = map[string]bool{}
				for _, o := range keys {
					many[string(o)] = true
				}
			}
		}
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.errf("expected :")
		}
		s.i++
		s.space()
		if err := s.value(depth + 1); err != nil {
			return err
		}
		if end, err := s.after('}'); end || err != nil {
			return err
		}
	}
}

// Decode reads b into v strictly: at most max bytes, one document, no
// duplicate keys, no fields v does not have.
func Decode(b []byte, v any, max int) error {
	if len(b) > max {
		return fmt.Errorf("larger than %d bytes", max)
	}
	if err := Check(b); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
