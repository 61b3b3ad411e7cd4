//go:build !linux

package hostfile

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/custos-ir/custos/custody"
)

// Outside Linux a directory is held by its path: each step is checked with
// an lstat (a link is met as a link, never walked into) but a swap between
// the check and the use is not caught as it is on Linux.
type dirHandle struct{}

func openRoot(path string) (*Dir, error) {
	rec, err := lstatRecord(path)
	if err != nil {
		return nil, err
	}
	if rec.Type != "dir" {
		return nil, &fs.PathError{Op: "open", Path: path, Err: syscall.ENOTDIR}
	}
	return &Dir{path: path, id: idOf(path, rec), uid: rec.UID, rec: rec}, nil
}

func (d *Dir) close() {}

func join(dir, name string) string {
	if strings.HasSuffix(dir, string(filepath.Separator)) || strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + string(filepath.Separator) + name
}

func (d *Dir) lstat(name string) (custody.File, error) { return lstatRecord(join(d.path, name)) }

func (d *Dir) self() (custody.File, error) { return d.rec, nil }

func (d *Dir) openDir(name string) (*Dir, error) {
	path := join(d.path, name)
	rec, err := lstatRecord(path)
	if err != nil {
		return nil, err
	}
	if rec.Type != "dir" {
		return nil, &fs.PathError{Op: "open", Path: path, Err: syscall.ENOTDIR}
	}
	return &Dir{path: path, parent: d, id: idOf(path, rec), uid: rec.UID, rec: rec}, nil
}

func (d *Dir) list() ([]dirent, error) {
	ents, err := os.ReadDir(d.path)
	if err != nil {
		return nil, err
	}
	out := make([]dirent, 0, len(ents))
	for _, e := range ents {
		out = append(out, dirent{name: e.Name(), kind: kindOfMode(e.Type())})
	}
	sortDirents(out)
	return out, nil
}

func (d *Dir) readlink(name string) (string, error) { return os.Readlink(join(d.path, name)) }
