//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/internal/testenv"
)

// The role's verify mode in this test: the case as a whole (the test also
// verifies each collection, after the countersignatures).
const ansibleVerifyMode = "case"

// TestAnsibleRole runs deploy/ansible's playbook with ansible-playbook
// --forks 2 against real OpenSSH servers on loopback ports: three hosts
// are collected in parallel (one through become, sudo -n), one that does
// not answer and one whose inventory asks for agent forwarding are named
// as not collected without stopping the others. Every collection is signed
// by the role, countersigned here, and verifies with two signatures and
// decryption. Ansible itself never connects to a host.
func TestAnsibleRole(t *testing.T) {
	playbook := testenv.Tool(t, "ansible-playbook", "apt-get install ansible")
	self, err := exec.LookPath("custos") // put on PATH by testscript.Main
	if err != nil {
		t.Fatal(err)
	}
	readRole(t)
	a := newAnsibleCase(t, self)
	start := time.Now()
	out, code := a.playbook(t, playbook)
	t.Logf("ansible-playbook took %s, exit %d:\n%s", time.Since(start).Round(time.Millisecond), code, out)
	if code != 2 { // 2: some hosts failed (web4, web5), the others went on
		t.Fatalf("ansible-playbook exit %d, want 2", code)
	}
	if b, err := os.ReadFile(a.tripwire + ".log"); err == nil {
		t.Fatalf("Ansible connected to a host itself (ssh %s): only custos remote may", b)
	}
	a.checkRecapAndSummary(t, out)
	a.checkCollections(t)
}

// readRole reads every file of deploy/ansible in this process, so that go
// test's cache knows the result depends on them (ansible-playbook reads them
// in a process of its own, which the cache does not see).
func readRole(t *testing.T) {
	n := 0
	err := filepath.WalkDir("../../deploy/ansible", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			_, err = os.ReadFile(p)
			n++
		}
		return err
	})
	if err != nil || n == 0 {
		t.Fatalf("deploy/ansible: %d files, %v", n, err)
	}
}

type ansibleCase struct {
	dir, self, home, tripwire, user string
	become                          bool
}

// newAnsibleCase starts three OpenSSH servers and writes the keys, the
// evidence on the "hosts", the inventory and the role's variables.
func newAnsibleCase(t *testing.T, self string) *ansibleCase {
	a := &ansibleCase{dir: t.TempDir(), self: self}
	a.home = filepath.Join(a.dir, "evidence")
	a.tripwire = filepath.Join(a.dir, "ansible-must-not-ssh")
	a.become = sudoWorks(t)
	pub := a.custos(t, []int{0}, "keygen", "-o", a.path("team.key"))
	a.write(t, "team.pub", lastLine(pub)+"\n")
	keygen := testenv.Tool(t, "ssh-keygen", "apt-get install openssh-client")
	for _, who := range []string{"alice", "bob"} {
		if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", who, "-f", a.path(who)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v %s", err, out)
		}
	}
	alice, _ := os.ReadFile(a.path("alice.pub"))
	bob, _ := os.ReadFile(a.path("bob.pub"))
	a.write(t, "allowed", "alice@example.org "+string(alice)+"bob@example.org "+string(bob))
	a.write(t, "host/etc/app.conf", "listen 8080\n")
	a.write(t, "host/log/access.log", "GET /checkout 200\n")
	a.write(t, a.tripwire[len(a.dir)+1:], "#!/bin/sh\necho \"$@\" >> "+a.tripwire+".log\nexit 255\n")
	os.Chmod(a.tripwire, 0o755)

	var inv, known []string
	var key string
	for i := 1; i <= 3; i++ {
		s := testenv.StartSSHD(t)
		a.user, _, _ = strings.Cut(s.Target, "@")
		key = s.Identity
		line := fmt.Sprintf("web%d ansible_host=127.0.0.1 ansible_port=%s ansible_user=%s ansible_ssh_private_key_file=%s",
			i, strings.TrimPrefix(s.Options[0], "Port="), a.user, s.Identity)
		switch i {
		case 1, 2: // known_hosts through the inventory's ssh arguments
			line += fmt.Sprintf(" ansible_ssh_common_args='-o UserKnownHostsFile=%s -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes'", s.KnownHosts)
		case 3: // through the role's custos_known_hosts, the case's own file
			line += " custos_known_hosts=" + a.path("case_known_hosts")
		}
		if i == 2 && a.become {
			line += " ansible_become=true"
		}
		inv = append(inv, line)
		b, _ := os.ReadFile(s.KnownHosts)
		known = append(known, string(b))
	}
	a.write(t, "case_known_hosts", strings.Join(known, ""))
	_, closed, _ := strings.Cut(testenv.FreeAddr(t), ":")
	inv = append(inv,
		"web4 ansible_host=127.0.0.1 ansible_port="+closed+" ansible_user="+a.user+" ansible_ssh_private_key_file="+key+
			" custos_known_hosts="+a.path("case_known_hosts"),
		"web5 ansible_host=127.0.0.1 ansible_ssh_common_args='-o ForwardAgent=yes'")
	a.write(t, "inventory.ini", "[web]\n"+strings.Join(inv, "\n")+"\n\n[all:vars]\nansible_ssh_executable="+a.tripwire+"\n")
	vars, _ := json.Marshal(map[string]any{
		"custos_case": "ANS", "custos_recipients_file": "team.pub", "custos_to": a.home, // relative: from where ansible-playbook runs
		"custos_profile": "none", "custos_collect_args": []string{"--path", a.path("host"), "--examiner", "ansible test"},
		"custos_binary": self, "custos_sign_key": a.path("alice"),
		"custos_verify": ansibleVerifyMode, "custos_verify_args": []string{"--allowed-signers", a.path("allowed"), "--require-signatures", "1"},
	})
	a.write(t, "vars.json", string(vars))
	a.write(t, "ansible.cfg", "[defaults]\nretry_files_enabled = False\nnocolor = True\n")
	return a
}

