package collect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/custos-ir/custos/collect/hostfile"
	"github.com/custos-ir/custos/collect/paxtar"
	"github.com/custos-ir/custos/collect/windows"
	"github.com/custos-ir/custos/custody"
)

// Locked copies files that Windows may hold open without sharing read
// access — event logs, registry hives, Amcache, SRUDB.dat, the WMI
// repository, the NTFS metadata files — into a tar, each by the first
// method that can read it: the shared read every host file gets, the
// file's clusters read from the volume as NTFS maps them, custos's own NTFS
// reader, and for an event log the event log API's rendering. The record
// says which method produced each copy and why the ones before failed; a
// file no method can read is a file error naming every method tried, and
// the rest lands.
type Locked struct {
	Name     string
	Kind     string   // "eventlogs", "discover", "files" (the default)
	Patterns []string // walked (hostfile.Walk): each regular file matched is copied
	Excludes []string
	// Paths are read by the methods alone, without a walk or a stat: the
	// NTFS metadata files ($MFT, $Extend\$UsnJrnl:$J), which no listing
	// shows. Their records come from the method (the MFT record).
	Paths   []string
	Options FileOptions // MaxSize, HashOnly, Logs (--since/--until), Links
	// Methods picks the methods for a path; nil: windows.LogMethods() for
	// an .evtx, windows.LockedMethods() for anything else.
	Methods func(path string) []windows.CopyMethod
	// Failures and Notes are what planning found.
	Failures, Notes []string
}

func (s *Locked) Describe() Description {
	kind := s.Kind
	if kind == "" {
		kind = "files"
	}
	return Description{Name: s.Name, Kind: kind, Format: "tar", Sources: append(append([]string(nil), s.Patterns...), s.Paths...),
		Method: "shared read (backup semantics), then the file's clusters read from the volume (FSCTL_GET_RETRIEVAL_POINTERS), then custos's NTFS reader (the MFT record's runs); for .evtx then the event log API (rendered XML)"}
}

func (s *Locked) methods(p string) []windows.CopyMethod {
	if s.Methods != nil {
		return s.Methods(p)
	}
	if strings.HasSuffix(strings.ToLower(p), ".evtx") {
		return windows.LogMethods()
	}
	return windows.LockedMethods()
}

func (s *Locked) Collect(ctx context.Context, e *Emitter) error {
	for _, m := range s.Failures {
		e.Fail("%s", m)
	}
	for _, m := range s.Notes {
		e.Warn("%s", m)
	}
	tw := e.tarWriter()
	matched := 0
	opt := hostfile.WalkOptions{Excludes: s.Excludes, Links: s.Options.Links}
	err := hostfile.Walk(ctx, s.Patterns, opt, func(en *hostfile.Entry) error {
		if en.Err != nil {
			e.addRecord(custody.File{Path: hostfile.RecordPath(en.Path), Type: "other", Error: hostfile.ErrText(en.Err)})
			return nil
		}
		rec, err := en.Record()
		if err != nil {
			rec.Path, rec.Error = hostfile.RecordPath(en.Path), hostfile.ErrText(err)
			e.addRecord(rec)
			return nil
		}
		matched++
		switch rec.Type {
		case "file":
			return s.take(ctx, e, tw, en.Path, &rec)
		case "symlink":
			return s.link(e, tw, rec)
		}
		rec.Note = addNote(rec.Note, "not a regular file ("+rec.Type+"): recorded, never opened")
		e.addRecord(rec)
		return nil
	})
	if err != nil {
		if !timedOut(ctx) {
			return err
		}
		e.Fail("walk stopped at --source-timeout: what it had not reached is not recorded")
		return nil
	}
	for _, p := range s.Paths {
		if err := ctx.Err(); err != nil {
			e.Fail("%s: not reached (%v)", p, context.Cause(ctx))
			continue
		}
		matched++
		if err := s.take(ctx, e, tw, p, nil); err != nil {
			return err
		}
	}
	if matched == 0 {
		e.Warn("no file matched %s", strings.Join(s.Describe().Sources, ", "))
	}
	return nil
}

// link stores a symlink the walk met as a symlink entry (the walk takes
// what it leads to as it does for every files artifact).
func (s *Locked) link(e *Emitter, tw *paxtar.Writer, rec custody.File) error {
	if err := paxtar.CheckName(custody.TarName(rec.Path)); err != nil {
		rec.Error = "not stored: " + err.Error()
		e.addRecord(rec)
		return nil
	}
	if err := tw.WriteHeader(tarHeader(rec, paxtar.TypeSymlink)); err != nil {
		return err
	}
	rec.Stored = true
	e.addRecord(rec)
	return nil
}

