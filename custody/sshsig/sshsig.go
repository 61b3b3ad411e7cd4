// Package sshsig makes and checks signatures in OpenSSH's SSHSIG format
// (PROTOCOL.sshsig), the format of `ssh-keygen -Y sign`, so that anything
// custos signs verifies with ssh-keygen alone, and the reverse.
//
// It never signs with SHA-1: RSA keys sign with rsa-sha2-512.
package sshsig

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"golang.org/x/crypto/ssh"
)

const (
	magic      = "SSHSIG"
	version    = 1
	armorBegin = "-----BEGIN SSH SIGNATURE-----"
	armorEnd   = "-----END SSH SIGNATURE-----"
)

// Signature is a parsed SSHSIG.
type Signature struct {
	PublicKey     ssh.PublicKey
	Namespace     string
	HashAlgorithm string // "sha512" or "sha256"
	Signature     *ssh.Signature
}

// Errors callers test with errors.Is.
var (
	ErrFormat    = errors.New("not an SSH signature")
	ErrNamespace = errors.New("signature made for another namespace")
	ErrBad       = errors.New("signature does not match the message")
)

// wire is the signature blob's layout.
type wire struct {
	Version   uint32
	PublicKey []byte
	Namespace string
	Reserved  string
	HashAlg   string
	Signature []byte
}

// signed is the blob the key actually signs.
type signed struct {
	Namespace string
	Reserved  string
	HashAlg   string
	Hash      []byte
}

func signedData(namespace, alg string, sum []byte) []byte {
	return append([]byte(magic), ssh.Marshal(signed{namespace, "", alg, sum})...)
}

// Digests are a message's SHA-256 and SHA-512, for a message read once
// for other purposes too (a manifest parsed as it is hashed).
type Digests struct{ SHA256, SHA512 []byte }

// Hash reads r to its end and returns its digests.
func Hash(r io.Reader) (Digests, error) {
	h := NewHasher()
	if _, err := io.Copy(h, r); err != nil {
		return Digests{}, err
	}
	return h.Digests(), nil
}

// Hasher computes Digests of what is written to it.
type Hasher struct{ s256, s512 hash.Hash }

func NewHasher() *Hasher { return &Hasher{sha256.New(), sha512.New()} }

func (h *Hasher) Write(p []byte) (int, error) {
	h.s256.Write(p)
	return h.s512.Write(p)
}

func (h *Hasher) Digests() Digests { return Digests{h.s256.Sum(nil), h.s512.Sum(nil)} }

func (d Digests) of(alg string) ([]byte, error) {
	switch alg {
	case "sha512":
		return d.SHA512, nil
	case "sha256":
		return d.SHA256, nil
	}
	return nil, fmt.Errorf("%w: hash algorithm %q", ErrFormat, alg)
}

// Sign reads message once, hashes it with SHA-512 and signs it for
// namespace, returning the armored signature.
func Sign(s ssh.Signer, message io.Reader, namespace string) ([]byte, error) {
	d, err := Hash(message)
	if err != nil {
		return nil, err
	}
	return SignDigests(s, d, namespace)
}

// SignDigests signs a message by its digests (SHA-512 is signed).
func SignDigests(s ssh.Signer, d Digests, namespace string) ([]byte, error) {
	if namespace == "" {
		return nil, errors.New("sshsig: empty namespace")
	}
	data := signedData(namespace, "sha512", d.SHA512)
	var sig *ssh.Signature
	var err error
	pub := s.PublicKey()
	if pub.Type() == ssh.KeyAlgoRSA {
		as, ok := s.(ssh.AlgorithmSigner)
		if !ok {
			return nil, errors.New("sshsig: this RSA key cannot sign with rsa-sha2-512")
		}
		sig, err = as.SignWithAlgorithm(rand.Reader, data, ssh.KeyAlgoRSASHA512)
	} else {
		sig, err = s.Sign(rand.Reader, data)
	}
	if err != nil {
		return nil, err
	}
	blob := append([]byte(magic), ssh.Marshal(wire{version, pub.Marshal(), namespace, "", "sha512", ssh.Marshal(sig)})...)
	return armor(blob), nil
}

