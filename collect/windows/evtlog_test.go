package windows

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

func fakeMethod(name string, calls *[]string, err error) CopyMethod {
	return CopyMethod{Name: name, Open: func(ctx context.Context, path string) (*FileCopy, error) {
		*calls = append(*calls, name)
		if err != nil {
			return nil, err
		}
		return &FileCopy{Format: "raw", Size: 2, R: io.NopCloser(strings.NewReader("ok"))}, nil
	}}
}

func TestOpenLogOrderAndReasons(t *testing.T) {
	var calls []string
	methods := []CopyMethod{
		fakeMethod("shared-read", &calls, errors.New("The process cannot access the file because it is being used by another process.")),
		fakeMethod("raw-ntfs", &calls, errors.New("line one\nline two")),
		fakeMethod("evt-export-xml", &calls, nil),
		fakeMethod("never", &calls, nil),
	}
	c, reasons, err := CopyFile(context.Background(), `C:\x.evtx`, methods)
	if err != nil {
		t.Fatal(err)
	}
	if c.Method != "evt-export-xml" || c.Size != 2 {
		t.Errorf("copy = %+v", c)
	}
	if got := strings.Join(calls, ","); got != "shared-read,raw-ntfs,evt-export-xml" {
		t.Errorf("calls = %s", got)
	}
	want := []string{
		"shared-read: The process cannot access the file because it is being used by another process.",
		"raw-ntfs: line one; line two",
	}
	if strings.Join(reasons, "|") != strings.Join(want, "|") {
		t.Errorf("reasons = %q, want %q", reasons, want)
	}
}

