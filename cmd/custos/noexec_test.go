package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custos-ir/custos/collect/live"
	"github.com/custos-ir/custos/internal/testenv"
)

// custos never runs a program of the host (an intruder may have replaced
// it): every live source, the host identity in the manifest header and a
// files artifact run under strace, which must see exactly one execve, the
// collector's own.
func TestRunsNoHostProgram(t *testing.T) {
	strace := testenv.Tool(t, "strace", "apt-get install strace")
	bin, err := exec.LookPath("custos")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var prof strings.Builder
	prof.WriteString("name: all-live\nplatform: linux\nartifacts:\n")
	for _, n := range live.Names() {
		prof.WriteString("  - {name: " + n + ", live: " + n + "}\n")
	}
	prof.WriteString("  - {name: etc, files: {paths: [/etc/hostname, /etc/os-release]}}\n")
	pf := filepath.Join(dir, "p.yaml")
	os.WriteFile(pf, []byte(prof.String()), 0o644)
	log := filepath.Join(dir, "strace.log")
	cmd := exec.Command(strace, "-f", "-qq", "-e", "trace=execve,execveat", "-o", log,
		bin, "collect", "--case", "NOEXEC", "--recipient", "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
		"--profile", pf, "--to", filepath.Join(dir, "out"), "-q")
	if out, err := cmd.CombinedOutput(); err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitPartial {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var execs []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.Contains(l, "execve") && !strings.Contains(l, "= -1 ") {
			execs = append(execs, l)
		}
	}
	if len(execs) != 1 {
		t.Fatalf("custos ran programs of the host:\n%s", strings.Join(execs, "\n"))
	}
}