func armor(blob []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(blob)
	var b bytes.Buffer
	b.WriteString(armorBegin + "\n")
	for len(enc) > 70 {
		b.WriteString(enc[:70] + "\n")
		enc = enc[70:]
	}
	b.WriteString(enc + "\n" + armorEnd + "\n")
	return b.Bytes()
}

// Parse reads an armored signature strictly.
func Parse(armored []byte) (*Signature, error) {
	text := strings.TrimSpace(string(armored))
	body, ok := strings.CutPrefix(text, armorBegin)
	if !ok {
		return nil, fmt.Errorf("%w: no %q line", ErrFormat, armorBegin)
	}
	body, ok = strings.CutSuffix(body, armorEnd)
	if !ok {
		return nil, fmt.Errorf("%w: no %q line", ErrFormat, armorEnd)
	}
	// Line breaks are the only whitespace allowed: a signature file whose
	// bytes changed should not parse as the same signature.
	body = strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "")
	if strings.ContainsAny(body, " \t\v\f\r") {
		return nil, fmt.Errorf("%w: stray whitespace in the armor", ErrFormat)
	}
	raw, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("%w: bad base64: %v", ErrFormat, err)
	}
	if !bytes.HasPrefix(raw, []byte(magic)) {
		return nil, fmt.Errorf("%w: no SSHSIG preamble", ErrFormat)
	}
	var w wire
	if err := ssh.Unmarshal(raw[len(magic):], &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if w.Version != version {
		return nil, fmt.Errorf("%w: version %d", ErrFormat, w.Version)
	}
	if w.HashAlg != "sha512" && w.HashAlg != "sha256" {
		return nil, fmt.Errorf("%w: hash algorithm %q", ErrFormat, w.HashAlg)
	}
	pub, err := ssh.ParsePublicKey(w.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: public key: %v", ErrFormat, err)
	}
	sig := new(ssh.Signature)
	if err := ssh.Unmarshal(w.Signature, sig); err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrFormat, err)
	}
	return &Signature{PublicKey: pub, Namespace: w.Namespace, HashAlgorithm: w.HashAlg, Signature: sig}, nil
}

// Verify checks an armored signature over message for namespace and returns
// it (with the signing key) when it holds.
func Verify(armored []byte, message io.Reader, namespace string) (*Signature, error) {
	if _, err := Parse(armored); err != nil {
		return nil, err
	}
	d, err := Hash(message)
	if err != nil {
		return nil, err
	}
	return VerifyDigests(armored, d, namespace)
}

// VerifyDigests is Verify of a message known by its digests.
func VerifyDigests(armored []byte, d Digests, namespace string) (*Signature, error) {
	s, err := Parse(armored)
	if err != nil {
		return nil, err
	}
	if s.Namespace != namespace {
		return nil, fmt.Errorf("%w: %q, want %q", ErrNamespace, s.Namespace, namespace)
	}
	if s.Signature.Format == ssh.KeyAlgoRSA {
		return nil, fmt.Errorf("%w: ssh-rsa (SHA-1) signatures are refused", ErrBad)
	}
	sum, err := d.of(s.HashAlgorithm)
	if err != nil {
		return nil, err
	}
	if err := s.PublicKey.Verify(signedData(namespace, s.HashAlgorithm, sum), s.Signature); err != nil {
		return nil, fmt.Errorf("%w (key %s)", ErrBad, Fingerprint(s.PublicKey))
	}
	return s, nil
}

// Fingerprint is "SHA256:..." as ssh-keygen -l prints it.
func Fingerprint(k ssh.PublicKey) string { return ssh.FingerprintSHA256(k) }
