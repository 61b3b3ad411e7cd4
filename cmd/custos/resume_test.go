package main

import (
	"crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/custos-ir/custos/custody"
)

// killAndResume starts a slow collection, kills it with SIGKILL once one
// artifact is stored, then resumes it at the same location.
func killAndResume(t *testing.T, to string, extraEnv []string, findJournal func() bool, verifyLoc string) *custody.Manifest {
	bin, err := exec.LookPath("custos")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var paths []string
	for _, n := range []string{"a", "b", "c"} {
		os.MkdirAll(filepath.Join(dir, n), 0o755)
		b := make([]byte, 6<<20)
		rand.Read(b)
		os.WriteFile(filepath.Join(dir, n, "blob"), b, 0o600)
		paths = append(paths, filepath.Join(dir, n))
	}
	prof := filepath.Join(dir, "p.yaml")
	os.WriteFile(prof, []byte("name: slow\nplatform: linux\nartifacts:\n  - {name: host, live: host}\n"+
		"  - {name: a, files: {paths: ["+paths[0]+"]}}\n  - {name: b, files: {paths: ["+paths[1]+"]}}\n  - {name: c, files: {paths: ["+paths[2]+"]}}\n"), 0o644)
	key := filepath.Join(dir, "team.key")
	out, err := exec.Command(bin, "keygen", "-o", key).Output()
	if err != nil {
		t.Fatal(err)
	}
	pub := strings.TrimSpace(string(out))
	common := []string{"--case", "RES", "--recipient", pub, "--profile", prof, "--cpu", "1", "--read-rate", "6MiB/s"}
	run := exec.Command(bin, append(append([]string{"collect"}, common...), "--to", to)...)
	run.Env = append(os.Environ(), extraEnv...)
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !findJournal() {
		if time.Now().After(deadline) {
			run.Process.Kill()
			t.Fatal("no artifact was stored in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
	run.Process.Signal(syscall.SIGKILL)
	run.Wait()

	res := exec.Command(bin, append(append([]string{"collect"}, common...), "--resume", to)...)
	res.Env = append(os.Environ(), extraEnv...)
	if b, err := res.CombinedOutput(); err != nil {
		t.Fatalf("resume: %v\n%s", err, b)
	} else if !strings.Contains(string(b), "artifacts kept from the interrupted run") {
		t.Fatalf("resume said:\n%s", b)
	}
	ver := exec.Command(bin, "verify", verifyLoc, "--identity", key)
	ver.Env = append(os.Environ(), extraEnv...)
	if b, err := ver.CombinedOutput(); err != nil {
		t.Fatalf("verify after resume: %v\n%s", err, b)
	}
	again := exec.Command(bin, append(append([]string{"collect"}, common...), "--resume", to)...)
	again.Env = append(os.Environ(), extraEnv...)
	if b, err := again.CombinedOutput(); err == nil || !strings.Contains(string(b), "is finished") {
		t.Fatalf("second resume: %v\n%s", err, b)
	}
	// Read the manifest back through fetch (works for both stores).
	home := filepath.Join(dir, "home")
	fetch := exec.Command(bin, "fetch", verifyLoc, "--to", home)
	fetch.Env = append(os.Environ(), extraEnv...)
	if b, err := fetch.CombinedOutput(); err != nil {
		t.Fatalf("fetch: %v\n%s", err, b)
	}
	ms, _ := filepath.Glob(filepath.Join(home, "RES", "*", "*", "manifest.json"))
	b, _ := os.ReadFile(ms[0])
	var m custody.Manifest
	json.Unmarshal(b, &m)
	return &m
}

func checkResumed(t *testing.T, m *custody.Manifest) {
	count := map[string]int{}
	for _, a := range m.Artifacts {
		count[a.Name]++
		if a.Status != custody.StatusOK {
			t.Errorf("%s: %s %v", a.Name, a.Status, a.Errors)
		}
	}
	for _, n := range []string{"a", "b", "c", "host", "host.resume1"} {
		if count[n] != 1 {
			t.Errorf("artifact %s stored %d times: %v", n, count[n], count)
		}
	}
	if m.Status != "complete" || len(m.Resumes) != 1 || m.Resumes[0].Kept < 2 {
		t.Errorf("status %s, resumes %+v", m.Status, m.Resumes)
	}
}

// TestKillAndResumeDirectory: kill -9 during a directory collection, then
// --resume: every artifact is stored exactly once and the whole verifies.
func TestKillAndResumeDirectory(t *testing.T) {
	to := filepath.Join(t.TempDir(), "out")
	m := killAndResume(t, to, nil, func() bool {
		j, _ := filepath.Glob(filepath.Join(to, "RES", "*", "*", "journal", "*-a.tar.json"))
		return len(j) > 0
	}, to)
	checkResumed(t, m)
}
