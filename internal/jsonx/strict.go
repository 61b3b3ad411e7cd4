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
	"io"
)

// ErrDuplicate is wrapped by Check's error for a key given twice.
var ErrDuplicate = errors.New("duplicate key")

// Check reports the first duplicate object key in b (at any depth) or
// trailing data after its one JSON value. It does not decode into Go
// values; Decode does both.
func Check(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := walk(dec, 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON document")
	}
	return nil
}

// maxDepth bounds nesting: encoding/json allows 10,000 levels, far more
// than any custos document has.
const maxDepth = 64

func walk(dec *json.Decoder, depth int) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	d, ok := t.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= maxDepth {
		return fmt.Errorf("nested deeper than %d levels", maxDepth)
	}
	switch d {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			k := kt.(string)
			if seen[k] {
				return fmt.Errorf("%w %q", ErrDuplicate, k)
			}
			seen[k] = true
			if err := walk(dec, depth+1); err != nil {
				return err
			}
		}
	case '[':
		for dec.More() {
			if err := walk(dec, depth+1); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
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
