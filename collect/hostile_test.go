//go:build linux

package collect

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/custos-ir/custos/collect/live"
	"github.com/custos-ir/custos/collect/paxtar"
	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/testenv"
	"github.com/custos-ir/custos/profiles"
	"github.com/custos-ir/custos/storage"
)

func TestMain(m *testing.M) {
	testenv.RunHelper()
	os.Exit(m.Run())
}

// hostileProfile is linux-base's and magento's artifacts over the hostile
// host's root, with the live sources that read files or processes.
func hostileProfile(t *testing.T, root string) *profiles.Profile {
	t.Helper()
	mag, err := profiles.Load("magento")
	if err != nil {
		t.Fatal(err)
	}
	p := &profiles.Profile{Name: "hostile", Platform: "linux", Variables: mag.Variables}
	p.Artifacts = []profiles.Artifact{
		{Name: "processes", Live: "processes"},
		{Name: "deleted", Live: "deleted"},
		{Name: "timeline", Bodyfile: &profiles.Bodyfile{Roots: []string{root + "/var/log", root + "/home", root + "/tmp", root + "/srv"}}},
		{Name: "logs", Files: &profiles.Files{Paths: []string{root + "/var/log"}, Logs: true}},
		{Name: "user-files", Files: &profiles.Files{Paths: []string{root + "/home/*/.bashrc", root + "/home/*/.profile", root + "/home/*/.*_history"}}},
		{Name: "temp", Files: &profiles.Files{Paths: []string{root + "/tmp"}, MaxSize: 16 << 20}},
	}
	for _, a := range mag.Artifacts {
		if strings.HasPrefix(a.Name, "magento-") {
			p.Artifacts = append(p.Artifacts, a)
		}
	}
	return p
}

// TestHostileHost collects a host prepared by a careless deployer and an
// attacker (internal/testenv.Hostile: every case of issue 14) with no
// source timeout: it ends, every planted file is there with its content,
// every link is recorded with what it led to or why not, what the
// attacker's links point at is not taken, and the collection verifies.
func TestHostileHost(t *testing.T) {
	h := testenv.NewHostile(t)
	plan, err := Plan(hostileProfile(t, h.Root), PlanOptions{Vars: map[string]string{"magento_root": h.Shop}, GOOS: "linux",
		Live: func(n string) (StreamFunc, bool) { fn, ok := live.Lookup(n); return StreamFunc(fn), ok }})
	if err != nil {
		t.Fatal(err)
	}
	p, st, id := newPipeline(t)
	m := runCollection(t, p, plan)
	verifyOK(t, st, m, id)
	if m.Status != "complete" {
		for _, a := range m.Artifacts {
			t.Logf("%s: %s %v", a.Name, a.Status, a.Errors)
			for _, f := range a.Files {
				if f.Error != "" {
					t.Logf("  %s: %s", f.Path, f.Error)
				}
			}
		}
		t.Errorf("collection is %s, want complete", m.Status)
	}
	recs, stored := hostileContents(t, st, m, id)

	for p, want := range h.Files {
		got, ok := stored[custody.TarName(custody.EscapePath(p))]
		if !ok {
			t.Errorf("%q is not in the collection", p)
		} else if !bytes.Equal(got, want) {
			t.Errorf("%q stored as %q, want %q", p, got, want)
		}
	}
	for p, target := range h.Links {
		r, ok := recs[custody.EscapePath(p)]
		switch {
		case !ok:
			t.Errorf("link %q not recorded", p)
		case r.Type != "symlink" || r.Link == "":
			t.Errorf("link %q recorded as %+v", p, r)
		case target != "" && r.Target != custody.EscapePath(target):
			t.Errorf("link %q: target %q, want %q (%s)", p, r.Target, target, r.Note)
		case target == "" && (r.Target != "" || !strings.Contains(r.Note, "not followed")):
			t.Errorf("link %q should not be followed: %+v", p, r)
		}
	}
	for name, b := range stored {
		if bytes.Contains(b, []byte("secret-hash")) {
			t.Errorf("%s holds the attacker's target", name)
		}
		if err := paxtar.CheckName(name); err != nil {
			t.Errorf("tar entry %q: %v", name, err)
		}
	}
	// PHP among uploads is copied and flagged, not only hashed (issue 16).
	if r := recs[custody.EscapePath(h.Hashed)]; !r.Stored || r.SHA256 == "" || !strings.Contains(strings.Join(r.Flags, " "), "holds code (<?php)") {
		t.Errorf("pub/media file recorded as %+v", r)
	}
	if r := recs[custody.EscapePath(h.FIFO)]; r.Type != "fifo" || r.Stored || !strings.Contains(r.Note, "never opened") {
		t.Errorf("FIFO recorded as %+v", r)
	}
	checkSparse(t, h, recs[custody.EscapePath(h.Sparse)], stored)
	checkImplant(t, h, m, st, id, recs, stored)
	for _, p := range h.Old {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		if at := time.Unix(st.Atim.Unix()); !at.Equal(h.OldAtime) {
			t.Errorf("%s: atime moved from %v to %v", p, h.OldAtime, at)
		}
	}
}

