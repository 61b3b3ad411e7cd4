package custody

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"iter"

	"github.com/klauspost/compress/zstd"
)

// A tree of a million files is a million file records: held as Go values
// they take about a kilobyte each. Past spillAt records an artifact keeps
// them as their JSON, compressed in chunks (a tenth of the size or less),
// and the manifest and journal are written from the chunks, one at a time.

// spillAt is how many records an artifact holds as values before it keeps
// them compressed.
const spillAt = 16384

// chunkSize is how much record JSON is compressed at a time.
const chunkSize = 256 << 10

var (
	// The fastest level compresses records best (their entropy is in
	// digests and nanoseconds, not in repeats); a window of one chunk
	// keeps the encoder's own memory small.
	listEnc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(chunkSize<<1), zstd.WithLowerEncoderMem(true))
	listDec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(64<<20))
)

// fileList holds file records as compressed JSON chunks: each chunk is
// records, one per line (a record's JSON holds no raw newline).
type fileList struct {
	n, errors int
	chunks    [][]byte
	cur, tmp  []byte
}

func (l *fileList) add(f *File) {
	if len(l.cur) > 0 {
		l.cur = append(l.cur, '\n')
	}
	l.cur = f.appendJSON(l.cur)
	l.n++
	if f.Error != "" {
		l.errors++
	}
	if len(l.cur) >= chunkSize {
		l.seal()
	}
}

func (l *fileList) seal() {
	if len(l.cur) == 0 {
		return
	}
	// EncodeAll sizes its output for the worst case: each chunk is kept
	// in a slice of its own size.
	l.tmp = listEnc.EncodeAll(l.cur, l.tmp[:0])
	l.chunks = append(l.chunks, bytes.Clone(l.tmp))
	l.cur = l.cur[:0]
}

// writeJSON writes the records, comma-separated, to w.
func (l *fileList) writeJSON(w io.Writer) error {
	first := true
	write := func(b []byte) error {
		if len(b) == 0 {
			return nil
		}
		for i, c := range b {
			if c == '\n' {
				b[i] = ','
			}
		}
		if !first {
			if _, err := w.Write([]byte{','}); err != nil {
				return err
			}
		}
		first = false
		_, err := w.Write(b)
		return err
	}
	var buf []byte
	for _, c := range l.chunks {
		var err error
		if buf, err = listDec.DecodeAll(c, buf[:0]); err != nil {
			return err
		}
		if err := write(buf); err != nil {
			return err
		}
	}
	return write(append(buf[:0], l.cur...)) // a copy: write changes what it is given
}

// each decodes the records in order.
func (l *fileList) each(fn func(*File) error) error {
	var buf []byte
	var br bytes.Reader
	decode := func(b []byte) error {
		br.Reset(b)
		dec := json.NewDecoder(&br)
		for dec.More() {
			var f File
			if err := dec.Decode(&f); err != nil {
				return err
			}
			if err := fn(&f); err != nil {
				return err
			}
		}
		return nil
	}
	for _, c := range l.chunks {
		var err error
		if buf, err = listDec.DecodeAll(c, buf[:0]); err != nil {
			return err
		}
		if err := decode(buf); err != nil {
			return err
		}
	}
	if len(l.cur) > 0 {
		return decode(l.cur)
	}
	return nil
}

// AddFile appends a file record to the artifact: as a value while there
// are few, compressed past spillAt.
func (a *Artifact) AddFile(f File) {
	if a.list == nil && len(a.Files) < spillAt {
		a.Files = append(a.Files, f)
		return
	}
	if a.list == nil {
		a.list = &fileList{}
		for i := range a.Files {
			a.list.add(&a.Files[i])
		}
		a.Files = nil
	}
	a.list.add(&f)
}

// AnyFileError reports whether a file record holds an error.
func (a *Artifact) AnyFileError() bool {
	for i := range a.Files {
		if a.Files[i].Error != "" {
			return true
		}
	}
	return a.list != nil && a.list.errors > 0
}

// FileCount is how many file records the artifact holds.
func (a *Artifact) FileCount() int {
	if a.list != nil {
		return a.list.n
	}
	return len(a.Files)
}

// EachFile calls fn with every file record, in order; records kept
// compressed are decoded one at a time (fn may not keep the pointer).
func (a *Artifact) EachFile(fn func(*File) error) error {
	for i := range a.Files {
		if err := fn(&a.Files[i]); err != nil {
			return err
		}
	}
	if a.list != nil {
		return a.list.each(fn)
	}
	return nil
}

// noteJSON is the record's JSON if it is at most max bytes; a longer one
// is cut after max+1 bytes (the caller then drops the file list).
func (a *Artifact) noteJSON(max int) ([]byte, error) {
	lb := &limitBuffer{max: max}
	err := a.writeJSON(lb)
	if errors.Is(err, errTooLarge) {
		err = nil
	}
	return lb.b, err
}

type limitBuffer struct {
	b   []byte
	max int
}

func (l *limitBuffer) Write(p []byte) (int, error) {
	if len(l.b)+len(p) > l.max {
		l.b = append(l.b, p[:l.max+1-len(l.b)]...)
		return 0, errTooLarge
	}
	l.b = append(l.b, p...)
	return len(p), nil
}

// storedFiles yields the records of regular files stored in the
// artifact's tar, in order, each a copy the caller may keep.
func (a *Artifact) storedFiles() iter.Seq2[*File, error] {
	return func(yield func(*File, error) bool) {
		stop := errors.New("stop")
		err := a.EachFile(func(f *File) error {
			if !f.Stored || f.Type != "file" {
				return nil
			}
			c := *f
			if !yield(&c, nil) {
				return stop
			}
			return nil
		})
		if err != nil && err != stop {
			yield(nil, err)
		}
	}
}
