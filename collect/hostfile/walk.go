package hostfile

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io/fs"
	"math/bits"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/custos-ir/custos/custody"
)

// LinkPolicy says what a walk does with the symlinks it meets.
type LinkPolicy uint8

const (
	// Follow records each link met and takes its target once, at the
	// target's own path, if the link may lead there (see target.refusal).
	Follow LinkPolicy = iota
	// Record records each link met and follows none.
	Record
)

// WalkOptions shape a walk.
type WalkOptions struct {
	Excludes []string // patterns; a match is skipped (a directory with its tree)
	Links    LinkPolicy
	Dirs     bool // report directories too, each before what it holds
	Shallow  bool // a directory the pattern matches is reported itself, not its tree
	// Visited is shared by the walks of one artifact so that each entry is
	// reported once; nil: a fresh one.
	Visited *Visited
}

// Visited remembers what walks reported.
type Visited struct {
	trees   map[fileID]bool // directories whose tree was walked
	paths   *pathSet        // entries reported
	through map[throughKey]bool
}

// pathSet holds paths as 128 bits of two randomly seeded hashes; a
// collision (about 1 in 10^25 for a million paths, and unforgeable without
// the seeds) would drop an entry. The keys are in an open-addressed table
// of its own, 16 bytes a slot and at most 7/8 full, in segments that each
// grow by half when full: 18 to 28 bytes a path, where a Go map of the same
// keys takes 56 (a tree of a million files is its largest cost to collect).
type pathSet struct {
	seeds [2]maphash.Seed
	segs  [256]pathSegment
}

type pathSegment struct {
	slots [][2]uint64 // a zero first word is a free slot
	n     int
}

func (s *pathSet) key(p string) [2]uint64 {
	// The first word is never zero: a zero marks a free slot.
	return [2]uint64{maphash.String(s.seeds[0], p) | 1, maphash.String(s.seeds[1], p)}
}

// add reports whether p was not in the set.
func (s *pathSet) add(p string) bool {
	k := s.key(p)
	g := &s.segs[k[0]>>56]
	if g.n >= len(g.slots)/8*7 {
		g.grow()
	}
	for i := g.home(k); ; i = g.next(i) {
		switch g.slots[i][0] {
		case 0:
			g.slots[i] = k
			g.n++
			return true
		case k[0]:
			if g.slots[i][1] == k[1] {
				return false
			}
		}
	}
}

// home is where k's probe starts: the second word scaled to the table.
func (g *pathSegment) home(k [2]uint64) int {
	hi, _ := bits.Mul64(k[1], uint64(len(g.slots)))
	return int(hi)
}

func (g *pathSegment) next(i int) int {
	if i++; i == len(g.slots) {
		return 0
	}
	return i
}

func (g *pathSegment) grow() {
	old := g.slots
	g.slots = make([][2]uint64, max(16, len(old)+len(old)/2))
	for _, k := range old {
		if k[0] == 0 {
			continue
		}
		i := g.home(k)
		for g.slots[i][0] != 0 {
			i = g.next(i)
		}
		g.slots[i] = k
	}
}

// throughKey is a directory entered with the rest of a pattern to match
// (through a link or "**"): entering it again would loop.
type throughKey struct {
	id   fileID
	rest string
}

// NewVisited returns an empty record of what was walked.
func NewVisited() *Visited {
	return &Visited{trees: map[fileID]bool{}, through: map[throughKey]bool{},
		paths: &pathSet{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}}
}

// Link is what a walk learned about a symlink it met.
type Link struct {
	Text   string // the link's text, raw
	Target string // raw path of what the walk took through it; "" if nothing
	Why    string // why not, when Target is ""
}

// Entry is one thing a walk met. Its methods are valid only during the
// callback that received it.
type Entry struct {
	Path string // the host's bytes
	Kind Kind   // from the listing or an lstat: a hint, not evidence
	Err  error  // the walk could not list or look at Path
	Link *Link  // for a symlink
	rec  *custody.File
	dir  *Dir // the directory holding it
	name string
	self *Dir // a directory reported itself (Dirs, Shallow)
}

// maxDepth bounds how deep a walk goes (each level holds a descriptor).
const maxDepth = 512

