package custody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"

	"github.com/klauspost/compress/zstd"

	"github.com/custos-ir/custos/internal/iox"
)

// A tree of a million files is a million file records: held as Go values
// they take about a kilobyte each. Past spillAt records an artifact keeps
// them as their JSON, compressed in chunks (a tenth of the size or less):
// a collector writes the chunks to the artifact's files object as they are
// made (SpillFiles) and holds none; a record read back (a manifest of old,
// a journal) holds them, and writes the manifest from them one at a time.

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
// records, one per line (a record's JSON holds no raw newline). With out
// set (SpillFiles), the chunks are written there as they are made, each a
// zstd frame of lines each ending in a newline, and nothing is kept.
type fileList struct {
	n, errors int
	chunks    [][]byte
	cur, tmp  []byte

	out *iox.DigestWriter
	err error // the first write to out that failed
}

func (l *fileList) add(f *File) {
	if len(l.cur) > 0 && l.out == nil {
		l.cur = append(l.cur, '\n')
	}
	l.cur = f.appendJSON(l.cur)
	if l.out != nil {
		l.cur = append(l.cur, '\n')
	}
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
	l.cur = l.cur[:0]
	if l.out != nil {
		if l.err == nil {
			_, l.err = l.out.Write(l.tmp)
		}
		return
	}
	l.chunks = append(l.chunks, bytes.Clone(l.tmp))
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
// are few, compressed past spillAt, and with SpillFiles written to the
// files object past spillAt.
func (a *Artifact) AddFile(f File) {
	if a.list == nil && len(a.Files) < spillAt {
		a.Files = append(a.Files, f)
		return
	}
	if a.list == nil {
		a.list = &fileList{}
		if a.spill != nil {
			// A files object the place will not create costs memory, not
			// records: they are kept, as without one.
			if w, err := a.spill(FilesKey(a.Key)); err != nil {
				a.Warnings = append(a.Warnings, fmt.Sprintf("file records kept in the record, not in %s: %v", FilesKey(a.Key), err))
			} else {
				a.list.out = iox.NewDigestWriter(w)
			}
		}
		for i := range a.Files {
			a.list.add(&a.Files[i])
		}
		a.Files = nil
	}
	a.list.add(&f)
}

// SpillFiles has the artifact write its file records, once there are more
// than spillAt, to an object of their own as they come instead of keeping
// them: create is called once, with FilesKey(a.Key), at the first record
// past spillAt, and EndFiles finishes the object. A tree of a million files
// then costs the collector the memory of one chunk of records.
func (a *Artifact) SpillFiles(create func(key string) (io.Writer, error)) { a.spill = create }

// EndFiles writes the records still held to the files object and records
// it in a.FilesObject (the caller commits the object with its SHA-256 and
// adds what the store confirmed). spilled is false when no object was
// made: the records are in the artifact's record. After EndFiles the
// records are the object's only.
func (a *Artifact) EndFiles() (spilled bool, err error) {
	l := a.list
	a.spill = nil
	if l == nil || l.out == nil {
		return false, nil
	}
	l.seal()
	if l.err != nil {
		a.list = nil
		return true, fmt.Errorf("%d file records: %w", l.n, l.err)
	}
	a.FilesObject = &FilesObject{Key: FilesKey(a.Key), Records: l.n, Errors: l.errors,
		Digested: Digested{Size: l.out.N, SHA256: l.out.Sum()}}
	a.list = nil
	return true, nil
}

// ErrFilesElsewhere is EachFile's answer for records written to the files
// object: they are read from there (FilesObject), not held.
var ErrFilesElsewhere = errors.New("the file records are in the artifact's files object")

// AnyFileError reports whether a file record holds an error.
func (a *Artifact) AnyFileError() bool {
	if a.FilesObject != nil && a.FilesObject.Errors > 0 {
		return true
	}
	for i := range a.Files {
		if a.Files[i].Error != "" {
			return true
		}
	}
	return a.list != nil && a.list.errors > 0
}

// FileCount is how many file records the artifact holds.
func (a *Artifact) FileCount() int {
	if a.FilesObject != nil {
		return a.FilesObject.Records
	}
	if a.list != nil {
		return a.list.n
	}
	return len(a.Files)
}

// EachFile calls fn with every file record, in order; records kept
// compressed are decoded one at a time (fn may not keep the pointer).
// Records written to a files object are not held: ErrFilesElsewhere.
func (a *Artifact) EachFile(fn func(*File) error) error {
	if a.FilesObject != nil || a.list != nil && a.list.out != nil {
		return ErrFilesElsewhere
	}
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

// storedOnly yields the records of regular files stored in the
// artifact's tar, in order, each a copy the caller may keep.
func storedOnly(all iter.Seq2[*File, error]) iter.Seq2[*File, error] {
	return func(yield func(*File, error) bool) {
		for f, err := range all {
			if err != nil {
				yield(nil, err)
				return
			}
			if !f.Stored || f.Type != "file" {
				continue
			}
			c := *f
			if !yield(&c, nil) {
				return
			}
		}
	}
}

// held yields the file records the artifact holds, in order.
func (a *Artifact) held() iter.Seq2[*File, error] {
	return func(yield func(*File, error) bool) {
		stop := errors.New("stop")
		err := a.EachFile(func(f *File) error {
			if !yield(f, nil) {
				return stop
			}
			return nil
		})
		if err != nil && err != stop {
			yield(nil, err)
		}
	}
}
