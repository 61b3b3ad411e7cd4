package windows

// The last method for an event log (.evtx under
// C:\Windows\System32\winevt\Logs) that no byte copy can read: its events
// rendered as XML in two passes. The pure logic, tested on any OS; the
// Event Log API calls are in evtlog_windows.go, the chain in copy.go.

// WriteEventsXML writes the events of one log as one XML document:
//
//	<Events log="Security">
//	<Event ...>...</Event>
//	<Event ...>...</Event>
//	</Events>
//
// each event as rendered (EvtRenderEventXml) on its own line. It returns
// the bytes written; on a write error it stops pulling events.
import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

func WriteEventsXML(w io.Writer, logName string, events func(yield func(string) bool)) (int64, error) {
	var total int64
	var werr error
	write := func(s string) bool {
		n, err := io.WriteString(w, s)
		total += int64(n)
		if err == nil && n < len(s) {
			err = io.ErrShortWrite
		}
		werr = err
		return err == nil
	}
	var attr bytes.Buffer
	xml.EscapeText(&attr, []byte(logName)) // writes to a bytes.Buffer: no error
	if !write(`<Events log="` + attr.String() + "\">\n") {
		return total, werr
	}
	if events != nil {
		events(func(ev string) bool {
			return write(ev) && write("\n")
		})
	}
	if werr != nil {
		return total, werr
	}
	write("</Events>\n")
	return total, werr
}

// eventRecordID reads <EventRecordID>n</EventRecordID> from a rendered
// event.
func eventRecordID(ev string) (uint64, bool) {
	const tag = "<EventRecordID>"
	i := strings.Index(ev, tag)
	if i < 0 {
		return 0, false
	}
	rest := ev[i+len(tag):]
	j := strings.IndexByte(rest, '<')
	if j < 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(rest[:j]), 10, 64)
	return n, err == nil
}

// channelName is the event log channel a log file under winevt\Logs holds
// by default: the file name without .evtx, %4 standing for /
// ("Microsoft-Windows-PowerShell%4Operational.evtx" is
// "Microsoft-Windows-PowerShell/Operational").
func channelName(path string) string {
	base := path
	if i := strings.LastIndexAny(base, `\/`); i >= 0 {
		base = base[i+1:]
	}
	if strings.HasSuffix(strings.ToLower(base), ".evtx") {
		base = base[:len(base)-len(".evtx")]
	}
	return strings.ReplaceAll(base, "%4", "/")
}

