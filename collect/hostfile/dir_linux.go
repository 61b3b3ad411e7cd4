package hostfile

import (
	"encoding/binary"
	"io/fs"

	"golang.org/x/sys/unix"

	"github.com/custos-ir/custos/custody"
)

// dirHandle is a directory's descriptor: open for reading (listing), or
// O_PATH when only passing through is allowed (a directory with x but not
// r permission, for a collector that is not root).
type dirHandle struct {
	fd       int
	readable bool
	listed   bool // its offset is past the start
}

// dirFlags open a directory to list it: no link followed (O_NOFOLLOW
// refuses one with ELOOP), no access time changed by listing (O_NOATIME,
// granted to the owner and root).
const dirFlags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC

// openRoot opens the root of a walk ("/").
func openRoot(path string) (*Dir, error) {
	return openDirAt(unix.AT_FDCWD, path, path, nil)
}

// openDirAt opens the directory name below dirfd, readable where allowed,
// else for passing through only.
func openDirAt(dirfd int, name, path string, parent *Dir) (*Dir, error) {
	readable := true
	fd, err := unix.Openat(dirfd, name, dirFlags|unix.O_NOATIME, 0)
	if err == unix.EPERM {
		fd, err = unix.Openat(dirfd, name, dirFlags, 0)
	}
	if err == unix.EACCES {
		// O_PATH|O_NOFOLLOW would hand back a link itself, which
		// O_DIRECTORY then refuses (ENOTDIR): still no link followed.
		readable = false
		fd, err = unix.Openat(dirfd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	rec, _, err := statAt(fd, "", path)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	if rec.Type != "dir" {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "open", Path: path, Err: unix.ENOTDIR}
	}
	return &Dir{path: path, parent: parent, id: fileID{dev: rec.Device, ino: rec.Inode}, uid: rec.UID, rec: rec,
		h: dirHandle{fd: fd, readable: readable}}, nil
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

// self records d itself, as it was when opened.
func (d *Dir) self() (custody.File, error) { return d.rec, nil }

// openDir opens the directory name below d, not following a link.
func (d *Dir) openDir(name string) (*Dir, error) {
	return openDirAt(d.h.fd, name, join(d.path, name), d)
}

// list reads d's names, sorted, with the types the listing gives; the
// directory was opened with O_NOATIME where allowed, so listing it does not
// change its access time.
func (d *Dir) list() ([]dirent, error) {
	if !d.h.readable {
		return nil, &fs.PathError{Op: "open", Path: d.path, Err: unix.EACCES}
	}
	fd := d.h.fd
	if d.h.listed {
		if _, err := unix.Seek(fd, 0, unix.SEEK_SET); err != nil {
			return nil, &fs.PathError{Op: "seek", Path: d.path, Err: err}
		}
	}
	d.h.listed = true
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
