package sshsig

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/custos-ir/custos/internal/testenv"
)

const ns = "custos-manifest"

func keygen(t *testing.T, dir, typ, pass string) string {
	t.Helper()
	testenv.Tool(t, "ssh-keygen", "apt-get install openssh-client")
	p := filepath.Join(dir, "id_"+typ)
	args := []string{"-q", "-t", typ, "-N", pass, "-C", typ + "@test", "-f", p}
	if typ == "rsa" {
		args = append(args, "-b", "2048")
	}
	if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	return p
}

func allowedFile(t *testing.T, dir, principal, opts, pubPath string) string {
	pub, _ := os.ReadFile(pubPath)
	line := principal + " "
	if opts != "" {
		line += opts + " "
	}
	p := filepath.Join(dir, "allowed_signers")
	os.WriteFile(p, []byte(line+string(pub)), 0o644)
	return p
}

// sshVerify runs ssh-keygen -Y verify and returns its error.
func sshVerify(t *testing.T, allowed, principal, sigFile string, msg []byte) error {
	cmd := exec.Command("ssh-keygen", "-Y", "verify", "-f", allowed, "-I", principal, "-n", ns, "-s", sigFile)
	cmd.Stdin = bytes.NewReader(msg)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return errors.New(string(out))
	}
	return nil
}

func TestCustosSignsSSHKeygenVerifies(t *testing.T) {
	msg := []byte("{\"format\":\"custos-manifest/1\"}\n")
	for _, typ := range []string{"ed25519", "rsa", "ecdsa"} {
		t.Run(typ, func(t *testing.T) {
			dir := t.TempDir()
			key := keygen(t, dir, typ, "")
			s, err := LoadSigner(key, nil)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := Sign(s, bytes.NewReader(msg), ns)
			if err != nil {
				t.Fatal(err)
			}
			sigFile := filepath.Join(dir, "m.sig")
			os.WriteFile(sigFile, sig, 0o644)
			allowed := allowedFile(t, dir, "alice@example.org", "", key+".pub")
			if err := sshVerify(t, allowed, "alice@example.org", sigFile, msg); err != nil {
				t.Fatalf("ssh-keygen rejects our signature: %v", err)
			}
			if typ == "rsa" {
				p, _ := Parse(sig)
				if p.Signature.Format != ssh.KeyAlgoRSASHA512 {
					t.Fatalf("RSA signed with %s", p.Signature.Format)
				}
			}
			// And a changed byte fails there too.
			if err := sshVerify(t, allowed, "alice@example.org", sigFile, append(msg, ' ')); err == nil {
				t.Fatal("ssh-keygen accepts a changed message")
			}
		})
	}
}

func TestSSHKeygenSignsCustosVerifies(t *testing.T) {
	msg := []byte("manifest bytes\n")
	for _, typ := range []string{"ed25519", "rsa", "ecdsa"} {
		t.Run(typ, func(t *testing.T) {
			dir := t.TempDir()
			key := keygen(t, dir, typ, "")
			mf := filepath.Join(dir, "m")
			os.WriteFile(mf, msg, 0o644)
			if out, err := exec.Command("ssh-keygen", "-Y", "sign", "-f", key, "-n", ns, mf).CombinedOutput(); err != nil {
				t.Fatalf("ssh-keygen sign: %v %s", err, out)
			}
			sig, _ := os.ReadFile(mf + ".sig")
			s, err := Verify(sig, bytes.NewReader(msg), ns)
			if err != nil {
				t.Fatal(err)
			}
			pub, _ := os.ReadFile(key + ".pub")
			want, _, _, _, _ := ssh.ParseAuthorizedKey(pub)
			if Fingerprint(s.PublicKey) != Fingerprint(want) {
				t.Fatal("wrong key")
			}
			if _, err := Verify(sig, bytes.NewReader(msg), "custos-countersign"); !errors.Is(err, ErrNamespace) {
				t.Fatalf("wrong namespace: %v", err)
			}
			if _, err := Verify(sig, bytes.NewReader(append([]byte{'X'}, msg[1:]...)), ns); !errors.Is(err, ErrBad) {
				t.Fatalf("changed message: %v", err)
			}
		})
	}
}

func TestAgentSigning(t *testing.T) {
	agentBin := testenv.Tool(t, "ssh-agent", "apt-get install openssh-client")
	testenv.Tool(t, "ssh-add", "apt-get install openssh-client")
	dir := t.TempDir()
	key := keygen(t, dir, "ed25519", "")
	rsaKey := keygen(t, dir, "rsa", "")
	sock := filepath.Join(dir, "agent.sock")
	agent := exec.Command(agentBin, "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	// The socket exists from bind, and refuses connections until listen:
	// wait for one to be taken.
	for i := 0; i < 250; i++ {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, k := range []string{key, rsaKey} {
		add := exec.Command("ssh-add", k)
		add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
		if out, err := add.CombinedOutput(); err != nil {
			t.Fatalf("ssh-add: %v %s", err, out)
		}
	}
	msg := []byte("signed through the agent\n")
	for _, id := range []string{key + ".pub", "rsa@test"} {
		s, err := AgentSigner(sock, id)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := Sign(s, bytes.NewReader(msg), ns)
		if err != nil {
			t.Fatal(err)
		}
		sigFile := filepath.Join(dir, "a.sig")
		os.WriteFile(sigFile, sig, 0o644)
		pub := key + ".pub"
		if id == "rsa@test" {
			pub = rsaKey + ".pub"
		}
		if err := sshVerify(t, allowedFile(t, dir, "bob@example.org", "", pub), "bob@example.org", sigFile, msg); err != nil {
			t.Fatalf("%s: ssh-keygen rejects agent signature: %v", id, err)
		}
	}
	if _, err := AgentSigner(sock, "nobody@test"); err == nil || !strings.Contains(err.Error(), "holds no key") {
		t.Fatalf("missing key: %v", err)
	}
}

func TestEncryptedKey(t *testing.T) {
	dir := t.TempDir()
	key := keygen(t, dir, "ed25519", "correct horse")
	if _, err := LoadSigner(key, nil); err == nil || !strings.Contains(err.Error(), "no terminal") {
		t.Fatalf("no passphrase func: %v", err)
	}
	if _, err := LoadSigner(key, func() ([]byte, error) { return []byte("wrong"), nil }); err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if _, err := LoadSigner(key, func() ([]byte, error) { return []byte("correct horse"), nil }); err != nil {
		t.Fatal(err)
	}
}

func TestParseRejects(t *testing.T) {
	for _, bad := range []string{"", "hello", armorBegin + "\n!!!\n" + armorEnd, armorBegin + "\nU1NIU0lH\n" + armorEnd} {
		if _, err := Parse([]byte(bad)); !errors.Is(err, ErrFormat) {
			t.Errorf("Parse(%q) = %v", bad, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(armorBegin + "\nU1NIU0lHAAAAAQ==\n" + armorEnd + "\n"))
	f.Add([]byte("-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAg\n-----END SSH SIGNATURE-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err == nil && s.PublicKey == nil {
			t.Fatal("parsed without a key")
		}
	})
}