// take copies one file; rec is its walked record, nil for a path read by
// the methods alone. The error return is for failures of the tar.
func (s *Locked) take(ctx context.Context, e *Emitter, tw *paxtar.Writer, p string, walked *custody.File) error {
	lc, tried, err := windows.CopyFile(ctx, p, s.methods(p))
	var rec custody.File
	// A path named directly is a Windows path ("C:\$MFT"), recorded as it
	// is on any host.
	switch {
	case walked != nil:
		rec = *walked
	case err == nil && lc.Rec != nil:
		rec = *lc.Rec
		rec.Path = p
	default:
		rec = custody.File{Path: p, Type: "file"}
	}
	if err == nil && len(tried) > 0 {
		rec.Note = addNote(rec.Note, "tried first: "+strings.Join(tried, "; "))
	}
	if err != nil {
		rec.Error = "no method could read it: " + err.Error()
		e.addRecord(rec)
		return nil
	}
	defer lc.R.Close()
	rec.Method = lc.Method
	if walked != nil && lc.Size != walked.Size {
		rec.Note = addNote(rec.Note, fmt.Sprintf("%s read %d bytes where the listing said %d (it changed, or NTFS had not written the size yet)", lc.Method, lc.Size, walked.Size))
	}
	rec.Size = lc.Size
	if why := e.files.limit(rec, lc.Stored(), s.Options, &e.budget); why != "" {
		rec.Note = addNote(rec.Note, why)
		e.addRecord(rec)
		return nil
	}
	name := custody.TarName(rec.Path)
	if lc.Format != "raw" {
		// Rendered events are another file than the log: named so.
		name += "." + lc.Format
		rec.StoredAs = name
		rec.Note = addNote(rec.Note, "stored as "+path.Base(name)+" (rendered events, not the .evtx bytes)")
	}
	store := !s.Options.HashOnly
	var dst io.Writer = io.Discard
	if store {
		if err := paxtar.CheckName(name); err != nil {
			store = false
			rec.Error = "not stored: " + err.Error()
		}
	}
	sparse := lc.Data != nil && lc.At != nil
	if store {
		h := tarHeader(rec, paxtar.TypeReg)
		h.Name, h.Size = name, lc.Size
		if sparse {
			h.Data = make([]paxtar.Extent, len(lc.Data))
			for i, d := range lc.Data {
				h.Data[i] = paxtar.Extent(d)
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		rec.Stored, dst = true, tw
	}
	hs := sha256.New()
	cl := e.files.copyLimits(ctx)
	var n, holes int64
	var rerr, werr error
	if sparse {
		n, holes, rerr, werr = copySparse(dst, hs, lc.At, lc.Size, lc.Data, cl)
	} else {
		n, rerr, werr = copyData(io.MultiWriter(dst, hs), readerAt{lc.R}, 0, lc.Size, cl)
	}
	if werr != nil {
		return werr
	}
	rec.Read, rec.Holes, rec.SHA256 = n, holes, hex.EncodeToString(hs.Sum(nil))
	if lc.Format != "raw" {
		rec.StoredSize, rec.StoredSHA256 = n, rec.SHA256
	}
	if n < lc.Size {
		rec.Error = fmt.Sprintf("%s: got %d of %d bytes (%v)", lc.Method, n, lc.Size, hostfile.ErrText(orEOF(rerr)))
		if store {
			rec.Error += "; padded with zeros in the tar"
			if err := writeZeros(tw, tw.Remaining()); err != nil {
				return err
			}
		}
	} else if cerr := lc.R.Close(); cerr != nil {
		rec.Error = lc.Method + ": " + cerr.Error()
	}
	e.addRecord(rec)
	return nil
}

// estimate is --dry-run's account: what the walk matches, from metadata.
func (s *Locked) estimate(ctx context.Context) Estimate {
	var est Estimate
	hostfile.Walk(ctx, s.Patterns, hostfile.WalkOptions{Excludes: s.Excludes, Links: s.Options.Links}, func(en *hostfile.Entry) error {
		if rec, err := en.Record(); en.Err == nil && err == nil && rec.Type == "file" {
			est.Files++
			if s.Options.MaxSize == 0 || rec.Size <= s.Options.MaxSize {
				est.Bytes += rec.Size
			}
		}
		return nil
	})
	est.Files += len(s.Paths)
	est.Note = "files Windows may hold open, by the first method that can read each"
	if len(s.Paths) > 0 {
		est.Note += fmt.Sprintf("; %d NTFS metadata files, sizes known only when read", len(s.Paths))
	}
	return est
}

// readerAt reads a stream in order as copyData asks for it.
type readerAt struct{ r io.Reader }

func (r readerAt) ReadAt(p []byte, _ int64) (int, error) { return io.ReadFull(r.r, p) }
