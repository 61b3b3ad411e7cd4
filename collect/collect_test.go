package collect

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"

	"github.com/custos-ir/custos/collect/hostfile"
	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/testkeys"
	"github.com/custos-ir/custos/storage"
	"github.com/custos-ir/custos/storage/dirstore"
)

// fixture builds a small tree with the awkward cases: a FIFO, a symlink
// loop, a dangling link, a nested dir, a dot file.
func fixture(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "log/nginx"), 0o755))
	must(os.WriteFile(filepath.Join(root, "log/syslog"), []byte(strings.Repeat("Nov 24 12:00:00 web01 sshd[1]: Accepted publickey\n", 1000)), 0o640))
	must(os.WriteFile(filepath.Join(root, "log/nginx/access.log"), []byte("127.0.0.1 - - GET /\n"), 0o644))
	must(os.WriteFile(filepath.Join(root, "log/.hidden"), []byte("x"), 0o600))
	if err := mkfifo(filepath.Join(root, "log/fifo")); err != nil && runtime.GOOS != "windows" {
		t.Fatal(err)
	}
	must(os.Symlink("loop-b", filepath.Join(root, "log/loop-a")))
	must(os.Symlink("loop-a", filepath.Join(root, "log/loop-b")))
	must(os.Symlink("/nonexistent", filepath.Join(root, "log/dangling")))
	return root
}

func newPipeline(t *testing.T) (*Pipeline, *dirstore.Store, *age.X25519Identity) {
	t.Helper()
	id, _ := testkeys.Identity(t, t.TempDir(), "id")
	st, err := dirstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &Pipeline{Store: st, Recipients: []age.Recipient{id.Recipient()}}, st, id
}