func TestOpenLogAllFail(t *testing.T) {
	var calls []string
	sentinel := errors.New("Access is denied.")
	methods := []CopyMethod{
		fakeMethod("a", &calls, errors.New("locked")),
		fakeMethod("b", &calls, sentinel),
		{Name: "c", Open: func(context.Context, string) (*FileCopy, error) { return nil, nil }},
	}
	c, reasons, err := CopyFile(context.Background(), `C:\x.evtx`, methods)
	if c != nil || err == nil {
		t.Fatalf("got %v, %v", c, err)
	}
	if len(reasons) != 3 || reasons[0] != "a: locked" || reasons[1] != "b: Access is denied." || !strings.HasPrefix(reasons[2], "c: ") {
		t.Errorf("reasons = %q", reasons)
	}
	if err.Error() != strings.Join(reasons, "; ") { // one line: it goes into a record
		t.Errorf("error %q does not join the reasons", err)
	}
	if !errors.Is(err, sentinel) {
		t.Error("the joined error lost its causes")
	}

	if _, _, err := CopyFile(context.Background(), `C:\x.evtx`, nil); err == nil {
		t.Error("no methods: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls = nil
	if _, _, err := CopyFile(ctx, `C:\x.evtx`, methods); !errors.Is(err, context.Canceled) || len(calls) != 0 {
		t.Errorf("cancelled: err %v, calls %v", err, calls)
	}
}

func TestSharedRead(t *testing.T) {
	path, _ := filepath.Abs("testdata/drive_c/FusionReactor/instance/tomcat9/conf/tomcat9.conf")
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, reasons, err := CopyFile(context.Background(), path, LogMethods())
	if err != nil || len(reasons) != 0 {
		t.Fatal(err, reasons)
	}
	got, err := io.ReadAll(c.R)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.R.Close(); err != nil {
		t.Error(err)
	}
	if !strings.HasPrefix(c.Method, "shared-read") || c.Format != "raw" || c.Rec == nil || c.Rec.Size != c.Size || c.At == nil || c.Size != int64(len(want)) || !bytes.Equal(got, want) {
		t.Errorf("copy %s/%s size %d, read %d bytes, want %d", c.Method, c.Format, c.Size, len(got), len(want))
	}

	missing, _ := filepath.Abs("testdata/missing.evtx")
	_, reasons, err = CopyFile(context.Background(), missing, []CopyMethod{sharedReadMethod})
	if !errors.Is(err, fs.ErrNotExist) || len(reasons) != 1 || !strings.HasPrefix(reasons[0], "shared-read: ") || strings.Contains(reasons[0], "missing.evtx") {
		t.Errorf("missing file: %v %q", err, reasons)
	}
}

// The platform's list: shared read alone here; on Windows the two
// fallbacks follow it.
func TestLogMethodsHere(t *testing.T) {
	want := []string{"shared-read"}
	if runtime.GOOS == "windows" {
		want = append(want, "raw-ntfs", "raw-ntfs-mft", "evt-export-xml")
	}
	var got []string
	for _, m := range LogMethods() {
		got = append(got, m.Name)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("LogMethods() = %v, want %v", got, want)
	}
}

func TestExactReader(t *testing.T) {
	closed := false
	r := newExactReader(strings.NewReader("abc"), 6, func() error { closed = true; return nil })
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "abc\x00\x00\x00" {
		t.Errorf("short source: %q, %v", got, err)
	}
	if err := r.Close(); err == nil || !closed {
		t.Errorf("short source: Close = %v, closed %v", err, closed)
	}
	r = newExactReader(iotest.TimeoutReader(strings.NewReader("abcdef")), 4, nil)
	if got, _ := io.ReadAll(io.LimitReader(r, 100)); len(got) != 4 {
		t.Errorf("failing source: %q", got)
	}
	r = newExactReader(strings.NewReader("abcdef"), 4, nil)
	got, _ = io.ReadAll(r)
	if string(got) != "abcd" || r.Close() != nil {
		t.Errorf("long source: %q", got)
	}
}

// volume is 64 bytes 0..63, 4-byte clusters.
func testVolume(n int) []byte {
	v := make([]byte, n)
	for i := range v {
		v[i] = byte(i)
	}
	return v
}

// expectFile reads the file the slow way: cluster by cluster.
func expectFile(vol []byte, ex []Extent, cs, size int64) []byte {
	var out []byte
	for vcn := int64(0); int64(len(out)) < size; vcn++ {
		for _, e := range ex {
			if vcn >= e.VCN && vcn < e.VCN+e.Clusters {
				if e.LCN == -1 {
					out = append(out, make([]byte, cs)...)
				} else {
					off := (e.LCN + vcn - e.VCN) * cs
					out = append(out, vol[off:off+cs]...)
				}
			}
		}
	}
	return out[:size]
}

func TestExtentReader(t *testing.T) {
	vol := testVolume(64)
	ex := []Extent{ // out of order on purpose
		{VCN: 3, LCN: 1, Clusters: 2},
		{VCN: 0, LCN: 10, Clusters: 2},
		{VCN: 2, LCN: -1, Clusters: 1},
		{VCN: 5, LCN: 7, Clusters: 1},
	}
	const cs = 4
	size := int64(6*cs - 3) // ends mid-cluster
	want := expectFile(vol, ex, cs, size)
	if want[0] != 40 || want[8] != 0 || want[12] != 4 || want[20] != 28 {
		t.Fatalf("bad expectation %v", want)
	}
	if err := iotest.TestReader(ExtentReader(bytes.NewReader(vol), ex, cs, size), want); err != nil {
		t.Error(err)
	}
	got, err := io.ReadAll(iotest.OneByteReader(ExtentReader(bytes.NewReader(vol), ex, cs, size)))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("one byte at a time: %v %v", got, err)
	}
	// A file shorter than its allocation.
	got, err = io.ReadAll(ExtentReader(bytes.NewReader(vol), ex, cs, 5))
	if err != nil || !bytes.Equal(got, want[:5]) {
		t.Errorf("short file: %v %v", got, err)
	}
}

func TestExtentReaderErrors(t *testing.T) {
	vol := testVolume(64)
	ex := []Extent{{VCN: 0, LCN: 0, Clusters: 2}, {VCN: 2, LCN: 15, Clusters: 2}} // LCN 15 runs past the 64-byte volume
	got, err := io.ReadAll(ExtentReader(bytes.NewReader(vol), ex, 4, 16))
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(got) != 12 || !strings.Contains(err.Error(), "byte 64") {
		t.Errorf("volume short read: %d bytes, %v", len(got), err)
	}
	boom := errors.New("device error")
	_, err = io.ReadAll(ExtentReader(failingReaderAt{boom}, ex, 4, 16))
	if !errors.Is(err, boom) {
		t.Errorf("volume error: %v", err)
	}
	for name, c := range map[string]struct {
		ex       []Extent
		cs, size int64
	}{
		"gap":           {[]Extent{{0, 0, 1}, {2, 3, 1}}, 4, 12},
		"too short":     {[]Extent{{0, 0, 1}}, 4, 5},
		"no extents":    {nil, 4, 1},
		"overlap":       {[]Extent{{0, 0, 2}, {1, 3, 1}}, 4, 8},
		"zero clusters": {[]Extent{{0, 0, 0}}, 4, 0},
		"bad LCN":       {[]Extent{{0, -2, 1}}, 4, 4},
		"cluster size":  {[]Extent{{0, 0, 1}}, 0, 4},
	} {
		if _, err := io.ReadAll(ExtentReader(bytes.NewReader(vol), c.ex, c.cs, c.size)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if got, err := io.ReadAll(ExtentReader(bytes.NewReader(vol), nil, 4, 0)); err != nil || len(got) != 0 {
		t.Errorf("empty file: %v %v", got, err)
	}
}

type failingReaderAt struct{ err error }

func (f failingReaderAt) ReadAt([]byte, int64) (int, error) { return 0, f.err }

func rpBuffer(count uint32, start int64, pairs ...int64) []byte {
	b := make([]byte, 16+8*len(pairs))
	binary.LittleEndian.PutUint32(b[0:], count)
	binary.LittleEndian.PutUint32(b[4:], 0xdeadbeef) // padding: ignored
	binary.LittleEndian.PutUint64(b[8:], uint64(start))
	for i, v := range pairs {
		binary.LittleEndian.PutUint64(b[16+8*i:], uint64(v))
	}
	return b
}

func TestParseRetrievalPointers(t *testing.T) {
	buf := rpBuffer(3, 100, 110, 5000, 112, -1, 130, 42)
	buf = append(buf, make([]byte, 64)...) // unused tail of the output buffer
	start, ex, err := ParseRetrievalPointers(buf)
	if err != nil {
		t.Fatal(err)
	}
	want := []Extent{{100, 5000, 10}, {110, -1, 2}, {112, 42, 18}}
	if start != 100 || fmt.Sprint(ex) != fmt.Sprint(want) {
		t.Errorf("got %d %v, want 100 %v", start, ex, want)
	}
	if _, ex, err := ParseRetrievalPointers(rpBuffer(0, 0)); err != nil || len(ex) != 0 {
		t.Errorf("no extents: %v %v", ex, err)
	}
	for name, b := range map[string][]byte{
		"truncated":      rpBuffer(3, 100, 110, 5000, 112, -1, 130)[:16+16*3-8],
		"count too big":  rpBuffer(2, 0, 10, 5),
		"header only":    rpBuffer(1, 0)[:12],
		"not increasing": rpBuffer(2, 0, 10, 5, 10, 20),
		"bad LCN":        rpBuffer(1, 0, 10, -7),
		"negative start": rpBuffer(1, -4, 10, 5),
	} {
		if _, _, err := ParseRetrievalPointers(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// strictDevice allows only sector-aligned reads, and none past its end
// (like a volume handle).
type strictDevice struct {
	data   []byte
	sector int64
	reads  int
}

func (d *strictDevice) ReadAt(p []byte, off int64) (int, error) {
	d.reads++
	if off%d.sector != 0 || int64(len(p))%d.sector != 0 {
		return 0, fmt.Errorf("unaligned read of %d at %d", len(p), off)
	}
	if off+int64(len(p)) > int64(len(d.data)) {
		return 0, errors.New("read past the end of the device")
	}
	return copy(p, d.data[off:]), nil
}

func TestSectorReaderAt(t *testing.T) {
	data := testVolume(512 * 11) // not a whole number of blocks
	dev := &strictDevice{data: data, sector: 512}
	s := newSectorReaderAt(dev, 4*512, 512)
	for _, c := range []struct{ off, n int64 }{
		{0, 1}, {3, 700}, {2047, 2}, {100, 3000}, {512*10 + 7, 505}, {512 * 8, 512 * 3}, {1, 512*11 - 1},
	} {
		p := make([]byte, c.n)
		n, err := s.ReadAt(p, c.off)
		if err != nil || int64(n) != c.n || !bytes.Equal(p, data[c.off:c.off+c.n]) {
			t.Errorf("ReadAt(%d, %d) = %d, %v", c.n, c.off, n, err)
		}
	}
	p := make([]byte, 10)
	if n, err := s.ReadAt(p, int64(len(data))-5); err == nil || n != 5 {
		t.Errorf("past the end: %d, %v", n, err)
	}
	// Through ExtentReader, with an extent in the last, partial block.
	ex := []Extent{{0, 10, 1}, {1, 0, 2}}
	want := expectFile(data, ex, 512, 3*512-100)
	got, err := io.ReadAll(ExtentReader(newSectorReaderAt(dev, 4*512, 512), ex, 512, 3*512-100))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("through ExtentReader: %d bytes, %v", len(got), err)
	}
}

func TestWriteEventsXML(t *testing.T) {
	events := []string{`<Event xmlns="x"><System><EventRecordID>1</EventRecordID></System></Event>`, `<Event>é</Event>`}
	var b bytes.Buffer
	n, err := WriteEventsXML(&b, `Microsoft-Windows-A/Operational "<&>"`, func(yield func(string) bool) {
		for _, e := range events {
			if !yield(e) {
				return
			}
		}
	})
	if err != nil || n != int64(b.Len()) {
		t.Fatalf("n %d, len %d, %v", n, b.Len(), err)
	}
	want := `<Events log="Microsoft-Windows-A/Operational &#34;&lt;&amp;&gt;&#34;">` + "\n" + events[0] + "\n" + events[1] + "\n</Events>\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if n, err := WriteEventsXML(&b, "Empty", nil); err != nil || n != int64(b.Len()) || b.String() != "<Events log=\"Empty\">\n</Events>\n" {
		t.Errorf("empty: %q %d %v", b.String(), n, err)
	}
	// A failing writer stops the events.
	pulled := 0
	_, err = WriteEventsXML(&limitedWriter{left: 30}, "L", func(yield func(string) bool) {
		for range 100 {
			pulled++
			if !yield("<Event>0123456789</Event>") {
				return
			}
		}
	})
	if err == nil || pulled > 2 {
		t.Errorf("failing writer: %v after %d events", err, pulled)
	}
}

type limitedWriter struct{ left int }

func (w *limitedWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		n := w.left
		w.left = 0
		return n, errors.New("disk full")
	}
	w.left -= len(p)
	return len(p), nil
}

func TestLogNames(t *testing.T) {
	for in, want := range map[string]string{
		`C:\Windows\System32\winevt\Logs\Security.evtx`:                                  "Security",
		`C:\Windows\System32\winevt\Logs\Microsoft-Windows-PowerShell%4Operational.evtx`: "Microsoft-Windows-PowerShell/Operational",
		`C:\Logs\Application.EVTX`:                                                       "Application",
	} {
		if got := channelName(in); got != want {
			t.Errorf("channelName(%s) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{
		`C:\Windows\x.evtx`: "C:", `d:/logs/x.evtx`: "D:", `\\?\E:\x.evtx`: "E:",
		`\\server\share\x.evtx`: "", `x.evtx`: "", `C:x.evtx`: "", `1:\x`: "",
	} {
		got, err := driveOf(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("driveOf(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]uint64{
		"<Event><System><EventRecordID>42</EventRecordID></System></Event>": 42,
		"<EventRecordID> 7 </EventRecordID>":                                7,
		"<Event/>":                                                          0,
		"<EventRecordID>x</EventRecordID>":                                  0,
	} {
		if got, ok := eventRecordID(in); got != want || ok != (want != 0) {
			t.Errorf("eventRecordID(%s) = %d, %v", in, got, ok)
		}
	}
}

// fakeLog is a log for openTwoPass: events by EventRecordID; onPass runs
// before each pass (1, 2) so a test can change the log in between.
type fakeLog struct {
	events  []fakeEvent
	passes  int
	maxIDs  []uint64
	onPass  func(pass int)
	failAt  int // on pass 2, fail after this many events (0: never)
	noIDsIn bool
}

type fakeEvent struct {
	id   uint64
	data string
}

func (e fakeEvent) xml() string {
	return fmt.Sprintf(`<Event><System><EventRecordID>%d</EventRecordID></System><EventData>%s</EventData></Event>`, e.id, e.data)
}

func (l *fakeLog) query(ctx context.Context, maxID uint64, yield func(string) bool) error {
	l.passes++
	l.maxIDs = append(l.maxIDs, maxID)
	if l.onPass != nil {
		l.onPass(l.passes)
	}
	for i, e := range l.events {
		if l.passes == 2 && l.failAt > 0 && i == l.failAt {
			return errors.New("EvtNext: The handle is invalid.")
		}
		if maxID > 0 && e.id > maxID {
			continue
		}
		s := e.xml()
		if l.noIDsIn {
			s = "<Event/>"
		}
		if !yield(s) {
			return nil
		}
	}
	return nil
}

func newFakeLog(n int) *fakeLog {
	l := &fakeLog{}
	for i := 1; i <= n; i++ {
		l.events = append(l.events, fakeEvent{uint64(100 + i), strings.Repeat("d", i)})
	}
	return l
}

func (l *fakeLog) render(name string) string {
	var b bytes.Buffer
	WriteEventsXML(&b, name, func(yield func(string) bool) {
		for _, e := range l.events {
			if !yield(e.xml()) {
				return
			}
		}
	})
	return b.String()
}

func readCopy(t *testing.T, c *FileCopy, chunk int) ([]byte, error) {
	t.Helper()
	var r io.Reader = c.R
	if chunk == 1 {
		r = iotest.OneByteReader(r)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(got)) != c.Size {
		t.Errorf("read %d bytes, Size %d", len(got), c.Size)
	}
	return got, c.R.Close()
}

func TestTwoPassUnchanged(t *testing.T) {
	l := newFakeLog(50)
	want := l.render("Security")
	c, err := openTwoPass(context.Background(), "Security", l.query)
	if err != nil {
		t.Fatal(err)
	}
	if c.Method != "evt-export-xml" || c.Format != "xml" || c.Size != int64(len(want)) || l.passes != 1 {
		t.Fatalf("copy %+v, passes %d", c, l.passes)
	}
	// Events written after pass 1 are left out by the EventRecordID bound.
	l.events = append(l.events, fakeEvent{151, "new"}, fakeEvent{152, "newer"})
	got, err := readCopy(t, c, 1)
	if err != nil || string(got) != want {
		t.Errorf("Close %v; got %d bytes, want %d", err, len(got), len(want))
	}
	if fmt.Sprint(l.maxIDs) != "[0 150]" {
		t.Errorf("max IDs queried %v", l.maxIDs)
	}
}

func TestTwoPassChanged(t *testing.T) {
	for name, change := range map[string]func(l *fakeLog){
		"overwritten": func(l *fakeLog) { l.events = l.events[3:] },
		"longer":      func(l *fakeLog) { l.events[0].data += "xxxxxxxxxxxxxxxxxxxx" },
		"same size":   func(l *fakeLog) { l.events[0].data = "z" },
		"failing":     func(l *fakeLog) { l.failAt = 5 },
	} {
		t.Run(name, func(t *testing.T) {
			l := newFakeLog(20)
			c, err := openTwoPass(context.Background(), "System", l.query)
			if err != nil {
				t.Fatal(err)
			}
			change(l)
			after := l.render("System")
			got, err := readCopy(t, c, 4096)
			if err == nil || !(strings.Contains(err.Error(), "changed between passes") || strings.Contains(err.Error(), "second pass")) {
				t.Fatalf("Close = %v", err)
			}
			n := min(len(after), len(got))
			if name != "failing" && string(got[:n]) != after[:n] {
				t.Error("the copy is not the second rendering")
			}
			if len(after) < len(got) && name != "failing" && strings.Trim(string(got[len(after):]), "\x00") != "" {
				t.Error("not zero-padded")
			}
		})
	}
}

func TestTwoPassEdges(t *testing.T) {
	// An empty log: pass 2 does not query.
	l := newFakeLog(0)
	c, err := openTwoPass(context.Background(), "Empty", l.query)
	if err != nil {
		t.Fatal(err)
	}
	l.events = []fakeEvent{{1, "new"}}
	got, err := readCopy(t, c, 4096)
	if err != nil || string(got) != "<Events log=\"Empty\">\n</Events>\n" || l.passes != 1 {
		t.Errorf("empty log: %q, %v, %d passes", got, err, l.passes)
	}

	// Closing early, or without reading, is not an error.
	l = newFakeLog(200)
	c, _ = openTwoPass(context.Background(), "S", l.query)
	if _, err := io.ReadFull(c.R, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if err := c.R.Close(); err != nil {
		t.Errorf("early close: %v", err)
	}
	if _, err := c.R.Read(make([]byte, 1)); err == nil {
		t.Error("read after close")
	}
	c, _ = openTwoPass(context.Background(), "S", l.query)
	before := l.passes
	if err := c.R.Close(); err != nil || l.passes != before {
		t.Errorf("close unread: %v, %d passes after %d", err, l.passes, before)
	}

	// Pass 1 failures fail the method.
	l = newFakeLog(3)
	l.noIDsIn = true
	if _, err := openTwoPass(context.Background(), "S", l.query); err == nil {
		t.Error("events without EventRecordID: no error")
	}
	boom := errors.New("EvtQuery: The system cannot find the file specified.")
	if _, err := openTwoPass(context.Background(), "S", func(context.Context, uint64, func(string) bool) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("query error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := openTwoPass(ctx, "S", newFakeLog(3).query); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
