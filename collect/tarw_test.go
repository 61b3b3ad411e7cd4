package collect

import (
	"archive/tar"
	"bytes"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// What tarWriter writes, archive/tar reads back field for field, and GNU
// tar lists.
func TestTarWriterRoundTrip(t *testing.T) {
	ns := time.Unix(1764500000, 123456789)
	long := "var/www/" + strings.Repeat("deep/", 30) + "shell.php"
	cases := []tar.Header{
		{Typeflag: tar.TypeReg, Name: "etc/passwd", Mode: 0o644, Uid: 0, Gid: 0, Size: 5, ModTime: ns, AccessTime: ns.Add(time.Second), ChangeTime: ns.Add(-time.Hour)},
		{Typeflag: tar.TypeReg, Name: long, Mode: 0o4755, Uid: 33, Gid: 33, Size: 0, ModTime: time.Unix(1700000000, 0)},
		{Typeflag: tar.TypeReg, Name: "home/jörg/naïve\x7f.txt", Mode: 0o600, Uid: 4000000, Gid: 3000000, Size: 513, ModTime: time.Unix(-1, 500000000)},
		{Typeflag: tar.TypeSymlink, Name: "tmp/link", Linkname: "/" + strings.Repeat("x", 120), Mode: 0o777, ModTime: ns},
		{Typeflag: tar.TypeReg, Name: "C/Windows/System32/winevt/Logs/Security.evtx", Mode: 0o644, Size: 1024, ModTime: ns},
	}
	var buf bytes.Buffer
	tw := newTarWriter(&buf)
	for _, h := range cases {
		h := h
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(bytes.Repeat([]byte{'a'}, int(h.Size))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(buf.Bytes()))
	for i, want := range cases {
		got, err := tr.Next()
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if got.Name != want.Name || got.Linkname != want.Linkname || got.Mode != want.Mode || got.Uid != want.Uid || got.Gid != want.Gid ||
			got.Size != want.Size || !got.ModTime.Equal(want.ModTime) || got.Typeflag != want.Typeflag {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, got, want)
		}
		if !want.AccessTime.IsZero() && (!got.AccessTime.Equal(want.AccessTime) || !got.ChangeTime.Equal(want.ChangeTime)) {
			t.Errorf("entry %d: times %v %v", i, got.AccessTime, got.ChangeTime)
		}
		if b, _ := io.ReadAll(tr); int64(len(b)) != want.Size {
			t.Errorf("entry %d: %d content bytes", i, len(b))
		}
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Fatalf("after the last entry: %v", err)
	}
	if gnu, err := exec.LookPath("tar"); err == nil {
		cmd := exec.Command(gnu, "-tvf", "-")
		cmd.Stdin = bytes.NewReader(buf.Bytes())
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "shell.php") || !strings.Contains(string(out), "naïve") {
			t.Fatalf("GNU tar: %v\n%s", err, out)
		}
	}
	// Fewer content bytes than the header said is an error, not a bad archive.
	tw = newTarWriter(io.Discard)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "x", Size: 10})
	tw.Write([]byte("abc"))
	if tw.Close() == nil {
		t.Fatal("short entry accepted")
	}
	if _, err := tw.Write(make([]byte, 8)); err == nil {
		t.Fatal("write past the size accepted")
	}
}
