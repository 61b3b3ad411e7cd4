package collect

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/rate"
	"github.com/custos-ir/custos/internal/testenv"
)

// A source stuck in a read that never returns (like a dead NFS mount) is
// abandoned at its timeout, recorded, and the collection goes on and ends;
// one that stops at the timeout is stored with what it took.
func TestStuckSourceAbandoned(t *testing.T) {
	old := abandonGrace
	abandonGrace = 300 * time.Millisecond
	defer func() { abandonGrace = old }()
	p, st, id := newPipeline(t)
	p.Limits = &Limits{SourceTimeout: 500 * time.Millisecond, Workers: 2}
	block := make(chan struct{})
	defer close(block)
	stuck := &Stream{Desc: Description{Name: "stuck", Kind: "files", Format: "jsonl"}, Fn: func(ctx context.Context, w io.Writer) error {
		io.WriteString(w, "partial\n")
		<-block // ignores ctx: a read in the kernel does not see it
		return nil
	}}
	polite := &Stream{Desc: Description{Name: "polite", Kind: "files", Format: "jsonl"}, Fn: func(ctx context.Context, w io.Writer) error {
		<-ctx.Done()
		return ctx.Err()
	}}
	fine := &Stream{Desc: Description{Name: "fine", Kind: "files", Format: "jsonl"}, Fn: func(ctx context.Context, w io.Writer) error {
		_, err := io.WriteString(w, "{}\n")
		return err
	}}
	start := time.Now()
	m := runCollection(t, p, []Planned{{Source: stuck, Desc: stuck.Describe()}, {Source: polite, Desc: polite.Describe()}, {Source: fine, Desc: fine.Describe()}})
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("took %s", took)
	}
	a := map[string]custody.Artifact{}
	for _, x := range m.Artifacts {
		a[x.Name] = x
	}
	if a["stuck"].Status != custody.StatusFailed || !strings.Contains(a["stuck"].Errors[0], "abandoned") {
		t.Fatalf("stuck: %+v", a["stuck"])
	}
	// A source that stops at its deadline keeps what it wrote.
	if a["polite"].Status != custody.StatusPartial || !strings.Contains(a["polite"].Errors[0], "cut at --source-timeout") {
		t.Fatalf("polite: %+v", a["polite"])
	}
	if a["fine"].Status != custody.StatusOK {
		t.Fatalf("fine: %+v", a["fine"])
	}
	r, err := custody.Verify(context.Background(), testObjects(st), m.Storage.Prefix, custody.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The abandoned object is never committed; its temporary file may stay
	// until the stuck read returns, and verify names it.
	for _, pr := range r.Problems {
		if !strings.Contains(pr.String(), ".tmp-") {
			t.Errorf("verify: %v", pr)
		}
	}
	_ = id
}

func TestBudgetsAndWindow(t *testing.T) {
	root := fixture(t)
	p, _, _ := newPipeline(t)
	p.Limits = &Limits{MaxTotal: 60 << 10, Since: time.Now().Add(time.Hour)}
	p.Files = &FileReader{Limits: p.Limits}
	logs := &Files{Name: "logs", Patterns: []string{root + "/log"}, Options: FileOptions{Logs: true}}
	other := &Files{Name: "other", Patterns: []string{root + "/log"}}
	m := runCollection(t, p, []Planned{{Source: logs, Desc: logs.Describe()}, {Source: other, Desc: other.Describe()}})
	for _, a := range m.Artifacts {
		for _, f := range a.Files {
			if f.Type != "file" {
				continue
			}
			switch a.Name {
			case "logs":
				if f.Stored || !strings.Contains(f.Note, "modified before --since") {
					t.Errorf("logs: %s %+v", f.Path, f)
				}
			case "other":
				if strings.HasSuffix(f.Path, "syslog") && !f.Stored {
					t.Errorf("other: syslog not read: %+v", f)
				}
			}
		}
		if len(a.Warnings) == 0 && a.Name == "logs" {
			t.Errorf("no warning on %s", a.Name)
		}
	}
	p2, _, _ := newPipeline(t)
	p2.Limits = &Limits{MaxTotal: 10 << 10}
	p2.Files = &FileReader{Limits: p2.Limits}
	m2 := runCollection(t, p2, []Planned{{Source: other, Desc: other.Describe()}})
	skipped := 0
	for _, f := range m2.Artifacts[0].Files {
		if strings.Contains(f.Note, "over --max-total") {
			skipped++
		}
	}
	if skipped == 0 {
		t.Fatal("--max-total skipped nothing")
	}
}

