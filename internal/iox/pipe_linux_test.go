package iox

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestGrowPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	GrowPipe(r)
	size, err := unix.FcntlInt(w.Fd(), unix.F_GETPIPE_SZ, 0)
	if err != nil || size != 1<<20 {
		t.Fatalf("pipe of %d bytes (%v), want 1 MiB", size, err)
	}
	// A file is no pipe: left alone, no error to report.
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	GrowPipe(f)
	if _, err := f.WriteString("still a file"); err != nil {
		t.Fatal(err)
	}
}