// hostileContents reads every stored tar: records by path (the last one
// wins: a link's target may be in another artifact) and contents by tar
// name (an entry larger than 1 MiB is kept as its SHA-256, hex).
func hostileContents(t *testing.T, st storage.Store, m *custody.Manifest, id age.Identity) (map[string]custody.File, map[string][]byte) {
	t.Helper()
	recs, stored := map[string]custody.File{}, map[string][]byte{}
	for _, a := range m.Artifacts {
		for _, f := range a.Files {
			if old, ok := recs[f.Path]; !ok || !old.Stored {
				recs[f.Path] = f // a stored record over a hash-only one
			}
		}
		if a.Format != "tar" || !a.IsStored() {
			continue
		}
		seen := map[string]bool{}
		tr := tar.NewReader(bytes.NewReader(decrypt(t, st, m.Storage.Prefix+a.Key, id)))
		for {
			hd, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", a.Name, err)
			}
			if seen[hd.Name] {
				t.Errorf("%s: tar entry %q twice", a.Name, hd.Name)
			}
			seen[hd.Name] = true
			if hd.Size > 1<<20 {
				s := sha256.New()
				io.Copy(s, tr)
				stored[hd.Name] = []byte(hex.EncodeToString(s.Sum(nil)))
				continue
			}
			stored[hd.Name], _ = io.ReadAll(tr)
		}
	}
	return recs, stored
}

