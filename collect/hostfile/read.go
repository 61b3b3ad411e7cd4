package hostfile

import (
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/custos-ir/custos/custody"
)

// Hop is a link passed on the way to a file named by path.
type Hop struct {
	Path   string // the link, raw
	Text   string // its text
	Target string // where it led
}

// Content is a small host file read whole.
type Content struct {
	Data []byte
	Rec  custody.File // the file read, at its own path
	Via  []Hop        // the links passed to reach it, in order
	// Truncated is set when the file is larger than the limit asked for:
	// Data holds its first bytes.
	Truncated bool
}

// ReadFile reads the regular file at path, at most max bytes, the way a
// walk would: from the root one name at a time, each link on the way
// recorded in Via and followed only as Walk follows links, O_NOATIME, a
// FIFO or device never opened. Sources that read configuration or state
// from files (crontabs, unit files, utmp, env.php) use it.
func ReadFile(path string, max int64) (*Content, error) {
	f, via, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c := &Content{Rec: f.Record(), Via: via}
	c.Rec.Method = f.Method()
	c.Data, err = io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(c.Data)) > max {
		c.Data, c.Truncated = c.Data[:max], true
	}
	return c, nil
}

// Open opens the regular file at path for reading as ReadFile reads it,
// and says which links it went through.
func Open(path string) (*File, []Hop, error) {
	t, root, err := lookup(path)
	if err != nil {
		return nil, nil, err
	}
	defer root.close()
	defer t.close()
	if t.dir != nil {
		return nil, nil, &fs.PathError{Op: "open", Path: path, Err: syscall.EISDIR}
	}
	if t.rec.Type != "file" {
		return nil, nil, &NotRegularError{Rec: t.rec}
	}
	f, err := t.parent.openFile(t.name)
	if err != nil {
		return nil, nil, err
	}
	if got := f.Record(); got.Inode != t.rec.Inode || got.Device != t.rec.Device {
		f.Close()
		return nil, nil, fmt.Errorf("%w: %s", ErrChanged, path)
	}
	return f, hops(t), nil
}

// Stat records what path names, following links as ReadFile does.
func Stat(path string) (custody.File, []Hop, error) {
	t, root, err := lookup(path)
	if err != nil {
		return custody.File{}, nil, err
	}
	defer root.close()
	defer t.close()
	return t.rec, hops(t), nil
}

// LinkRefusedError is a path through a link the walk would not follow.
type LinkRefusedError struct {
	Path, Why string
}

func (e *LinkRefusedError) Error() string { return custody.EscapePath(e.Path) + ": " + e.Why }

func lookup(path string) (*target, *Dir, error) {
	if !isAbs(path) {
		return nil, nil, fmt.Errorf("%s: not an absolute path", path)
	}
	start, rest := "/", path
	if vol := filepath.VolumeName(path); vol != "" {
		start, rest = vol+string(filepath.Separator), path[len(vol):]
	}
	root, err := openRoot(start)
	if err != nil {
		return nil, nil, err
	}
	t, err := resolveFrom(root, strings.Split(filepath.ToSlash(rest), "/"))
	if err != nil {
		root.close()
		return nil, nil, err
	}
	if why := t.refusal(); why != "" {
		t.close()
		root.close()
		return nil, nil, &LinkRefusedError{Path: path, Why: why}
	}
	return t, root, nil
}

func hops(t *target) []Hop {
	var out []Hop
	for _, h := range t.hops {
		out = append(out, Hop{Path: h.path, Text: h.text, Target: h.target})
	}
	return out
}