// driveOf returns the drive ("C:") of an absolute path on a drive letter:
// C:\..., or \\?\C:\....
func driveOf(path string) (string, error) {
	p := path
	if strings.HasPrefix(p, `\\?\`) || strings.HasPrefix(p, `\\.\`) {
		p = p[4:]
	}
	if len(p) < 3 || p[1] != ':' || (p[2] != '\\' && p[2] != '/') ||
		!('a' <= p[0] && p[0] <= 'z' || 'A' <= p[0] && p[0] <= 'Z') {
		return "", fmt.Errorf("%s is not an absolute path on a drive letter", path)
	}
	return strings.ToUpper(p[:1]) + ":", nil
}

// eventQuery runs one query over a log's events, oldest first, giving each
// rendered event to yield until yield returns false. maxID > 0 keeps only
// the events whose EventRecordID is at most maxID.
type eventQuery func(ctx context.Context, maxID uint64, yield func(string) bool) error

// openTwoPass exports a log as XML (WriteEventsXML) when the caller needs
// the size before the bytes, without holding the events in memory. Pass 1
// renders every event and only counts the bytes (and hashes them), noting
// the highest EventRecordID; pass 2, run when R is first read, queries
// again for EventRecordID <= that highest and streams the same rendering.
// Events written after pass 1 are thus left out; if pass 2 still differs
// (old events overwritten, the query failing), R is cut or zero-padded to
// Size and R's Close says the log changed between passes. ctx bounds both
// passes.
func openTwoPass(ctx context.Context, logName string, q eventQuery) (*FileCopy, error) {
	var maxID uint64
	var count int64
	var qerr, stop error
	h := sha256.New()
	size, err := WriteEventsXML(h, logName, func(yield func(string) bool) {
		qerr = q(ctx, 0, func(ev string) bool {
			if err := ctx.Err(); err != nil {
				stop = err
				return false
			}
			id, ok := eventRecordID(ev)
			if !ok {
				stop = fmt.Errorf("event %d has no EventRecordID", count+1)
				return false
			}
			maxID = max(maxID, id)
			count++
			return yield(ev)
		})
	})
	switch {
	case err != nil:
		return nil, err
	case stop != nil:
		return nil, stop
	case qerr != nil:
		return nil, qerr
	}
	t := &twoPassReader{ctx: ctx, logName: logName, q: q, size: size, maxID: maxID, events: count, sum: h.Sum(nil)}
	return &FileCopy{Method: "evt-export-xml", Format: "xml", Size: size, R: t}, nil
}

type twoPassReader struct {
	ctx     context.Context
	logName string
	q       eventQuery
	size    int64
	maxID   uint64
	events  int64
	sum     []byte

	mu      sync.Mutex
	started bool
	closed  bool
	pr      *io.PipeReader
	done    chan struct{}
	err     error // pass 2's verdict, set before done is closed
}

var errReadAfterClose = errors.New("read after close")

func (t *twoPassReader) Read(p []byte) (int, error) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return 0, errReadAfterClose
	}
	if !t.started {
		t.started = true
		pr, pw := io.Pipe()
		t.pr, t.done = pr, make(chan struct{})
		go func() {
			defer close(t.done)
			t.err = t.pass2(pw)
			pw.Close()
		}()
	}
	pr := t.pr
	t.mu.Unlock()
	return pr.Read(p)
}

// Close stops pass 2 if the caller stopped reading early, and reports
// whether pass 2 reproduced pass 1.
func (t *twoPassReader) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	started := t.started
	t.mu.Unlock()
	if !started {
		return nil
	}
	t.pr.Close()
	<-t.done
	if errors.Is(t.err, io.ErrClosedPipe) {
		return nil // the caller stopped reading: not the log's doing
	}
	return t.err
}

func (t *twoPassReader) pass2(pw *io.PipeWriter) error {
	h := sha256.New()
	fw := &fitWriter{w: pw, left: t.size}
	var qerr, stop error
	n, werr := WriteEventsXML(io.MultiWriter(h, fw), t.logName, func(yield func(string) bool) {
		if t.events == 0 {
			return
		}
		qerr = t.q(t.ctx, t.maxID, func(ev string) bool {
			if err := t.ctx.Err(); err != nil {
				stop = err
				return false
			}
			return yield(ev)
		})
	})
	if werr != nil {
		return werr // the reader went away
	}
	if pad := t.size - fw.written; pad > 0 {
		zeros := make([]byte, min(pad, 64<<10))
		for pad > 0 {
			k, err := pw.Write(zeros[:min(pad, int64(len(zeros)))])
			if err != nil {
				return err
			}
			pad -= int64(k)
		}
	}
	if stop == nil {
		stop = qerr
	}
	switch {
	case stop != nil:
		return fmt.Errorf("the second pass over the log failed after %d of %d bytes (the rest is zeros): %w", min(n, t.size), t.size, stop)
	case n < t.size:
		return fmt.Errorf("the log changed between passes: the second rendered %d bytes, not %d (zero-padded to %d)", n, t.size, t.size)
	case n > t.size:
		return fmt.Errorf("the log changed between passes: the second rendered %d bytes, not %d (cut to %d)", n, t.size, t.size)
	case !bytes.Equal(h.Sum(nil), t.sum):
		return fmt.Errorf("the log changed between passes: the second rendered the same %d bytes but different events", n)
	}
	return nil
}

// fitWriter passes the first left bytes to w and counts, then drops.
type fitWriter struct {
	w       io.Writer
	left    int64
	written int64
}

func (f *fitWriter) Write(p []byte) (int, error) {
	if k := min(int64(len(p)), f.left); k > 0 {
		m, err := f.w.Write(p[:k])
		f.written += int64(m)
		f.left -= int64(m)
		if err != nil {
			return m, err
		}
	}
	return len(p), nil
}
