package live

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"

	"github.com/custos-ir/custos/collect/hostfile"
)

// fsRoot is prefixed to the host paths live sources read; tests point it
// at a prepared tree.
var fsRoot = ""

// readHost reads a small host file through hostfile: no link followed
// without the walk's rules, O_NOATIME, a FIFO never opened.
func readHost(p string, max int64) ([]byte, error) {
	c, err := hostfile.ReadFile(fsRoot+p, max)
	if err != nil {
		return nil, err
	}
	return c.Data, nil
}

// walkHost calls fn for what patterns (below fsRoot) name: each directory
// matched itself (not its tree), each link as a link and then, where the
// walk follows it, its target.
func walkHost(ctx context.Context, patterns []string, links hostfile.LinkPolicy, fn func(*hostfile.Entry) error) error {
	var pats []string
	for _, p := range patterns {
		pats = append(pats, fsRoot+p)
	}
	return hostfile.Walk(ctx, pats, hostfile.WalkOptions{Links: links, Shallow: true}, fn)
}

// maxHashed bounds what a live source reads of one configuration or script
// file to hash it; the files artifacts take files whole.
const maxHashed = 64 << 20

// fileFacts is what a live source says of one file it met.
type fileFacts struct {
	Path   string `json:"path"`
	Type   string `json:"type,omitempty"`   // when not a regular file
	Link   string `json:"link,omitempty"`   // a symlink's text
	Target string `json:"target,omitempty"` // what the link led to (its own line follows)
	Size   int64  `json:"size"`
	Note   string `json:"note,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Error  string `json:"error,omitempty"`
}

// readEntry takes the facts of a walked entry and, for a regular file, up
// to keep bytes of its content (all of it is hashed, up to maxHashed).
func readEntry(e *hostfile.Entry, keep int64) (fileFacts, []byte) {
	ff := fileFacts{Path: hostfile.RecordPath(e.Path)}
	if e.Err != nil {
		ff.Error = hostfile.ErrText(e.Err)
		return ff, nil
	}
	if e.Link != nil {
		rec, _ := e.Record()
		ff.Type, ff.Link, ff.Target, ff.Note, ff.Size = "symlink", rec.Link, rec.Target, rec.Note, rec.Size
		return ff, nil
	}
	f, err := e.Open()
	if err != nil {
		if nr, ok := err.(*hostfile.NotRegularError); ok {
			ff.Type, ff.Size, ff.Note = nr.Rec.Type, nr.Rec.Size, "not a regular file: recorded, never opened"
			return ff, nil
		}
		ff.Error = hostfile.ErrText(err)
		return ff, nil
	}
	defer f.Close()
	rec := f.Record()
	ff.Size = rec.Size
	h := sha256.New()
	var head []byte
	n, err := io.Copy(io.MultiWriter(h, &limited{b: &head, n: keep}), io.LimitReader(f, maxHashed))
	switch {
	case err != nil:
		ff.Error = "read: " + hostfile.ErrText(err)
	case n == maxHashed && rec.Size > maxHashed:
		ff.Note = "larger than the 64 MiB a live source hashes: not hashed (a files artifact takes it whole)"
	default:
		ff.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	return ff, head
}

// limited keeps the first n bytes written to it.
type limited struct {
	b *[]byte
	n int64
}

func (l *limited) Write(p []byte) (int, error) {
	if room := l.n - int64(len(*l.b)); room > 0 {
		*l.b = append(*l.b, p[:min(int64(len(p)), room)]...)
	}
	return len(p), nil
}
