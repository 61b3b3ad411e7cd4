package custody_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/testkeys"
	"github.com/custos-ir/custos/storage/dirstore"
)

// collection makes a small stored collection: a stream artifact and a tar
// of two files.
func collection(t *testing.T) (dir, prefix string, id *age.X25519Identity) {
	t.Helper()
	id, _ = testkeys.Identity(t, t.TempDir(), "id")
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "a.log"), []byte(strings.Repeat("GET /checkout 200\n", 500)), 0o644)
	os.WriteFile(filepath.Join(src, "b.log"), []byte("POST /admin 302\n"), 0o644)
	dir = t.TempDir()
	st, err := dirstore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := &collect.Pipeline{Store: st, Recipients: []age.Recipient{id.Recipient()}}
	m := &custody.Manifest{Format: custody.Format, CollectionID: collect.NewCollectionID(time.Now()), Case: custody.Case{ID: "CASE-7"}}
	m.Storage.Prefix = collect.CollectionPrefix("CASE-7", "web01", m.CollectionID)
	ps := &collect.Stream{Desc: collect.Description{Name: "processes", Kind: "live", Format: "jsonl"},
		Fn: func(ctx context.Context, w io.Writer) error {
			_, err := io.WriteString(w, "{\"pid\":1}\n{\"pid\":2}\n")
			return err
		}}
	fs := &collect.Files{Name: "logs", Patterns: []string{src}}
	plan := []collect.Planned{{Source: ps, Desc: ps.Describe()}, {Source: fs, Desc: fs.Describe()}}
	if err := collect.Run(context.Background(), p, m, plan); err != nil {
		t.Fatal(err)
	}
	if m.Status != "complete" {
		t.Fatalf("collection %s: %+v", m.Status, m.Artifacts)
	}
	return dir, m.Storage.Prefix, id
}

func verify(t *testing.T, dir string, ids ...age.Identity) *custody.Report {
	t.Helper()
	st, err := dirstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	prefix, err := custody.FindCollection(context.Background(), st, "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := custody.Verify(context.Background(), st, prefix, custody.VerifyOptions{Identities: ids})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestVerifyIntact(t *testing.T) {
	dir, _, id := collection(t)
	r := verify(t, dir, id)
	if !r.OK() {
		t.Fatalf("problems: %v", r.Problems)
	}
	if r.Objects != 2 || r.Decrypted != 2 || r.Files != 2 {
		t.Fatalf("checked %d objects, decrypted %d, %d files", r.Objects, r.Decrypted, r.Files)
	}
}

// TestTamperAnyByte flips one byte at several offsets of every object of a
// collection: verify must fail and name the damaged thing each time.
func TestTamperAnyByte(t *testing.T) {
	dir, prefix, id := collection(t)
	root := filepath.Join(dir, filepath.FromSlash(prefix))
	var files []string
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 8 {
		t.Fatalf("collection holds %d objects: %v", len(files), files)
	}
	for _, f := range files {
		orig, _ := os.ReadFile(f)
		name := filepath.Base(f)
		for _, off := range []int{0, 1, len(orig) / 2, len(orig) - 1} {
			b := append([]byte(nil), orig...)
			b[off] ^= 0x01
			os.WriteFile(f, b, 0o600)
			r := verify(t, dir) // without identity: hashes alone must catch it
			if r.OK() {
				t.Errorf("%s: byte %d flipped, verify passed", name, off)
			} else if !mentions(r, name) {
				t.Errorf("%s: byte %d flipped, problems do not name it: %v", name, off, r.Problems)
			}
			os.WriteFile(f, orig, 0o600)
		}
	}
	if r := verify(t, dir, id); !r.OK() {
		t.Fatalf("restored collection fails: %v", r.Problems)
	}
}

func mentions(r *custody.Report, name string) bool {
	for _, p := range r.Problems {
		if strings.Contains(p.String(), name) || strings.Contains(p.String(), strings.SplitN(name, ".", 2)[0]) ||
			name == "manifest.json.sha256" && strings.Contains(p.String(), "does not match manifest.json.sha256") {
			return true
		}
	}
	return false
}

func TestVerifyMissingAndUnlisted(t *testing.T) {
	dir, prefix, _ := collection(t)
	root := filepath.Join(dir, filepath.FromSlash(prefix))
	arts, _ := filepath.Glob(filepath.Join(root, "artifacts", "*logs*"))
	os.Remove(arts[0])
	os.WriteFile(filepath.Join(root, "artifacts", "99-planted.jsonl.zst.age"), []byte("x"), 0o600)
	r := verify(t, dir)
	got := strings.Join(problemStrings(r), "\n")
	for _, want := range []string{"artifact logs: object artifacts/02-logs.tar.zst.age is missing", "object artifacts/99-planted.jsonl.zst.age: is in the collection but not in the manifest"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
}

func TestVerifyWrongIdentity(t *testing.T) {
	dir, _, _ := collection(t)
	other, _ := testkeys.Identity(t, t.TempDir(), "other")
	r := verify(t, dir, other)
	if r.OK() || !strings.Contains(strings.Join(problemStrings(r), "\n"), "cannot decrypt") {
		t.Fatalf("problems: %v", r.Problems)
	}
}

func problemStrings(r *custody.Report) []string {
	var out []string
	for _, p := range r.Problems {
		out = append(out, p.String())
	}
	return out
}
