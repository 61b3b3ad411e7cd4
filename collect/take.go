package collect

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/custos-ir/custos/collect/hostfile"
	"github.com/custos-ir/custos/collect/sniff"
	"github.com/custos-ir/custos/collect/windows"
	"github.com/custos-ir/custos/custody"
)

// FileOptions limits how the files of a group are taken.
type FileOptions struct {
	MaxSize  int64    // 0: no limit; larger files are recorded, not read
	HashOnly bool     // read and hash, but keep only the record
	Flag     []string // settings to flag when a line sets them (files up to 4 MiB)
	Logs     bool     // a log source: --since and --until apply
	Redact   string   // secrets to redact in the stored copy (windows.Redact kinds)
	// Links is hostfile.Follow (take what links lead to) or hostfile.Record.
	Links hostfile.LinkPolicy
	// Suspicious, with HashOnly, copies the files that look out of place
	// (collect/sniff) and flags them.
	Suspicious *Suspicious
	// ChangedWithin takes only files whose mtime or ctime is after
	// --since, or without it this long before the walk; others are not
	// recorded.
	ChangedWithin time.Duration
	// Sensitive are patterns of files whose records are marked sensitive
	// (see markSensitive).
	Sensitive []string
}

// Suspicious says what is out of place in a hash-only tree.
type Suspicious struct {
	CodeExt []string // extensions where code belongs
	Roots   []string // where the tree starts: a hidden name below them is suspicious
}

// evidence is what taking a file needs of an open host file; tests stand
// in for hostfile.File to make files that shrink or fail mid-read.
type evidence interface {
	io.Reader
	io.ReaderAt
	io.Closer
	Record() custody.File
	Method() string
	DataExtents() []hostfile.Extent
	Changed() string
}

// openEntry opens a walked entry for reading.
func openEntry(e *hostfile.Entry) (evidence, error) {
	f, err := e.Open()
	if err != nil {
		return nil, err
	}
	return f, nil
}

// FileReader reads files of the host for evidence: metadata first, then the
// content, opened without updating the access time where the OS allows.
type FileReader struct {
	Limits *Limits // may be nil
	// open stands in for openEntry in tests (files that shrink, stall).
	open func(*hostfile.Entry) (evidence, error)
}

// pending is a file between the two stages of taking it: prepare (the
// metadata, the limits, the open, and for a small file its whole content)
// and write (into the artifact's tar, in order). The stages run on
// different goroutines for a tree of files, so the system calls of one file
// overlap the hashing and archiving of the one before.
type pending struct {
	rec   custody.File
	kind  int // pendRecord, pendLink, pendData, pendStream
	opt   FileOptions
	data  *[]byte  // pendData: the content, from smallBufs
	f     evidence // pendStream: open, positioned at 0
	ext   []hostfile.Extent
	rerr  error // pendData: the read error, if the read fell short
	flags []string
	// redacted replaces data: the copy with secrets replaced, which may
	// differ in size from the original.
	redacted []byte
	// suspect is why a hash-only file is stored after all (sniff).
	suspect string
}

const (
	pendRecord = iota // the record alone
	pendLink          // a symlink header
	pendData          // content read in full by prepare
	pendStream        // content to stream by write
)

// release gives back what a pending file holds when it will not be written.
func (p *pending) release() {
	if p.data != nil {
		smallBufs.Put(p.data)
		p.data = nil
	}
	if p.f != nil {
		p.f.Close()
		p.f = nil
	}
}

