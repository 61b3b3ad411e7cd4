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
	// custos-host, as make build makes it: the collector without S3.
	hostBuild := filepath.Join(t.TempDir(), "custos-host")
	if out, err := exec.Command("go", "build", "-tags", "custos_host", "-o", hostBuild, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags custos_host: %v\n%s", err, out)
	}
	p := scriptParams(t, "testdata/remote")
	setup := p.Setup
	p.Setup = func(e *testscript.Env) error {
		e.Setenv("HOST_BUILD", hostBuild)
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

// TestRemoteFleet collects four hosts, two at a time: two whole, one whose
// connection is killed mid-stream, one unreachable. The others are not
// stopped; the summary and the exit code say what happened to each; the
// case verifies, names the incomplete collection and the host not
// collected, and is signed and countersigned as one.
func TestRemoteFleet(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "host")
	os.MkdirAll(src, 0o755)
	r := rand.New(rand.NewPCG(7, 7))
	b := make([]byte, 48<<20)
	for j := range b {
		b[j] = byte(r.Uint32())
	}
	os.WriteFile(filepath.Join(src, "blob"), b, 0o600)
	var cfg strings.Builder
	servers := map[string]*testenv.SSHD{}
	for _, name := range []string{"web1", "web2", "web3"} {
		s := testenv.StartSSHD(t)
		servers[name] = s
		fmt.Fprintf(&cfg, "Host %s\n  HostName 127.0.0.1\n  Port %s\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n",
			name, s.Port, strings.Split(s.Target, "@")[0], s.Identity, s.KnownHosts)
	}
	_, deadPort, _ := strings.Cut(testenv.FreeAddr(t), ":")
	fmt.Fprintf(&cfg, "Host web4\n  HostName 127.0.0.1\n  Port %s\n  ConnectTimeout 3\n", deadPort)
	sshConfig := filepath.Join(dir, "ssh_config")
	os.WriteFile(sshConfig, []byte(cfg.String()), 0o600)
	hosts := filepath.Join(dir, "shop.hosts")
	os.WriteFile(hosts, []byte("# the shop\nweb1\nweb2\nweb3   # killed mid-stream\nweb4   # down\nbad host line\nweb1\n"), 0o600)

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
	key := filepath.Join(dir, "team.key")
	pub, _ := run("keygen", "-o", key)
	home := filepath.Join(dir, "home")
	c := exec.Command(self, "remote", "--hosts", hosts, "--parallel", "2", "--ssh-config", sshConfig, "--",
		"--case", "SHOP", "--recipient", lastLine(pub), "--profile", "none", "--path", src, "--to", home)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill web3's connection once its artifact is arriving.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m, _ := filepath.Glob(filepath.Join(home, "SHOP", "web3", "*", "artifacts", ".tmp-*")); len(m) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("web3's stream did not start:\n%s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	exec.Command("pkill", "-KILL", "-P", fmt.Sprint(servers["web3"].PID)).Run()
	c.Wait()
	log := out.String()
	if code := c.ProcessState.ExitCode(); code != 3 {
		t.Fatalf("exit %d, want 3:\n%s", code, log)
	}
	for _, want := range []string{"web1 ", "complete:", "web3 ", "partial:", "web4 ", "NOT COLLECTED: ssh web4",
		"hosts line 6", "hosts line 7: web1 is listed on line 2 already", "case SHOP: 2 hosts complete, 1 partial, 1 not collected, 2 bad hosts lines"} {
		if !strings.Contains(log, want) {
			t.Errorf("output lacks %q:\n%s", want, log)
		}
	}
	vout, code := run("verify", filepath.Join(home, "SHOP"), "--identity", key)
	if code != 3 || !strings.Contains(vout, "NOT COLLECTED: web4/") || !strings.Contains(vout, "status incomplete") ||
		!strings.Contains(vout, "verify OK, case INCOMPLETE: case SHOP: 3 collections, 3 verify, 0 do not, 1 incomplete, 1 hosts not collected") {
		t.Fatalf("case verify (exit %d):\n%s\n%s", code, vout, log)
	}
	// One signature, one countersignature for the whole case.
	alice, bob := filepath.Join(dir, "alice"), filepath.Join(dir, "bob")
	for _, k := range []string{alice, bob} {
		if o, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", k).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, o)
		}
	}
	allowed := filepath.Join(dir, "allowed")
	ap, _ := os.ReadFile(alice + ".pub")
	bp, _ := os.ReadFile(bob + ".pub")
	os.WriteFile(allowed, []byte("alice@example.org "+string(ap)+"bob@example.org "+string(bp)), 0o600)
	if o, code := run("sign", filepath.Join(home, "SHOP"), "--key", alice); code != 0 || !strings.Contains(o, "signed case SHOP: 3 collections signed now") {
		t.Fatalf("sign case (exit %d):\n%s", code, o)
	}
	if o, code := run("countersign", filepath.Join(home, "SHOP"), "--key", bob, "--yes"); code != 0 || !strings.Contains(o, "NOT COLLECTED (web4)") {
		t.Fatalf("countersign case (exit %d):\n%s", code, o)
	}
	vout, code = run("verify", filepath.Join(home, "SHOP"), "--allowed-signers", allowed, "--require-signatures", "2")
	if code != 3 || !strings.Contains(vout, "by countersigner: bob@example.org") {
		t.Fatalf("signed case verify (exit %d):\n%s", code, vout)
	}
	t.Logf("remote:\n%s\nverify:\n%s", log, vout)
	rout, _ := run("report", filepath.Join(home, "SHOP"), "--allowed-signers", allowed)
	for _, want := range []string{"# Case SHOP", "| web4 |", "**not collected**", "bob@example.org"} {
		if !strings.Contains(rout, want) {
			t.Errorf("case report lacks %q:\n%s", want, rout)
		}
	}
}