func decrypt(t *testing.T, st storage.Store, key string, id age.Identity) []byte {
	t.Helper()
	rc, err := st.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	dr, err := age.Decrypt(rc, id)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zstd.NewReader(dr)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runCollection runs plan into a new collection and seals its record, as
// custos collect does.
func runCollection(t *testing.T, p *Pipeline, plan []Planned) *custody.Manifest {
	t.Helper()
	ctx := context.Background()
	m := &custody.Manifest{Format: custody.Format, CollectionID: custody.NewCollectionID(time.Now()),
		Case: custody.Case{ID: "CASE-1"}, Started: custody.NewTime(time.Now()), Host: custody.Host{Hostname: "web01"}}
	rec, err := custody.Begin(ctx, testObjects(p.Store), m)
	if err != nil {
		t.Fatal(err)
	}
	Run(ctx, p, m, plan, rec)
	if _, err := rec.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFilesArtifact(t *testing.T) {
	root := fixture(t)
	p, st, id := newPipeline(t)
	src := &Files{Name: "logs", Patterns: []string{filepath.Join(root, "log")}}
	m := runCollection(t, p, []Planned{{Source: src, Desc: src.Describe()}})
	a := m.Artifacts[0]
	if a.Status != custody.StatusOK {
		t.Fatalf("status %s, errors %v", a.Status, a.Errors)
	}
	byName := map[string]custody.File{}
	for _, f := range a.Files {
		byName[strings.TrimPrefix(f.Path, root+"/")] = f
	}
	if f := byName["log/fifo"]; f.Type != "fifo" || f.Stored || f.Note == "" {
		t.Errorf("fifo recorded as %+v", f)
	}
	if f := byName["log/loop-a"]; f.Type != "symlink" || f.Link != "loop-b" {
		t.Errorf("symlink loop recorded as %+v", f)
	}
	if f := byName["log/.hidden"]; !f.Stored || f.Mode != "0600" {
		t.Errorf("dot file recorded as %+v", f)
	}
	sys := byName["log/syslog"]
	if !sys.Stored || sys.Size != 50000 || sys.Read != 50000 || sys.Mtime == nil || sys.Inode == 0 || sys.Method == "" {
		t.Errorf("syslog recorded as %+v", sys)
	}
	// The tar holds exactly the stored files, with their content.
	plain := decrypt(t, st, m.Storage.Prefix+a.Key, id)
	tr := tar.NewReader(bytes.NewReader(plain))
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if strings.HasSuffix(h.Name, "log/syslog") {
			b, _ := io.ReadAll(tr)
			if len(b) != 50000 || h.Mode != 0o640 {
				t.Errorf("syslog in tar: %d bytes, mode %o", len(b), h.Mode)
			}
		}
	}
	if len(names) != 6 { // syslog, access.log, .hidden, 3 symlinks
		t.Errorf("tar holds %v", names)
	}
}

// fakeFile stands in for an open host file: content comes from r, the
// record is the real file's.
type fakeFile struct {
	evidence
	r io.Reader
}

func (f *fakeFile) ReadAt(p []byte, _ int64) (int, error) {
	n, err := io.ReadFull(f.r, p)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return n, err
}

func (f *fakeFile) Read(p []byte) (int, error) { return f.r.Read(p) }

// swapOpen makes p's file reader use fake for the files whose path ends
// in name.
func swapOpen(p *Pipeline, name string, fake func(real evidence) (evidence, error)) {
	if p.Files == nil {
		p.Files = &FileReader{Limits: p.Limits}
	}
	old := p.Files.open
	if old == nil {
		old = openEntry
	}
	p.Files.open = func(e *hostfile.Entry) (evidence, error) {
		f, err := old(e)
		if err != nil || !strings.HasSuffix(e.Path, name) {
			return f, err
		}
		return fake(f)
	}
}

func TestFileShrinksWhileRead(t *testing.T) {
	root := fixture(t)
	p, st, id := newPipeline(t)
	swapOpen(p, "syslog", func(real evidence) (evidence, error) {
		return &fakeFile{evidence: real, r: strings.NewReader("only this")}, nil
	})
	src := &Files{Name: "logs", Patterns: []string{filepath.Join(root, "log")}}
	m := runCollection(t, p, []Planned{{Source: src, Desc: src.Describe()}})
	a := m.Artifacts[0]
	if a.Status != custody.StatusPartial || m.Status != "partial" {
		t.Fatalf("status %s / %s, want partial", a.Status, m.Status)
	}
	var rec custody.File
	for _, f := range a.Files {
		if strings.HasSuffix(f.Path, "syslog") {
			rec = f
		}
	}
	if rec.Read != 9 || !strings.Contains(rec.Error, "got 9 of 50000 bytes") {
		t.Fatalf("record %+v", rec)
	}
	// The tar is still well formed: the missing bytes are zeros.
	plain := decrypt(t, st, m.Storage.Prefix+a.Key, id)
	tr := tar.NewReader(bytes.NewReader(plain))
	for {
		_, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, tr)
	}
	verifyOK(t, st, m, id)
}

func TestFileGrowsWhileRead(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "growing.log")
	os.WriteFile(p, []byte("line 1\n"), 0o644)
	pl, st, id := newPipeline(t)
	swapOpen(pl, "growing.log", func(real evidence) (evidence, error) {
		// Another process appends after we took the metadata.
		g, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
		g.WriteString("line 2\n")
		g.Close()
		return real, nil
	})
	src := &Files{Name: "logs", Patterns: []string{p}}
	m := runCollection(t, pl, []Planned{{Source: src, Desc: src.Describe()}})
	rec := m.Artifacts[0].Files[0]
	if rec.Error != "" || rec.Read != 7 || !strings.Contains(rec.Note, "grew") {
		t.Fatalf("record %+v", rec)
	}
	verifyOK(t, st, m, id)
}

