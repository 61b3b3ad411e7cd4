package collect

import (
	"archive/tar"
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

	"github.com/custos-ir/custos/collect/windows"
	"github.com/custos-ir/custos/custody"
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
	if e.tar == nil {
		e.tar = newTarWriter(countingWriter{e.w, e.onBytes})
	}
	methods := s.Methods
	if methods == nil {
		methods = windows.LogMethods()
	}
	ents, err := os.ReadDir(s.Dir)
	if err != nil {
		e.Fail("event log folder %s: %s", s.Dir, errText(err))
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
		if err := s.copyLog(ctx, e, filepath.Join(s.Dir, n), methods); err != nil {
			return err
		}
	}
	if len(names) == 0 {
		e.Warn("no event log matched in %s", s.Dir)
	}
	return nil
}

// copyLog stores one log; the error return is for failures of the tar.
func (s *EventLogs) copyLog(ctx context.Context, e *Emitter, p string, methods []windows.LogMethod) error {
	rec, err := lstatRecord(p)
	if err != nil {
		rec.Path, rec.Error = p, errText(err)
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
	h := tarHeader(rec, tar.TypeReg)
	h.Size = lc.Size
	if lc.Format != "evtx" {
		// Rendered events are another file than the log: named so.
		h.Name += "." + lc.Format
		rec.StoredAs = h.Name
		rec.Note = strings.TrimPrefix(rec.Note+"; stored as "+path.Base(h.Name)+" (rendered events, not the .evtx bytes)", "; ")
	}
	if err := e.tar.WriteHeader(h); err != nil {
		return err
	}
	rec.Stored = true
	hs := sha256.New()
	n, rerr := copyFile(ctx, io.MultiWriter(e.tar, hs), lc.R, lc.Size, nil)
	if _, isW := asWriteErr(rerr); isW {
		return rerr
	}
	rec.Read, rec.SHA256 = n, hex.EncodeToString(hs.Sum(nil))
	if lc.Format != "evtx" {
		rec.StoredSize, rec.StoredSHA256 = n, rec.SHA256
	}
	if n < lc.Size {
		rec.Error = fmt.Sprintf("%s: got %d of %d bytes (%v); padded with zeros in the tar", lc.Method, n, lc.Size, errText(orEOF(rerr)))
		if err := writeZeros(e.tar, lc.Size-n); err != nil {
			return err
		}
	} else if cerr := lc.R.Close(); cerr != nil {
		rec.Error = lc.Method + ": " + cerr.Error()
	}
	e.addRecord(rec)
	return nil
}

func orEOF(err error) error {
	if err == nil {
		return io.ErrUnexpectedEOF
	}
	return err
}

var _ = custody.File{}
