// Package agekeys parses the response team's age recipients and identities:
// native age X25519 (and hybrid post-quantum) keys and SSH keys, as the age
// command accepts them. It never prints private key material, not even in
// errors.
package agekeys

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"
)

// Recipient is a parsed public key and how the manifest names it.
type Recipient struct {
	age.Recipient `json:"-"`
	// Type is "x25519", "mlkem768x25519", "ssh-ed25519" or "ssh-rsa".
	Type string `json:"type"`
	// Public is the key as given: an age1... string or an SSH public key
	// line without its comment.
	Public string `json:"public_key"`
	// Fingerprint is SHA256:base64 of the key, as ssh-keygen prints it for
	// SSH keys and over the age1 string for age keys.
	Fingerprint string `json:"fingerprint"`
}

// ParseRecipient parses one public key. The error never echoes the input
// in full: a private key pasted by mistake must not reach a log.
func ParseRecipient(s string) (Recipient, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "age1pq1"):
		r, err := age.ParseHybridRecipient(s)
		if err != nil {
			return Recipient{}, fmt.Errorf("malformed age recipient %s: %v", short(s), err)
		}
		return Recipient{Recipient: r, Type: "mlkem768x25519", Public: s, Fingerprint: fingerprint([]byte(s))}, nil
	case strings.HasPrefix(s, "age1"):
		r, err := age.ParseX25519Recipient(s)
		if err != nil {
			return Recipient{}, fmt.Errorf("malformed age recipient %s: %v", short(s), err)
		}
		return Recipient{Recipient: r, Type: "x25519", Public: s, Fingerprint: fingerprint([]byte(s))}, nil
	case strings.HasPrefix(s, "ssh-ed25519 "), strings.HasPrefix(s, "ssh-rsa "):
		pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s))
		if err != nil {
			return Recipient{}, fmt.Errorf("malformed SSH recipient %s: %v", short(s), err)
		}
		r, err := agessh.ParseRecipient(s)
		if err != nil {
			return Recipient{}, fmt.Errorf("unusable SSH recipient %s: %v", short(s), err)
		}
		pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk)))
		return Recipient{Recipient: r, Type: pk.Type(), Public: pub, Fingerprint: ssh.FingerprintSHA256(pk)}, nil
	case strings.HasPrefix(s, "AGE-SECRET-KEY-"), strings.Contains(s, "PRIVATE KEY"):
		return Recipient{}, errors.New("a private key was given as a recipient: give the public key (age-keygen -y, or the .pub file)")
	default:
		return Recipient{}, fmt.Errorf("malformed recipient %s: want an age1... key, or an ssh-ed25519 or ssh-rsa public key", short(s))
	}
}

// ParseRecipientsFile reads one recipient per line; blank lines and lines
// starting with # are ignored.
func ParseRecipientsFile(r io.Reader, name string) ([]Recipient, error) {
	var out []Recipient
	sc := bufio.NewScanner(io.LimitReader(r, 16<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rc, err := ParseRecipient(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		out = append(out, rc)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no recipients in file", name)
	}
	return out, nil
}

// Dedup drops repeated keys, keeping the first.
func Dedup(rs []Recipient) []Recipient {
	seen := map[string]bool{}
	var out []Recipient
	for _, r := range rs {
		if !seen[r.Fingerprint] {
			seen[r.Fingerprint] = true
			out = append(out, r)
		}
	}
	return out
}

// Ages returns the age.Recipient of each.
func Ages(rs []Recipient) []age.Recipient {
	out := make([]age.Recipient, len(rs))
	for i, r := range rs {
		out[i] = r.Recipient
	}
	return out
}

// LoadIdentities reads an age identity file (AGE-SECRET-KEY-1... lines, as
// written by age-keygen or custos keygen) or an unencrypted SSH private key.
func LoadIdentities(path string) ([]age.Identity, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("identity file: %w", err)
	}
	if bytes.Contains(b, []byte("PRIVATE KEY-----")) {
		id, err := agessh.ParseIdentity(b)
		if err != nil {
			var missing *ssh.PassphraseMissingError
			if errors.As(err, &missing) {
				return nil, fmt.Errorf("identity file %s is an encrypted SSH key: decrypt a copy (ssh-keygen -p) or use an age identity", path)
			}
			return nil, fmt.Errorf("identity file %s: %v", path, err)
		}
		return []age.Identity{id}, nil
	}
	ids, err := age.ParseIdentities(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("identity file %s: %v", path, err)
	}
	return ids, nil
}

func fingerprint(b []byte) string {
	sum := sha256.Sum256(b)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// short shows the start of a key for error messages; keys are public, but
// a long echo helps no one.
func short(s string) string {
	if len(s) > 20 {
		return fmt.Sprintf("%q", s[:16]+"...")
	}
	return fmt.Sprintf("%q", s)
}
