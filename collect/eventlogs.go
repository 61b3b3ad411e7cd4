package collect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/custos-ir/custos/collect/hostfile"
	"github.com/custos-ir/custos/collect/paxtar"
	"github.com/custos-ir/custos/collect/windows"
)

// EventLogs copies Windows event logs (.evtx) into a tar, each by the
// first method that can read it while the event log service holds it
// open: shared read, raw NTFS, the event log API's rendering. The record
// says which method produced each copy and why the others failed; a log
// no method can read is a file error, and the rest lands.
type EventLogs struct {
	Name     string
	Dir      string   // the Logs folder, as this process opens it
	Patterns []string // file names, * allowed, matched case-insensitively
	// Methods defaults to windows.LogMethods().
	Methods []windows.LogMethod
}

func (s *EventLogs) Describe() Description {
	var src []string
	for _, p := range s.Patterns {
		src = append(src, filepath.Join(s.Dir, p))
	}
	return Description{Name: s.Name, Kind: "eventlogs", Format: "tar", Sources: src,
		Method: "shared read, then raw NTFS extents, then the event log API (rendered XML)"}
}

func (s *EventLogs) Collect(ctx context.Context, e *Emitter) error {
	tw := e.tarWriter()
	methods := s.Methods
	if methods == nil {
		methods = windows.LogMethods()
	}
	ents, err := os.ReadDir(s.Dir)
	if err != nil {
		e.Fail("event log folder %s: %s", s.Dir, hostfile.ErrText(err))
		return nil
	}
	var names []string
	for _, ent := range ents {
		for _, p := range s.Patterns {
			if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(ent.Name())); ok && ent.Type().IsRegular() {
				names = append(names, ent.Name())
				break
			}
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.copyLog(ctx, e, tw, filepath.Join(s.Dir, n), methods); err != nil {
			return err
		}
	}
	if len(names) == 0 {
		e.Warn("no event log matched in %s", s.Dir)
	}
	return nil
}

// copyLog stores one log; the error return is for failures of the tar.
func (s *EventLogs) copyLog(ctx context.Context, e *Emitter, tw *paxtar.Writer, p string, methods []windows.LogMethod) error {
	rec, _, err := hostfile.Stat(p)
	if err != nil {
		rec.Path, rec.Error = hostfile.RecordPath(p), hostfile.ErrText(err)
		e.addRecord(rec)
		return nil
	}
	lc, tried, err := windows.OpenLog(ctx, p, methods)
	if err == nil && len(tried) > 0 {
		rec.Note = "tried first: " + strings.Join(tried, "; ")
	}
	if err != nil {
		rec.Error = "no method could read it: " + err.Error()
		e.addRecord(rec)
		return nil
	}
	defer lc.R.Close()
	rec.Method = lc.Method
	h := tarHeader(rec, paxtar.TypeReg)
	h.Size = lc.Size
	if lc.Format != "evtx" {
		// Rendered events are another file than the log: named so.
		h.Name += "." + lc.Format
		rec.StoredAs = h.Name
		rec.Note = strings.TrimPrefix(rec.Note+"; stored as "+path.Base(h.Name)+" (rendered events, not the .evtx bytes)", "; ")
	}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	rec.Stored = true
	hs := sha256.New()
	n, rerr, werr := copyData(io.MultiWriter(tw, hs), readerAt{lc.R}, 0, lc.Size, e.files.copyLimits(ctx))
	if werr != nil {
		return werr
	}
	rec.Read, rec.SHA256 = n, hex.EncodeToString(hs.Sum(nil))
	if lc.Format != "evtx" {
		rec.StoredSize, rec.StoredSHA256 = n, rec.SHA256
	}
	if n < lc.Size {
		rec.Error = fmt.Sprintf("%s: got %d of %d bytes (%v); padded with zeros in the tar", lc.Method, n, lc.Size, hostfile.ErrText(orEOF(rerr)))
		if err := writeZeros(tw, tw.Remaining()); err != nil {
			return err
		}
	} else if cerr := lc.R.Close(); cerr != nil {
		rec.Error = lc.Method + ": " + cerr.Error()
	}
	e.addRecord(rec)
	return nil
}

// readerAt reads a stream in order as copyData asks for it.
type readerAt struct{ r io.Reader }

func (r readerAt) ReadAt(p []byte, _ int64) (int, error) { return io.ReadFull(r.r, p) }
