package jsonx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestCheck(t *testing.T) {
	for in, ok := range map[string]bool{
		`{"a":1,"b":[{"a":1},{"a":2}]}`: true,
		`{"a":1,"a":2}`:                 false,
		`{"x":{"a":1,"b":2,"a":3}}`:     false,
		`[{"k":1,"k":1}]`:               false,
		`{"a":"\u0061","\u0061":1}`:     false, // the same key, escaped
		`{} {}`:                         false,
		`{"a":`:                         false,
		`"just a string"`:               true,
	} {
		err := Check([]byte(in))
		if (err == nil) != ok {
			t.Errorf("%s: %v", in, err)
		}
	}
	if err := Check([]byte(`{"a":1,"a":2}`)); !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate not named: %v", err)
	}
}

func TestDecode(t *testing.T) {
	var v struct{ A int }
	if err := Decode([]byte(`{"A":1,"B":2}`), &v, 100); err == nil {
		t.Error("unknown field taken")
	}
	if err := Decode([]byte(`{"A":1}`), &v, 3); err == nil {
		t.Error("size limit not kept")
	}
	if err := Decode([]byte(`{"A":1}`), &v, 100); err != nil || v.A != 1 {
		t.Errorf("%v %v", v, err)
	}
}

// FuzzCheck: whatever Check accepts, encoding/json parses to the same
// value when re-encoded (no key was silently dropped).
func FuzzCheck(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":{"c":[1,2,{"d":null}]}}`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if Check(b) != nil {
			return
		}
		// Numbers as text: a number past float64 is valid JSON.
		var v any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("Check took what encoding/json refuses: %v", err)
		}
		if !json.Valid(b) {
			t.Fatalf("Check took what json.Valid refuses")
		}
		out, _ := json.Marshal(v)
		if err := Check(out); err != nil {
			t.Fatalf("re-encoded: %v", err)
		}
	})
}

// refCheck is Check as encoding/json's tokenizer sees it: the reference
// the scanner is fuzzed against.
func refCheck(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := refWalk(dec, 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data")
	}
	return nil
}

func refWalk(dec *json.Decoder, depth int) error {
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
			if err := refWalk(dec, depth+1); err != nil {
				return err
			}
		}
	case '[':
		for dec.More() {
			if err := refWalk(dec, depth+1); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

// FuzzCheckReference: the scanner takes exactly what the tokenizer takes.
func FuzzCheckReference(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":[{"a":1},{"a":2}]}`, `{"a":1,"a":2}`, `{"a":"\u0061","\u0061":1}`, `{"\xff":1,"\xfe":2}`, `[1e5,-0.5,true,null]`, `{} {}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, want := Check(b), refCheck(b)
		if (got == nil) != (want == nil) {
			t.Fatalf("Check: %v, tokenizer: %v", got, want)
		}
		if want != nil && errors.Is(want, ErrDuplicate) != errors.Is(got, ErrDuplicate) {
			t.Fatalf("Check: %v, tokenizer: %v", got, want)
		}
	})
}
