package windows

// Copying event logs (.evtx under C:\Windows\System32\winevt\Logs) that the
// EventLog service holds open without sharing read access. OpenLog tries
// the platform's methods (LogMethods) in order; this file holds the types,
// the "shared-read" method and the pure logic of the fallbacks (NTFS
// extents, sector-aligned volume reads, the two-pass XML export), which is
// tested on any OS. evtlog_windows.go holds the system calls.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// LogCopy is one way of reading an event log, opened and ready to read.
//
// R yields exactly Size bytes. If the source ends or fails before Size
// bytes (the log changed, the volume could not be read), the rest is zeros
// and R's Close returns the error: a caller that has written a tar header
// of Size bytes always gets a well-formed entry, and must check Close.
type LogCopy struct {
	Method string // "shared-read", "raw-ntfs", "evt-export-xml"
	Format string // "evtx" for byte copies of the file, "xml" for rendered events
	Size   int64  // exactly the number of bytes R gives (the caller writes a tar header first)
	R      io.ReadCloser
}

// LogMethod tries one way; an error says why it could not.
type LogMethod struct {
	Name string
	Open func(ctx context.Context, path string) (*LogCopy, error)
}

// OpenLog tries methods in order and returns the first that opens, plus a
// one-line reason for every method that failed before it ("shared-read:
// The process cannot access the file because it is being used by another
// process."). If all fail, the error joins every reason (and the context's
// error if it was cancelled before every method was tried).
func OpenLog(ctx context.Context, path string, methods []LogMethod) (*LogCopy, []string, error) {
	var reasons []string
	var errs []error
	for _, m := range methods {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		c, err := m.Open(ctx, path)
		if err == nil && (c == nil || c.R == nil) {
			err = errors.New("opened nothing to read")
		}
		if err != nil {
			if c != nil && c.R != nil {
				c.R.Close()
			}
			e := fmt.Errorf("%s: %w", m.Name, err)
			reasons = append(reasons, oneLine(e.Error()))
			errs = append(errs, e)
			continue
		}
		if c.Method == "" {
			c.Method = m.Name
		}
		return c, reasons, nil
	}
	if len(errs) == 0 {
		return nil, reasons, errors.New("no method to read an event log")
	}
	return nil, reasons, oneLineErrs{strings.Join(reasons, "; "), errs}
}

// oneLineErrs reads as one line (a record's error) and still unwraps to
// every method's error.
type oneLineErrs struct {
	msg  string
	errs []error
}

func (e oneLineErrs) Error() string   { return e.msg }
func (e oneLineErrs) Unwrap() []error { return e.errs }

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

// sharedReadMethod opens the file like any other. On Windows Go's os.Open
// already asks for FILE_SHARE_READ|FILE_SHARE_WRITE, so this fails only
// when the holder of the file denies read sharing (the live logs).
var sharedReadMethod = LogMethod{Name: "shared-read", Open: openSharedRead}

