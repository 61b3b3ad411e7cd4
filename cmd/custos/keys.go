package main

import (
	"errors"
	"fmt"
	"os"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"

	"github.com/custos-ir/custos/custody/allowedsigners"
	"github.com/custos-ir/custos/custody/sshsig"
	"github.com/custos-ir/custos/internal/agekeys"
	"github.com/custos-ir/custos/internal/term"
)

// signerOptions choose the SSH key that signs: a key file or a key held by
// ssh-agent. Signing happens on the responder's workstation, never on the
// collected host.
type signerOptions struct {
	key    string
	agent  bool
	signer string
}

func (o *signerOptions) flags(f flagSet) {
	f.StringVar(&o.key, "key", "", "sign with the OpenSSH private key in `FILE` (asks its passphrase on the terminal)")
	f.BoolVar(&o.agent, "agent", false, "sign with a key held by ssh-agent ($SSH_AUTH_SOCK); choose it with --signer")
	f.StringVar(&o.signer, "signer", "", "with --agent: the key's public key file, SHA256 fingerprint or comment; also recorded as who signed")
}

type flagSet interface {
	StringVar(p *string, name, value, usage string)
	BoolVar(p *bool, name string, value bool, usage string)
}

func (o *signerOptions) load() (ssh.Signer, error) {
	switch {
	case o.key != "" && o.agent:
		return nil, usageErr("give --key FILE or --agent, not both")
	case o.key != "":
		s, err := sshsig.LoadSigner(o.key, func() ([]byte, error) {
			p, err := term.ReadSecret(fmt.Sprintf("Passphrase for %s: ", o.key))
			if errors.Is(err, term.ErrNoTerminal) {
				return nil, fmt.Errorf("key %s is encrypted and there is no terminal to ask its passphrase: run on a terminal or use --agent", o.key)
			}
			return p, err
		})
		if err != nil {
			return nil, err
		}
		return s, nil
	case o.agent:
		sock := os.Getenv("SSH_AUTH_SOCK")
		if sock == "" {
			return nil, errors.New("--agent: SSH_AUTH_SOCK is not set: start ssh-agent and ssh-add your key")
		}
		if o.signer == "" {
			return nil, usageErr("--agent needs --signer: the key's public key file, fingerprint or comment")
		}
		return sshsig.AgentSigner(sock, o.signer)
	}
	return nil, usageErr("no signing key: give --key FILE or --agent --signer IDENTITY")
}

func loadAllowedSigners(path string) ([]allowedsigners.Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usageErr("--allowed-signers: %v", err)
	}
	defer f.Close()
	e, err := allowedsigners.Parse(f)
	if err != nil {
		return nil, usageErr("--allowed-signers %s: %v", path, err)
	}
	return e, nil
}

// loadIdentities reads every --identity file (age identities or SSH keys).
func loadIdentities(paths []string) ([]age.Identity, error) {
	var ids []age.Identity
	for _, p := range paths {
		got, err := agekeys.LoadIdentities(p)
		if err != nil {
			return nil, usageErr("--identity: %v", err)
		}
		ids = append(ids, got...)
	}
	return ids, nil
}
