//go:build !linux

package hostfile

import (
	"io/fs"
	"os"
	"runtime"
	"strings"

	"github.com/custos-ir/custos/custody"
)

// lstatRecord takes a file's metadata without following a final symlink.
// Owner, inode and change time come from platform files where the OS has them.
func lstatRecord(path string) (custody.File, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return custody.File{}, err
	}
	return recordOf(path, fi), nil
}

func recordOf(path string, fi fs.FileInfo) custody.File {
	rec := custody.File{
		Path:  recPath(path),
		Type:  fileType(fi.Mode()),
		Size:  fi.Size(),
		Mode:  modeString(fi.Mode()),
		Mtime: tptr(fi.ModTime()),
	}
	platformStat(fi, &rec)
	return rec
}

// recPath is a path as a record holds it: Windows names as they are (their
// backslash is the separator), others escaped.
func recPath(p string) string {
	if runtime.GOOS == "windows" {
		return p
	}
	return custody.EscapePath(p)
}

// RecordPath is a host path as records hold it: escaped on POSIX hosts
// (custody.EscapePath), as it is on Windows.
func RecordPath(p string) string { return recPath(p) }

// idOf tells directories apart: device and inode where the OS gives them,
// else the path (case-folded: Windows names are).
func idOf(path string, rec custody.File) fileID {
	if rec.Inode != 0 {
		return fileID{dev: rec.Device, ino: rec.Inode}
	}
	return fileID{path: strings.ToLower(path)}
}
