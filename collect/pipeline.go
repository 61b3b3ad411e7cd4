package collect

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"

	"github.com/custos-ir/custos/collect/ioc"
	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/iox"
	"github.com/custos-ir/custos/storage"
)

// Pipeline stores artifacts of one collection.
type Pipeline struct {
	Store      storage.Store
	Prefix     string // collection prefix in the store, ending in "/"
	Recipients []age.Recipient
	// Options gives the store options (tags, retention) for an artifact's
	// object; nil means none.
	Options func(name string) storage.CreateOptions
	Files   *FileReader
	Report  Reporter
	Limits  *Limits // may be nil
	// Indicators are looked for in every artifact's plaintext and in the
	// hashes of what is read (nil: none); Cards counts card-like numbers
	// (nil: not looked for).
	Indicators *ioc.List
	Cards      Counter

	enc *zstd.Encoder
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Run collects one source into one object and returns its record. It never
// returns an error: failures are in the record.
func (p *Pipeline) Run(ctx context.Context, seq int, src Source) custody.Artifact {
	d := src.Describe()
	art := custody.Artifact{
		Name: d.Name, Kind: d.Kind, Format: d.Format, Sources: d.Sources, Method: d.Method,
		Started: time.Now().UTC(),
	}
	p.report(Event{Type: EventStart, Artifact: d.Name, Seq: seq})
	enc, err := p.encoder()
	switch {
	case err != nil:
	case p.Limits != nil && p.Limits.SourceTimeout > 0:
		err = p.runWithTimeout(ctx, seq, d, src, &art, p.Limits.SourceTimeout, enc)
	default:
		err = p.run(ctx, ctx, seq, d, src, &art, enc)
	}
	art.Finished = time.Now().UTC()
	switch {
	case err != nil:
		art.Status = custody.StatusFailed
		art.Key = ""
		art.Stored = nil
		art.Plain, art.Cipher = custody.Digested{}, custody.Digested{}
		art.Errors = append(art.Errors, err.Error())
	case len(art.Errors) > 0 || art.AnyFileError():
		art.Status = custody.StatusPartial
	default:
		art.Status = custody.StatusOK
	}
	p.report(Event{Type: EventDone, Artifact: d.Name, Seq: seq, Status: art.Status,
		Bytes: art.Plain.Size, Stored: art.Cipher.Size, Err: firstErr(art.Errors)})
	return art
}

// encoder returns the pipeline's zstd encoder, made on first use and reused
// for every artifact it runs (only from the pipeline's own goroutine).
func (p *Pipeline) encoder() (*zstd.Encoder, error) {
	if p.enc == nil {
		enc, err := zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)),
			zstd.WithWindowSize(frameSize), // frames are compressed alone: a longer window only costs memory
			zstd.WithZeroFrames(true),      // an empty artifact is still a valid zstd stream
			// No XXH64 in each frame: age authenticates every 64 KiB of the
			// compressed stream and the manifest's SHA-256 covers what it
			// decompresses to; a third check cost 2% of the collection's CPU.
			zstd.WithEncoderCRC(false))
		if err != nil {
			return nil, err
		}
		p.enc = enc
	}
	return p.enc, nil
}

