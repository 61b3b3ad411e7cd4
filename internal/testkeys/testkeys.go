// Package testkeys gives tests fresh age keys. Test use only.
package testkeys

import (
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"
)

// Identity makes an X25519 identity and writes it to dir/name (0600),
// returning the identity and the file path.
func Identity(t testing.TB, dir, name string) (*age.X25519Identity, string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return id, p
}