// prepare does everything for one walked entry that does not touch the tar.
func (r *FileReader) prepare(e *hostfile.Entry, opt FileOptions, budget *artifactBudget, store bool) *pending {
	p := &pending{opt: opt}
	switch {
	case e.Err != nil:
		p.rec = custody.File{Path: custody.EscapePath(e.Path), Type: "dir", Error: "list: " + hostfile.ErrText(e.Err)}
		if e.Kind != hostfile.KindDir {
			p.rec.Type, p.rec.Error = "other", hostfile.ErrText(e.Err)
		}
		return p
	case e.Kind == hostfile.KindLink:
		rec, err := e.Record()
		if err != nil {
			rec.Error = hostfile.ErrText(err)
		} else if store {
			p.kind = pendLink
		}
		p.rec = rec
		return p
	}
	open := openEntry
	if r.open != nil {
		open = r.open
	}
	f, err := open(e)
	if err != nil {
		p.rec = notOpened(e, err)
		return p
	}
	return r.prepareOpen(f, opt, budget)
}

// prepareOpen applies the limits to an open file, then reads it or leaves
// it to stream.
func (r *FileReader) prepareOpen(f evidence, opt FileOptions, budget *artifactBudget) *pending {
	p := &pending{opt: opt, rec: f.Record()}
	data := p.rec.Size // what reading it costs: its holes are not read
	if p.rec.Size > smallMax && opt.Redact == "" {
		if p.ext = f.DataExtents(); p.ext != nil {
			data = p.rec.Size - hostfile.Holes(p.rec.Size, p.ext)
		}
	}
	if why := r.limit(p.rec, data, opt, budget); why != "" {
		f.Close()
		p.rec.Note = addNote(p.rec.Note, why)
		return p
	}
	return r.readOpen(p, f)
}

// notOpened is the record of an entry that was not opened, and why.
func notOpened(e *hostfile.Entry, err error) custody.File {
	var nr *hostfile.NotRegularError
	if errors.As(err, &nr) {
		rec := nr.Rec
		switch rec.Type {
		case "symlink":
			rec.Note = "became a symlink while walked: recorded, not followed"
		case "dir":
			rec.Note = "became a directory while walked: recorded, not walked"
		default:
			rec.Note = "not a regular file (" + rec.Type + "): recorded, never opened"
		}
		return rec
	}
	rec, serr := e.Record()
	if serr != nil {
		rec.Path = custody.EscapePath(e.Path)
	}
	if errors.Is(err, hostfile.ErrChanged) {
		rec.Error = err.Error()
		return rec
	}
	rec.Error = hostfile.ErrText(err)
	return rec
}

// limit says why a file is recorded and not read, or "": the profile's
// size cap, the --since/--until window of logs, the artifact's and the
// collection's byte budgets (which data bytes spend; holes are not read).
func (r *FileReader) limit(rec custody.File, data int64, opt FileOptions, budget *artifactBudget) string {
	if opt.MaxSize > 0 && rec.Size > opt.MaxSize {
		return fmt.Sprintf("larger than the size cap of %d bytes: recorded, not read", opt.MaxSize)
	}
	if opt.Logs {
		if why := r.Limits.window(rec.Mtime); why != "" {
			budget.skip()
			return why
		}
	}
	if why := budget.take(data); why != "" {
		return why
	}
	if why := r.Limits.reserve(data); why != "" {
		budget.skip()
		return why
	}
	return ""
}

