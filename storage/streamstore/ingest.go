package streamstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"regexp"
	"strings"

	"github.com/custos-ir/custos/storage"
)

// Note is metadata that travelled with the objects.
type Note struct {
	Kind string
	Data []byte
}

// Result says what an ingest stored and whether the stream was whole.
type Result struct {
	Prefix   string               // the collection prefix every key shares
	Stored   []storage.ObjectInfo // committed in the destination, in order
	Notes    []Note
	Failed   []string // objects that began but did not arrive whole (nothing stored)
	Complete bool     // the tail frame arrived and the stream's digest matched
	Bytes    int64    // stream bytes read
	Err      error    // why the stream is incomplete or damaged
}

// ErrTruncated and ErrCorrupt name the two ways a stream goes wrong.
var (
	ErrTruncated = errors.New("stream ended early")
	ErrCorrupt   = errors.New("stream is damaged")
)

// keyRE is what a key inside a collection may look like; the stream comes
// from a breached host, so nothing else is written.
var keyRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}/[A-Za-z0-9._-]{1,64}/[A-Za-z0-9._-]{1,64}/(manifest\.json|manifest\.json\.sha256|SHA256SUMS|started\.json|artifacts/[A-Za-z0-9._-]{1,200}|log/[A-Za-z0-9._-]{1,100})$`)

// Ingest reads a stream from r and stores its objects in dst, checking each
// object's size and SHA-256 as it arrives. It never stops at the first bad
// object while the framing holds; it stops at a damaged frame or the end.
// opts gives the store options for each key (tags, retention).
func Ingest(ctx context.Context, r io.Reader, dst storage.Store, opts func(key string) storage.CreateOptions) *Result {
	in := &ingest{ctx: ctx, dst: dst, opts: opts, res: &Result{}, open: map[uint32]*incoming{}, h: sha256.New()}
	in.run(r)
	for _, o := range in.open {
		o.w.Abort()
		in.res.Failed = append(in.res.Failed, o.key)
	}
	return in.res
}

type incoming struct {
	key string
	w   storage.ObjectWriter
	h   hash.Hash
	n   int64
	bad error
}

type ingest struct {
	ctx    context.Context
	dst    storage.Store
	opts   func(string) storage.CreateOptions
	res    *Result
	open   map[uint32]*incoming
	h      hash.Hash
	frames uint64
}

// fail records why the stream stopped; a damaged object named earlier
// stays named, the stop is added to it.
func (in *ingest) fail(err error) {
	if in.res.Err != nil {
		err = fmt.Errorf("%w; then %v", in.res.Err, err)
	}
	in.res.Err = err
}

func (in *ingest) run(r io.Reader) {
	cr := &counter{r: r}
	magic := make([]byte, len(Magic))
	if _, err := io.ReadFull(cr, magic); err != nil {
		in.fail(fmt.Errorf("%w: no stream header (got %d bytes): is the other side running custos collect --to -?", ErrTruncated, cr.n))
		return
	}
	if string(magic) != Magic {
		in.fail(fmt.Errorf("%w: not a custos stream (header %q)", ErrCorrupt, bytes.TrimSpace(magic)))
		return
	}
	in.h.Write(magic)
	payload := make([]byte, MaxPayload+64)
	for {
		if err := in.ctx.Err(); err != nil {
			in.fail(err)
			return
		}
		in.res.Bytes = cr.n
		var hdr [9]byte
		at := cr.n
		if _, err := io.ReadFull(cr, hdr[:]); err != nil {
			in.fail(fmt.Errorf("%w after %d bytes (%d objects stored): %v", ErrTruncated, at, len(in.res.Stored), eofText(err)))
			return
		}
		typ, id, n := hdr[0], binary.BigEndian.Uint32(hdr[1:5]), binary.BigEndian.Uint32(hdr[5:9])
		if n > uint32(len(payload)) || !strings.ContainsRune("BDEANZ", rune(typ)) {
			in.fail(fmt.Errorf("%w: bad frame header at byte %d (type %q, length %d)", ErrCorrupt, at, typ, n))
			return
		}
		p := payload[:n]
		if _, err := io.ReadFull(cr, p); err != nil {
			in.fail(fmt.Errorf("%w in a frame at byte %d (%d objects stored): %v", ErrTruncated, at, len(in.res.Stored), eofText(err)))
			return
		}
		if typ == FrameTail {
			in.res.Bytes = cr.n
			in.tail(p, at)
			return
		}
		in.h.Write(hdr[:])
		in.h.Write(p)
		in.frames++
		if err := in.frame(typ, id, p, at); err != nil {
			in.fail(err)
			return
		}
	}
}

func eofText(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errors.New("connection closed or data cut short")
	}
	return err
}

func (in *ingest) frame(typ byte, id uint32, p []byte, at int64) error {
	switch typ {
	case FrameNote:
		if len(p) < 1 || int(p[0])+1 > len(p) {
			return fmt.Errorf("%w: bad note at byte %d", ErrCorrupt, at)
		}
		k := int(p[0])
		in.res.Notes = append(in.res.Notes, Note{Kind: string(p[1 : 1+k]), Data: append([]byte(nil), p[1+k:]...)})
	case FrameBegin:
		key := string(p)
		if _, dup := in.open[id]; dup {
			return fmt.Errorf("%w: object %d begun twice at byte %d", ErrCorrupt, id, at)
		}
		if !keyRE.MatchString(key) || path.Clean(key) != key {
			return fmt.Errorf("%w: refusing object key %q at byte %d: not a key inside a collection", ErrCorrupt, key, at)
		}
		prefix := strings.Join(strings.SplitN(key, "/", 4)[:3], "/") + "/"
		if in.res.Prefix == "" {
			in.res.Prefix = prefix
		} else if prefix != in.res.Prefix {
			return fmt.Errorf("%w: object %q is outside the collection %s", ErrCorrupt, key, in.res.Prefix)
		}
		var o storage.CreateOptions
		if in.opts != nil {
			o = in.opts(key)
		}
		w, err := in.dst.Create(in.ctx, key, o)
		if err != nil {
			return fmt.Errorf("store %s: %w", key, err)
		}
		in.open[id] = &incoming{key: key, w: w, h: sha256.New()}
	case FrameData:
		o, ok := in.open[id]
		if !ok {
			return fmt.Errorf("%w: data for unknown object %d at byte %d", ErrCorrupt, id, at)
		}
		if o.bad != nil {
			return nil
		}
		o.h.Write(p)
		o.n += int64(len(p))
		if _, err := o.w.Write(p); err != nil {
			o.bad = err
		}
	case FrameEnd:
		o, ok := in.open[id]
		if !ok || len(p) != 40 {
			return fmt.Errorf("%w: bad end of object %d at byte %d", ErrCorrupt, id, at)
		}
		delete(in.open, id)
		size := int64(binary.BigEndian.Uint64(p[:8]))
		var want, got storage.Digest
		copy(want[:], p[8:])
		o.h.Sum(got[:0])
		switch {
		case o.bad != nil:
			o.w.Abort()
			in.res.Failed = append(in.res.Failed, o.key)
			return fmt.Errorf("store %s: %w", o.key, o.bad)
		case size != o.n || got != want:
			o.w.Abort()
			in.res.Failed = append(in.res.Failed, o.key)
			// The framing still holds: go on, the rest may be whole.
			in.res.Err = fmt.Errorf("%w: object %s arrived with %d bytes, sha256 %s; the sender wrote %d bytes, sha256 %s: not stored", ErrCorrupt, o.key, o.n, got, size, want)
			return nil
		}
		info, err := o.w.Commit(in.ctx, got)
		if err != nil {
			in.res.Failed = append(in.res.Failed, o.key)
			return fmt.Errorf("store %s: %w", o.key, err)
		}
		in.res.Stored = append(in.res.Stored, info)
	case FrameAbort:
		if o, ok := in.open[id]; ok {
			o.w.Abort()
			delete(in.open, id)
		}
	}
	return nil
}

func (in *ingest) tail(p []byte, at int64) {
	if len(p) != 40 {
		in.fail(fmt.Errorf("%w: bad tail frame at byte %d", ErrCorrupt, at))
		return
	}
	frames := binary.BigEndian.Uint64(p[:8])
	var want, got storage.Digest
	copy(want[:], p[8:])
	in.h.Sum(got[:0])
	switch {
	case in.res.Err != nil:
		// A damaged object was named already; that says more.
	case frames != in.frames || got != want:
		in.fail(fmt.Errorf("%w: the stream's digest does not match (%d frames read, %d sent): bytes were changed in transit", ErrCorrupt, in.frames, frames))
	case len(in.open) > 0:
		in.fail(fmt.Errorf("%w: %d objects never ended", ErrCorrupt, len(in.open)))
	case in.res.Err == nil:
		in.res.Complete = true
	}
}

type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