// slowFile reads like a file on a slow disk: each read takes d.
type slowFile struct {
	evidence
	d time.Duration
}

func (s *slowFile) ReadAt(p []byte, off int64) (int, error) {
	time.Sleep(s.d)
	return s.evidence.ReadAt(p, off)
}

func bigTree(t *testing.T) string {
	dir := t.TempDir()
	for _, n := range []string{"a.log", "b-slow.log", "c.log"} {
		if err := os.WriteFile(filepath.Join(dir, n), bytes.Repeat([]byte(n+"\n"), 1<<18), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A file too slow for --file-timeout is cut where the time ran out: its
// bytes so far are kept and hashed, the entry padded, and the artifact's
// other files taken whole.
func TestFileTimeoutCutsOneFile(t *testing.T) {
	dir := bigTree(t)
	p, st, id := newPipeline(t)
	p.Limits = &Limits{FileTimeout: time.Second}
	swapOpen(p, "b-slow.log", func(real evidence) (evidence, error) { return &slowFile{real, 700 * time.Millisecond}, nil })
	src := &Files{Name: "logs", Patterns: []string{dir}}
	m := runCollection(t, p, []Planned{{Source: src, Desc: src.Describe()}})
	a := m.Artifacts[0]
	if a.Status != custody.StatusPartial || len(a.Files) != 3 {
		t.Fatalf("%s, %d files: %v", a.Status, len(a.Files), a.Errors)
	}
	for _, f := range a.Files {
		slow := strings.HasSuffix(f.Path, "b-slow.log")
		switch {
		case slow && (!strings.HasPrefix(f.Error, "cut at --file-timeout 1s") || f.Read >= f.Size || f.Read == 0):
			t.Errorf("slow file: %+v", f)
		case !slow && (f.Error != "" || f.Read != f.Size || !f.Stored):
			t.Errorf("%s: %+v", f.Path, f)
		}
	}
	verifyOK(t, st, m, id)
}

// At --source-timeout a files artifact stops: the file being read is cut,
// what was taken is stored, and the record says the walk stopped.
func TestSourceTimeoutKeepsWhatWasTaken(t *testing.T) {
	dir := bigTree(t)
	p, st, id := newPipeline(t)
	p.Limits = &Limits{SourceTimeout: 300 * time.Millisecond}
	swapOpen(p, "b-slow.log", func(real evidence) (evidence, error) { return &slowFile{real, 150 * time.Millisecond}, nil })
	src := &Files{Name: "logs", Patterns: []string{dir}}
	m := runCollection(t, p, []Planned{{Source: src, Desc: src.Describe()}})
	a := m.Artifacts[0]
	if a.Status != custody.StatusPartial || !a.IsStored() || len(a.Files) != 3 {
		t.Fatalf("%s: %v %+v", a.Status, a.Errors, a.Files)
	}
	if f := a.Files[0]; f.Error != "" || !f.Stored {
		t.Errorf("the file before the slow one: %+v", f)
	}
	// The slow file and the one after it (the walk had reached it) are cut
	// where the time ran out: the first part way, the second at 0.
	for _, f := range a.Files[1:] {
		if !strings.HasPrefix(f.Error, "cut at --source-timeout: ") {
			t.Errorf("after the deadline: %+v", f)
		}
	}
	verifyOK(t, st, m, id)
}

// stuckFile never returns from a read, like one on a dead NFS mount.
type stuckFile struct {
	evidence
	block chan struct{}
}

func (s *stuckFile) ReadAt([]byte, int64) (int, error) { <-s.block; return 0, io.EOF }
func (s *stuckFile) Read([]byte) (int, error)          { <-s.block; return 0, io.EOF }

// A read that never returns costs its file, not the artifact: a large file
// stuck mid-stream is left behind and padded, a small one stuck in the walk
// ends the walk there; both artifacts are stored with what came before.
func TestStuckReadCostsOneFile(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	dir := bigTree(t)
	small := t.TempDir()
	for _, n := range []string{"1.conf", "2-stuck.conf", "3.conf"} {
		os.WriteFile(filepath.Join(small, n), []byte(n), 0o644)
	}
	p, st, id := newPipeline(t)
	p.Limits = &Limits{FileTimeout: 300 * time.Millisecond}
	swapOpen(p, "stuck.conf", func(real evidence) (evidence, error) { return &stuckFile{real, block}, nil })
	swapOpen(p, "b-slow.log", func(real evidence) (evidence, error) { return &stuckFile{real, block}, nil })
	big := &Files{Name: "big", Patterns: []string{dir}}
	little := &Files{Name: "little", Patterns: []string{small}}
	m := runCollection(t, p, []Planned{{Source: big, Desc: big.Describe()}, {Source: little, Desc: little.Describe()}})
	a := m.Artifacts[0]
	if a.Status != custody.StatusPartial || len(a.Files) != 3 || !a.Files[0].Stored || !a.Files[2].Stored ||
		!strings.Contains(a.Files[1].Error, "left behind") {
		t.Errorf("big: %s %v %+v", a.Status, a.Errors, a.Files)
	}
	b := m.Artifacts[1]
	if b.Status != custody.StatusPartial || len(b.Files) != 1 || !b.Files[0].Stored ||
		!strings.Contains(strings.Join(b.Errors, ";"), "the walk did not move for 300ms at "+small+"/2-stuck.conf") {
		t.Errorf("little: %s %v %+v", b.Status, b.Errors, b.Files)
	}
	verifyOK(t, st, m, id)
}

// A file's holes are not read, so they spend no byte budget: a 1 GiB file
// with 4 KiB of data is taken under --max-artifact 1MiB, stored sparse.
func TestHolesSpendNoBudget(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "lastlog")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(bytes.Repeat([]byte{7}, 4096), 512<<20)
	f.Truncate(1 << 30)
	f.Close()
	pl, st, id := newPipeline(t)
	pl.Limits = &Limits{MaxArtifact: 1 << 20}
	pl.Files = &FileReader{Limits: pl.Limits}
	src := &Files{Name: "logs", Patterns: []string{p}}
	m := runCollection(t, pl, []Planned{{Source: src, Desc: src.Describe()}})
	r := m.Artifacts[0].Files[0]
	if r.Holes == 0 {
		testenv.Missing(t, fmt.Sprintf("a file system that keeps holes (the file was read as %+v)", r), "run the tests on ext4, xfs, btrfs or tmpfs")
	}
	if !r.Stored || r.Read != 1<<30 || r.Holes != 1<<30-4096 || r.Note != "" || m.Artifacts[0].Plain.Size > 64<<10 {
		t.Errorf("sparse lastlog: %+v, plaintext %d bytes", r, m.Artifacts[0].Plain.Size)
	}
	verifyOK(t, st, m, id)
}

// --file-timeout counts the time spent reading a file, not the time the
// store takes what was read: a slow upload (or a busy compressor) never
// cuts a file that reads fast.
func TestFileTimeoutCountsReadsOnly(t *testing.T) {
	dir := t.TempDir()
	// Random bytes: compression does not shrink them below the upload rate.
	b := make([]byte, 24<<20)
	rand.Read(b)
	os.WriteFile(filepath.Join(dir, "big.bin"), b, 0o644)
	p, st, id := newPipeline(t)
	p.Limits = &Limits{FileTimeout: 300 * time.Millisecond, UploadRate: rate.New(12 << 20)}
	p.Files = &FileReader{Limits: p.Limits}
	src := &Files{Name: "logs", Patterns: []string{dir}}
	m := runCollection(t, p, []Planned{{Source: src, Desc: src.Describe()}})
	a := m.Artifacts[0]
	if a.Status != custody.StatusOK || len(a.Files) != 1 || a.Files[0].Error != "" {
		t.Fatalf("a file read fast was cut by the slow upload: %s %v %+v", a.Status, a.Errors, a.Files)
	}
	verifyOK(t, st, m, id)
}