// readOpen reads an open regular file whose record is p.rec: small files
// whole now, larger ones (and files with holes) later, in the tar's order.
func (r *FileReader) readOpen(p *pending, f evidence) *pending {
	rec, opt := p.rec, p.opt
	p.rec.Method = f.Method()
	if opt.Redact != "" {
		r.redact(p, f)
		return p
	}
	if rec.Size > smallMax || (r.Limits != nil && r.Limits.ReadRate != nil) {
		p.kind, p.f = pendStream, f // with p.ext, where prepareOpen found holes
		return p
	}
	// A small file: read it whole now, and hash it. Asking for one byte
	// more than its size shows, in the same read, whether it grew.
	defer f.Close()
	bp := smallBufs.Get()
	size := int(rec.Size)
	buf := (*bp)[:size+1]
	n, rerr := 0, error(nil)
	for n < size && rerr == nil {
		var k int
		k, rerr = f.Read(buf[n:])
		n += k
	}
	if n > size {
		n = size
		p.rec.Note = addNote(p.rec.Note, fmt.Sprintf("grew while read; the %d bytes present at stat time were collected", size))
	}
	if rerr == io.EOF {
		rerr = io.ErrUnexpectedEOF
	}
	*bp = buf[:n]
	p.kind, p.data, p.rerr = pendData, bp, rerr
	sum := sha256.Sum256(buf[:n])
	p.rec.Read = int64(n)
	p.rec.SHA256 = hex.EncodeToString(sum[:])
	if len(opt.Flag) > 0 {
		fl := &flagScanner{keys: opt.Flag}
		fl.Write(buf[:n])
		p.flags = fl.finish()
	}
	if opt.HashOnly && opt.Suspicious != nil {
		sn := sniff.New(rec.Path, opt.Suspicious.CodeExt)
		sn.Write(buf[:n])
		p.suspect = sn.Verdict()
	}
	return p
}

// redact reads a configuration file whole, records the original's digest,
// and keeps a copy with its secrets replaced for the tar. Plaintext stays
// in memory; a file too large to redact is hashed, not stored.
func (r *FileReader) redact(p *pending, f evidence) {
	defer f.Close()
	rec := &p.rec
	if rec.Size > windows.MaxRedact {
		rec.Note = addNote(rec.Note, fmt.Sprintf("larger than the %d bytes custos redacts in memory: hashed, not stored (it may hold secrets)", windows.MaxRedact))
		h := sha256.New()
		n, err, _ := copyData(h, f, 0, rec.Size, copyLimits{})
		rec.Read, rec.SHA256 = n, hex.EncodeToString(h.Sum(nil))
		if n < rec.Size {
			rec.Error = fmt.Sprintf("shrank or failed while read: got %d of %d bytes (%v)", n, rec.Size, hostfile.ErrText(orEOF(err)))
		}
		return
	}
	buf := make([]byte, rec.Size)
	n, err := io.ReadFull(f, buf)
	buf = buf[:n]
	sum := sha256.Sum256(buf)
	rec.Read, rec.SHA256 = int64(n), hex.EncodeToString(sum[:])
	if n < int(rec.Size) {
		rec.Error = fmt.Sprintf("shrank or failed while read: got %d of %d bytes (%v); not stored", n, rec.Size, hostfile.ErrText(orEOF(err)))
		return
	}
	out, what, rerr := redactConfig(p.opt.Redact, buf)
	if rerr != nil {
		rec.Error = "redact: " + rerr.Error() + "; not stored"
		return
	}
	rec.Note = addNote(rec.Note, f.Changed())
	if len(what) > 0 {
		rec.Redacted = what
		s := sha256.Sum256(out)
		rec.StoredSize, rec.StoredSHA256 = int64(len(out)), hex.EncodeToString(s[:])
	}
	p.kind, p.redacted = pendData, out
}

// addNote adds what a reader should know to a record's note.
func addNote(note, more string) string {
	switch {
	case more == "":
		return note
	case note == "":
		return more
	}
	return note + "; " + more
}

func orEOF(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// artifactBudget is one artifact's share of --max-artifact. The walking
// stage spends it; a walk abandoned while stuck may still do so after the
// artifact's record is read, hence the lock.
type artifactBudget struct {
	mu        sync.Mutex
	max, used int64
	skipped   int
}

func (b *artifactBudget) take(n int64) string {
	if b == nil || b.max <= 0 {
		return ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.max {
		b.skipped++
		return fmt.Sprintf("over --max-artifact %d bytes: recorded, not read", b.max)
	}
	b.used += n
	return ""
}

func (b *artifactBudget) skip() {
	if b != nil {
		b.mu.Lock()
		b.skipped++
		b.mu.Unlock()
	}
}

func (b *artifactBudget) skips() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.skipped
}
