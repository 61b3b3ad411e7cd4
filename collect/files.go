package collect

import (
	"context"
	"strings"
	"sync/atomic"
	"time"

	"github.com/custos-ir/custos/collect/hostfile"
)

// Files is a tar of the files matching Patterns, minus Excludes, and of
// each of Groups (which may take files with other options).
type Files struct {
	Name     string
	Patterns []string
	Excludes []string
	Options  FileOptions
	Groups   []FileGroup
	// Failures and Notes are what planning found (a configuration that
	// names a folder that is gone, a registry key without access): they
	// go into the artifact's record as errors and warnings.
	Failures, Notes []string
	Kind            string // "files" unless set
}

// FileGroup is one set of patterns with its own options.
type FileGroup struct {
	Patterns []string
	Excludes []string
	Options  FileOptions
}

func (f *Files) groups() []FileGroup {
	var gs []FileGroup
	if len(f.Patterns) > 0 {
		gs = append(gs, FileGroup{f.Patterns, f.Excludes, f.Options})
	}
	return append(gs, f.Groups...)
}

func (f *Files) Describe() Description {
	kind := f.Kind
	if kind == "" {
		kind = "files"
	}
	var src []string
	for _, g := range f.groups() {
		src = append(src, g.Patterns...)
	}
	return Description{Name: f.Name, Kind: kind, Format: "tar", Sources: src, Method: "statx+read"}
}

// prefetch bounds how many files the walking stage runs ahead: with
// smallMax bytes each at most, 4 MiB per files artifact.
const prefetch = 32

// walkResult is how the walking stage ended.
type walkResult struct {
	matched int
	err     error
}

// Collect runs two stages: this goroutine archives in order what a second
// one walks, stats, opens and (for small files) reads ahead, at most
// prefetch files ahead. A walk that stops moving (a read stuck in the
// kernel on a dead mount) is abandoned after --file-timeout: what was
// taken is kept, and the record says where it stuck.
func (f *Files) Collect(ctx context.Context, e *Emitter) error {
	for _, m := range f.Failures {
		e.Fail("%s", m)
	}
	for _, m := range f.Notes {
		e.Warn("%s", m)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan *pending, prefetch)
	done := make(chan walkResult, 1)
	var at atomic.Pointer[string] // what the walk is looking at
	go f.walk(ctx, e, ch, done, &at)
	err, stuck := f.archive(ctx, e, ch)
	if err != nil { // the tar or the store failed: the artifact ends
		cancel()
		for pd := range ch {
			pd.release()
		}
		return err
	}
	if stuck {
		cancel()
		go func() { // whatever the walk still hands over
			for pd := range ch {
				pd.release()
			}
		}()
		p := "?"
		if s := at.Load(); s != nil {
			p = *s
		}
		e.Fail("the walk did not move for %s at %s (a read stuck, e.g. on a dead network mount): abandoned there; what it had not reached is not recorded", e.files.stallAfter(), p)
		return nil
	}
	res := <-done
	switch {
	case res.err != nil && timedOut(ctx):
		e.Fail("walk stopped at --source-timeout: what it had not reached is not recorded")
	case res.err != nil:
		return res.err
	case res.matched == 0:
		e.Warn("no file matched %s", strings.Join(f.Describe().Sources, ", "))
	}
	return nil
}

// archive is the second stage: it writes what ch hands over into the tar,
// in order, until ch closes, the tar fails (err), or the walk stalls
// (stuck).
func (f *Files) archive(ctx context.Context, e *Emitter, ch <-chan *pending) (err error, stuck bool) {
	tw := e.tarWriter()
	stall := e.files.stallTimer(ctx)
	defer stall.Stop()
	for {
		var pd *pending
		var ok bool
		select {
		case pd, ok = <-ch:
		case <-stall.C:
			return nil, true
		}
		if !ok {
			return nil, false
		}
		e.region(pd.rec.Path)
		rec, err := e.files.write(ctx, tw, e.frames, pd)
		e.addRecord(rec)
		if err != nil {
			return err, false
		}
		e.files.resetStall(ctx, stall)
	}
}

// walk is the first stage: it hands prepared files to ch, then its result
// to done. Abandoned, it touches nothing the Emitter's owner reads.
func (f *Files) walk(ctx context.Context, e *Emitter, ch chan<- *pending, done chan<- walkResult, at *atomic.Pointer[string]) {
	defer close(ch)
	var res walkResult
	defer func() { done <- res }()
	vis := hostfile.NewVisited() // each file once in the artifact
	for _, g := range f.groups() {
		opt := hostfile.WalkOptions{Excludes: g.Excludes, Links: g.Options.Links, Visited: vis}
		sel := newSelector(g, e.files.Limits)
		res.err = hostfile.Walk(ctx, g.Patterns, opt, func(en *hostfile.Entry) error {
			if !sel.wanted(en) {
				return nil
			}
			if en.Err == nil {
				res.matched++
			}
			p := hostfile.RecordPath(en.Path)
			at.Store(&p)
			pd := e.files.prepare(en, g.Options, &e.budget, !g.Options.HashOnly)
			sel.mark(en, pd)
			markSensitive(pd, g.Options.Sensitive)
			select {
			case ch <- pd:
				return nil
			case <-ctx.Done():
				pd.release()
				return ctx.Err()
			}
		})
		if res.err != nil {
			return
		}
		if sel.unchanged > 0 {
			e.Warn("%d files not changed since %s: not recorded (only what changed is taken here)", sel.unchanged, sel.since.UTC().Format(time.RFC3339))
		}
	}
}

// stallAfter is how long a walk may stay on one entry: --file-timeout.
func (r *FileReader) stallAfter() time.Duration {
	if r.Limits == nil {
		return 0
	}
	return r.Limits.FileTimeout
}

// stallTimer fires when the walk has not handed over a file for
// stallAfter, or a while after the source's deadline; it never fires
// without either.
func (r *FileReader) stallTimer(ctx context.Context) *time.Timer {
	t := time.NewTimer(time.Hour)
	r.resetStall(ctx, t)
	return t
}

func (r *FileReader) resetStall(ctx context.Context, t *time.Timer) {
	d := r.stallAfter()
	if dl, ok := ctx.Deadline(); ok {
		if until := time.Until(dl) + stallGrace; d == 0 || until < d {
			d = max(until, stallGrace)
		}
	}
	if d == 0 {
		d = 1<<63 - 1
	}
	t.Reset(d)
}

// stallGrace is how long after the source's deadline a walk may take to
// notice it.
var stallGrace = 5 * time.Second