// sudoWorks tells whether sudo -n runs here (root, or NOPASSWD): then one
// host is collected through become. Under CI, as root, sudo must be there.
func sudoWorks(t *testing.T) bool {
	if exec.Command("sudo", "-n", "true").Run() == nil {
		return true
	}
	if os.Getuid() == 0 {
		testenv.Missing(t, "sudo", "apt-get install sudo")
	}
	t.Log("sudo -n does not work for this user: become is not exercised")
	return false
}

func (a *ansibleCase) path(name string) string { return filepath.Join(a.dir, name) }

func (a *ansibleCase) write(t *testing.T, name, content string) {
	p := a.path(name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// custos runs this custos and checks its exit code is one of want; it
// returns its output.
func (a *ansibleCase) custos(t *testing.T, want []int, args ...string) string {
	t.Helper()
	out, err := exec.Command(a.self, args...).CombinedOutput()
	if code := exitCode(err); !slices.Contains(want, code) {
		t.Fatalf("custos %s: exit %d, want %v:\n%s", strings.Join(args, " "), code, want, out)
	}
	return string(out)
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func (a *ansibleCase) playbook(t *testing.T, playbook string) (string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	repo, _ := filepath.Abs("../..")
	c := exec.CommandContext(ctx, playbook, "-i", a.path("inventory.ini"), "--forks", "2", "-e", "@"+a.path("vars.json"),
		filepath.Join(repo, "deploy", "ansible", "collect.yml"))
	c.Dir = a.dir
	c.Env = append(os.Environ(), "ANSIBLE_CONFIG="+a.path("ansible.cfg"), "ANSIBLE_HOME="+a.path("ansible-home"),
		"ANSIBLE_LOCAL_TEMP="+a.path("ansible-local"), "ANSIBLE_REMOTE_TEMP="+a.path("ansible-remote"),
		"ANSIBLE_NOCOLOR=1", "ANSIBLE_FORCE_COLOR=0", "PWD="+a.dir)
	out, err := c.CombinedOutput()
	return string(out), exitCode(err)
}

var (
	summaryLine = regexp.MustCompile(`(?m)^\s*"(web\d): (.*)",?$`)
	spanRE      = regexp.MustCompile(`\((\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) to (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\)`)
)

// checkRecapAndSummary reads the play's recap and the role's summary: who
// was collected, who not and why, and that forks 2 ran two at once.
func (a *ansibleCase) checkRecapAndSummary(t *testing.T, out string) {
	for host, failed := range map[string]int{"web1": 0, "web2": 0, "web3": 0, "web4": 1, "web5": 1} {
		re := regexp.MustCompile(`(?m)^` + host + `\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=` + fmt.Sprint(failed) + `\s`)
		if !re.MatchString(out) {
			t.Errorf("recap: want %s failed=%d", host, failed)
		}
	}
	lines := map[string]string{}
	for _, m := range summaryLine.FindAllStringSubmatch(out, -1) {
		if _, seen := lines[m[1]]; !seen { // the summary comes before the failures repeat the lines
			lines[m[1]] = m[2]
		}
	}
	for host, want := range map[string]string{
		"web1": `^complete, signed ` + regexp.QuoteMeta(a.home) + `/ANS/web1/\S+ \(`,
		"web2": `^complete, signed` + map[bool]string{true: ", sudo"}[a.become] + ` ` + regexp.QuoteMeta(a.home) + `/ANS/web2/`,
		"web3": `^complete, signed `,
		"web4": `^FAILED \(.*\): custos: error: ssh ` + a.user + `@web4: .*Connection refused`,
		"web5": `^not collected: ssh option ForwardAgent=yes: ForwardAgent lends the breached host your SSH agent`,
	} {
		if ansibleVerifyMode == "each" && host < "web4" {
			want += `.*; verify OK$`
		}
		if !regexp.MustCompile(want).MatchString(lines[host]) {
			t.Errorf("summary of %s: %q, want %s", host, lines[host], want)
		}
	}
	if ansibleVerifyMode == "case" && !strings.Contains(out, `"case ANS: verify OK`) {
		t.Errorf("no case verify OK in the summary")
	}
	// forks 2: custos remote ran for two hosts at once, never three.
	type edge struct {
		at    string
		delta int
	}
	var edges []edge
	for _, h := range []string{"web1", "web2", "web3", "web4"} {
		m := spanRE.FindStringSubmatch(lines[h])
		if m == nil {
			t.Fatalf("no start and end for %s: %q", h, lines[h])
		}
		edges = append(edges, edge{m[1], +1}, edge{m[2], -1})
	}
	sort.Slice(edges, func(i, j int) bool {
		return edges[i].at < edges[j].at || edges[i].at == edges[j].at && edges[i].delta < edges[j].delta
	})
	n, most := 0, 0
	for _, e := range edges {
		n += e.delta
		most = max(most, n)
	}
	if most != 2 {
		t.Errorf("with --forks 2, at most %d hosts were collected at once, want 2", most)
	}
}

// checkCollections countersigns each host's collection with a second key
// (the case as a whole in the case form) and verifies it with both
// signatures and decryption; it checks the custody log names the SSH target
// and host key, and that nothing of custos is left on the host.
func (a *ansibleCase) checkCollections(t *testing.T) {
	caseDir := filepath.Join(a.home, "ANS")
	sigs := []string{"--allowed-signers", a.path("allowed"), "--require-signatures", "2", "--identity", a.path("team.key")}
	if ansibleVerifyMode == "case" {
		// Every collection and the case statement, once; 3: web4 is recorded
		// as not collected, and verify must name it.
		t.Logf("%s", a.custos(t, []int{0, 3}, "countersign", caseDir, "--key", a.path("bob"), "--yes"))
		out := a.custos(t, []int{0, 3}, append([]string{"verify", caseDir}, sigs...)...)
		if !strings.Contains(out, "web4") {
			t.Errorf("case verify does not name web4, not collected:\n%s", out)
		}
		t.Logf("case verify:\n%s", out)
	}
	for _, h := range []string{"web1", "web2", "web3"} {
		cols, _ := filepath.Glob(filepath.Join(caseDir, h, "*", "manifest.json"))
		if len(cols) != 1 {
			t.Fatalf("%s: %d collections, want 1", h, len(cols))
		}
		col := filepath.Dir(cols[0])
		if ansibleVerifyMode == "each" {
			a.custos(t, []int{0}, "countersign", col, "--key", a.path("bob"), "--yes")
		}
		out := a.custos(t, []int{0}, append([]string{"verify", col}, sigs...)...)
		if !strings.Contains(out, "verify OK") {
			t.Errorf("%s: no verify OK:\n%s", h, out)
		}
		stored, _ := os.ReadFile(filepath.Join(col, "log", "0002-stored.json"))
		if !regexp.MustCompile(`"ssh_target": "`+a.user+`@`+h+`"`).Match(stored) || !strings.Contains(string(stored), `"host_key": "SHA256:`) {
			t.Errorf("%s: the stored record does not name the target and its host key:\n%s", h, stored)
		}
		var m struct {
			Tool struct{ Binary string } `json:"tool"`
		}
		b, _ := os.ReadFile(cols[0])
		if err := json.Unmarshal(b, &m); err != nil || !strings.HasPrefix(m.Tool.Binary, "/") {
			t.Fatalf("%s: no binary path in the manifest (%v)", h, err)
		}
		if _, err := os.Stat(filepath.Dir(m.Tool.Binary)); !os.IsNotExist(err) {
			t.Errorf("%s: custos's temp dir %s is still on the host (%v)", h, filepath.Dir(m.Tool.Binary), err)
		}
	}
	for _, h := range []string{"web4", "web5"} {
		if m, _ := filepath.Glob(filepath.Join(caseDir, h, "*", "manifest.json")); len(m) > 0 {
			t.Errorf("%s was not collected, yet has %v", h, m)
		}
	}
}
