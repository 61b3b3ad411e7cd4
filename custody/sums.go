package custody

import (
	"bytes"
	"fmt"
)

// Sums renders SHA256SUMS for the stored artifacts of m, in the format
// `sha256sum -c` reads, with keys relative to the collection directory.
func Sums(m *Manifest) []byte {
	var b bytes.Buffer
	for _, a := range m.Artifacts {
		if a.IsStored() {
			fmt.Fprintf(&b, "%s  %s\n", a.Cipher.SHA256, a.Key)
		}
		if f := a.FilesObject; f != nil {
			fmt.Fprintf(&b, "%s  %s\n", f.SHA256, f.Key)
		}
	}
	return b.Bytes()
}

// sumLine is one sha256sum line.
func sumLine(sum Digest, name string) []byte {
	return fmt.Appendf(nil, "%x  %s\n", sum[:], name)
}

// ParseSums reads a sha256sum file into key → digest: every line
// "HEX  name" or "HEX *name", ending in a newline, no name twice. It
// refuses what sha256sum would read differently (a backslash-escaped
// name, a carriage return).
func ParseSums(data []byte) (map[string]Digest, error) {
	out := map[string]Digest{}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		return nil, fmt.Errorf("does not end in a newline")
	}
	n := 0
	for len(data) > 0 {
		n++
		i := bytes.IndexByte(data, '\n')
		line := string(data[:i])
		data = data[i+1:]
		if len(line) < 67 || (line[64:66] != "  " && line[64:66] != " *") {
			return nil, fmt.Errorf("line %d: not a sha256sum line", n)
		}
		d, err := ParseDigest(line[:64])
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		name := line[66:]
		if bytes.ContainsAny([]byte(name), "\r\\") {
			return nil, fmt.Errorf("line %d: a name with a backslash or carriage return", n)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("line %d: %s listed twice", n, name)
		}
		out[name] = d
	}
	return out, nil
}
