package hostfile

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/custos-ir/custos/custody"
)

// Record is the entry's metadata, not following a link. A link's record
// carries its text (Link) and what the walk took through it (Target); a
// link that was not followed says why in Note.
func (e *Entry) Record() (custody.File, error) {
	rec, err := e.stat()
	if err != nil {
		return rec, err
	}
	if e.Link != nil {
		rec.Link = recPath(e.Link.Text)
		if e.Link.Target != "" {
			rec.Target = recPath(e.Link.Target)
		}
		rec.Note = e.Link.Why
	}
	return rec, nil
}

func (e *Entry) stat() (custody.File, error) {
	switch {
	case e.rec != nil:
		return *e.rec, nil
	case e.self != nil:
		return e.self.self()
	case e.dir == nil:
		return custody.File{Path: recPath(e.Path)}, fmt.Errorf("%s: no record", e.Path)
	}
	return e.dir.lstat(e.name)
}

// Open opens the entry for reading if it is a regular file; anything else
// is *NotRegularError (with its record), never opened. A file the listing
// showed to be regular is opened first and its record taken from the
// descriptor (one system call fewer, and the record is certainly the
// content's); any other is stat'ed first and the open checked to be the
// same file.
func (e *Entry) Open() (*File, error) {
	if e.dir == nil {
		rec, err := e.stat()
		if err != nil {
			return nil, err
		}
		return nil, &NotRegularError{Rec: rec}
	}
	if e.Kind == KindFile && e.rec == nil {
		f, err := e.dir.openFile(e.name)
		if !errors.Is(err, syscall.ELOOP) {
			return f, err
		}
		// A link now: it was swapped in after the listing. Record it as
		// what it is.
	}
	rec, err := e.stat()
	if err != nil {
		return nil, err
	}
	if rec.Type != "file" {
		return nil, &NotRegularError{Rec: rec}
	}
	f, err := e.dir.openFile(e.name)
	if err != nil {
		return nil, err
	}
	if got := f.Record(); got.Inode != rec.Inode || got.Device != rec.Device {
		f.Close()
		return nil, fmt.Errorf("%w: inode %d became %d; not read", ErrChanged, rec.Inode, got.Inode)
	}
	return f, nil
}
