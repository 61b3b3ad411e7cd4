package collect

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/custos-ir/custos/custody"
)

// lstatRecord takes a file's metadata without following a final symlink,
// with its birth time where the kernel and file system give one (statx).
func lstatRecord(path string) (custody.File, error) {
	var st unix.Statx_t
	err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW|unix.AT_STATX_DONT_SYNC,
		unix.STATX_BASIC_STATS|unix.STATX_BTIME, &st)
	if errors.Is(err, unix.ENOSYS) {
		return lstatFallback(path)
	}
	if err != nil {
		return custody.File{}, &os.PathError{Op: "statx", Path: path, Err: err}
	}
	return statxRecord(path, &st), nil
}

func statxRecord(path string, st *unix.Statx_t) custody.File {
	mode := statxMode(uint32(st.Mode))
	rec := custody.File{
		Path:   path,
		Type:   fileType(mode),
		Size:   int64(st.Size),
		Mode:   modeString(mode),
		UID:    st.Uid,
		GID:    st.Gid,
		Inode:  st.Ino,
		Device: unix.Mkdev(st.Dev_major, st.Dev_minor),
		Nlink:  uint64(st.Nlink),
		Atime:  tptr(sxTime(st.Atime)),
		Mtime:  tptr(sxTime(st.Mtime)),
		Ctime:  tptr(sxTime(st.Ctime)),
	}
	if st.Mask&unix.STATX_BTIME != 0 {
		rec.Btime = tptr(sxTime(st.Btime))
	}
	return rec
}

// openStat opens a file the directory listing says is regular and takes
// its metadata from the open descriptor, before reading anything: one
// system call fewer than stat, open and a check that the two saw the same
// file, and the metadata is certainly the content's. ok is false when the
// caller should take the usual path (the open failed, or it is not a
// regular file after all: it is then closed unread).
func openStat(path string) (h fileHandle, rec custody.File, method string, ok bool) {
	f, method, err := openFile(path)
	if err != nil {
		return nil, rec, "", false
	}
	ef, isFile := f.(*evidenceFile)
	if !isFile { // a test double: the usual path
		f.Close()
		return nil, rec, "", false
	}
	var st unix.Statx_t
	err = unix.Statx(ef.fd, "", unix.AT_EMPTY_PATH|unix.AT_STATX_DONT_SYNC,
		unix.STATX_BASIC_STATS|unix.STATX_BTIME, &st)
	if err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		f.Close()
		return nil, rec, "", false
	}
	return f, statxRecord(path, &st), method, true
}

func sxTime(t unix.StatxTimestamp) time.Time { return time.Unix(t.Sec, int64(t.Nsec)) }

func statxMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	}
	if m&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

func lstatFallback(path string) (custody.File, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return custody.File{}, &os.PathError{Op: "lstat", Path: path, Err: err}
	}
	mode := statxMode(st.Mode)
	return custody.File{
		Path: path, Type: fileType(mode), Size: st.Size, Mode: modeString(mode),
		UID: st.Uid, GID: st.Gid, Inode: st.Ino, Device: st.Dev, Nlink: uint64(st.Nlink),
		Atime: tptr(time.Unix(st.Atim.Unix())),
		Mtime: tptr(time.Unix(st.Mtim.Unix())),
		Ctime: tptr(time.Unix(st.Ctim.Unix())),
	}, nil
}

// openEvidence opens a file read-only without following a final symlink
// and without blocking on a FIFO swapped in after the stat. It asks for
// O_NOATIME, which the kernel grants only to the file's owner or root; the
// method says which open it got.
func openEvidence(path string) (fileHandle, string, error) {
	flags := unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC
	fd, err := unix.Open(path, flags|unix.O_NOATIME, 0)
	method := "read(O_NOATIME)"
	if err == unix.EPERM {
		fd, err = unix.Open(path, flags, 0)
		method = "read (O_NOATIME refused: not owner; atime may change)"
	}
	if err != nil {
		return nil, "", &os.PathError{Op: "open", Path: path, Err: err}
	}
	return &evidenceFile{fd: fd, name: path}, method, nil
}

// evidenceFile is a bare descriptor. os.NewFile would try to register a
// non-blocking descriptor with the poller (two more system calls per file,
// a third of the per-file cost of a tree of small files) for nothing:
// regular files are never pollable.
type evidenceFile struct {
	fd   int
	name string
}

func (f *evidenceFile) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(f.fd, p)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, &os.PathError{Op: "read", Path: f.name, Err: err}
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f *evidenceFile) Close() error { return unix.Close(f.fd) }

func (f *evidenceFile) Stat() (os.FileInfo, error) {
	var st unix.Stat_t
	if err := unix.Fstat(f.fd, &st); err != nil {
		return nil, &os.PathError{Op: "fstat", Path: f.name, Err: err}
	}
	return fdInfo{name: filepath.Base(f.name), st: st}, nil
}

// fdInfo is os.FileInfo over fstat's answer.
type fdInfo struct {
	name string
	st   unix.Stat_t
}

func (i fdInfo) Name() string       { return i.name }
func (i fdInfo) Size() int64        { return i.st.Size }
func (i fdInfo) Mode() fs.FileMode  { return statxMode(i.st.Mode) }
func (i fdInfo) ModTime() time.Time { return time.Unix(i.st.Mtim.Unix()) }
func (i fdInfo) IsDir() bool        { return i.Mode().IsDir() }
func (i fdInfo) Sys() any           { return &i.st }

// sameFile checks that what was opened is the file that was stat'ed.
func sameFile(h fileHandle, rec custody.File) (bool, string) {
	var st unix.Stat_t
	switch f := h.(type) {
	case *evidenceFile:
		if err := unix.Fstat(f.fd, &st); err != nil {
			return false, "fstat: " + err.Error()
		}
	case *os.File:
		if err := unix.Fstat(int(f.Fd()), &st); err != nil {
			return false, "fstat: " + err.Error()
		}
	default:
		return true, "" // a test double
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false, "no longer a regular file"
	}
	if st.Ino != rec.Inode {
		return false, fmt.Sprintf("inode %d became %d", rec.Inode, st.Ino)
	}
	return true, ""
}
