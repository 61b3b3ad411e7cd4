package collect

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/custos-ir/custos/custody"
)

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
		return err
	}
	return bw.Flush()
}

// Files is a tar of the files matching Patterns, minus Excludes, and of
// each of Groups (which may take files with other options).
type Files struct {
	Name     string
	Patterns []string
	Excludes []string
	Options  FileOptions
	Groups   []FileGroup
	// Failures and Notes are what planning found (a configuration that
	// names a folder that is gone, a registry key without access): they
	// go into the artifact's record as errors and warnings.
	Failures, Notes []string
	Kind            string // "files" unless set
}

// FileGroup is one set of patterns with its own options.
type FileGroup struct {
	Patterns []string
	Excludes []string
	Options  FileOptions
}

func (f *Files) groups() []FileGroup {
	var gs []FileGroup
	if len(f.Patterns) > 0 {
		gs = append(gs, FileGroup{f.Patterns, f.Excludes, f.Options})
	}
	return append(gs, f.Groups...)
}

func (f *Files) Describe() Description {
	kind := f.Kind
	if kind == "" {
		kind = "files"
	}
	var src []string
	for _, g := range f.groups() {
		src = append(src, g.Patterns...)
	}
	return Description{Name: f.Name, Kind: kind, Format: "tar", Sources: src, Method: "statx+read"}
}

func (f *Files) Collect(ctx context.Context, e *Emitter) error {
	if e.tar == nil {
		e.tar = newTarWriter(countingWriter{e.w, e.onBytes})
	}
	// Two stages: this goroutine archives in order what a second one
	// walks, stats, opens and (for small files) reads ahead, at most
	// prefetch files ahead.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan *pending, prefetch)
	matched := 0
	var walkErr error
	for _, m := range f.Failures {
		e.Fail("%s", m)
	}
	for _, m := range f.Notes {
		e.Warn("%s", m)
	}
	groups := f.groups()
	go func() {
		defer close(ch)
		for _, g := range groups {
			walkErr = expandTyped(ctx, g.Patterns, g.Excludes, func(p string, typ fs.FileMode, werr error) error {
				var pd *pending
				if werr != nil {
					pd = &pending{rec: custody.File{Path: p, Type: "dir", Error: "list: " + errText(werr)}}
				} else {
					matched++
					pd = e.files.prepareHinted(ctx, p, typ.IsRegular(), g.Options, &e.budget, !g.Options.HashOnly)
				}
				select {
				case ch <- pd:
					return nil
				case <-ctx.Done():
					pd.release()
					return ctx.Err()
				}
			})
			if walkErr != nil {
				return
			}
		}
	}()
	var err error
	for pd := range ch {
		if err != nil {
			pd.release()
			continue
		}
		var rec custody.File
		rec, err = e.files.write(ctx, e.tar, pd)
		e.addRecord(rec)
		if err != nil {
			cancel()
		}
	}
	if err != nil {
		return err
	}
	if walkErr != nil {
		return walkErr
	}
	if matched == 0 {
		e.Warn("no file matched %s", strings.Join(f.Describe().Sources, ", "))
	}
	return nil
}

// prefetch bounds how many files the walking stage runs ahead: with
// smallMax bytes each at most, 4 MiB per files artifact.
const prefetch = 32

// Bodyfile is a timeline of every entry under Roots in The Sleuth Kit's
// bodyfile 3 format, taken before any file is read.
type Bodyfile struct {
	Name     string
	Roots    []string
	Excludes []string
}

func (b *Bodyfile) Describe() Description {
	return Description{Name: b.Name, Kind: "bodyfile", Format: "bodyfile", Sources: b.Roots, Method: "statx, no content read"}
}

func (b *Bodyfile) Collect(ctx context.Context, e *Emitter) error {
	bw := bufio.NewWriterSize(e, 64<<10)
	n := 0
	for _, root := range b.Roots {
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			if err != nil {
				if os.IsNotExist(err) && p == root {
					return nil
				}
				e.Fail("%s: %s", p, errText(err))
				if d != nil && d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			for _, x := range b.Excludes {
				if MatchPattern(filepath.ToSlash(x), filepath.ToSlash(p)) {
					if d.IsDir() {
						return filepath.SkipDir
					}
					return nil
				}
			}
			rec, serr := lstatRecord(p)
			if serr != nil {
				e.Fail("%s: %s", p, errText(serr))
				return nil
			}
			if rec.Type == "symlink" {
				rec.Link, _ = os.Readlink(p)
			}
			n++
			_, werr := io.WriteString(bw, BodyLine(rec))
			return werr
		})
		if err != nil {
			return err
		}
	}
	if n == 0 {
		e.Warn("no entries under %s", strings.Join(b.Roots, ", "))
	}
	return bw.Flush()
}

// BodyLine formats one bodyfile 3 line:
// MD5|name|inode|mode_as_string|UID|GID|size|atime|mtime|ctime|crtime
// MD5 is 0 (content is hashed in the file artifacts, with SHA-256). A '|'
// or newline in a name is written as \x7c or \x0a so a line stays a line.
func BodyLine(f custody.File) string {
	name := bodyEscape(f.Path)
	if f.Link != "" {
		name += " -> " + bodyEscape(f.Link)
	}
	return fmt.Sprintf("0|%s|%d|%s|%d|%d|%d|%d|%d|%d|%d\n",
		name, f.Inode, bodyMode(f), f.UID, f.GID, f.Size,
		epoch(f.Atime), epoch(f.Mtime), epoch(f.Ctime), epoch(f.Btime))
}

var bodyReplacer = strings.NewReplacer("|", `\x7c`, "\n", `\x0a`, "\r", `\x0d`, `\`, `\\`)

func bodyEscape(s string) string { return bodyReplacer.Replace(s) }

// bodyMode is TSK's "r/rrwxr-xr-x" form.
func bodyMode(f custody.File) string {
	t := map[string]string{"file": "r", "dir": "d", "symlink": "l", "fifo": "p", "socket": "s", "device": "b", "other": "-"}[f.Type]
	if t == "" {
		t = "-"
	}
	bits := parseModeBits(f.Mode)
	const rwx = "rwxrwxrwx"
	var b strings.Builder
	b.WriteString(t + "/" + t)
	for i := 0; i < 9; i++ {
		if bits&(1<<(8-i)) != 0 {
			b.WriteByte(rwx[i])
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

func epoch(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return t.Unix()
}
