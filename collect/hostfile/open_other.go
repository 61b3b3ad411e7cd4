//go:build !linux

package hostfile

import (
	"fmt"
	"os"

	"github.com/custos-ir/custos/custody"
)

// File is a regular host file open for reading as evidence.
type File struct {
	f      *os.File
	path   string
	rec    custody.File
	method string
}

// openFile opens name below d if it is a regular file (see openEvidence
// for how); what is not is closed unread: *NotRegularError.
func (d *Dir) openFile(name string) (*File, error) {
	path := join(d.path, name)
	f, method, err := openEvidence(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	rec := recordOf(path, fi)
	if l, err := lstatRecord(path); err == nil {
		rec.Atime, rec.Btime, rec.Ctime = l.Atime, l.Btime, l.Ctime
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &NotRegularError{Rec: rec}
	}
	return &File{f: f, path: path, rec: rec, method: method}, nil
}

func (f *File) Record() custody.File                    { return f.rec }
func (f *File) Method() string                          { return f.method }
func (f *File) Read(p []byte) (int, error)              { return f.f.Read(p) }
func (f *File) ReadAt(p []byte, off int64) (int, error) { return f.f.ReadAt(p, off) }
func (f *File) Close() error                            { return f.f.Close() }

// DataExtents is nil: outside Linux every file is read whole.
func (f *File) DataExtents() []Extent { return nil }

// Changed says whether the open file grew or was modified since it was
// opened; "" when neither.
func (f *File) Changed() string {
	fi, err := f.f.Stat()
	if err != nil {
		return ""
	}
	switch {
	case fi.Size() > f.rec.Size:
		return fmt.Sprintf("grew to %d bytes while read; the %d bytes present at stat time were collected", fi.Size(), f.rec.Size)
	case f.rec.Mtime != nil && !fi.ModTime().Equal(*f.rec.Mtime):
		return "modified while read (mtime changed); content may mix old and new"
	}
	return ""
}
