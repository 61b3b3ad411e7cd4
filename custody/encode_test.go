package custody

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// The hand-written encoder must write what encoding/json writes.
func TestFileJSONMatchesReflection(t *testing.T) {
	now := time.Date(2026, 11, 30, 10, 0, 0, 123456789, time.FixedZone("X", 3600))
	zero := time.Unix(0, 0).UTC()
	cases := []File{
		{},
		{Path: "/var/log/syslog", Type: "file", Size: 42, Mode: "0640", UID: 0, GID: 4, Inode: 7, Device: 2049, Nlink: 1,
			Atime: &now, Mtime: &now, Ctime: &zero, Btime: &now, Stored: true, SHA256: "ab", Read: 42, Method: "read(O_NOATIME)"},
		{Path: "odd\x00\x01\x1f\"\\\n\r\t\b\f<>&\u2028\u2029\xff\xfeé日本", Type: "symlink", Link: "../\x7f", Target: "/srv/shared/\\x", Holes: 4096, Error: "e", Note: "n",
			Flags: []string{"auto_prepend_file = /tmp/x.php", "\xc3"}, Redacted: []string{"password×2"}, StoredSize: 9, StoredSHA256: "cd", StoredAs: "C/x.evtx.xml", Attrs: []string{"immutable", "append"}, Sensitive: true},
		{Path: "p", Flags: []string{}, Read: -1, Size: -5},
	}
	for i, f := range cases {
		type plain File // no MarshalJSON
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(plain(f)); err != nil {
			t.Fatal(err)
		}
		got, _ := f.MarshalJSON()
		if string(got)+"\n" != want.String() {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, want.String())
		}
		var back File
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("case %d: %v", i, err)
		}
	}
}

func TestIndentShallow(t *testing.T) {
	src := []byte(`{"a":1,"b":[],"c":{},"d":[{"e":"x,{}[]:\"\\","f":[1,2,{"g":[3]}]}],"h":"\u2028"}` + "\n")
	var want bytes.Buffer
	if err := json.Indent(&want, src, "", "  "); err != nil {
		t.Fatal(err)
	}
	if got := indentShallow(src, 100); string(got) != want.String() {
		t.Fatalf("full depth:\n%s\nwant\n%s", got, want.String())
	}
	got := string(indentShallow(src, 2))
	wantShallow := "{\n  \"a\": 1,\n  \"b\": [],\n  \"c\": {},\n  \"d\": [\n    {\"e\":\"x,{}[]:\\\"\\\\\",\"f\":[1,2,{\"g\":[3]}]}\n  ],\n  \"h\": \"\\u2028\"\n}\n"
	if got != wantShallow {
		t.Fatalf("depth 2:\n%s\nwant\n%s", got, wantShallow)
	}
}

// The hand-assembled manifest decodes to what encoding/json would have
// written, field for field.
func TestManifestMarshalRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 30, 10, 0, 0, 5, time.UTC)
	m := &Manifest{Format: Format, CollectionID: "20261130T100000Z-abcdef", Case: Case{ID: "C<1>&"}, Started: NewTime(now),
		Artifacts: []Artifact{
			{Name: "a", Kind: "files", Format: "tar", Status: StatusOK, Started: now, Files: []File{{Path: "/x", Type: "file", Mtime: &now}, {Path: "/y\n"}}},
			{Name: "b", Kind: "live", Format: "jsonl", Status: StatusPartial, Errors: []string{"e"}},
		}}
	got, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	type plain Manifest
	want, _ := json.Marshal(plain(*m))
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	json.Unmarshal(want, &w)
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Fatalf("got\n%s\nwant\n%s", gb, wb)
	}
	if !bytes.Contains(got, []byte("\n        {\"path\":\"/x\",")) {
		t.Errorf("file records are not one per line:\n%s", got)
	}
	empty := &Manifest{Format: Format}
	if b, _ := empty.Marshal(); !bytes.Contains(b, []byte(`"artifacts": []`)) {
		t.Errorf("no artifacts:\n%s", b)
	}
}

// A sealed record's bytes are reused only while the record is as sealed.
func TestSealedArtifact(t *testing.T) {
	a := Artifact{Name: "a", Status: StatusOK, Files: []File{{Path: "/x"}}}
	b, err := a.Seal()
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := a.MarshalJSON(); !bytes.Equal(again, b) {
		t.Fatal("sealed bytes not reused")
	}
	c := a
	c.Warnings = append(c.Warnings, "changed")
	if got, _ := c.MarshalJSON(); !bytes.Contains(got, []byte("changed")) {
		t.Errorf("a changed copy was not encoded again: %s", got)
	}
	d := a
	d.Files = nil
	if got, _ := json.Marshal(d); bytes.Contains(got, []byte("/x")) {
		t.Errorf("a copy without files kept them: %s", got)
	}
	e := a
	e.Files = []File{{Path: "/y"}}
	if got, _ := e.MarshalJSON(); !bytes.Contains(got, []byte("/y")) {
		t.Errorf("a copy with other files kept the old ones: %s", got)
	}
}
