package custody

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
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
