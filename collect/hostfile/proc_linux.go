package hostfile

import (
	"fmt"
	"io/fs"

	"golang.org/x/sys/unix"
)

// OpenProcLink opens what a /proc magic link refers to (/proc/PID/exe,
// /proc/PID/fd/N): the one place custos follows a link on purpose, since
// the file it reaches may have no name left (deleted, a memfd). It is
// stat'ed through the link first and opened only if it is a regular file
// (a device held open is never opened again), then checked to be the file
// stat'ed.
func OpenProcLink(path string) (*File, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, &NotRegularError{Rec: statRecord(path, &st)}
	}
	const flags = unix.O_RDONLY | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC
	fd, err := unix.Open(path, flags|unix.O_NOATIME, 0)
	method := methodNoatime
	if err == unix.EPERM {
		fd, err = unix.Open(path, flags, 0)
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
	if rec.Type != "file" || rec.Inode != st.Ino {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: %s changed while opened; not read", ErrChanged, path)
	}
	return &File{fd: fd, path: path, rec: rec, method: method, blocks: blocks}, nil
}
