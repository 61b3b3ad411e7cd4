//go:build integration

package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/custos-ir/custos/internal/testenv"
)

// TestRemoteScripts runs custos remote against a real OpenSSH server on a
// loopback port, to a directory and to S3 on versitygw.
func TestRemoteScripts(t *testing.T) {
	sshd := testenv.StartSSHD(t)
	gw := testenv.VersityGW(t)
	gw.MakeBucket(t, "evidence", true)
	p := scriptParams(t, "testdata/remote")
	setup := p.Setup
	p.Setup = func(e *testscript.Env) error {
		for _, kv := range gw.Env() {
			k, v, _ := strings.Cut(kv, "=")
			e.Setenv(k, v)
		}
		var opts []string
		for _, o := range sshd.Options {
			opts = append(opts, "--ssh-option="+o)
		}
		e.Setenv("SSH_OPTS", strings.Join(opts, " "))
		e.Setenv("SSH_TARGET", sshd.Target)
		e.Setenv("SSH_PORT", strings.TrimPrefix(sshd.Options[0], "Port="))
		e.Setenv("SSH_KEY", sshd.Identity)
		e.Setenv("SSH_KNOWN", sshd.KnownHosts)
		return setup(e)
	}
	testscript.Run(t, p)
}

// TestRemoteConnectionKilled kills the SSH session in the middle of the
// stream: ingest stores what arrived, writes a manifest of it, exits 3,
// and what arrived verifies.
func TestRemoteConnectionKilled(t *testing.T) {
	sshd := testenv.StartSSHD(t)
	dir := t.TempDir()
	// Random data: large and incompressible, so the stream takes a while.
	src := filepath.Join(dir, "host")
	os.MkdirAll(src, 0o755)
	r := rand.New(rand.NewPCG(5, 5))
	for i := 0; i < 2; i++ {
		b := make([]byte, 64<<20)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		os.WriteFile(filepath.Join(src, fmt.Sprintf("blob%d", i)), b, 0o600)
	}
	key := filepath.Join(dir, "team.key")
	// testscript.Main put a "custos" that runs main on PATH.
	self, err := exec.LookPath("custos")
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, int) {
		c := exec.Command(self, args...)
		c.Env = append(os.Environ(), "CI="+os.Getenv("CI"))
		out, _ := c.CombinedOutput()
		return string(out), c.ProcessState.ExitCode()
	}
	pub, code := run("keygen", "-o", key)
	if code != 0 {
		t.Fatal(pub)
	}
	args := []string{"remote"}
	for _, o := range sshd.Options {
		args = append(args, "--ssh-option="+o)
	}
	home := filepath.Join(dir, "home")
	args = append(args, sshd.Target, "--", "--case", "KILL", "--recipient", strings.TrimSpace(lastLine(pub)),
		"--profile", "none", "--path", src, "--to", home)
	c := exec.Command(self, args...)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the artifact's object is arriving (its temporary file
	// exists here), then kill the host's sshd session: mid-stream.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m, _ := filepath.Glob(filepath.Join(home, "KILL", "*", "*", "artifacts", ".tmp-*")); len(m) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stream did not start: %s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	exec.Command("pkill", "-KILL", "-f", "sshd: "+strings.Split(sshd.Target, "@")[0]+"@notty").Run()
	c.Wait()
	if code := c.ProcessState.ExitCode(); code != 3 {
		t.Fatalf("exit %d, want 3:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "INCOMPLETE") {
		t.Fatalf("no INCOMPLETE line:\n%s", out.String())
	}
	vout, vcode := run("verify", home, "--identity", key)
	if vcode != 0 {
		t.Fatalf("what arrived does not verify:\n%s\n%s", out.String(), vout)
	}
	t.Logf("%s\n%s", out.String(), vout)
}
