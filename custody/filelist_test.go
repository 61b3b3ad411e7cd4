package custody

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
)

// manyFiles is past spillAt: the records are kept compressed.
const manyFiles = spillAt + 3000

func manyFilesMap() map[string]string {
	files := map[string]string{}
	for i := range manyFiles {
		files[fmt.Sprintf("/srv/www/f%06d é %d.php", i, i%7)] = fmt.Sprint(i)
	}
	return files
}

// A tree past spillAt records is written, journaled, read back and
// verified file by file from compressed records, and its manifest reads
// back to the same bytes.
func TestManyFilesCompressed(t *testing.T) {
	ctx := context.Background()
	objs := newMem(false)
	id, _ := age.GenerateX25519Identity()
	m := header("CASE-M")
	c, err := Begin(ctx, objs, m)
	if err != nil {
		t.Fatal(err)
	}
	a := artifact(t, objs, c.Prefix(), 1, "webroot", "tar", id, nil, manyFilesMap())
	if a.list == nil || a.FileCount() != manyFiles {
		t.Fatalf("records not kept compressed: list %v, count %d", a.list != nil, a.FileCount())
	}
	c.Stored(ctx, a)

	// The journal, streamed, gives the record back whole.
	in, err := FindInterrupted(ctx, objs)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Kept) != 1 || in.Kept[0].FileCount() != manyFiles {
		t.Fatalf("journal gave back %d artifacts", len(in.Kept))
	}

	m.Artifacts = append(m.Artifacts, *a)
	m.Finished = NewTime(time.Now())
	m.Status = Status(m)
	if _, err := c.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := Verify(ctx, objs, c.Prefix(), VerifyOptions{Identities: []age.Identity{id}})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Files != manyFiles {
		t.Fatalf("verify: %d files checked, problems:\n%s", r.Files, problems(r))
	}

	mb := objs.get(c.Prefix() + ManifestName)
	back, err := Parse(mb)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := back.Marshal()
	if !bytes.Equal(mb, again) {
		t.Fatal("the manifest of many files does not read back to its bytes")
	}
	if n := bytes.Count(mb, []byte("\n        {\"path\":")); n != manyFiles {
		t.Errorf("%d file records one per line, want %d", n, manyFiles)
	}

	// A record past spillAt is held to the format like the first.
	rec := `{"path":"/srv/www/f017000 é 4.php"`
	if !bytes.Contains(mb, []byte(rec)) {
		t.Fatalf("no record %s", rec)
	}
	dup := strings.Replace(string(mb), rec, rec+`,"path":"/etc/shadow"`, 1)
	if _, err := Parse([]byte(dup)); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("a key twice in record 17001 was taken: %v", err)
	}

	// A tar whose files are not in the manifest's order is named.
	swapped := strings.Replace(strings.Replace(string(mb), "f000001 é 1", "f00000X", 1), "f000002 é 2", "f000001 é 1", 1)
	swapped = strings.Replace(swapped, "f00000X", "f000002 é 2", 1)
	objs.set(c.Prefix()+ManifestName, []byte(swapped))
	r, _ = Verify(ctx, objs, c.Prefix(), VerifyOptions{Identities: []age.Identity{id}})
	if !strings.Contains(problems(r), "tar holds srv/www/f000001 é 1.php where the manifest lists srv/www/f000002 é 2.php next") {
		t.Errorf("out of order not named:\n%s", problems(r))
	}
}

// Past spillAt with SpillFiles, the records go to a files object of their
// own as they come: the manifest names it, SHA256SUMS lists it, zstd -d
// reads it as JSON lines, and verify reads it as a stream, file by file
// against the tar; a changed, shortened or missing files object is named.
func TestManyFilesObject(t *testing.T) {
	ctx := context.Background()
	objs := newMem(false)
	id, _ := age.GenerateX25519Identity()
	m := header("CASE-F")
	c, err := Begin(ctx, objs, m)
	if err != nil {
		t.Fatal(err)
	}
	a := artifactSpill(t, objs, c.Prefix(), 1, "webroot", "tar", id, nil, manyFilesMap(), true)
	f := a.FilesObject
	if f == nil || a.list != nil || len(a.Files) != 0 || f.Records != manyFiles || a.FileCount() != manyFiles {
		t.Fatalf("records not in a files object: %+v, list %v, %d held", f, a.list != nil, len(a.Files))
	}
	if f.Key != "artifacts/01-webroot.tar.files.jsonl.zst" {
		t.Errorf("files object key %s", f.Key)
	}
	if _, err := HostKey(f.Key); err != nil {
		t.Errorf("a host may not send its files object: %v", err)
	}
	finish(t, ctx, c, m, a)
	mb := objs.get(c.Prefix() + ManifestName)
	if bytes.Contains(mb, []byte(`"path":`)) || !bytes.Contains(mb, []byte(`"files_object"`)) {
		t.Fatalf("the manifest holds file records or no files object:\n%.2000s", mb)
	}
	if sums := string(objs.get(c.Prefix() + SumsName)); !strings.Contains(sums, f.SHA256.String()+"  "+f.Key+"\n") {
		t.Errorf("SHA256SUMS does not list the files object:\n%s", sums)
	}
	raw := objs.get(c.Prefix() + f.Key)
	zr, _ := zstd.NewReader(bytes.NewReader(raw))
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(plain), "\n"), "\n")
	if len(lines) != manyFiles || !strings.HasPrefix(lines[17000], `{"path":"/srv/www/`) {
		t.Fatalf("%d lines, line 17001 %.80s", len(lines), lines[17000])
	}
	r, err := Verify(ctx, objs, c.Prefix(), VerifyOptions{Identities: []age.Identity{id}})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Files != manyFiles {
		t.Fatalf("verify: %d files checked, problems:\n%s", r.Files, problems(r))
	}
	back, err := Parse(mb)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := back.Marshal(); !bytes.Equal(mb, again) {
		t.Error("the manifest does not read back to its bytes")
	}

	// A record changed in the files object, however well-formed, is named;
	// so are a files object cut short and one that is missing.
	changed := bytes.Replace(plain, []byte("f017000 é 4.php"), []byte("f017000 é 5.php"), 1)
	zw, _ := zstd.NewWriter(nil)
	for name, b := range map[string][]byte{
		"changed": zw.EncodeAll(changed, nil),
		"short":   raw[:len(raw)/2],
	} {
		objs.set(c.Prefix()+f.Key, b)
		r, _ = Verify(ctx, objs, c.Prefix(), VerifyOptions{Identities: []age.Identity{id}})
		if !strings.Contains(problems(r), "artifact webroot: file records: "+f.Key) {
			t.Errorf("%s files object not named:\n%s", name, problems(r))
		}
	}
	objs.remove(c.Prefix() + f.Key)
	r, _ = Verify(ctx, objs, c.Prefix(), VerifyOptions{})
	if !strings.Contains(problems(r), "file records are in "+f.Key+", which is missing") {
		t.Errorf("missing files object not named:\n%s", problems(r))
	}
}