// run collects src into one object: the source reads under sctx (which may
// end early, at --source-timeout), the store is written under ctx.
func (p *Pipeline) run(ctx, sctx context.Context, seq int, d Description, src Source, art *custody.Artifact, enc *zstd.Encoder) (err error) {
	if !nameRE.MatchString(d.Name) {
		return fmt.Errorf("invalid artifact name %q", d.Name)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("not collected: %w", err)
	}
	art.Key = custody.ArtifactKey(seq, d.Name, d.Format)
	var opts storage.CreateOptions
	if p.Options != nil {
		opts = p.Options(d.Name)
	}
	ow, err := p.Store.Create(ctx, p.Prefix+art.Key, opts)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			ow.Abort()
		}
	}()
	files := &filesObject{p: p, ctx: ctx, opts: opts}
	defer files.abort()
	art.SpillFiles(files.create)

	// age writes its header a line at a time: batch writes before the store
	// (fewer syscalls, fewer stream frames, fewer tiny S3 buffers).
	bw := bufio.NewWriterSize(ow, 256<<10)
	var sink io.Writer = bw
	if p.Limits != nil {
		sink = p.Limits.UploadRate.Writer(ctx, bw)
	}
	cipher := iox.NewDigestWriter(sink)
	aw, err := age.Encrypt(cipher, p.Recipients...)
	if err != nil {
		return fmt.Errorf("age: %w", err)
	}
	// Frames are compressed on up to GOMAXPROCS (--cpu) goroutines and
	// written in order by one more.
	// Indicators and card-like numbers are looked for in each chunk there
	// too, without a second pass.
	scan := newContentScan(p.Indicators, p.Cards, d.Kind == "live")
	frames := newFrameWriter(aw, enc, runtime.GOMAXPROCS(0), scan)
	// The plaintext is hashed as it is written: a file's content in the
	// same pass as its own digest (frameWriter.tee).

	prog := &progress{p: p, name: d.Name, seq: seq}
	e := &Emitter{w: frames, art: art, files: p.Files, onBytes: prog.add, scan: scan, frames: frames}
	if p.Limits != nil {
		e.budget.max = p.Limits.MaxArtifact
	}
	if e.files == nil {
		e.files = &FileReader{}
	}
	cerr := src.Collect(sctx, e)
	if cerr == nil {
		cerr = e.finish()
	}
	// Close the chain in order even after an error, so the goroutines end.
	ferr := frames.Close()
	// The file records taken are kept whatever became of the rest, and
	// before the artifact: records that cannot be stored fail it, rather
	// than leave a stored artifact nothing describes.
	if lerr := files.finish(ctx, art); lerr != nil {
		if cerr == nil {
			cerr = lerr
		} else {
			art.Errors = append(art.Errors, lerr.Error())
		}
	}
	if cerr != nil {
		return cerr
	}
	if ferr != nil {
		return fmt.Errorf("compress/encrypt/store: %w", ferr)
	}
	if err := aw.Close(); err != nil {
		return fmt.Errorf("age: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	var warn string
	art.Hits, art.CardLike, warn = scan.result(d.Name)
	if art.CardLike > 0 {
		art.Warnings = append(art.Warnings, fmt.Sprintf("FLAG card data: %d card-like numbers (13-19 digits, a card brand's prefix, the Luhn check) in the plaintext: handle this artifact as cardholder data (PCI DSS)", art.CardLike))
	}
	if warn != "" {
		art.Warnings = append(art.Warnings, warn)
	}
	art.Plain = custody.Digested{Size: frames.Offset(), SHA256: frames.plainSum()}
	art.Cipher = custody.Digested{Size: cipher.N, SHA256: cipher.Sum()}
	info, err := ow.Commit(ctx, storage.Digest(art.Cipher.SHA256))
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	committed = true
	art.Stored, err = confirmed(info, art.Key, cipher.N)
	return err
}

// confirmed is what the store confirmed of the object key of size bytes
// it just committed, as custody records it (nil for a place that confirms
// nothing, a directory).
func confirmed(info storage.ObjectInfo, key string, size int64) (*custody.Object, error) {
	if info.Size != size {
		// The store took a different number of bytes than we wrote: the
		// object is there but cannot be trusted; say so loudly.
		return nil, fmt.Errorf("store: %s holds %d bytes, %d were written", info.Key, info.Size, size)
	}
	info.Key = key
	if info.VersionID == "" && info.Retention == nil && len(info.Tags) == 0 && info.ETag == "" {
		return nil, nil
	}
	o := ObjectRecord(info)
	return &o, nil
}

// filesObject is where an artifact's file records go once there are more
// than a manifest should hold (custody.SpillFiles): an object of their
// own beside the artifact, written as the files are taken.
type filesObject struct {
	p    *Pipeline
	ctx  context.Context
	opts storage.CreateOptions
	w    storage.ObjectWriter
}

func (f *filesObject) create(key string) (io.Writer, error) {
	w, err := f.p.Store.Create(f.ctx, f.p.Prefix+key, f.opts)
	if err != nil {
		return nil, err
	}
	f.w = w
	return w, nil
}

// finish commits the object, if the records went to one, and records what
// the store confirmed of it.
func (f *filesObject) finish(ctx context.Context, art *custody.Artifact) error {
	spilled, err := art.EndFiles()
	if !spilled {
		return nil
	}
	if err != nil {
		return fmt.Errorf("file records not stored: %w", err)
	}
	fo := art.FilesObject
	info, err := f.w.Commit(ctx, storage.Digest(fo.SHA256))
	if err != nil {
		art.FilesObject = nil
		return fmt.Errorf("file records not stored (%d of them): %s: %w", fo.Records, fo.Key, err)
	}
	f.w = nil
	fo.Stored, err = confirmed(info, fo.Key, fo.Size)
	return err
}

func (f *filesObject) abort() {
	if f.w != nil {
		f.w.Abort()
	}
}

// runWithTimeout runs an artifact with a deadline. At the deadline the
// source's context ends (cause errSourceTimeout): a source that notices
// stores what it took and records what it did not; one that does not
// return anyway (a read stuck in the kernel, on a dead NFS or FUSE mount)
// is abandoned after a grace period: its goroutine is left behind with its
// own record and encoder, and the collection goes on.
func (p *Pipeline) runWithTimeout(ctx context.Context, seq int, d Description, src Source, art *custody.Artifact, limit time.Duration, enc *zstd.Encoder) error {
	sctx, cancel := context.WithDeadlineCause(ctx, time.Now().Add(limit), errSourceTimeout)
	defer cancel()
	own := *art
	done := make(chan error, 1)
	go func() { done <- p.run(ctx, sctx, seq, d, src, &own, enc) }()
	grace := time.NewTimer(limit + abandonGrace)
	defer grace.Stop()
	select {
	case err := <-done:
		*art = own
		if err != nil && timedOut(sctx) && ctx.Err() == nil {
			return fmt.Errorf("timed out after %s (--source-timeout): not stored (%v)", limit, err)
		}
		return err
	case <-grace.C:
		p.enc = nil
		return fmt.Errorf("did not return within %s of --source-timeout %s (a read may be stuck, e.g. on a dead network mount): abandoned, not stored", abandonGrace, limit)
	}
}

// abandonGrace is how long a timed-out source gets to notice.
var abandonGrace = 10 * time.Second

func firstErr(errs []string) string {
	if len(errs) == 0 {
		return ""
	}
	return errs[len(errs)-1]
}

func (p *Pipeline) report(ev Event) {
	if p.Report != nil {
		ev.Time = time.Now()
		p.Report.Event(ev)
	}
}

type progress struct {
	p    *Pipeline
	name string
	seq  int
	n    int64
	last time.Time
}

func (g *progress) add(n int64) {
	g.n += n
	if g.p.Report == nil {
		return
	}
	if now := time.Now(); now.Sub(g.last) > 200*time.Millisecond {
		g.last = now
		g.p.report(Event{Type: EventProgress, Artifact: g.name, Seq: g.seq, Bytes: g.n})
	}
}

// ObjectRecord is what a store confirmed of an object, as custody
// records it (an artifact's "stored", a listing's versions).
func ObjectRecord(info storage.ObjectInfo) custody.Object {
	o := custody.Object{Key: info.Key, Size: info.Size, SHA256: custody.Digest(info.SHA256), VersionID: info.VersionID,
		ETag: info.ETag, Tags: info.Tags, Confirmed: info.Confirmed, Modified: info.Modified, DeleteMarker: info.DeleteMarker}
	if info.Retention != nil {
		o.Retention = &custody.Retention{Mode: info.Retention.Mode, Until: info.Retention.Until}
	}
	return o
}
