package hostfile

import (
	"encoding/binary"
	"io/fs"

	"golang.org/x/sys/unix"

	"github.com/custos-ir/custos/custody"
)

type dirHandle struct{ fd int }

// openRoot opens a directory named by an absolute path that holds no link
// (the root of a walk): RESOLVE_NO_SYMLINKS where openat2 exists, else
// one component at a time.
func openRoot(path string) (*Dir, error) {
	fd, err := openPath(path)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return newDir(fd, path, nil)
}

func openPath(path string) (int, error) {
	const flags = unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC
	return unix.Open(path, flags|unix.O_NOFOLLOW, 0)
}

func newDir(fd int, path string, parent *Dir) (*Dir, error) {
	rec, _, err := statAt(fd, "", path)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	if rec.Type != "dir" {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "open", Path: path, Err: unix.ENOTDIR}
	}
	return &Dir{path: path, parent: parent, id: fileID{dev: rec.Device, ino: rec.Inode}, uid: rec.UID, h: dirHandle{fd}}, nil
}

func (d *Dir) close() {
	if d.h.fd >= 0 {
		unix.Close(d.h.fd)
		d.h.fd = -1
	}
}

func join(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// lstat records name without following it.
func (d *Dir) lstat(name string) (custody.File, error) {
	rec, _, err := statAt(d.h.fd, name, join(d.path, name))
	return rec, err
}

// self records d itself.
func (d *Dir) self() (custody.File, error) {
	rec, _, err := statAt(d.h.fd, "", d.path)
	return rec, err
}

// openDir opens the directory name below d. A link is not followed: with
// O_PATH|O_NOFOLLOW the kernel would hand back the link itself, which
// O_DIRECTORY then refuses (ENOTDIR).
func (d *Dir) openDir(name string) (*Dir, error) {
	path := join(d.path, name)
	fd, err := unix.Openat(d.h.fd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return newDir(fd, path, d)
}

// list reads d's names, sorted, with the types the listing gives. The
// directory is opened for reading with O_NOATIME where allowed: listing it
// does not change its access time.
func (d *Dir) list() ([]dirent, error) {
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC
	fd, err := unix.Openat(d.h.fd, ".", flags|unix.O_NOATIME, 0)
	if err == unix.EPERM {
		fd, err = unix.Openat(d.h.fd, ".", flags, 0)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: d.path, Err: err}
	}
	defer unix.Close(fd)
	var out []dirent
	buf := make([]byte, 32<<10)
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "getdents", Path: d.path, Err: err}
		}
		if n <= 0 {
			break
		}
		out = parseDirents(buf[:n], out)
	}
	sortDirents(out)
	return out, nil
}

// parseDirents appends the entries of a getdents64 buffer:
// ino u64, off s64, reclen u16, type u8, name NUL-terminated.
func parseDirents(b []byte, out []dirent) []dirent {
	for len(b) >= 19 {
		reclen := int(binary.NativeEndian.Uint16(b[16:18]))
		if reclen < 19 || reclen > len(b) {
			break
		}
		typ, name := b[18], b[19:reclen]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		if s := string(name); s != "." && s != ".." {
			out = append(out, dirent{name: s, kind: direntKind(typ)})
		}
		b = b[reclen:]
	}
	return out
}

func direntKind(t uint8) Kind {
	switch t {
	case unix.DT_REG:
		return KindFile
	case unix.DT_DIR:
		return KindDir
	case unix.DT_LNK:
		return KindLink
	case unix.DT_UNKNOWN:
		return KindUnknown
	}
	return KindOther
}

// readlink reads the text of the link name below d.
func (d *Dir) readlink(name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(d.h.fd, name, buf)
		if err != nil {
			return "", &fs.PathError{Op: "readlink", Path: join(d.path, name), Err: err}
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}
