package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// SSHD is an OpenSSH server on a loopback port, for one test, that lets the
// current user in with a key of its own.
type SSHD struct {
	Target     string   // user@127.0.0.1
	Options    []string // ssh -o options: port, key, known_hosts
	Identity   string   // the client's private key
	KnownHosts string
	HostPub    string // the server's public host key line
	Dir        string
	Port       string
	PID        int // the listening sshd; each connection is a child of it
}

// StartSSHD starts /usr/sbin/sshd -D with its own host key, config and
// authorized_keys. Missing openssh-server fails under CI.
func StartSSHD(t testing.TB) *SSHD {
	t.Helper()
	sshd := "/usr/sbin/sshd"
	if _, err := os.Stat(sshd); err != nil {
		Missing(t, "sshd", "apt-get install openssh-server")
	}
	Tool(t, "ssh", "apt-get install openssh-client")
	keygen := Tool(t, "ssh-keygen", "apt-get install openssh-client")
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	run := func(args ...string) {
		if out, err := exec.Command(keygen, args...).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen %v: %v %s", args, err, out)
		}
	}
	hostKey, clientKey := filepath.Join(dir, "host_ed25519"), filepath.Join(dir, "client_ed25519")
	run("-q", "-t", "ed25519", "-N", "", "-f", hostKey)
	run("-q", "-t", "ed25519", "-N", "", "-f", clientKey)
	pub, _ := os.ReadFile(clientKey + ".pub")
	auth := filepath.Join(dir, "authorized_keys")
	os.WriteFile(auth, pub, 0o600)
	addr := FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	u, _ := user.Current()
	os.MkdirAll("/run/sshd", 0o755) // privilege separation directory
	cfg := filepath.Join(dir, "sshd_config")
	os.WriteFile(cfg, []byte(strings.Join([]string{
		"Port " + port, "ListenAddress 127.0.0.1", "HostKey " + hostKey, "AuthorizedKeysFile " + auth,
		"PidFile none", "UsePAM no", "StrictModes no", "PermitRootLogin prohibit-password",
		"PasswordAuthentication no", "KbdInteractiveAuthentication no", "AllowUsers " + u.Username,
		"Subsystem sftp internal-sftp", "LogLevel ERROR",
	}, "\n")+"\n"), 0o600)
	logf := filepath.Join(dir, "sshd.log")
	cmd := exec.Command(sshd, "-D", "-e", "-f", cfg, "-E", logf)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf)
			t.Fatalf("sshd did not start: %s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	hostPub, _ := os.ReadFile(hostKey + ".pub")
	kh := filepath.Join(dir, "known_hosts")
	fields := strings.Fields(string(hostPub))
	os.WriteFile(kh, []byte(fmt.Sprintf("[127.0.0.1]:%s %s %s\n", port, fields[0], fields[1])), 0o600)
	return &SSHD{
		Target:     u.Username + "@127.0.0.1",
		Identity:   clientKey,
		KnownHosts: kh,
		HostPub:    fields[0] + " " + fields[1],
		Dir:        dir,
		Port:       port,
		PID:        cmd.Process.Pid,
		Options: []string{"Port=" + port, "IdentityFile=" + clientKey, "IdentitiesOnly=yes",
			"UserKnownHostsFile=" + kh, "GlobalKnownHostsFile=/dev/null", "StrictHostKeyChecking=yes"},
	}
}