// Walk calls fn for every entry matching patterns, each once, in lexical
// order per pattern, skipping what an exclude matches. A directory matched
// stands for its tree. An error from fn or the end of ctx stops the walk
// and is returned; a directory that cannot be listed is an entry with Err.
//
// Symlinks are met as links wherever they are: named by a pattern, matched
// by a wildcard, found in a tree. Each is reported (Kind KindLink, Link
// set) and, under Follow, its target is taken: a file is reported at its
// own path, a directory is walked (or matched against the rest of the
// pattern) from its own path, each target once however many links lead to
// it, so loops end. The links passed on the way to a target are reported
// too.
func Walk(ctx context.Context, patterns []string, opt WalkOptions, fn func(*Entry) error) error {
	w := &walker{ctx: ctx, opt: opt, vis: opt.Visited, fn: fn}
	if w.vis == nil {
		w.vis = NewVisited()
	}
	for _, p := range patterns {
		if err := ValidatePattern(p); err != nil {
			return err
		}
		start, rest := "/", p
		if vol := filepath.VolumeName(p); vol != "" {
			start, rest = vol+string(filepath.Separator), p[len(vol):]
		}
		root, err := openRoot(start)
		if err != nil {
			if err := w.fn(&Entry{Path: start, Kind: KindDir, Err: err}); err != nil {
				return err
			}
			continue
		}
		err = w.expand(root, strings.Split(filepath.ToSlash(rest), "/"))
		root.close()
		if err != nil {
			return err
		}
	}
	return nil
}

type walker struct {
	ctx   context.Context
	opt   WalkOptions
	vis   *Visited
	fn    func(*Entry) error
	depth int
	swaps int   // entries taken again because they changed while walked
	ent   Entry // what report hands to fn
}

// again takes an entry again as what it became while walked. Something
// that keeps changing under the walk is reported, not chased.
func (w *walker) again(d *Dir, name string, kind Kind, rest []string) error {
	if w.swaps >= 8 {
		return w.fn(&Entry{Path: join(d.path, name), Err: errors.New("kept changing while walked: not taken")})
	}
	w.swaps++
	defer func() { w.swaps-- }()
	return w.child(d, name, kind, rest)
}

func (w *walker) excluded(p string) bool {
	sp := filepath.ToSlash(p)
	for _, e := range w.opt.Excludes {
		if MatchPattern(filepath.ToSlash(e), sp) {
			return true
		}
	}
	return false
}

// expand matches segs below d.
func (w *walker) expand(d *Dir, segs []string) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	for len(segs) > 0 && segs[0] == "" {
		segs = segs[1:]
	}
	if len(segs) == 0 {
		if w.opt.Shallow {
			return w.report(d.path, Entry{Path: d.path, Kind: KindDir, self: d})
		}
		return w.tree(d)
	}
	seg := segs[0]
	if !hasMeta(seg) {
		return w.child(d, seg, KindUnknown, segs[1:])
	}
	if seg == "**" {
		// Zero directories, then one more level with ** kept.
		if err := w.expand(d, segs[1:]); err != nil {
			return err
		}
		if w.vis.through[throughKey{d.id, strings.Join(segs, "/")}] {
			return nil
		}
		w.vis.through[throughKey{d.id, strings.Join(segs, "/")}] = true
	}
	ents, err := w.list(d)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if seg == "**" {
			if e.kind == KindDir || e.kind == KindLink || e.kind == KindUnknown {
				if err := w.child(d, e.name, e.kind, segs); err != nil {
					return err
				}
			}
			continue
		}
		if ok, _ := path.Match(seg, e.name); ok {
			if err := w.child(d, e.name, e.kind, segs[1:]); err != nil {
				return err
			}
		}
	}
	return nil
}

// list lists d, reporting a listing that fails as an entry.
func (w *walker) list(d *Dir) ([]dirent, error) {
	ents, err := d.list()
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, w.fn(&Entry{Path: d.path, Kind: KindDir, Err: err})
	}
	return ents, nil
}

// child handles the entry name of d (of kind, if the listing said) with
// the segments still to match below it.
func (w *walker) child(d *Dir, name string, kind Kind, rest []string) error {
	p := join(d.path, name)
	if w.excluded(p) {
		return nil
	}
	var rec *custody.File
	if kind == KindUnknown || kind == KindOther {
		r, err := d.lstat(name)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // a named path that is absent is not a match
			}
			return w.fn(&Entry{Path: p, Err: err})
		}
		rec, kind = &r, kindOf(r.Type)
	}
	switch kind {
	case KindDir:
		return w.intoDir(d, name, rest)
	case KindLink:
		return w.link(d, name, rest, rec)
	}
	if len(rest) > 0 {
		return nil // a file has nothing below it
	}
	return w.report(p, Entry{Path: p, Kind: kind, rec: rec, dir: d, name: name})
}

// intoDir opens the directory name of d and matches rest below it.
func (w *walker) intoDir(d *Dir, name string, rest []string) error {
	sub, err := d.openDir(name)
	if err != nil {
		p := join(d.path, name)
		if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ELOOP) {
			// Swapped for something else since the listing: take what is
			// there now, as that.
			r, lerr := d.lstat(name)
			if lerr == nil && r.Type != "dir" {
				return w.again(d, name, kindOf(r.Type), rest)
			}
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return w.fn(&Entry{Path: p, Kind: KindDir, Err: err})
	}
	defer sub.close()
	return w.enter(sub, rest)
}

