package paxtar

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// entry is one file for a round trip: a header and its logical content.
type entry struct {
	h       Header
	content []byte
}

// write archives entries, each sparse entry given only its extents' bytes.
func write(t testing.TB, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := NewWriter(&buf)
	for _, e := range entries {
		h := e.h
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("%q: %v", h.Name, err)
		}
		if h.Typeflag != TypeReg {
			continue
		}
		if h.Data == nil {
			if _, err := tw.Write(e.content); err != nil {
				t.Fatal(err)
			}
			continue
		}
		for _, x := range h.Data {
			if _, err := tw.Write(e.content[x.Offset : x.Offset+x.Length]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readBack checks that archive/tar reads entries back field for field,
// names byte for byte and content (holes as zeros) exactly.
func readBack(t testing.TB, b []byte, entries []entry) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	for i, e := range entries {
		want := e.h
		got, err := tr.Next()
		if err != nil {
			t.Fatalf("entry %d (%q): %v", i, want.Name, err)
		}
		if got.Name != want.Name || got.Linkname != want.Linkname || got.Mode != want.Mode || got.Uid != want.Uid || got.Gid != want.Gid ||
			!got.ModTime.Equal(want.ModTime) || got.Typeflag != want.Typeflag {
			t.Errorf("entry %d:\n got %q %q %o %d %d %v %c\nwant %q %q %o %d %d %v %c", i,
				got.Name, got.Linkname, got.Mode, got.Uid, got.Gid, got.ModTime, got.Typeflag,
				want.Name, want.Linkname, want.Mode, want.Uid, want.Gid, want.ModTime, want.Typeflag)
		}
		if !want.AccessTime.IsZero() && (!got.AccessTime.Equal(want.AccessTime) || !got.ChangeTime.Equal(want.ChangeTime)) {
			t.Errorf("entry %d: times %v %v", i, got.AccessTime, got.ChangeTime)
		}
		if want.Typeflag != TypeReg {
			continue
		}
		if got.Size != want.Size {
			t.Errorf("entry %d: size %d, want %d", i, got.Size, want.Size)
		}
		c, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if !bytes.Equal(c, e.content) {
			t.Errorf("entry %d (%q): content differs (%d bytes, want %d)", i, want.Name, len(c), len(e.content))
		}
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Fatalf("after the last entry: %v", err)
	}
}

func repeat(c byte, n int) []byte { return bytes.Repeat([]byte{c}, n) }

// sparse makes the content of a file with data at the given extents.
func sparse(size int64, ext ...Extent) []byte {
	b := make([]byte, size)
	for i, x := range ext {
		copy(b[x.Offset:], repeat(byte('a'+i), int(x.Length)))
	}
	return b
}

func cases() []entry {
	ns := time.Unix(1764500000, 123456789)
	long := "var/www/" + strings.Repeat("deep/", 30) + "shell.php"
	sp := []Extent{{0, 4096}, {1 << 20, 100}}
	return []entry{
		{Header{Typeflag: TypeReg, Name: "etc/passwd", Mode: 0o644, Size: 5, ModTime: ns, AccessTime: ns.Add(time.Second), ChangeTime: ns.Add(-time.Hour)}, []byte("root\n")},
		{Header{Typeflag: TypeReg, Name: long, Mode: 0o4755, Uid: 33, Gid: 33, ModTime: time.Unix(1700000000, 0)}, nil},
		{Header{Typeflag: TypeReg, Name: "home/jörg/naïve\x7f.txt", Mode: 0o600, Uid: 4000000, Gid: 3000000, Size: 513, ModTime: time.Unix(-1, 500000000)}, repeat('a', 513)},
		{Header{Typeflag: TypeSymlink, Name: "tmp/link", Linkname: "/" + strings.Repeat("x", 120), Mode: 0o777, ModTime: ns}, nil},
		{Header{Typeflag: TypeReg, Name: "C/Windows/System32/winevt/Logs/Security.evtx", Mode: 0o644, Size: 1024, ModTime: ns}, repeat('e', 1024)},
		// Names as a hostile host has them: not UTF-8, a backslash, a newline.
		{Header{Typeflag: TypeReg, Name: "tmp/\xff\xfe-latin1-caf\xe9", Mode: 0o644, Size: 3, ModTime: ns}, []byte("abc")},
		{Header{Typeflag: TypeReg, Name: `tmp/..\..\etc\shadow`, Mode: 0o644, Size: 1, ModTime: ns}, []byte("x")},
		{Header{Typeflag: TypeReg, Name: "tmp/line\nbreak", Mode: 0o644, Size: 1, ModTime: ns}, []byte("y")},
		{Header{Typeflag: TypeSymlink, Name: "tmp/l\x80", Linkname: "../\xc3(", Mode: 0o777, ModTime: ns}, nil},
		// Sparse: data, a hole, data at the end; all hole; hole at the end.
		{Header{Typeflag: TypeReg, Name: "var/log/sparse.log", Mode: 0o640, Size: 1<<20 + 100, ModTime: ns, Data: sp}, sparse(1<<20+100, sp...)},
		{Header{Typeflag: TypeReg, Name: "var/log/lastlog", Mode: 0o664, Size: 3 << 20, ModTime: ns, Data: []Extent{}}, make([]byte, 3<<20)},
		{Header{Typeflag: TypeReg, Name: "var/log/\xfftail", Mode: 0o640, Size: 9000, ModTime: ns, Data: []Extent{{0, 512}}}, sparse(9000, Extent{0, 512})},
	}
}

// What Writer writes, archive/tar reads back field for field, and GNU tar
// lists and extracts with the same names, content and holes.
func TestRoundTrip(t *testing.T) {
	es := cases()
	b := write(t, es)
	readBack(t, b, es)
	gnu, err := exec.LookPath("tar")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("GNU tar is missing")
		}
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(gnu, "-xf", "-", "-C", dir)
	cmd.Stdin = bytes.NewReader(b)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GNU tar: %v\n%s", err, out)
	}
	for _, e := range es {
		p := filepath.Join(dir, e.h.Name)
		if e.h.Typeflag == TypeSymlink {
			if l, err := os.Readlink(p); err != nil || l != e.h.Linkname {
				t.Errorf("GNU tar extracted %q as link to %q (%v)", e.h.Name, l, err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, e.content) {
			t.Errorf("GNU tar extracted %q: %v, %d bytes, want %d", e.h.Name, err, len(got), len(e.content))
		}
	}
	// The holes are holes again: 3 MiB of lastlog take (almost) no blocks.
	if fi, err := os.Stat(filepath.Join(dir, "var/log/lastlog")); err != nil {
		t.Error(err)
	} else if n := allocated(fi); n >= fi.Size() {
		t.Errorf("GNU tar extracted the sparse lastlog with %d bytes allocated", n)
	}
}

func TestShortAndUnsafe(t *testing.T) {
	// Fewer content bytes than the header said is an error, not a bad archive.
	tw := NewWriter(io.Discard)
	tw.WriteHeader(&Header{Typeflag: TypeReg, Name: "x", Size: 10})
	tw.Write([]byte("abc"))
	if tw.WriteHeader(&Header{Typeflag: TypeReg, Name: "y"}) != ErrShort || tw.Close() != ErrShort {
		t.Fatal("short entry accepted")
	}
	if _, err := tw.Write(make([]byte, 8)); err == nil {
		t.Fatal("write past the size accepted")
	}
	// Names that would land elsewhere when extracted are never written.
	for _, n := range []string{"", "/etc/passwd", "a/../../etc/passwd", "..", "a/./b", "a//b", "a/", "a\x00b"} {
		var buf bytes.Buffer
		tw := NewWriter(&buf)
		if err := tw.WriteHeader(&Header{Typeflag: TypeReg, Name: n}); !errors.Is(err, ErrName) || buf.Len() != 0 {
			t.Errorf("name %q: %v, %d bytes written", n, err, buf.Len())
		}
	}
	// A sparse map out of order is refused before anything is written.
	var buf bytes.Buffer
	tw = NewWriter(&buf)
	if err := tw.WriteHeader(&Header{Typeflag: TypeReg, Name: "s", Size: 100, Data: []Extent{{50, 10}, {0, 10}}}); err == nil || buf.Len() != 0 {
		t.Errorf("bad sparse map: %v", err)
	}
}

// FuzzRoundTrip writes an entry with any name, link and sparse layout the
// fuzzer makes, and requires archive/tar to read back the same bytes.
func FuzzRoundTrip(f *testing.F) {
	f.Add("etc/passwd", "", int64(5), int64(0), int64(0), int64(0), false)
	f.Add("tmp/\xff\xfe", "../\x80", int64(0), int64(0), int64(0), int64(0), false)
	f.Add("var/log/s", "", int64(9000), int64(512), int64(4096), int64(100), true)
	f.Add(strings.Repeat("n/", 80)+"x", "", int64(700), int64(0), int64(700), int64(0), true)
	f.Fuzz(func(t *testing.T, name, link string, size, off1, len1, gap int64, isSparse bool) {
		if CheckName(name) != nil || strings.IndexByte(link, 0) >= 0 || size < 0 || size > 1<<16 {
			return
		}
		e := entry{h: Header{Typeflag: TypeReg, Name: name, Mode: 0o644, Size: size, ModTime: time.Unix(1700000000, 0)}}
		if link != "" {
			e.h = Header{Typeflag: TypeSymlink, Name: name, Linkname: link, Mode: 0o777, ModTime: e.h.ModTime}
		} else if isSparse {
			e.h.Data = []Extent{}
			if off1 >= 0 && len1 >= 0 && off1 <= size && len1 <= size-off1 {
				e.h.Data = append(e.h.Data, Extent{off1, len1})
				if o2 := off1 + len1 + gap; gap >= 0 && o2 < size {
					e.h.Data = append(e.h.Data, Extent{o2, size - o2})
				}
			}
			e.content = sparse(size, e.h.Data...)
		} else {
			e.content = repeat('c', int(size))
		}
		// A second entry shows the first one ended where it should.
		next := entry{Header{Typeflag: TypeReg, Name: "next", Size: 1, ModTime: time.Unix(1, 0)}, []byte("n")}
		readBack(t, write(t, []entry{e, next}), []entry{e, next})
	})
}
