package custody

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"

	"github.com/custos-ir/custos/storage"
)

// Sums renders SHA256SUMS for the stored artifacts of m, in the format
// `sha256sum -c` reads, with keys relative to the collection directory.
func Sums(m *Manifest) []byte {
	var b bytes.Buffer
	for _, a := range m.Artifacts {
		if a.IsStored() {
			fmt.Fprintf(&b, "%s  %s\n", a.Cipher.SHA256, a.Key)
		}
	}
	return b.Bytes()
}

// DigestLine is one sha256sum line for data under name.
func DigestLine(data []byte, name string) []byte {
	return SumLine(sha256.Sum256(data), name)
}

// SumLine is DigestLine for a digest already computed.
func SumLine(sum storage.Digest, name string) []byte {
	return fmt.Appendf(nil, "%x  %s\n", sum[:], name)
}

// ParseSums reads a sha256sum file into key → digest. Binary-mode lines
// ("hash *name") are accepted.
func ParseSums(data []byte) (map[string]storage.Digest, error) {
	out := map[string]storage.Digest{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if line == "" {
			continue
		}
		if len(line) < 67 || (line[64:66] != "  " && line[64:66] != " *") {
			return nil, fmt.Errorf("line %d: not a sha256sum line", n)
		}
		d, err := storage.ParseDigest(line[:64])
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		name := line[66:]
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("line %d: %s listed twice", n, name)
		}
		out[name] = d
	}
	return out, sc.Err()
}