// enter matches rest below the open directory d, one level deeper.
func (w *walker) enter(d *Dir, rest []string) error {
	if w.depth >= maxDepth {
		return w.fn(&Entry{Path: d.path, Kind: KindDir, Err: fmt.Errorf("deeper than %d directories: not walked", maxDepth)})
	}
	w.depth++
	defer func() { w.depth-- }()
	return w.expand(d, rest)
}

// tree reports everything below d, d itself first with Dirs.
func (w *walker) tree(d *Dir) error {
	if w.vis.trees[d.id] {
		return nil // walked already (or being walked: a loop)
	}
	w.vis.trees[d.id] = true
	if w.opt.Dirs {
		if err := w.report(d.path, Entry{Path: d.path, Kind: KindDir, self: d}); err != nil {
			return err
		}
	}
	ents, err := w.list(d)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		if err := w.child(d, e.name, e.kind, nil); err != nil {
			return err
		}
	}
	return nil
}

// report hands an entry to fn once.
// The entry handed to fn is the walker's own, overwritten for the next:
// an Entry is valid only during the callback.
func (w *walker) report(p string, e Entry) error {
	if !w.vis.paths.add(p) {
		return nil
	}
	w.ent = e
	return w.fn(&w.ent)
}

// link reports the link name of d and, under Follow, takes its target.
// The link is reported once; going through it again (for another pattern)
// takes the target again, where that was not taken already.
func (w *walker) link(d *Dir, name string, rest []string, rec *custody.File) error {
	p := join(d.path, name)
	if rec == nil {
		r, err := d.lstat(name)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return w.fn(&Entry{Path: p, Err: err})
		}
		rec = &r
	}
	if rec.Type != "symlink" { // no longer a link: take what is there
		return w.again(d, name, kindOf(rec.Type), rest)
	}
	first := w.vis.paths.add(p)
	e := &Entry{Path: p, Kind: KindLink, Link: &Link{}, rec: rec, dir: d, name: name}
	t := w.follow(e)
	if t == nil {
		return w.reportLink(first, e)
	}
	defer t.close()
	if err := w.reportLink(first, e); err != nil {
		return err
	}
	return w.takeTarget(t, rest)
}

// follow reads the link's text and, under Follow, resolves it: the target
// when the walk may go there, else nil with the reason in e.Link.Why.
func (w *walker) follow(e *Entry) *target {
	l := e.Link
	text, err := e.dir.readlink(e.name)
	if err != nil {
		l.Why = ErrText(err)
		return nil
	}
	l.Text = text
	if w.opt.Links == Record {
		return nil
	}
	t, err := resolve(e.dir, e.name)
	if err != nil {
		l.Why = unresolved(err)
		return nil
	}
	if len(t.hops) == 0 || t.hops[0].text != text {
		// Swapped between the lstat and the resolution: what is there now
		// is not what was recorded.
		t.close()
		l.Why = "not followed: it changed while walked (swapped for another link or a directory)"
		return nil
	}
	l.Why = t.refusal()
	if l.Why == "" && w.excluded(t.path) {
		l.Why = "not followed: its target " + custody.EscapePath(t.path) + " is excluded by the profile"
	}
	if l.Why != "" {
		t.close()
		return nil
	}
	l.Target = t.path
	return t
}

// takeTarget reports the links passed after the first, then the target: a
// file itself, a directory matched against rest (its tree when rest is
// empty).
func (w *walker) takeTarget(t *target, rest []string) error {
	for _, h := range t.hops[1:] {
		hr := h.rec
		if err := w.report(h.path, Entry{Path: h.path, Kind: KindLink, rec: &hr, Link: &Link{Text: h.text, Target: h.target}}); err != nil {
			return err
		}
	}
	if t.dir == nil {
		if len(rest) > 0 {
			return nil
		}
		trec := t.rec
		return w.report(t.path, Entry{Path: t.path, Kind: kindOf(trec.Type), rec: &trec, dir: t.parent, name: t.name})
	}
	if len(rest) > 0 {
		k := throughKey{t.dir.id, strings.Join(rest, "/")}
		if w.vis.through[k] {
			return nil
		}
		w.vis.through[k] = true
	}
	return w.enter(t.dir, rest)
}

func (w *walker) reportLink(first bool, e *Entry) error {
	if !first {
		return nil
	}
	return w.fn(e)
}

// unresolved says, for the record, why a link leads nowhere.
func unresolved(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "dangling: its target does not exist"
	case errors.Is(err, syscall.ELOOP):
		return fmt.Sprintf("not followed: more than %d links on the way (a loop)", maxHops)
	case errors.Is(err, syscall.ENOTDIR):
		return "dangling: a file stands where its target needs a directory"
	}
	return "not followed: " + ErrText(err)
}