func TestUnreadableFileIsRecorded(t *testing.T) {
	root := fixture(t)
	p, _, _ := newPipeline(t)
	swapOpen(p, "access.log", func(real evidence) (evidence, error) {
		real.Close()
		return nil, &os.PathError{Op: "open", Path: "x", Err: syscall.EACCES}
	})
	src := &Files{Name: "logs", Patterns: []string{filepath.Join(root, "log")}}
	m := runCollection(t, p, []Planned{{Source: src, Desc: src.Describe()}})
	a := m.Artifacts[0]
	if a.Status != custody.StatusPartial {
		t.Fatalf("status %s", a.Status)
	}
	found := false
	for _, f := range a.Files {
		if strings.HasSuffix(f.Path, "access.log") {
			found = f.Error == "open: permission denied" && !f.Stored && f.Size == 20
		}
	}
	if !found {
		t.Fatalf("permission error not recorded: %+v", a.Files)
	}
}

// verifyOK checks the collection with decryption, as verify --identity does.
func verifyOK(t *testing.T, st storage.Store, m *custody.Manifest, id age.Identity) {
	t.Helper()
	r, err := custody.Verify(context.Background(), testObjects(st), m.Storage.Prefix, custody.VerifyOptions{Identities: []age.Identity{id}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Problems {
		t.Errorf("verify: %s", p)
	}
}

func TestFailedSourceDoesNotStopCollection(t *testing.T) {
	p, st, id := newPipeline(t)
	bad := &Stream{Desc: Description{Name: "bad", Kind: "live", Format: "jsonl"},
		Fn: func(ctx context.Context, w io.Writer) error {
			io.WriteString(w, `{"half":`)
			return errors.New("source exploded")
		}}
	good := &Stream{Desc: Description{Name: "good", Kind: "live", Format: "jsonl"},
		Fn: func(ctx context.Context, w io.Writer) error {
			_, err := io.WriteString(w, "{\"ok\":true}\n")
			return err
		}}
	m := runCollection(t, p, []Planned{
		{Source: bad, Desc: bad.Describe()},
		{Source: good, Desc: good.Describe()},
		{Desc: Description{Name: "elsewhere", Kind: "live"}, Skip: "not on this platform"},
	})
	if m.Status != "partial" {
		t.Fatalf("status %s", m.Status)
	}
	if a := m.Artifacts[0]; a.Status != custody.StatusFailed || a.Key != "" || !strings.Contains(a.Errors[0], "source exploded") {
		t.Fatalf("bad artifact %+v", a)
	}
	if got := decrypt(t, st, m.Storage.Prefix+m.Artifacts[1].Key, id); string(got) != "{\"ok\":true}\n" {
		t.Fatalf("good artifact %q", got)
	}
	if m.Artifacts[2].Status != custody.StatusSkipped {
		t.Fatalf("skipped artifact %+v", m.Artifacts[2])
	}
	// No half-written object of the failed artifact is left behind.
	st.List(context.Background(), "", func(o storage.ObjectInfo) error {
		if strings.Contains(o.Key, "bad") || strings.Contains(o.Key, ".tmp-") {
			t.Errorf("left behind: %s", o.Key)
		}
		return nil
	})
	r, err := custody.Verify(context.Background(), testObjects(st), m.Storage.Prefix, custody.VerifyOptions{Identities: []age.Identity{id}})
	if err != nil || !r.OK() {
		t.Fatalf("verify: %v %v", err, r.Problems)
	}
}

func TestInterruptedCollectionStillWritesManifest(t *testing.T) {
	p, st, _ := newPipeline(t)
	ctx, cancel := context.WithCancel(context.Background())
	first := &Stream{Desc: Description{Name: "first", Kind: "live", Format: "jsonl"},
		Fn: func(ctx context.Context, w io.Writer) error {
			cancel()
			return ctx.Err()
		}}
	second := &Stream{Desc: Description{Name: "second", Kind: "live", Format: "jsonl"},
		Fn: func(ctx context.Context, w io.Writer) error { return nil }}
	m := &custody.Manifest{Format: custody.Format, CollectionID: "x", Case: custody.Case{ID: "C"}}
	m.Storage.Prefix = "C/h/x/"
	Run(ctx, p, m, []Planned{{Source: first, Desc: first.Describe()}, {Source: second, Desc: second.Describe()}}, nil)
	if m.Status != "failed" || m.Artifacts[1].Status != custody.StatusSkipped || len(m.Errors) == 0 {
		t.Fatalf("manifest %+v", m)
	}
	_ = st
}

func TestBodyfile(t *testing.T) {
	root := fixture(t)
	p, st, id := newPipeline(t)
	src := &Bodyfile{Name: "timeline", Roots: []string{root}}
	m := runCollection(t, p, []Planned{{Source: src, Desc: src.Describe()}})
	body := string(decrypt(t, st, m.Storage.Prefix+m.Artifacts[0].Key, id))
	for _, want := range []string{
		"|" + root + "/log/fifo|", "|p/prw-------|",
		"|" + root + "/log/loop-a -> loop-b|",
		"|r/rrw-r-----|0|0|50000|",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("bodyfile lacks %q:\n%s", want, body)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		if n := strings.Count(line, "|"); n != 10 {
			t.Errorf("line has %d fields separators: %q", n, line)
		}
	}
}

func TestBodyLineEscapes(t *testing.T) {
	mt := time.Unix(1700000000, 0)
	got := BodyLine(custody.File{Path: "/tmp/a|b\nc", Type: "file", Mode: "0644", Size: 3, Mtime: &mt})
	want := "0|/tmp/a\\x7cb\\x0ac|0|r/rrw-r--r--|0|0|3|0|1700000000|0|0\n"
	if got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}

// TestStreamedFilesHashedWithPlaintext: files read into the tar as they go
// (past the size read whole) are hashed into their records in the same
// pass as the plaintext (frameWriter.tee). Each record and the artifact's
// plaintext digest must be what crypto/sha256 makes of the bytes, for
// sizes around blocks, the copy buffer and a frame, beside files read
// whole and a file whose name needs a PAX header.
func TestStreamedFilesHashedWithPlaintext(t *testing.T) {
	root := t.TempDir()
	r := rand.New(rand.NewPCG(17, 17))
	want := map[string]string{}
	for i, size := range []int{0, 1, 63, 64, 65, smallMax + 1, smallMax + 63, 256<<10 + 1, 3<<20 + 7, 100} {
		b := make([]byte, size)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		name := fmt.Sprintf("f%02d-%d", i, size)
		if i == 7 {
			name += "-" + strings.Repeat("long-name-", 20) // a PAX header before the content
		}
		if err := os.WriteFile(filepath.Join(root, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		want[filepath.Join(root, name)] = hex.EncodeToString(sum[:])
	}
	p, st, id := newPipeline(t)
	src := &Files{Name: "files", Patterns: []string{root}}
	m := runCollection(t, p, []Planned{{Source: src, Desc: src.Describe()}})
	a := m.Artifacts[0]
	if a.Status != custody.StatusOK {
		t.Fatalf("status %s, errors %v", a.Status, a.Errors)
	}
	seen := 0
	for _, f := range a.Files {
		if w, ok := want[f.Path]; ok {
			seen++
			if f.SHA256 != w || !f.Stored {
				t.Errorf("%s: sha256 %s, stored %v; want %s", f.Path, f.SHA256, f.Stored, w)
			}
		}
	}
	if seen != len(want) {
		t.Errorf("%d of %d files recorded", seen, len(want))
	}
	plain := decrypt(t, st, m.Storage.Prefix+a.Key, id)
	if sum := sha256.Sum256(plain); a.Plain.SHA256 != sum || a.Plain.Size != int64(len(plain)) {
		t.Errorf("plaintext %d bytes sha256 %x, the record says %d bytes %s", len(plain), sum, a.Plain.Size, a.Plain.SHA256)
	}
}
