package collect

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Patterns are absolute, slash-separated paths in which a segment may hold
// the wildcards of path.Match (* ? [..]) or be "**", any number of
// directories. A wildcard matches names starting with a dot too: evidence
// hides in dot files. A matched directory stands for its whole tree.
// Symlinks are never followed below a wildcard, so a link loop cannot trap
// the walk; a literal segment that is a symlink to a directory is followed,
// since the profile named it.

// ValidatePattern rejects patterns that are relative or climb with "..".
func ValidatePattern(p string) error {
	if !isAbs(p) {
		return fmt.Errorf("pattern %q is not an absolute path", p)
	}
	for _, seg := range strings.Split(filepath.ToSlash(p), "/") {
		if seg == ".." {
			return fmt.Errorf("pattern %q escapes its root with \"..\"", p)
		}
		if strings.Contains(seg, "**") && seg != "**" {
			return fmt.Errorf("pattern %q: \"**\" must be a whole path segment", p)
		}
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("pattern %q: bad wildcard in %q", p, seg)
		}
	}
	return nil
}

func isAbs(p string) bool {
	return strings.HasPrefix(p, "/") || filepath.IsAbs(p)
}

// Root is the longest wildcard-free leading part of a pattern.
func Root(pattern string) string {
	segs := strings.Split(filepath.ToSlash(pattern), "/")
	var lit []string
	for _, s := range segs {
		if hasMeta(s) {
			break
		}
		lit = append(lit, s)
	}
	r := strings.Join(lit, "/")
	if r == "" {
		return "/"
	}
	return filepath.FromSlash(r)
}

func hasMeta(s string) bool { return strings.ContainsAny(s, "*?[\\") && s != "" }

// walkFn receives each match; err is set when a directory on the way could
// not be read (path names the directory).
type walkFn func(path string, err error) error

// typedFn is walkFn with the match's type as the walk saw it (from the
// directory listing or an lstat): a hint, not evidence.
type typedFn func(path string, typ fs.FileMode, err error) error

// Expand calls fn for every file, symlink or special file matching one of
// patterns, each once, in lexical order per pattern, skipping anything an
// exclude pattern matches.
func Expand(ctx context.Context, patterns, excludes []string, fn walkFn) error {
	return expandTyped(ctx, patterns, excludes, func(p string, _ fs.FileMode, err error) error { return fn(p, err) })
}

func expandTyped(ctx context.Context, patterns, excludes []string, fn typedFn) error {
	seen := map[string]bool{}
	w := &walker{ctx: ctx, excludes: excludes, seen: seen, fn: fn}
	for _, p := range patterns {
		if err := ValidatePattern(p); err != nil {
			return err
		}
		segs := strings.Split(filepath.ToSlash(p), "/")
		start := "/"
		if vol := filepath.VolumeName(p); vol != "" {
			start = vol + string(filepath.Separator)
			segs = strings.Split(filepath.ToSlash(p[len(vol):]), "/")
		}
		if err := w.expand(start, segs[1:], true); err != nil {
			return err
		}
	}
	return nil
}

type walker struct {
	ctx      context.Context
	excludes []string
	seen     map[string]bool
	fn       typedFn
}

func (w *walker) excluded(p string) bool {
	sp := filepath.ToSlash(p)
	for _, e := range w.excludes {
		if MatchPattern(filepath.ToSlash(e), sp) {
			return true
		}
	}
	return false
}

// expand matches segs below dir. literal reports whether dir was reached by
// literal segments only (so a symlink there may be followed).
func (w *walker) expand(dir string, segs []string, literal bool) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	for len(segs) > 0 && segs[0] == "" {
		segs = segs[1:]
	}
	if len(segs) == 0 {
		return w.emit(dir, literal)
	}
	seg := segs[0]
	switch {
	case seg == "**":
		// Zero directories, then one more level with ** kept.
		if err := w.expand(dir, segs[1:], false); err != nil {
			return err
		}
		return w.eachChild(dir, func(child string, typ fs.FileMode) error {
			if !typ.IsDir() {
				return nil
			}
			return w.expand(child, segs, false)
		})
	case !hasMeta(seg):
		child := filepath.Join(dir, seg)
		fi, err := os.Lstat(child)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil // a literal path that is absent is not a match
			}
			return w.fn(child, 0, err)
		}
		if len(segs) > 1 && !fi.IsDir() && !(literal && fi.Mode()&os.ModeSymlink != 0) {
			return nil
		}
		return w.expand(child, segs[1:], literal)
	default:
		return w.eachChild(dir, func(child string, typ fs.FileMode) error {
			ok, _ := path.Match(seg, filepath.Base(child))
			if !ok || (len(segs) > 1 && !typ.IsDir()) {
				return nil
			}
			return w.expand(child, segs[1:], false)
		})
	}
}

// eachChild lists dir sorted, with each entry's type from the listing
// (a symlink is a symlink, not what it points to).
func (w *walker) eachChild(dir string, fn func(string, fs.FileMode) error) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if fi, serr := os.Lstat(dir); serr == nil && !fi.IsDir() {
			return nil
		}
		return w.fn(dir, 0, err)
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	for _, e := range ents {
		child := filepath.Join(dir, e.Name())
		if w.excluded(child) {
			continue
		}
		if err := fn(child, e.Type()); err != nil {
			return err
		}
	}
	return nil
}

// emit reports a match; a directory stands for its tree.
func (w *walker) emit(p string, literal bool) error {
	if w.seen[p] || w.excluded(p) {
		return nil
	}
	fi, err := os.Lstat(p)
	if err != nil {
		w.seen[p] = true
		return w.fn(p, 0, err)
	}
	isDir := fi.IsDir()
	if !isDir && literal && fi.Mode()&os.ModeSymlink != 0 {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			isDir = true // a named link to a directory: follow it once
		}
	}
	if isDir {
		w.seen[p] = true
		return w.eachChild(p, w.emitChild)
	}
	w.seen[p] = true
	return w.fn(p, fi.Mode().Type(), nil)
}

// emitChild is emit for an entry of a directory listing, whose type the
// listing already gave: a file below a matched directory needs no second
// stat here (the reader takes its metadata anyway).
func (w *walker) emitChild(p string, typ fs.FileMode) error {
	if typ.IsDir() {
		return w.emit(p, false)
	}
	if w.seen[p] {
		return nil
	}
	w.seen[p] = true
	return w.fn(p, typ, nil)
}

// MatchPattern reports whether name matches pattern, both slash-separated,
// with "**" matching any number of segments. A pattern that matches a
// directory matches everything below it.
func MatchPattern(pattern, name string) bool {
	return matchSegs(strings.Split(pattern, "/"), strings.Split(name, "/"))
}

func matchSegs(p, n []string) bool {
	for len(p) > 0 {
		if p[0] == "**" {
			for i := 0; i <= len(n); i++ {
				if matchSegs(p[1:], n[i:]) {
					return true
				}
			}
			return false
		}
		if len(n) == 0 {
			return false
		}
		if ok, _ := path.Match(p[0], n[0]); !ok {
			return false
		}
		p, n = p[1:], n[1:]
	}
	return true // pattern exhausted: name is it or below it
}
