package collect

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect/hostfile"
	"github.com/custos-ir/custos/custody"
)

// errSourceTimeout ends a source's context at --source-timeout: what it
// took before is kept, the rest recorded as not taken.
var errSourceTimeout = errors.New("--source-timeout reached")

// timedOut reports whether a source's context ended at its timeout.
func timedOut(ctx context.Context) bool {
	return ctx.Err() != nil && errors.Is(context.Cause(ctx), errSourceTimeout)
}

// StreamFunc writes one artifact's plaintext, e.g. live state as JSON Lines.
type StreamFunc func(ctx context.Context, w io.Writer) error

// Stream is a source whose bytes come from a function.
type Stream struct {
	Desc Description
	Fn   StreamFunc
}

func (s *Stream) Describe() Description { return s.Desc }

func (s *Stream) Collect(ctx context.Context, e *Emitter) error {
	bw := bufio.NewWriterSize(e, 64<<10)
	if err := s.Fn(ctx, bw); err != nil {
		if !timedOut(ctx) {
			return err
		}
		// What was written before the deadline is evidence: keep it.
		e.Fail("cut at --source-timeout: what was written before it is stored (%v)", err)
	}
	return bw.Flush()
}

// Bodyfile is a timeline of every entry under Roots in The Sleuth Kit's
// bodyfile 3 format, taken before any file is read.
type Bodyfile struct {
	Name     string
	Roots    []string
	Excludes []string
	Links    hostfile.LinkPolicy
}

func (b *Bodyfile) Describe() Description {
	return Description{Name: b.Name, Kind: "bodyfile", Format: "bodyfile", Sources: b.Roots, Method: "statx, no content read"}
}

func (b *Bodyfile) Collect(ctx context.Context, e *Emitter) error {
	bw := bufio.NewWriterSize(e, 64<<10)
	n, marked := 0, 0
	opt := hostfile.WalkOptions{Excludes: b.Excludes, Links: b.Links, Dirs: true}
	err := hostfile.Walk(ctx, b.Roots, opt, func(en *hostfile.Entry) error {
		if en.Err != nil {
			e.Fail("%s: %s", hostfile.RecordPath(en.Path), hostfile.ErrText(en.Err))
			return nil
		}
		rec, err := en.Record()
		if err != nil {
			e.Fail("%s: %s", hostfile.RecordPath(en.Path), hostfile.ErrText(err))
			return nil
		}
		n++
		if why := notable(rec); why != "" {
			rec.Note = addNote(rec.Note, why)
			e.AddRecord(rec)
			marked++
		}
		_, werr := io.WriteString(bw, BodyLine(rec))
		return werr
	})
	if marked > 0 {
		e.Warn("%d entries are set-uid, set-gid, immutable or append-only: each is listed in this artifact's file records", marked)
	}
	switch {
	case err != nil && timedOut(ctx):
		e.Fail("walk stopped at --source-timeout after %d entries: what it had not reached is not in the timeline", n)
	case err != nil:
		return err
	case n == 0:
		e.Warn("no entries under %s", strings.Join(b.Roots, ", "))
	}
	return bw.Flush()
}

// BodyLine formats one bodyfile 3 line:
// MD5|name|inode|mode_as_string|UID|GID|size|atime|mtime|ctime|crtime
// MD5 is 0 (content is hashed in the file artifacts, with SHA-256). Names
// are the record's (custody.EscapePath: a backslash is \\, a newline or
// other control byte and a byte that is not UTF-8 \xHH), and a '|' is
// written \x7c, so a line stays a line.
func BodyLine(f custody.File) string {
	name := bodyEscape(f.Path)
	if f.Link != "" {
		name += " -> " + bodyEscape(f.Link)
	}
	return fmt.Sprintf("0|%s|%d|%s|%d|%d|%d|%d|%d|%d|%d\n",
		name, f.Inode, bodyMode(f), f.UID, f.GID, f.Size,
		epoch(f.Atime), epoch(f.Mtime), epoch(f.Ctime), epoch(f.Btime))
}

var (
	bodyReplacer    = strings.NewReplacer("|", `\x7c`, "\n", `\x0a`, "\r", `\x0d`)
	bodyWinReplacer = strings.NewReplacer("|", `\x7c`, "\n", `\x0a`, "\r", `\x0d`, `\`, `\\`)
)

func bodyEscape(s string) string {
	if strings.HasPrefix(s, "/") || !strings.Contains(s, `\`) {
		return bodyReplacer.Replace(s) // escaped already but for '|'
	}
	return bodyWinReplacer.Replace(s)
}

// bodyMode is TSK's "r/rrwxr-xr-x" form, with ls's s/S and t/T for the
// set-uid, set-gid and sticky bits.
func bodyMode(f custody.File) string {
	t := map[string]string{"file": "r", "dir": "d", "symlink": "l", "fifo": "p", "socket": "s", "device": "b", "other": "-"}[f.Type]
	if t == "" {
		t = "-"
	}
	bits := hostfile.ParseMode(f.Mode)
	const rwx = "rwxrwxrwx"
	b := []byte(t + "/" + t + "---------")
	for i := 0; i < 9; i++ {
		if bits&(1<<(8-i)) != 0 {
			b[len(t)*2+1+i] = rwx[i]
		}
	}
	special := func(bit uint32, at int, set byte) {
		if bits&bit == 0 {
			return
		}
		at += len(t)*2 + 1
		if b[at] == 'x' {
			b[at] = set
		} else {
			b[at] = set - 'a' + 'A'
		}
	}
	special(0o4000, 2, 's')
	special(0o2000, 5, 's')
	special(0o1000, 8, 't')
	return string(b)
}

// notable says why a timeline entry deserves its own record in the
// manifest: bodyfile 3 has no field for a file's attributes, and a set-uid
// shell or an immutable web shell is what a responder looks for first.
func notable(f custody.File) string {
	var why []string
	bits := hostfile.ParseMode(f.Mode)
	if f.Type == "file" && bits&0o4000 != 0 {
		why = append(why, "set-uid")
	}
	if f.Type == "file" && bits&0o2000 != 0 {
		why = append(why, "set-gid")
	}
	why = append(why, f.Attrs...)
	if len(why) == 0 {
		return ""
	}
	return "timeline: " + strings.Join(why, ", ")
}

func epoch(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return t.Unix()
}