// checkSparse: the 8 GiB log is stored sparse, its holes recorded, its
// SHA-256 the file's own.
func checkSparse(t *testing.T, h *testenv.Hostile, r custody.File, stored map[string][]byte) {
	t.Helper()
	data := int64(len(h.SparseHead) + len(h.SparseTail))
	if !r.Stored || r.Read != h.SparseSize || r.Holes < h.SparseSize-data-8192 || r.Holes > h.SparseSize-data {
		t.Errorf("sparse log recorded as %+v", r)
	}
	want := sha256.New()
	want.Write(h.SparseHead)
	io.CopyN(want, zeroReader{}, h.SparseSize-data)
	want.Write(h.SparseTail)
	sum := hex.EncodeToString(want.Sum(nil))
	if r.SHA256 != sum || string(stored[custody.TarName(r.Path)]) != sum {
		t.Errorf("sparse log: sha256 %s, in the tar %s, want %s", r.SHA256, stored[custody.TarName(r.Path)], sum)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// checkImplant: processes hashed the padded deleted executable; deleted
// stored it and the deleted log it holds.
func checkImplant(t *testing.T, h *testenv.Hostile, m *custody.Manifest, st storage.Store, id age.Identity, recs map[string]custody.File, stored map[string][]byte) {
	t.Helper()
	pid := h.Implant.Process.Pid
	exe := recs["/proc/"+itoa(pid)+"/exe"]
	// Another process may hold the same file open (the test's own fd
	// while it starts the implant, when the suite is busy): it is then
	// stored once, under whichever of the two was found first.
	where := exe.Path
	if _, after, ok := strings.Cut(exe.Note, "the same file as "); ok && !exe.Stored {
		where, _, _ = strings.Cut(after, ", stored there")
	}
	if r := recs[where]; !r.Stored || exe.SHA256 != h.ImplantSHA256 || !strings.Contains(exe.Link, "kworker (deleted)") || string(stored[custody.TarName(where)]) != h.ImplantSHA256 {
		t.Errorf("deleted executable recorded as %+v (stored as %s: %+v)", exe, where, r)
	}
	found := false
	for p, r := range recs {
		if strings.HasPrefix(p, "/proc/"+itoa(pid)+"/fd/") && strings.Contains(r.Link, "keylog.txt (deleted)") {
			found = true
			if !r.Stored || string(stored[custody.TarName(p)]) != string(h.HeldContent) || !strings.Contains(r.Note, "still open in pid") {
				t.Errorf("held deleted file recorded as %+v, stored %q", r, stored[custody.TarName(p)])
			}
		}
	}
	if !found {
		t.Error("the deleted file the implant holds open is not in the collection")
	}
	for _, a := range m.Artifacts {
		if a.Name != "processes" {
			continue
		}
		if a.Status != custody.StatusOK {
			t.Errorf("processes: %s %v", a.Status, a.Errors)
		}
		for _, l := range bytes.Split(decrypt(t, st, m.Storage.Prefix+a.Key, id), []byte("\n")) {
			var pr live.Process
			if json.Unmarshal(l, &pr) == nil && int(pr.PID) == pid {
				if !pr.ExeDeleted || pr.ExeSHA256 != h.ImplantSHA256 || pr.ExeSize != h.ImplantSize {
					t.Errorf("processes lists the implant as %+v", pr)
				}
				return
			}
		}
		t.Error("processes does not list the implant")
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// A directory swapped for a link to /etc and back while the collection
// runs never puts /etc/shadow in the tar under an in-scope name (the old
// path-based walk did in 6 of 300 runs).
func TestSwapRaceStoresNothingUnderAFalseName(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(root+"/etc", 0o755)
	secret := []byte("root:$6$secret")
	os.WriteFile(root+"/etc/shadow", secret, 0o600)
	for _, n := range []string{"shadow", "a", "b", "c"} {
		os.MkdirAll(root+"/www/d/sub", 0o755)
		os.WriteFile(root+"/www/d/sub/"+n, []byte("x"), 0o644)
	}
	os.Mkdir(root+"/stage", 0o755)
	os.Symlink(root+"/etc", root+"/stage/sub")
	os.Lchown(root+"/stage/sub", testenv.WebUID, testenv.WebUID)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { // the attacker swaps sub for the link and back, flat out
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			os.Rename(root+"/www/d/sub", root+"/www/d/held")
			os.Rename(root+"/stage/sub", root+"/www/d/sub")
			os.Rename(root+"/www/d/sub", root+"/stage/sub")
			os.Rename(root+"/www/d/held", root+"/www/d/sub")
		}
	}()
	defer func() { close(stop); <-done }()
	sum := sha256.Sum256(secret)
	for run := 0; run < 100; run++ {
		p, _, _ := newPipeline(t)
		src := &Files{Name: "www", Patterns: []string{root + "/www"}}
		m := runCollection(t, p, []Planned{{Source: src, Desc: src.Describe()}})
		for _, f := range m.Artifacts[0].Files {
			if strings.HasPrefix(f.Path, root+"/www/") && f.SHA256 == hex.EncodeToString(sum[:]) {
				t.Fatalf("run %d: /etc/shadow taken as %s", run, f.Path)
			}
		}
	}
}
