package collect

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/storage"
)

// manyFilesTree writes n small files under a new directory.
func manyFilesTree(t *testing.T, n int) string {
	t.Helper()
	root := t.TempDir()
	for d := 0; d*1000 < n; d++ {
		dir := filepath.Join(root, fmt.Sprintf("d%03d", d))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := d * 1000; i < min(n, (d+1)*1000); i++ {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%06d.php", i)), []byte(fmt.Sprint("<?php // ", i, "\n")), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

// An artifact of more files than a manifest should hold keeps their
// records in an object of its own, written as the files are taken: the
// collector holds none of them at the end, and the collection verifies
// file by file against it.
func TestManyFilesGoToTheirObject(t *testing.T) {
	const n = 17000
	root := manyFilesTree(t, n)
	p, st, id := newPipeline(t)
	src := &Files{Name: "webroot", Patterns: []string{root}}
	m := runCollection(t, p, []Planned{{Source: src, Desc: src.Describe()}})
	a := m.Artifacts[0]
	f := a.FilesObject
	if a.Status != custody.StatusOK || f == nil || len(a.Files) != 0 {
		t.Fatalf("status %s, files object %+v, %d records held, errors %v", a.Status, f, len(a.Files), a.Errors)
	}
	if f.Records != n || f.Key != custody.FilesKey(a.Key) {
		t.Errorf("files object %+v", f)
	}
	if _, err := st.Stat(context.Background(), m.Storage.Prefix+f.Key); err != nil {
		t.Fatal(err)
	}
	r, err := custody.Verify(context.Background(), testObjects(st), m.Storage.Prefix, custody.VerifyOptions{Identities: []age.Identity{id}})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Files != n {
		t.Fatalf("verify: %d files checked, %v", r.Files, r.Problems)
	}
}

// refusing fails the creation, or the commit, of keys with a suffix.
type refusing struct {
	storage.Store
	create, commit string
}

func (s refusing) Create(ctx context.Context, key string, o storage.CreateOptions) (storage.ObjectWriter, error) {
	if s.create != "" && strings.HasSuffix(key, s.create) {
		return nil, fmt.Errorf("disk full")
	}
	w, err := s.Store.Create(ctx, key, o)
	if err == nil && s.commit != "" && strings.HasSuffix(key, s.commit) {
		w = failCommit{w}
	}
	return w, err
}

type failCommit struct{ storage.ObjectWriter }

func (f failCommit) Commit(context.Context, storage.Digest) (storage.ObjectInfo, error) {
	f.Abort()
	return storage.ObjectInfo{}, fmt.Errorf("disk full")
}

// A files object the store will not create costs memory, not records:
// they are kept in the record, with a warning; one that fails later fails
// its artifact, loudly, naming why.
func TestFilesObjectRefused(t *testing.T) {
	root := manyFilesTree(t, 16500)
	p, st, _ := newPipeline(t)
	p.Store = refusing{Store: st, create: ".files.jsonl.zst"}
	src := &Files{Name: "webroot", Patterns: []string{root}}
	m := runCollection(t, p, []Planned{{Source: src, Desc: src.Describe()}})
	a := m.Artifacts[0]
	if a.Status != custody.StatusOK || a.FilesObject != nil || a.FileCount() != 16500 || !strings.Contains(strings.Join(a.Warnings, "\n"), "file records kept in the record, not in artifacts/01-webroot.tar.files.jsonl.zst: disk full") {
		t.Fatalf("status %s, files object %+v, %d records, warnings %v", a.Status, a.FilesObject, a.FileCount(), a.Warnings)
	}

	p.Store = refusing{Store: st, commit: ".files.jsonl.zst"}
	m = runCollection(t, p, []Planned{{Source: src, Desc: src.Describe()}})
	a = m.Artifacts[0]
	if a.Status != custody.StatusFailed || a.FilesObject != nil || !strings.Contains(strings.Join(a.Errors, "\n"), "file records not stored (16500 of them)") || !strings.Contains(strings.Join(a.Errors, "\n"), "disk full") {
		t.Fatalf("status %s, files object %+v, errors %v", a.Status, a.FilesObject, a.Errors)
	}
	if custody.Status(m) == "complete" {
		t.Error("the collection says complete")
	}
}