func openSharedRead(ctx context.Context, path string) (*LogCopy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, unwrapPath(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, unwrapPath(err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	size := fi.Size()
	return &LogCopy{Method: "shared-read", Format: "evtx", Size: size, R: newExactReader(f, size, f.Close)}, nil
}

// unwrapPath drops the "open <path>:" of a *fs.PathError: the caller knows
// the path, and the reason reads "shared-read: <what Windows said>".
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// exactReader yields exactly size bytes of r. A longer source is cut at
// size (a log that grew after its size was taken: not an error); a shorter
// or failing one is padded with zeros, and Close reports why.
type exactReader struct {
	r      io.Reader
	size   int64
	left   int64
	err    error // why the source ended early; from then on, zeros
	closer func() error
}

func newExactReader(r io.Reader, size int64, closer func() error) *exactReader {
	return &exactReader{r: r, size: size, left: size, closer: closer}
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	if e.err == nil {
		n, err := e.r.Read(p)
		e.left -= int64(n)
		if err != nil && e.left > 0 {
			if err == io.EOF {
				e.err = fmt.Errorf("the source ended %d bytes short of the %d announced; the rest is zeros", e.left, e.size)
			} else {
				e.err = fmt.Errorf("reading at byte %d of %d: %w; the rest is zeros", e.size-e.left, e.size, err)
			}
		}
		if n > 0 || e.err == nil {
			return n, nil
		}
	}
	clear(p)
	e.left -= int64(len(p))
	return len(p), nil
}

func (e *exactReader) Close() error {
	var cerr error
	if e.closer != nil {
		cerr = e.closer()
		e.closer = nil
	}
	return errors.Join(e.err, cerr)
}

// Extent is one run of a file's clusters: Clusters clusters from virtual
// cluster VCN of the file stored from logical cluster LCN of the volume.
// LCN -1 is a sparse run (no clusters on the volume; reads as zeros).
type Extent struct{ VCN, LCN, Clusters int64 }

// ExtentReader reads a file from its volume through the file's extents:
// exactly fileSize bytes, cluster n of the file being read at byte
// LCN*clusterSize of vol (NTFS numbers clusters from the start of the
// volume), sparse runs as zeros. A part of the file that no extent maps,
// invalid extents, or a short read of the volume is an error (never
// silently zeros). The extents may come in any order.
func ExtentReader(vol io.ReaderAt, extents []Extent, clusterSize, fileSize int64) io.Reader {
	ex := slices.Clone(extents)
	slices.SortFunc(ex, func(a, b Extent) int {
		switch {
		case a.VCN < b.VCN:
			return -1
		case a.VCN > b.VCN:
			return 1
		}
		return 0
	})
	r := &extentReader{vol: vol, ex: ex, cs: clusterSize, size: fileSize}
	r.err = r.check()
	return r
}

type extentReader struct {
	vol      io.ReaderAt
	ex       []Extent
	cs, size int64
	pos      int64
	i        int
	err      error
}

func (r *extentReader) check() error {
	if r.cs <= 0 {
		return fmt.Errorf("invalid cluster size %d", r.cs)
	}
	if r.size < 0 {
		return fmt.Errorf("invalid file size %d", r.size)
	}
	end := int64(0)
	for _, e := range r.ex {
		switch {
		case e.VCN < 0 || e.Clusters <= 0 || e.LCN < -1:
			return fmt.Errorf("invalid extent VCN %d LCN %d clusters %d", e.VCN, e.LCN, e.Clusters)
		case e.VCN < end:
			return fmt.Errorf("extents overlap at VCN %d", e.VCN)
		case e.VCN > math.MaxInt64/r.cs-e.Clusters || e.LCN > math.MaxInt64/r.cs-e.Clusters:
			return fmt.Errorf("extent VCN %d LCN %d clusters %d overflows", e.VCN, e.LCN, e.Clusters)
		}
		end = e.VCN + e.Clusters
	}
	return nil
}

func (r *extentReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.pos >= r.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	vcn := r.pos / r.cs
	for r.i < len(r.ex) && r.ex[r.i].VCN+r.ex[r.i].Clusters <= vcn {
		r.i++
	}
	if r.i == len(r.ex) || r.ex[r.i].VCN > vcn {
		r.err = fmt.Errorf("no extent maps cluster %d (file offset %d of %d)", vcn, r.pos, r.size)
		return 0, r.err
	}
	e := r.ex[r.i]
	end := min((e.VCN+e.Clusters)*r.cs, r.size)
	n := int(min(int64(len(p)), end-r.pos))
	p = p[:n]
	if e.LCN == -1 {
		clear(p)
	} else {
		off := e.LCN*r.cs + (r.pos - e.VCN*r.cs)
		m, err := r.vol.ReadAt(p, off)
		if m < n {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			r.pos += int64(m)
			r.err = fmt.Errorf("reading the volume at byte %d (file offset %d): %w", off+int64(m), r.pos, err)
			return m, r.err
		}
	}
	r.pos += int64(n)
	return n, nil
}

// extentsCover is how many bytes of a file the extents map (sparse runs
// included).
//
//lint:ignore U1000 used by the raw NTFS reader (evtlog_windows.go)
func extentsCover(extents []Extent, clusterSize int64) int64 {
	var n int64
	for _, e := range extents {
		n += e.Clusters
	}
	return n * clusterSize
}

// ParseRetrievalPointers decodes the RETRIEVAL_POINTERS_BUFFER that
// FSCTL_GET_RETRIEVAL_POINTERS returns (winioctl.h; MS-FSCC 2.3.32):
//
//	DWORD         ExtentCount;   // offset 0
//	(4 bytes of padding: LARGE_INTEGER is 8-byte aligned)
//	LARGE_INTEGER StartingVcn;   // offset 8
//	struct { LARGE_INTEGER NextVcn; LARGE_INTEGER Lcn; } Extents[ExtentCount]; // offset 16, 16 bytes each
//
// all little-endian. An extent runs from the previous NextVcn (StartingVcn
// for the first) to its own NextVcn; Lcn -1 is a sparse run or the
// unallocated part of a compression unit.
func ParseRetrievalPointers(buf []byte) (startVCN int64, extents []Extent, err error) {
	if len(buf) < 16 {
		return 0, nil, fmt.Errorf("retrieval pointers: %d bytes, need at least 16", len(buf))
	}
	count := int64(binary.LittleEndian.Uint32(buf[0:4]))
	startVCN = int64(binary.LittleEndian.Uint64(buf[8:16]))
	if need := 16 + 16*count; int64(len(buf)) < need {
		return 0, nil, fmt.Errorf("retrieval pointers: %d extents need %d bytes, have %d", count, need, len(buf))
	}
	if startVCN < 0 {
		return 0, nil, fmt.Errorf("retrieval pointers: negative starting VCN %d", startVCN)
	}
	extents = make([]Extent, 0, count)
	prev := startVCN
	for i := range count {
		b := buf[16+16*i:]
		next := int64(binary.LittleEndian.Uint64(b[0:8]))
		lcn := int64(binary.LittleEndian.Uint64(b[8:16]))
		if next <= prev {
			return 0, nil, fmt.Errorf("retrieval pointers: extent %d ends at VCN %d, not after %d", i, next, prev)
		}
		if lcn < -1 {
			return 0, nil, fmt.Errorf("retrieval pointers: extent %d has LCN %d", i, lcn)
		}
		extents = append(extents, Extent{VCN: prev, LCN: lcn, Clusters: next - prev})
		prev = next
	}
	return startVCN, extents, nil
}

// sectorReaderAt reads a device that only takes sector-aligned reads (a
// Windows volume handle): it reads whole aligned blocks into a buffer
// aligned in memory too, and copies out the range asked for. A block that
// cannot be read whole (the end of the volume) is retried one sector at a
// time. Not safe for concurrent use.
type sectorReaderAt struct {
	r             io.ReaderAt
	block, sector int64
	buf           []byte
	bufOff        int64
	bufLen        int64
}

// newSectorReaderAt: block must be a multiple of sector, sector > 0.
func newSectorReaderAt(r io.ReaderAt, block, sector int64) *sectorReaderAt {
	if sector <= 0 {
		sector = 512
	}
	if block < sector || block%sector != 0 {
		block = sector * max(1, block/sector)
	}
	return &sectorReaderAt{r: r, block: block, sector: sector, buf: alignedBuffer(int(block), 4096)}
}

// alignedBuffer returns n bytes whose address is a multiple of align (Go's
// heap does not move objects).
func alignedBuffer(n, align int) []byte {
	b := make([]byte, n+align)
	off := 0
	if rem := int(uintptr(unsafe.Pointer(&b[0])) % uintptr(align)); rem != 0 {
		off = align - rem
	}
	return b[off : off+n : off+n]
}

func (s *sectorReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset %d", off)
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if s.bufLen == 0 || pos < s.bufOff || pos >= s.bufOff+s.bufLen {
			if err := s.fill(pos); err != nil {
				return n, err
			}
		}
		n += copy(p[n:], s.buf[pos-s.bufOff:s.bufLen])
	}
	return n, nil
}

func (s *sectorReaderAt) fill(pos int64) error {
	s.bufLen = 0
	start := pos - pos%s.block
	m, err := s.r.ReadAt(s.buf[:s.block], start)
	if int64(m) > pos-start {
		s.bufOff, s.bufLen = start, int64(m)
		return nil
	}
	start = pos - pos%s.sector
	m, err2 := s.r.ReadAt(s.buf[:s.sector], start)
	if int64(m) > pos-start {
		s.bufOff, s.bufLen = start, int64(m)
		return nil
	}
	if err2 == nil || err2 == io.EOF {
		err2 = io.ErrUnexpectedEOF
	}
	if err == nil || err == io.EOF {
		return err2
	}
	return fmt.Errorf("%w (reading the whole block: %v)", err2, err)
}

// WriteEventsXML writes the events of one log as one XML document:
//
//	<Events log="Security">
//	<Event ...>...</Event>
//	<Event ...>...</Event>
//	</Events>
//
// each event as rendered (EvtRenderEventXml) on its own line. It returns
// the bytes written; on a write error it stops pulling events.
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
func openTwoPass(ctx context.Context, logName string, q eventQuery) (*LogCopy, error) {
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
	return &LogCopy{Method: "evt-export-xml", Format: "xml", Size: size, R: t}, nil
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
