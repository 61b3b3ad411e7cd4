package jsonx

import (
	"encoding/json"
	"errors"
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
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("Check took what encoding/json refuses: %v", err)
		}
		out, _ := json.Marshal(v)
		if err := Check(out); err != nil {
			t.Fatalf("re-encoded: %v", err)
		}
	})
}
