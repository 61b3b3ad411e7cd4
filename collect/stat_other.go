//go:build !linux

package collect

import (
	"os"

	"github.com/custos-ir/custos/custody"
)

// lstatRecord takes a file's metadata without following a final symlink.
// Owner, inode and change time come from platform files where the OS has them.
func lstatRecord(path string) (custody.File, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return custody.File{}, err
	}
	rec := custody.File{
		Path:  path,
		Type:  fileType(fi.Mode()),
		Size:  fi.Size(),
		Mode:  modeString(fi.Mode()),
		Mtime: tptr(fi.ModTime()),
	}
	platformStat(fi, &rec)
	return rec, nil
}

func sameFile(h fileHandle, rec custody.File) (bool, string) {
	f, ok := h.(*os.File)
	if !ok {
		return true, "" // a test double
	}
	fi, err := f.Stat()
	if err != nil {
		return false, "stat: " + err.Error()
	}
	if !fi.Mode().IsRegular() {
		return false, "no longer a regular file"
	}
	return true, ""
}

// openStat is the Linux shortcut; elsewhere files take the usual path.
func openStat(string) (fileHandle, custody.File, string, bool) {
	return nil, custody.File{}, "", false
}
