package sshsig

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// LoadSigner reads an OpenSSH private key file. passphrase is called only
// for an encrypted key; nil means there is no way to ask.
func LoadSigner(path string, passphrase func() ([]byte, error)) (ssh.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	s, err := ssh.ParsePrivateKey(b)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if passphrase == nil {
			return nil, fmt.Errorf("key %s is encrypted and there is no terminal to ask its passphrase: use --agent", path)
		}
		p, perr := passphrase()
		if perr != nil {
			return nil, perr
		}
		s, err = ssh.ParsePrivateKeyWithPassphrase(b, p)
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, fmt.Errorf("key %s: wrong passphrase", path)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("key %s: %v", path, err)
	}
	return s, nil
}

// AgentSigner finds a key in the ssh-agent at socket. identity is a public
// key file, a "SHA256:..." fingerprint, or the key's comment.
func AgentSigner(socket, identity string) (ssh.Signer, error) {
	conn, err := net.Dial("unix", socket)
	if err != nil {
		return nil, fmt.Errorf("ssh-agent at %s: %v", socket, err)
	}
	// The connection stays open for the signer's life: the process is short.
	client := agent.NewClient(conn)
	keys, err := client.List()
	if err != nil {
		return nil, fmt.Errorf("ssh-agent: %v", err)
	}
	var want ssh.PublicKey
	if b, err := os.ReadFile(identity); err == nil {
		if want, _, _, _, err = ssh.ParseAuthorizedKey(b); err != nil {
			return nil, fmt.Errorf("--signer %s: not a public key file: %v", identity, err)
		}
	}
	signers, err := client.Signers()
	if err != nil {
		return nil, fmt.Errorf("ssh-agent: %v", err)
	}
	for i, k := range keys {
		match := false
		switch {
		case want != nil:
			match = string(k.Marshal()) == string(want.Marshal())
		case strings.HasPrefix(identity, "SHA256:"):
			match = ssh.FingerprintSHA256(k) == identity
		default:
			match = k.Comment == identity
		}
		if match && i < len(signers) {
			return signers[i], nil
		}
	}
	return nil, fmt.Errorf("ssh-agent holds no key %q (%d keys loaded): ssh-add it, or name it by its .pub file, SHA256 fingerprint or comment", identity, len(keys))
}
