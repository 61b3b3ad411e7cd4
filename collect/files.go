package collect

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect/windows"
	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/rate"
)

// FileOptions limits how one file is taken.
type FileOptions struct {
	MaxSize  int64    // 0: no limit; larger files are recorded, not read
	HashOnly bool     // read and hash, but keep only the record
	Flag     []string // settings to flag when a line sets them (files up to 4 MiB)
	Logs     bool     // a log source: --since and --until apply
	Redact   string   // secrets to redact in the stored copy (windows.Redact kinds)
}

// openFile is openEvidence; tests replace it to simulate files that
// shrink or fail mid-read.
var openFile = openEvidence

// fileHandle is what Add needs of an open file.
type fileHandle interface {
	io.ReadCloser
	Stat() (os.FileInfo, error)
}

// FileReader reads files of the host for evidence: metadata first, then the
// content, opened without updating the access time where the OS allows.
type FileReader struct {
	Limits *Limits // may be nil
}

// Add records path and, if it is a regular file, appends its content to tw
// (when tw is not nil and the file is not hash-only). The error return is
// reserved for failures of tw, which end the artifact.
func (r *FileReader) Add(ctx context.Context, tw *tarWriter, path string, opt FileOptions) (custody.File, error) {
	return r.add(ctx, tw, path, opt, nil)
}

// add is Add with the artifact's own byte budget (read so far, cap).
func (r *FileReader) add(ctx context.Context, tw *tarWriter, path string, opt FileOptions, budget *artifactBudget) (custody.File, error) {
	return r.write(ctx, tw, r.prepare(ctx, path, opt, budget, tw != nil && !opt.HashOnly))
}

