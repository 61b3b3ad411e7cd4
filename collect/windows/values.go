package windows

import (
	"io/fs"
	"sort"
	"strings"
)

// Value is one registry value as read: Type is the registry type name
// (REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ, REG_DWORD, REG_QWORD, REG_BINARY,
// ...). Data holds REG_SZ and REG_EXPAND_SZ as one string, not expanded
// (the collector's environment is not the one the value is used in),
// REG_MULTI_SZ one string per element, REG_DWORD and REG_QWORD as a
// decimal number, any other type as hex.
type Value struct {
	Name string   `json:"name"`
	Type string   `json:"type"`
	Data []string `json:"data"`
}

// String is the data as one string, elements of REG_MULTI_SZ joined by
// newlines.
func (v Value) String() string { return strings.Join(v.Data, "\n") }

// ValueLister is a Registry that can also list all values of a key.
type ValueLister interface {
	Registry
	Values(path string) ([]Value, error)
}

// Values lists the values of a key, by name. MapRegistry keeps no types: a
// value with one string is REG_SZ, one with several REG_MULTI_SZ. A key
// that exists only because it has subkeys has no values.
func (m MapRegistry) Values(path string) ([]Value, error) {
	var out []Value
	found := false
	for k, vals := range m {
		if !strings.EqualFold(k, path) {
			continue
		}
		found = true
		for name, data := range vals {
			t := "REG_SZ"
			if len(data) != 1 {
				t = "REG_MULTI_SZ"
			}
			out = append(out, Value{Name: name, Type: t, Data: append([]string(nil), data...)})
		}
	}
	if !found {
		if _, err := m.SubKeys(path); err != nil {
			return nil, fs.ErrNotExist
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out, nil
}
