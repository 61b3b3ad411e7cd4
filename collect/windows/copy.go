package windows

// Copying a file that Windows holds open without sharing read access (an
// event log, a registry hive, an ESE database) by the first of several
// methods that can read it: CopyFile tries them in order and says why the
// ones before failed. This file holds the types, the "shared-read" method
// and the reader that yields exactly the size announced.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/custos-ir/custos/collect/hostfile"
	"github.com/custos-ir/custos/custody"
)

// FileCopy is one way of reading a file, opened and ready to read.
//
// R yields exactly Size bytes. If the source ends or fails before Size
// bytes (the file changed, the volume could not be read), the rest is zeros
// and R's Close returns the error: a caller that has written a tar header
// of Size bytes always gets a well-formed entry, and must check Close.
//
// A copy that reads at any offset has At too, and may have Data: the byte
// ranges that hold data, in order (a sparse file such as $UsnJrnl:$J: the
// rest are holes, never read, and read as zeros); nil means all of it.
// Rec, when set, is the file's metadata as the method found it (the NTFS
// reader has it from the MFT record), for a file no stat reaches.
type FileCopy struct {
	Method string // "shared-read", "raw-ntfs", "raw-ntfs-mft", "evt-export-xml"
	Format string // "raw" for the file's bytes, "xml" for rendered events
	Size   int64  // exactly the number of bytes R gives (the caller writes a tar header first)
	R      io.ReadCloser
	At     io.ReaderAt
	Data   []hostfile.Extent
	Rec    *custody.File
}

// Stored is how many bytes of the copy hold data (Size less its holes).
func (c *FileCopy) Stored() int64 {
	if c.Data == nil {
		return c.Size
	}
	var n int64
	for _, d := range c.Data {
		n += d.Length
	}
	return n
}

// CopyMethod tries one way; an error says why it could not.
type CopyMethod struct {
	Name string
	Open func(ctx context.Context, path string) (*FileCopy, error)
}

// CopyFile tries methods in order and returns the first that opens, plus a
// one-line reason for every method that failed before it ("shared-read:
// The process cannot access the file because it is being used by another
// process."). If all fail, the error joins every reason (and the context's
// error if it was cancelled before every method was tried).
func CopyFile(ctx context.Context, path string, methods []CopyMethod) (*FileCopy, []string, error) {
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

// sharedReadMethod opens the file the way every host file is opened
// (hostfile: on Windows sharing read, write and delete, backup semantics,
// no reparse point followed). It fails only when the holder of the file
// denies read sharing (the live event logs, loaded hives, ESE databases).
var sharedReadMethod = CopyMethod{Name: "shared-read", Open: openSharedRead}

func openSharedRead(ctx context.Context, path string) (*FileCopy, error) {
	f, _, err := hostfile.Open(path)
	if err != nil {
		return nil, unwrapPath(err)
	}
	rec := f.Record()
	method := "shared-read"
	if strings.Contains(f.Method(), "SeBackupPrivilege") {
		method += " (backup semantics with SeBackupPrivilege)"
	}
	rec.Method = method
	return &FileCopy{Method: method, Format: "raw", Size: rec.Size, R: newExactReader(f, rec.Size, f.Close), At: f, Rec: &rec}, nil
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
