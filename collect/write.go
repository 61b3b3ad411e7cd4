package collect

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect/hostfile"
	"github.com/custos-ir/custos/collect/paxtar"
	"github.com/custos-ir/custos/collect/sniff"
	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/rate"
	"github.com/custos-ir/custos/internal/sha256x"
)

// write puts a prepared file into tw (nil: record only) and returns its
// record. The error is for failures of tw, which end the artifact; what
// concerns the file alone is in its record. fw, when set, is the frame
// writer under tw: a file streamed into it is hashed in the same pass as
// the plaintext (frameWriter.tee).
func (r *FileReader) write(ctx context.Context, tw *paxtar.Writer, fw *frameWriter, p *pending) (custody.File, error) {
	rec, err := r.writeEntry(ctx, tw, fw, p)
	if p.suspect != "" && rec.Stored {
		rec.Flags = append(rec.Flags, "copied, not only hashed: "+p.suspect)
	}
	return rec, err
}

func (r *FileReader) writeEntry(ctx context.Context, tw *paxtar.Writer, fw *frameWriter, p *pending) (custody.File, error) {
	rec := p.rec
	store := tw != nil && (!p.opt.HashOnly || p.suspect != "")
	if p.kind != pendRecord && store {
		if err := paxtar.CheckName(custody.TarName(rec.Path)); err != nil {
			p.release()
			rec.Stored = false
			rec.Error = "not stored: " + err.Error()
			return rec, nil
		}
	}
	switch p.kind {
	case pendRecord:
		return rec, nil
	case pendLink:
		if err := tw.WriteHeader(tarHeader(rec, paxtar.TypeSymlink)); err != nil {
			return rec, err
		}
		rec.Stored = true
		return rec, nil
	case pendData:
		return r.writeData(tw, store, p)
	}
	return r.stream(ctx, tw, fw, store, p)
}

// writeData stores content prepare read whole.
func (r *FileReader) writeData(tw *paxtar.Writer, store bool, p *pending) (custody.File, error) {
	rec := p.rec
	data := p.redacted
	if p.data != nil && p.redacted == nil {
		defer smallBufs.Put(p.data)
		data = *p.data
		rec.Flags = p.flags
	}
	if store {
		h := tarHeader(rec, paxtar.TypeReg)
		if p.redacted != nil {
			h.Size = int64(len(p.redacted))
		}
		if err := tw.WriteHeader(h); err != nil {
			return rec, err
		}
		if _, err := tw.Write(data); err != nil {
			return rec, err
		}
		rec.Stored = true
	}
	if p.redacted == nil && int64(len(data)) < rec.Size {
		return short(tw, store, rec, int64(len(data)), p.rerr)
	}
	return rec, nil
}

