package collect

import (
	"bytes"
	"path/filepath"

	"github.com/custos-ir/custos/collect/hostfile"
	"github.com/custos-ir/custos/collect/redact"
	"github.com/custos-ir/custos/collect/windows"
	"github.com/custos-ir/custos/custody"
)

// redactAs replaces the secrets of kind in a file's stored copy: the
// Linux account databases here, the Windows configurations in windows.
func redactAs(kind string, b []byte) ([]byte, []string, error) {
	if kind == "shadow" {
		return redact.Shadow(b)
	}
	return windows.Redact(kind, b)
}

// privateKeyMarks begin a private key in the formats keys are kept in
// (PEM of every kind, OpenSSH's own, PuTTY's).
var privateKeyMarks = [][]byte{[]byte("PRIVATE KEY-----"), []byte("PuTTY-User-Key-File-")}

// markSensitive marks a file's record sensitive when a pattern names it or
// its content (read whole, for a small file) holds a private key. The mark
// changes nothing of how it is stored: all evidence is encrypted; it tells
// whoever decrypts it that the content is a secret in itself.
func markSensitive(p *pending, patterns []string) {
	if p.rec.Type != "file" {
		return
	}
	for _, pat := range patterns {
		if hostfile.MatchPattern(filepath.ToSlash(pat), filepath.ToSlash(custody.UnescapePath(p.rec.Path))) {
			sensitive(p)
			return
		}
	}
	if p.data != nil {
		for _, m := range privateKeyMarks {
			if bytes.Contains(*p.data, m) {
				sensitive(p)
				return
			}
		}
	}
}

func sensitive(p *pending) {
	p.rec.Sensitive = true
	p.rec.Note = addNote(p.rec.Note, "sensitive: holds secrets (a private key, credentials, a crypt key); handle the copy as such")
}
