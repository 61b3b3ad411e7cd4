package hostfile

import (
	"errors"
	"io/fs"
	"time"

	"golang.org/x/sys/unix"

	"github.com/custos-ir/custos/custody"
)

// recPath is a path as a record holds it (custody.EscapePath).
func recPath(p string) string { return custody.EscapePath(p) }

// RecordPath is a host path as records hold it: escaped on POSIX hosts
// (custody.EscapePath), as it is on Windows.
func RecordPath(p string) string { return recPath(p) }

const statxMask = unix.STATX_BASIC_STATS | unix.STATX_BTIME

// statAt takes the metadata of name in the directory dirfd without
// following a final link and without triggering an automount; name ""
// means dirfd itself. blocks is the 512-byte blocks allocated.
func statAt(dirfd int, name, path string) (rec custody.File, blocks int64, err error) {
	flags := unix.AT_SYMLINK_NOFOLLOW | unix.AT_STATX_DONT_SYNC | unix.AT_NO_AUTOMOUNT
	if name == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	var st unix.Statx_t
	err = unix.Statx(dirfd, name, flags, statxMask, &st)
	if errors.Is(err, unix.ENOSYS) { // before Linux 4.11
		return fstatatRecord(dirfd, name, path, flags&^(unix.AT_STATX_DONT_SYNC))
	}
	if err != nil {
		return rec, 0, &fs.PathError{Op: "statx", Path: path, Err: err}
	}
	return statxRecord(path, &st), int64(st.Blocks), nil
}

func statxRecord(path string, st *unix.Statx_t) custody.File {
	mode := statxMode(uint32(st.Mode))
	rec := custody.File{
		Path:   custody.EscapePath(path),
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
	rec.Attrs = statxAttrs(st.Attributes & st.Attributes_mask)
	return rec
}

// statxAttrs names the inode attributes an intruder sets to keep a file
// (chattr +i, +a); nil, and no allocation, for the common file with none.
func statxAttrs(a uint64) []string {
	if a&(unix.STATX_ATTR_IMMUTABLE|unix.STATX_ATTR_APPEND) == 0 {
		return nil
	}
	var out []string
	if a&unix.STATX_ATTR_IMMUTABLE != 0 {
		out = append(out, "immutable")
	}
	if a&unix.STATX_ATTR_APPEND != 0 {
		out = append(out, "append")
	}
	return out
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

func fstatatRecord(dirfd int, name, path string, flags int) (custody.File, int64, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, flags&(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH|unix.AT_NO_AUTOMOUNT)); err != nil {
		return custody.File{}, 0, &fs.PathError{Op: "fstatat", Path: path, Err: err}
	}
	return statRecord(path, &st), st.Blocks, nil
}

func statRecord(path string, st *unix.Stat_t) custody.File {
	mode := statxMode(st.Mode)
	return custody.File{
		Path: custody.EscapePath(path), Type: fileType(mode), Size: st.Size, Mode: modeString(mode),
		UID: st.Uid, GID: st.Gid, Inode: st.Ino, Device: st.Dev, Nlink: uint64(st.Nlink),
		Atime: tptr(time.Unix(st.Atim.Unix())),
		Mtime: tptr(time.Unix(st.Mtim.Unix())),
		Ctime: tptr(time.Unix(st.Ctim.Unix())),
	}
}