// stream reads a file into the tar as it goes. Exactly the size seen at
// stat time goes in: a log that grows while read is captured as it was;
// one that shrinks, fails or runs out of time is padded and the record says
// so. A file with holes is stored sparse: only its data is read, the holes
// are hashed as the zeros they read as.
func (r *FileReader) stream(ctx context.Context, tw *paxtar.Writer, fw *frameWriter, store bool, p *pending) (custody.File, error) {
	f, rec := p.f, p.rec
	defer f.Close()
	var dst io.Writer = io.Discard
	if store {
		h := tarHeader(rec, paxtar.TypeReg)
		if p.ext != nil {
			h.Data = make([]paxtar.Extent, len(p.ext))
			for i, x := range p.ext {
				h.Data[i] = paxtar.Extent(x)
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return rec, err
		}
		dst = tw
		rec.Stored = true
	}
	h := sha256x.New()
	var fl *flagScanner
	if len(p.opt.Flag) > 0 && rec.Size <= flagMax && p.ext == nil {
		fl = &flagScanner{keys: p.opt.Flag}
		dst = io.MultiWriter(dst, fl)
	}
	var sn *sniff.Sniffer
	if !store && tw != nil && p.opt.Suspicious != nil {
		sn = sniff.New(rec.Path, p.opt.Suspicious.CodeExt)
		dst = io.MultiWriter(dst, sn)
	}
	cl := r.copyLimits(ctx)
	var n, holes int64
	var rerr, werr error
	switch {
	case p.ext != nil:
		n, holes, rerr, werr = copySparse(dst, h, f, rec.Size, p.ext, cl)
	case store && fw != nil:
		// The content goes into the tar at a block boundary: the frame
		// writer hashes it into h with the plaintext, in one pass.
		fw.tee(h)
		n, rerr, werr = copyData(dst, f, 0, rec.Size, cl)
		fw.tee(nil)
	default:
		n, rerr, werr = copyData(io.MultiWriter(dst, h), f, 0, rec.Size, cl)
	}
	if werr != nil {
		return rec, werr
	}
	if fl != nil {
		rec.Flags = fl.finish()
	}
	rec.Read, rec.Holes, rec.SHA256 = n, holes, hex.EncodeToString(h.Sum(nil))
	if n < rec.Size {
		return short(tw, store, rec, n, rerr)
	}
	if sn != nil {
		if p.suspect = sn.Verdict(); p.suspect != "" {
			return r.storeAgain(ctx, tw, fw, p, rec)
		}
	}
	rec.Note = addNote(rec.Note, f.Changed())
	return rec, nil
}

// short records a file that gave fewer bytes than its size and pads the
// tar entry to the size its header promised.
func short(tw *paxtar.Writer, store bool, rec custody.File, n int64, rerr error) (custody.File, error) {
	var cut *cutError
	if errors.As(rerr, &cut) {
		rec.Error = fmt.Sprintf("cut at %s: %d of %d bytes taken; sha256 covers those", cut.why, n, rec.Size)
	} else {
		rec.Error = fmt.Sprintf("shrank or failed while read: got %d of %d bytes (%v); sha256 covers the bytes read", n, rec.Size, hostfile.ErrText(orEOF(rerr)))
	}
	if store {
		if err := writeZeros(tw, tw.Remaining()); err != nil {
			return rec, err
		}
		rec.Error += "; padded with zeros in the tar"
	}
	return rec, nil
}

// copyLimits bound the read of one file: the source's context (its
// --source-timeout or the collection's end), the file's own deadline
// (--file-timeout) and the read rate.
type copyLimits struct {
	ctx context.Context
	lim *rate.Limiter
	// dl is the file's deadline, shared by the copies of these limits
	// that read its parts. It counts the time spent reading: time spent
	// waiting on the rate limit or on the store taking what was read (a
	// slow upload, a busy compressor) pushes it back, so a fast file is
	// never cut for what comes after it.
	dl  *fileDeadline
	why string // what dl is
}

type fileDeadline struct{ until time.Time }

// pause moves the file's deadline back by time spent not reading.
func (c copyLimits) pause(since time.Time) {
	if c.dl != nil {
		c.dl.until = c.dl.until.Add(time.Since(since))
	}
}

func (r *FileReader) copyLimits(ctx context.Context) copyLimits {
	cl := copyLimits{ctx: ctx}
	if l := r.Limits; l != nil {
		cl.lim = l.ReadRate
		if l.FileTimeout > 0 {
			cl.dl = &fileDeadline{time.Now().Add(l.FileTimeout)}
			cl.why = "--file-timeout " + l.FileTimeout.String()
		}
	}
	return cl
}

// cutError is a read stopped by a limit of time: the file's, the source's.
type cutError struct{ why string }

func (c *cutError) Error() string { return "cut at " + c.why }

func (c copyLimits) check() error {
	if c.ctx != nil && c.ctx.Err() != nil {
		return &cutError{why: cutReason(c.ctx)}
	}
	if c.dl != nil && time.Now().After(c.dl.until) {
		return &cutError{why: c.why}
	}
	return nil
}

// cutReason names why a source's context ended.
func cutReason(ctx context.Context) string {
	if errors.Is(context.Cause(ctx), errSourceTimeout) {
		return "--source-timeout"
	}
	return "the end of the collection (" + context.Cause(ctx).Error() + ")"
}

// copyData copies n bytes of src from off into dst. The read error
// concerns the file alone (a cut is a *cutError); the write error (tar,
// store) ends the artifact.
func copyData(dst io.Writer, src io.ReaderAt, off, n int64, cl copyLimits) (done int64, rerr, werr error) {
	bp := copyBufs.Get()
	buf := (*bp)[:cap(*bp)]
	abandoned := false
	defer func() {
		if !abandoned { // else the stuck read still owns the buffer
			copyBufs.Put(bp)
		}
	}()
	for done < n {
		if err := cl.check(); err != nil {
			return done, err, nil
		}
		want := min(int64(len(buf)), n-done)
		if cl.ctx != nil {
			t0 := time.Now()
			if err := cl.lim.Wait(cl.ctx, int(want)); err != nil {
				return done, &cutError{why: cutReason(cl.ctx)}, nil
			}
			cl.pause(t0)
		}
		var k int
		var err error
		k, err, abandoned = cl.readAt(src, buf[:want], off+done)
		if k > 0 {
			t0 := time.Now()
			if _, werr := dst.Write(buf[:k]); werr != nil {
				return done, nil, werr
			}
			cl.pause(t0)
			done += int64(k)
		}
		if err != nil {
			if errors.Is(err, io.EOF) && int64(k) == want {
				continue
			}
			return done, err, nil
		}
	}
	return done, nil, nil
}

// readAt reads under the file's limits of time. Where there are some, the
// read runs on its own goroutine, and one that does not return in time (a
// dead network mount: the kernel does not let it be interrupted) is left
// behind with p, which the caller must then not reuse.
func (c copyLimits) readAt(src io.ReaderAt, p []byte, off int64) (n int, err error, abandoned bool) {
	wait := time.Duration(-1)
	if c.dl != nil {
		wait = time.Until(c.dl.until)
	}
	if c.ctx != nil {
		if dl, ok := c.ctx.Deadline(); ok {
			if w := time.Until(dl) + stallGrace; wait < 0 || w < wait {
				wait = w
			}
		}
	}
	if wait < 0 {
		n, err = src.ReadAt(p, off)
		return n, err, false
	}
	type result struct {
		n   int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		n, err := src.ReadAt(p, off)
		ch <- result{n, err}
	}()
	t := time.NewTimer(max(wait, time.Millisecond))
	defer t.Stop()
	select {
	case r := <-ch:
		return r.n, r.err, false
	case <-t.C:
		why := c.why
		if why == "" || (c.ctx != nil && c.ctx.Err() != nil) {
			why = cutReason(c.ctx)
		}
		return 0, &cutError{why: why + ", in a read that had not returned (left behind)"}, true
	}
}

// copySparse copies the data extents of a file with holes into dst and
// hashes the whole file, holes as zeros, into h. done counts both.
func copySparse(dst, h io.Writer, src io.ReaderAt, size int64, ext []hostfile.Extent, cl copyLimits) (done, holes int64, rerr, werr error) {
	both := io.MultiWriter(dst, h)
	for _, x := range append(ext, hostfile.Extent{Offset: size}) {
		if gap := x.Offset - done; gap > 0 {
			k, err := hashZeros(h, gap, cl)
			done, holes = done+k, holes+k
			if err != nil {
				return done, holes, err, nil
			}
		}
		k, rerr, werr := copyData(both, src, x.Offset, x.Length, cl)
		done += k
		if rerr != nil || werr != nil {
			return done, holes, rerr, werr
		}
	}
	return done, holes, nil, nil
}

var zeros = make([]byte, 256<<10)

// hashZeros feeds n zero bytes to h: a hole is hashed, not read.
func hashZeros(h io.Writer, n int64, cl copyLimits) (int64, error) {
	var done int64
	for done < n {
		if err := cl.check(); err != nil {
			return done, err
		}
		k := min(int64(len(zeros)), n-done)
		h.Write(zeros[:k])
		done += k
	}
	return done, nil
}

func writeZeros(w io.Writer, n int64) error {
	for n > 0 {
		k := min(int64(len(zeros)), n)
		if _, err := w.Write(zeros[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// linkBytes is a link's text as the host has it: escaped like the path in
// the record of a POSIX path (custody.EscapePath).
func linkBytes(rec custody.File) string {
	if strings.HasPrefix(rec.Path, "/") {
		return custody.UnescapePath(rec.Link)
	}
	return rec.Link
}

// tarHeader is a file's tar header: its name is the host's bytes.
func tarHeader(rec custody.File, typ byte) *paxtar.Header {
	h := &paxtar.Header{
		Typeflag: typ,
		Name:     custody.TarName(rec.Path),
		Mode:     int64(hostfile.ParseMode(rec.Mode)),
		Uid:      int(rec.UID),
		Gid:      int(rec.GID),
		ModTime:  time.Unix(0, 0),
	}
	if typ == paxtar.TypeReg {
		h.Size = rec.Size
	} else {
		h.Linkname = linkBytes(rec)
	}
	if rec.Mtime != nil {
		h.ModTime = *rec.Mtime
	}
	if rec.Atime != nil {
		h.AccessTime = *rec.Atime
	}
	if rec.Ctime != nil {
		h.ChangeTime = *rec.Ctime
	}
	return h
}

// storeAgain stores a file that was read for its hash only and turned out
// to look out of place: it is read a second time, into the tar; a second
// read that differs from the first is recorded.
func (r *FileReader) storeAgain(ctx context.Context, tw *paxtar.Writer, fw *frameWriter, p *pending, rec custody.File) (custody.File, error) {
	if err := paxtar.CheckName(custody.TarName(rec.Path)); err != nil {
		rec.Error = "not stored: " + err.Error()
		return rec, nil
	}
	h := tarHeader(rec, paxtar.TypeReg)
	if p.ext != nil {
		h.Data = make([]paxtar.Extent, len(p.ext))
		for i, x := range p.ext {
			h.Data[i] = paxtar.Extent(x)
		}
	}
	if err := tw.WriteHeader(h); err != nil {
		return rec, err
	}
	rec.Stored = true
	sum := sha256x.New()
	var n int64
	var rerr, werr error
	switch {
	case p.ext != nil:
		n, _, rerr, werr = copySparse(tw, sum, p.f, rec.Size, p.ext, r.copyLimits(ctx))
	case fw != nil:
		fw.tee(sum)
		n, rerr, werr = copyData(tw, p.f, 0, rec.Size, r.copyLimits(ctx))
		fw.tee(nil)
	default:
		n, rerr, werr = copyData(io.MultiWriter(tw, sum), p.f, 0, rec.Size, r.copyLimits(ctx))
	}
	if werr != nil {
		return rec, werr
	}
	if n < rec.Size {
		short, err := short(tw, true, rec, n, rerr)
		short.Error = "second read (to store it): " + short.Error
		return short, err
	}
	if hex.EncodeToString(sum.Sum(nil)) != rec.SHA256 {
		rec.Error = "changed between the read that hashed it and the read that stored it: the stored copy is the second"
	}
	return rec, nil
}