// pending is a file between the two stages of reading it: prepare (the
// metadata, the limits, the open, and for a small file its whole content)
// and write (into the artifact's tar, in order). The stages run on
// different goroutines for a tree of files, so the system calls of one file
// overlap the hashing and archiving of the one before.
type pending struct {
	rec   custody.File
	kind  int // pendRecord, pendLink, pendData, pendStream
	opt   FileOptions
	data  *[]byte    // pendData: the content, from smallBufs
	f     fileHandle // pendStream: open, positioned at 0
	rerr  error      // pendData: the read error, if the read fell short
	flags []string   // pendData
	// redacted replaces data: the copy with secrets replaced, which may
	// differ in size from the original.
	redacted []byte
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

// smallMax is the largest file prepare reads whole; larger files stream.
const smallMax = 128 << 10

var smallBufs = newBufPool(2*prefetch, smallMax+1)

// bufPool keeps up to n buffers for good. A sync.Pool is emptied by every
// garbage collection, which runs often under custos's memory limit, and
// each fresh buffer costs page faults again.
type bufPool struct {
	free chan *[]byte
	size int
}

func newBufPool(n, size int) *bufPool { return &bufPool{free: make(chan *[]byte, n), size: size} }

func (b *bufPool) Get() *[]byte {
	select {
	case p := <-b.free:
		return p
	default:
		buf := make([]byte, 0, b.size)
		return &buf
	}
}

func (b *bufPool) Put(p *[]byte) {
	*p = (*p)[:0]
	select {
	case b.free <- p:
	default:
	}
}

// prepare does everything for one file that does not touch the tar.
func (r *FileReader) prepare(ctx context.Context, path string, opt FileOptions, budget *artifactBudget, store bool) *pending {
	return r.prepareHinted(ctx, path, false, opt, budget, store)
}

// prepareHinted is prepare for a path the directory listing says is a
// regular file: it is opened first and its metadata taken from the open
// descriptor (see openStat).
func (r *FileReader) prepareHinted(ctx context.Context, path string, regular bool, opt FileOptions, budget *artifactBudget, store bool) *pending {
	if regular {
		if f, rec, method, ok := openStat(path); ok {
			p := &pending{opt: opt, rec: rec}
			return r.prepareOpen(p, f, method, budget)
		}
	}
	p := &pending{opt: opt}
	rec, err := lstatRecord(path)
	if err != nil {
		rec.Path = path
		rec.Error = errText(err)
		p.rec = rec
		return p
	}
	p.rec = rec
	switch rec.Type {
	case "symlink":
		target, err := os.Readlink(path)
		if err != nil {
			p.rec.Error = "readlink: " + errText(err)
			return p
		}
		p.rec.Link = target
		if store {
			p.kind = pendLink
		}
		return p
	case "file":
	case "dir":
		return p
	default:
		p.rec.Note = "not a regular file (" + rec.Type + "): recorded, never opened"
		return p
	}
	if opt.MaxSize > 0 && rec.Size > opt.MaxSize {
		p.rec.Note = fmt.Sprintf("larger than the size cap of %d bytes: recorded, not read", opt.MaxSize)
		return p
	}
	if opt.Logs {
		if why := r.Limits.window(rec.Mtime); why != "" {
			p.rec.Note = why
			budget.skip()
			return p
		}
	}
	if why := budget.take(rec.Size); why != "" {
		p.rec.Note = why
		return p
	}
	if why := r.Limits.reserve(rec.Size); why != "" {
		p.rec.Note = why
		budget.skip()
		return p
	}
	f, method, err := openFile(path)
	if err != nil {
		p.rec.Error = errText(err)
		return p
	}
	if same, why := sameFile(f, rec); !same {
		f.Close()
		p.rec.Error = "changed between stat and open: " + why + "; not read"
		return p
	}
	return r.readOpen(p, f, method)
}

// prepareOpen applies the limits to a file opened by openStat, then reads
// it like any other.
func (r *FileReader) prepareOpen(p *pending, f fileHandle, method string, budget *artifactBudget) *pending {
	rec, opt := p.rec, p.opt
	why := ""
	if opt.MaxSize > 0 && rec.Size > opt.MaxSize {
		why = fmt.Sprintf("larger than the size cap of %d bytes: recorded, not read", opt.MaxSize)
	} else if opt.Logs {
		if why = r.Limits.window(rec.Mtime); why != "" {
			budget.skip()
		}
	}
	if why == "" {
		if why = budget.take(rec.Size); why == "" {
			if why = r.Limits.reserve(rec.Size); why != "" {
				budget.skip()
			}
		}
	}
	if why != "" {
		f.Close()
		p.rec.Note = why
		return p
	}
	return r.readOpen(p, f, method)
}

// readOpen reads an open regular file whose record is p.rec: small files
// whole now, larger ones later, in the tar's order.
func (r *FileReader) readOpen(p *pending, f fileHandle, method string) *pending {
	rec, opt := p.rec, p.opt
	p.rec.Method = method
	var lim *rate.Limiter
	if r.Limits != nil {
		lim = r.Limits.ReadRate
	}
	if opt.Redact != "" {
		r.redact(p, f)
		return p
	}
	if rec.Size > smallMax || lim != nil {
		p.kind, p.f = pendStream, f
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
		p.rec.Note = fmt.Sprintf("grew while read; the %d bytes present at stat time were collected", size)
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
	return p
}

// redact reads a configuration file whole, records the original's digest,
// and keeps a copy with its secrets replaced for the tar. Plaintext stays
// in memory; a file too large to redact is hashed, not stored.
func (r *FileReader) redact(p *pending, f fileHandle) {
	defer f.Close()
	rec := &p.rec
	if rec.Size > windows.MaxRedact {
		rec.Note = fmt.Sprintf("larger than the %d bytes custos redacts in memory: hashed, not stored (it may hold secrets)", windows.MaxRedact)
		h := sha256.New()
		n, err := copyFile(context.Background(), h, f, rec.Size, nil)
		rec.Read, rec.SHA256 = n, hex.EncodeToString(h.Sum(nil))
		if n < rec.Size {
			rec.Error = fmt.Sprintf("shrank or failed while read: got %d of %d bytes (%v)", n, rec.Size, errText(err))
		}
		return
	}
	buf := make([]byte, rec.Size)
	n, err := io.ReadFull(f, buf)
	buf = buf[:n]
	sum := sha256.Sum256(buf)
	rec.Read, rec.SHA256 = int64(n), hex.EncodeToString(sum[:])
	if n < int(rec.Size) {
		rec.Error = fmt.Sprintf("shrank or failed while read: got %d of %d bytes (%v); not stored", n, rec.Size, errText(err))
		return
	}
	out, what, rerr := windows.Redact(p.opt.Redact, buf)
	if rerr != nil {
		rec.Error = "redact: " + rerr.Error() + "; not stored"
		return
	}
	rec.Note = changedNote(f, *rec)
	if len(what) > 0 {
		rec.Redacted = what
		s := sha256.Sum256(out)
		rec.StoredSize, rec.StoredSHA256 = int64(len(out)), hex.EncodeToString(s[:])
	}
	p.kind, p.redacted = pendData, out
}

// write puts a prepared file into tw (nil: record only) and returns its
// record. The error is for failures of tw, which end the artifact.
func (r *FileReader) write(ctx context.Context, tw *tarWriter, p *pending) (custody.File, error) {
	rec := p.rec
	store := tw != nil && !p.opt.HashOnly
	switch p.kind {
	case pendRecord:
		return rec, nil
	case pendLink:
		if err := tw.WriteHeader(tarHeader(rec, tar.TypeSymlink)); err != nil {
			return rec, err
		}
		rec.Stored = true
		return rec, nil
	case pendData:
		if p.redacted != nil || p.data == nil {
			if store {
				h := tarHeader(rec, tar.TypeReg)
				h.Size = int64(len(p.redacted))
				if err := tw.WriteHeader(h); err != nil {
					return rec, err
				}
				if _, err := tw.Write(p.redacted); err != nil {
					return rec, err
				}
				rec.Stored = true
			}
			return rec, nil
		}
		defer smallBufs.Put(p.data)
		rec.Flags = p.flags
		data := *p.data
		if store {
			if err := tw.WriteHeader(tarHeader(rec, tar.TypeReg)); err != nil {
				return rec, err
			}
			if _, err := tw.Write(data); err != nil {
				return rec, err
			}
			rec.Stored = true
		}
		if n := int64(len(data)); n < rec.Size {
			return r.short(tw, store, rec, n, p.rerr)
		}
		return rec, nil
	}
	// pendStream
	f := p.f
	defer f.Close()
	var dst io.Writer = io.Discard
	if store {
		if err := tw.WriteHeader(tarHeader(rec, tar.TypeReg)); err != nil {
			return rec, err
		}
		dst = tw
		rec.Stored = true
	}
	h := sha256.New()
	var fl *flagScanner
	if len(p.opt.Flag) > 0 && rec.Size <= 4<<20 {
		fl = &flagScanner{keys: p.opt.Flag}
		dst = io.MultiWriter(dst, fl)
	}
	// Exactly the size seen at stat time goes into the tar: a log that grows
	// while we read is captured as it was; one that shrinks is padded and
	// the record says so.
	var lim *rate.Limiter
	if r.Limits != nil {
		lim = r.Limits.ReadRate
	}
	n, rerr := copyFile(ctx, io.MultiWriter(dst, h), f, rec.Size, lim)
	if fl != nil {
		rec.Flags = fl.finish()
	}
	if _, isW := asWriteErr(rerr); isW {
		return rec, rerr
	}
	rec.Read = n
	rec.SHA256 = hex.EncodeToString(h.Sum(nil))
	if n < rec.Size {
		return r.short(tw, store, rec, n, rerr)
	}
	rec.Note = changedNote(f, rec)
	return rec, nil
}

// short records a file that gave fewer bytes than its size and pads the
// tar entry to the size its header promised.
func (r *FileReader) short(tw *tarWriter, store bool, rec custody.File, n int64, rerr error) (custody.File, error) {
	if rerr == nil || errors.Is(rerr, io.EOF) {
		rerr = io.ErrUnexpectedEOF
	}
	rec.Error = fmt.Sprintf("shrank or failed while read: got %d of %d bytes (%v); sha256 covers the bytes read", n, rec.Size, errText(rerr))
	if store {
		if err := writeZeros(tw, rec.Size-n); err != nil {
			return rec, err
		}
		rec.Error += "; padded with zeros in the tar"
	}
	return rec, nil
}

// changedNote says whether an open file grew or was modified since rec was
// taken.
func changedNote(f fileHandle, rec custody.File) string {
	after, err := f.Stat()
	if err != nil {
		return ""
	}
	switch {
	case after.Size() > rec.Size:
		return fmt.Sprintf("grew to %d bytes while read; the %d bytes present at stat time were collected", after.Size(), rec.Size)
	case rec.Mtime != nil && !after.ModTime().Equal(*rec.Mtime):
		return "modified while read (mtime changed); content may mix old and new"
	}
	return ""
}

type writeErr struct{ err error }

func (w writeErr) Error() string { return w.err.Error() }
func (w writeErr) Unwrap() error { return w.err }

func asWriteErr(err error) (writeErr, bool) {
	var w writeErr
	ok := errors.As(err, &w)
	return w, ok
}

// copyFile copies up to n bytes, checking ctx between chunks. Write errors
// come back wrapped in writeErr so the caller can tell them from read
// errors (which only concern this file).
// copyBufs are reused across files: a fresh 256 KiB buffer per file made
// small-file trees slow and heavy.
var copyBufs = newBufPool(8, 256<<10)

func copyFile(ctx context.Context, dst io.Writer, src io.Reader, n int64, lim *rate.Limiter) (int64, error) {
	bp := copyBufs.Get()
	defer copyBufs.Put(bp)
	buf := (*bp)[:cap(*bp)]
	var done int64
	for done < n {
		if err := ctx.Err(); err != nil {
			return done, writeErr{err}
		}
		want := int64(len(buf))
		if n-done < want {
			want = n - done
		}
		if err := lim.Wait(ctx, int(want)); err != nil {
			return done, writeErr{err}
		}
		k, err := src.Read(buf[:want])
		if k > 0 {
			if _, werr := dst.Write(buf[:k]); werr != nil {
				return done, writeErr{werr}
			}
			done += int64(k)
		}
		if err != nil {
			if err == io.EOF {
				return done, nil
			}
			return done, err
		}
	}
	return done, nil
}

func writeZeros(w io.Writer, n int64) error {
	var zero [32 << 10]byte
	for n > 0 {
		k := int64(len(zero))
		if n < k {
			k = n
		}
		if _, err := w.Write(zero[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// errText strips the path Go puts in *PathError: the record already names
// the file.
func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err.Error()
	}
	return err.Error()
}

func tarHeader(rec custody.File, typ byte) *tar.Header {
	h := &tar.Header{
		Typeflag: typ,
		Name:     custody.TarName(rec.Path),
		Linkname: rec.Link,
		Mode:     int64(parseModeBits(rec.Mode)),
		Uid:      int(rec.UID),
		Gid:      int(rec.GID),
		Format:   tar.FormatPAX,
	}
	if typ == tar.TypeReg {
		h.Size = rec.Size
	}
	if rec.Mtime != nil {
		h.ModTime = *rec.Mtime
	} else {
		h.ModTime = time.Unix(0, 0)
	}
	if rec.Atime != nil {
		h.AccessTime = *rec.Atime
	}
	if rec.Ctime != nil {
		h.ChangeTime = *rec.Ctime
	}
	return h
}

// flagScanner looks at each line as the file streams past and keeps the
// lines that set one of keys to a non-empty value (key = value, key value).
type flagScanner struct {
	keys []string
	line []byte
	n    int
	hits []string
}

func (f *flagScanner) Write(p []byte) (int, error) {
	for _, c := range p {
		if c == '\n' {
			f.check()
			continue
		}
		if len(f.line) < 4096 {
			f.line = append(f.line, c)
		}
	}
	return len(p), nil
}

func (f *flagScanner) check() {
	f.n++
	l := strings.TrimSpace(string(f.line))
	f.line = f.line[:0]
	if l == "" || l[0] == ';' || l[0] == '#' {
		return
	}
	for _, k := range f.keys {
		rest, ok := strings.CutPrefix(l, k)
		if !ok {
			continue
		}
		rest = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(rest), "="))
		rest = strings.Trim(rest, `"'`)
		if rest != "" && !strings.EqualFold(rest, "none") && len(f.hits) < 20 {
			f.hits = append(f.hits, fmt.Sprintf("line %d: %s", f.n, l))
		}
	}
}

func (f *flagScanner) finish() []string {
	if len(f.line) > 0 {
		f.check()
	}
	return f.hits
}

// artifactBudget is one artifact's share of --max-artifact.
type artifactBudget struct {
	max, used int64
	skipped   int
}

func (b *artifactBudget) take(n int64) string {
	if b == nil || b.max <= 0 {
		return ""
	}
	if b.used+n > b.max {
		b.skipped++
		return fmt.Sprintf("over --max-artifact %d bytes: recorded, not read", b.max)
	}
	b.used += n
	return ""
}

func (b *artifactBudget) skip() {
	if b != nil {
		b.skipped++
	}
}
