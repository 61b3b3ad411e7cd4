package custody

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"iter"

	"github.com/klauspost/compress/zstd"

	"github.com/custos-ir/custos/internal/iox"
	"github.com/custos-ir/custos/internal/jsonx"
)

// records yields an artifact's file records: those it holds, or those of
// its files object, read from the place as a stream (one record at a time,
// whatever their number). Reading the object, it is checked against the
// record (size, SHA-256, number of records); a difference ends the
// sequence with an error.
func (r *Report) records(ctx context.Context, objs Objects, a *Artifact) iter.Seq2[*File, error] {
	f := a.FilesObject
	if f == nil {
		return a.held()
	}
	return func(yield func(*File, error) bool) {
		rc, err := objs.Open(ctx, r.Prefix+f.Key, r.Read[f.Key])
		if err != nil {
			r.filesRead[f.Key] = true // said once
			yield(nil, fmt.Errorf("cannot read %s: %v", f.Key, err))
			return
		}
		defer rc.Close()
		err = readFilesObject(rc, f, func(rec *File) bool { return yield(rec, nil) })
		if errors.Is(err, errStopped) {
			return
		}
		r.filesRead[f.Key] = true
		if err != nil {
			yield(nil, err)
		}
	}
}

var errStopped = errors.New("stopped")

// readFilesObject calls fn with each record of a files object read from
// src, strictly (one JSON record per line, each within maxRecord, no key
// twice, no unknown field), and checks the whole against f.
func readFilesObject(src io.Reader, f *FilesObject, fn func(*File) bool) error {
	h := sha256.New()
	cr := &iox.CountingReader{R: io.TeeReader(src, h)}
	n, errs, err := readRecords(cr, f.Key, fn)
	if errors.Is(err, errStopped) {
		return err
	}
	// What zstd left unread (after damage, padding, a frame past the end)
	// is hashed too: a changed object is named as changed first.
	if _, cerr := io.Copy(io.Discard, cr); cerr != nil {
		return fmt.Errorf("%s: %v", f.Key, cerr)
	}
	var got Digest
	h.Sum(got[:0])
	switch {
	case cr.N != f.Size:
		return fmt.Errorf("%s is %d bytes, the manifest records %d", f.Key, cr.N, f.Size)
	case got != f.SHA256:
		return fmt.Errorf("%s: sha256 %s, the manifest records %s: the object was changed", f.Key, got, f.SHA256)
	case err != nil:
		return err
	case n != f.Records:
		return fmt.Errorf("%s holds %d records, the manifest records %d", f.Key, n, f.Records)
	case errs != f.Errors:
		return fmt.Errorf("%s holds %d records with an error, the manifest records %d", f.Key, errs, f.Errors)
	}
	return nil
}

// readRecords reads the records of a files object (key), strictly, and
// counts them and those that hold an error.
func readRecords(cr io.Reader, key string, fn func(*File) bool) (n, errs int, err error) {
	zr, err := zstd.NewReader(cr, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(8<<20))
	if err != nil {
		return 0, 0, err
	}
	defer zr.Close()
	br := bufio.NewReaderSize(zr, 64<<10)
	var line []byte
	for {
		line, err = readLine(br, line[:0], maxRecord)
		if err == io.EOF && len(line) == 0 {
			return n, errs, nil
		}
		if err != nil && err != io.EOF {
			return n, errs, fmt.Errorf("%s, after %d records: %v", key, n, err)
		}
		if err == io.EOF {
			return n, errs, fmt.Errorf("%s: record %d does not end in a newline", key, n+1)
		}
		var rec File
		if err := jsonx.Decode(line, &rec, maxRecord); err != nil {
			return n, errs, fmt.Errorf("%s: record %d: %v", key, n+1, err)
		}
		n++
		if rec.Error != "" {
			errs++
		}
		if !fn(&rec) {
			return n, errs, errStopped
		}
	}
}

// readLine appends to b the next line of br without its newline; io.EOF
// with a non-empty b is a last line without one.
func readLine(br *bufio.Reader, b []byte, max int) ([]byte, error) {
	for {
		chunk, err := br.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > max+1 {
			return b, fmt.Errorf("a record longer than %d bytes", max)
		}
		switch {
		case err == nil:
			return bytes.TrimSuffix(b, []byte{'\n'}), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return b, err
		}
	}
}

// placeFiles checks that an artifact's files object is where its records
// go, there at the recorded version, and locked as recorded where the
// place keeps locks; false if it cannot be read.
func (r *Report) placeFiles(ctx context.Context, objs Objects, a *Artifact) bool {
	f := a.FilesObject
	thing := "artifact " + a.Name
	if !filesKeyRE.MatchString(f.Key) || f.Key != FilesKey(a.Key) && a.Key != "" {
		r.add(thing, "files object %q is not where this artifact's records go", f.Key)
		return false
	}
	recorded := ""
	if f.Stored != nil {
		recorded = f.Stored.VersionID
	}
	v, ok := r.version(f.Key, recorded)
	if !ok {
		r.add(thing, "its %d file records are in %s, which is missing", f.Records, f.Key)
		return false
	}
	r.Read[f.Key] = v
	if rt, ok := objs.(Retainer); ok && rt.Retains() {
		if info, err := objs.Stat(ctx, r.Prefix+f.Key, v); err != nil {
			r.add(thing, "cannot stat %s: %v", f.Key, err)
		} else {
			checkRetention(thing, f.Stored, info, r)
		}
	}
	r.Objects++
	r.Bytes += f.Size
	return true
}

// readFiles reads an artifact's files object to its end and checks it
// against the record (size, SHA-256, records, each well-formed).
func (r *Report) readFiles(ctx context.Context, objs Objects, a *Artifact) {
	for _, err := range r.records(ctx, objs, a) {
		if err != nil {
			r.add("artifact "+a.Name, "file records: %v", err)
			return
		}
	}
}

// arrivedFiles describes the files object of artifactKey that arrived
// whole over a stream without its artifact's note: counted as stored.
// nil if none arrived or it cannot be read back.
func (r *Receiver) arrivedFiles(ctx context.Context, artifactKey string) *FilesObject {
	fk := FilesKey(artifactKey)
	sum, ok := r.stored[fk]
	if !ok {
		return nil
	}
	rc, err := r.objs.Open(ctx, r.prefix+fk, "")
	if err != nil {
		return nil
	}
	defer rc.Close()
	n, errs, err := readRecords(rc, fk, func(*File) bool { return true })
	if err != nil {
		return nil
	}
	return &FilesObject{Key: fk, Records: n, Errors: errs, Digested: Digested{Size: r.sizes[fk], SHA256: sum}}
}
