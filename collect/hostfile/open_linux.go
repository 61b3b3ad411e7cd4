package hostfile

import (
	"fmt"
	"io"
	"io/fs"

	"golang.org/x/sys/unix"

	"github.com/custos-ir/custos/custody"
)

// File is a regular host file open for reading as evidence. It is a bare
// descriptor: os.NewFile would register a non-blocking descriptor with the
// poller (two more system calls per file, a third of the per-file cost of
// a tree of small files) for nothing: regular files are never pollable.
type File struct {
	fd     int
	path   string // raw
	rec    custody.File
	method string
	blocks int64
}

const (
	methodNoatime = "read(O_NOATIME)"
	methodAtime   = "read (O_NOATIME refused: not owner; atime may change)"
)

// openFile opens name below d if it is a regular file: read-only, not
// following a link, not blocking (a FIFO swapped in opens without waiting
// for a writer), with O_NOATIME, which the kernel grants only to the
// file's owner or root. Its record comes from the open descriptor. What is
// not a regular file is closed unread: *NotRegularError.
//
// It is called for names the listing or an lstat showed to be regular
// files: a device node is never opened (opening one can act: a watchdog
// starts, a tape rewinds), and only root can put one where a file was.
func (d *Dir) openFile(name string) (*File, error) {
	return openAt(d.h.fd, name, join(d.path, name))
}

func openAt(dirfd int, name, path string) (*File, error) {
	const flags = unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC
	fd, err := unix.Openat(dirfd, name, flags|unix.O_NOATIME, 0)
	method := methodNoatime
	if err == unix.EPERM {
		fd, err = unix.Openat(dirfd, name, flags, 0)
		method = methodAtime
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	rec, blocks, err := statAt(fd, "", path)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	if rec.Type != "file" {
		unix.Close(fd)
		return nil, &NotRegularError{Rec: rec}
	}
	return &File{fd: fd, path: path, rec: rec, method: method, blocks: blocks}, nil
}

// Record is the file's metadata, taken from the descriptor at open.
func (f *File) Record() custody.File { return f.rec }

// Method says how the file is read, for the record.
func (f *File) Method() string { return f.method }

func (f *File) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(f.fd, p)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, &fs.PathError{Op: "read", Path: f.path, Err: err}
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// ReadAt reads at off without moving the file offset.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		n, err := unix.Pread(f.fd, p[done:], off+int64(done))
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return done, &fs.PathError{Op: "pread", Path: f.path, Err: err}
		case n == 0:
			return done, io.EOF
		}
		done += n
	}
	return done, nil
}

func (f *File) Close() error { return unix.Close(f.fd) }

// Changed says whether the open file grew or was modified since it was
// opened, for the record's note; "" when neither.
func (f *File) Changed() string {
	var st unix.Stat_t
	if err := unix.Fstat(f.fd, &st); err != nil {
		return ""
	}
	switch {
	case st.Size > f.rec.Size:
		return fmt.Sprintf("grew to %d bytes while read; the %d bytes present at stat time were collected", st.Size, f.rec.Size)
	case f.rec.Mtime != nil && st.Mtim.Nano() != f.rec.Mtime.UnixNano():
		return "modified while read (mtime changed); content may mix old and new"
	}
	return ""
}
