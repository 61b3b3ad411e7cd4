package collect

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/custos-ir/custos/collect/hostfile"
	"github.com/custos-ir/custos/collect/live"
	"github.com/custos-ir/custos/custody"
)

// Deleted is the "deleted" live source: every deleted executable still
// running and every deleted file still held open, copied through /proc
// before containment ends the processes that keep them. Each file once,
// however many processes hold it; files over maxDeletedStored are hashed,
// not stored.
type Deleted struct {
	Name string
}

// maxDeletedStored is the largest held file the deleted source stores.
const maxDeletedStored = 1 << 30

func (d *Deleted) Describe() Description {
	return Description{Name: d.Name, Kind: "live", Format: "tar", Sources: []string{"deleted"},
		Method: "/proc/PID/exe and /proc/PID/fd/N read through the kernel's links, O_NOATIME"}
}

func (d *Deleted) Collect(ctx context.Context, e *Emitter) error {
	e.tarWriter()
	held, err := live.DeletedFiles(ctx)
	if err != nil && !timedOut(ctx) {
		return err
	}
	first := map[[2]uint64]custody.File{}
	for _, h := range held {
		if ctx.Err() != nil {
			e.Fail("stopped at %s: held files not reached are not taken", cutReason(ctx))
			return nil
		}
		f, err := hostfile.OpenProcLink(h.Proc)
		if errors.Is(err, fs.ErrNotExist) {
			continue // the process ended, and the file with it
		}
		if err != nil {
			rec := custody.File{Path: hostfile.RecordPath(h.Proc), Type: "other", Link: hostfile.RecordPath(h.Link), Note: heldNote(h)}
			var nr *hostfile.NotRegularError
			if errors.As(err, &nr) {
				rec = nr.Rec
				rec.Link, rec.Note = hostfile.RecordPath(h.Link), heldNote(h)+"; not a regular file: recorded, never opened"
			} else {
				rec.Error = hostfile.ErrText(err)
			}
			e.addRecord(rec)
			continue
		}
		rec, err := d.take(ctx, e, f, h, first)
		e.addRecord(rec)
		if err != nil {
			return err
		}
	}
	return nil
}

// take stores one held file, or points to where it was stored already.
func (d *Deleted) take(ctx context.Context, e *Emitter, f *hostfile.File, h live.Held, first map[[2]uint64]custody.File) (custody.File, error) {
	rec := f.Record()
	key := [2]uint64{rec.Device, rec.Inode}
	if prev, ok := first[key]; ok {
		f.Close()
		rec.Link, rec.Method = hostfile.RecordPath(h.Link), prev.Method
		rec.SHA256, rec.Read, rec.Holes = prev.SHA256, prev.Read, prev.Holes
		rec.Note = heldNote(h) + "; the same file as " + prev.Path + ", stored there"
		return rec, nil
	}
	opt := FileOptions{}
	note := heldNote(h)
	if data := dataBytes(f); data > maxDeletedStored {
		opt.HashOnly = true
		note += fmt.Sprintf("; %d bytes of data, more than the %d the deleted source stores: hashed, not stored", data, int64(maxDeletedStored))
	}
	p := e.files.prepareOpen(f, opt, &e.budget)
	p.rec.Link = hostfile.RecordPath(h.Link)
	p.rec.Note = addNote(note, p.rec.Note)
	out, err := e.files.write(ctx, e.tarWriter(), e.frames, p)
	first[key] = out
	return out, err
}

// dataBytes is how much of a file is data (not holes).
func dataBytes(f *hostfile.File) int64 {
	ext := f.DataExtents()
	if ext == nil {
		return f.Record().Size
	}
	var n int64
	for _, x := range ext {
		n += x.Length
	}
	return n
}

func heldNote(h live.Held) string {
	if h.FD < 0 {
		return fmt.Sprintf("the running executable of pid %d (%s), gone from disk: copied through %s", h.PID, h.Comm, h.Proc)
	}
	return fmt.Sprintf("deleted, still open in pid %d (%s) as fd %d: copied through %s", h.PID, h.Comm, h.FD, h.Proc)
}
