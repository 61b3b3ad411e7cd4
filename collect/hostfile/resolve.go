package hostfile

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/custos-ir/custos/custody"
)

// maxHops is how many links one resolution passes before it gives up, the
// kernel's own limit: a loop of links ends there.
const maxHops = 40

// hop is a link passed on the way to a target.
type hop struct {
	path   string // raw
	text   string // what readlink said
	rec    custody.File
	target string // raw path it led to
}

// target is where a link leads, resolved one name at a time from directory
// descriptors: no link on the way is followed without being a hop.
type target struct {
	path   string       // raw, no link in it
	rec    custody.File // its own (it is not a link)
	dir    *Dir         // when it is a directory
	parent *Dir         // the directory holding it; nil for a root
	name   string
	hops   []hop  // every link passed, the first one first
	opened []*Dir // directories resolve opened, closed by close
}

func (t *target) close() {
	for i := len(t.opened) - 1; i >= 0; i-- {
		t.opened[i].close()
	}
	t.opened = nil
}

// resolve follows the link name below d to what it finally leads to.
func resolve(d *Dir, name string) (*target, error) { return resolveFrom(d, []string{name}) }

// resolver is one resolution under way: where it is, and the file it
// reached if the last name was not a directory.
type resolver struct {
	t        *target
	cur      *Dir
	file     *custody.File
	fileName string
	fileDir  *Dir
}

func (r *resolver) here() string {
	if r.file != nil {
		return join(r.fileDir.path, r.fileName)
	}
	return r.cur.path
}

// resolveFrom follows the names comps from d, and every link on the way.
func resolveFrom(d *Dir, comps []string) (*target, error) {
	r := &resolver{t: &target{}, cur: d}
	for len(comps) > 0 {
		c := comps[0]
		comps = comps[1:]
		next, err := r.step(c)
		if err != nil {
			r.t.close()
			return nil, err
		}
		comps = append(next, comps...)
	}
	t := r.t
	if r.file != nil {
		t.path, t.rec, t.parent, t.name = r.here(), *r.file, r.fileDir, r.fileName
		return t, nil
	}
	rec, err := r.cur.self()
	if err != nil {
		t.close()
		return nil, err
	}
	t.path, t.rec, t.dir, t.parent = r.cur.path, rec, r.cur, r.cur.parent
	return t, nil
}

// step takes one name; a link gives back the names of its text, then a
// marker ("\x00" and the hop's index) that notes where it led.
func (r *resolver) step(c string) ([]string, error) {
	t := r.t
	if i, ok := strings.CutPrefix(c, "\x00"); ok {
		n, _ := strconv.Atoi(i)
		t.hops[n].target = r.here()
		return nil, nil
	}
	switch {
	case c == "" || c == ".":
		return nil, nil
	case r.file != nil:
		return nil, &fs.PathError{Op: "resolve", Path: r.here() + "/" + c, Err: syscall.ENOTDIR}
	case c == "..":
		if r.cur.parent != nil {
			r.cur = r.cur.parent
		}
		return nil, nil
	}
	rec, err := r.cur.lstat(c)
	if err != nil {
		return nil, err
	}
	switch rec.Type {
	case "symlink":
		if len(t.hops) >= maxHops {
			return nil, &fs.PathError{Op: "resolve", Path: join(r.cur.path, c), Err: syscall.ELOOP}
		}
		text, err := r.cur.readlink(c)
		if err != nil {
			return nil, err
		}
		t.hops = append(t.hops, hop{path: join(r.cur.path, c), text: text, rec: rec})
		start, next, err := t.linkStart(r.cur, text)
		if err != nil {
			return nil, err
		}
		r.cur = start
		return append(next, "\x00"+strconv.Itoa(len(t.hops)-1)), nil
	case "dir":
		sub, err := r.cur.openDir(c)
		if err != nil {
			return nil, err
		}
		t.opened = append(t.opened, sub)
		r.cur = sub
	default:
		r.file, r.fileName, r.fileDir = &rec, c, r.cur
	}
	return nil, nil
}

// linkStart is where a link's text starts from (d for a relative link, a
// root for an absolute one) and its names.
func (t *target) linkStart(d *Dir, text string) (*Dir, []string, error) {
	if runtime.GOOS != "windows" {
		if strings.HasPrefix(text, "/") {
			return d.root(), strings.Split(text, "/"), nil
		}
		return d, strings.Split(text, "/"), nil
	}
	names := strings.FieldsFunc(text, func(r rune) bool { return r == '/' || r == '\\' })
	vol := filepath.VolumeName(text)
	switch {
	case vol != "":
		names = strings.FieldsFunc(text[len(vol):], func(r rune) bool { return r == '/' || r == '\\' })
		root := d.root()
		if strings.EqualFold(strings.TrimRight(root.path, `\`), vol) {
			return root, names, nil
		}
		r, err := openRoot(vol + `\`)
		if err != nil {
			return nil, nil, err
		}
		t.opened = append(t.opened, r)
		return r, names, nil
	case strings.HasPrefix(text, `\`) || strings.HasPrefix(text, "/"):
		return d.root(), names, nil
	}
	return d, names, nil
}

// refusal says why the walk does not follow these links to their target,
// or "". A link made by root is followed anywhere. An unprivileged user's
// link is followed only into what that user owns: the target itself or a
// directory above it (the rule the kernel's protected_symlinks applies in
// sticky directories, taken further). So `~/.ssh -> /` or
// `var/log -> /etc` planted by a web shell is recorded, not followed,
// while a deploy user's `current -> releases/42` is.
func (t *target) refusal() string {
	owners := []uint32{t.rec.UID}
	if t.parent != nil {
		owners = append(owners, t.parent.owners()...)
	}
	for _, h := range t.hops {
		u := h.rec.UID
		if u == 0 || contains(owners, u) {
			continue
		}
		return fmt.Sprintf("not followed: the link %s belongs to uid %d and its target %s to uid %d, with no directory above it of uid %d (an unprivileged user's link is followed only into what that user owns)",
			custody.EscapePath(h.path), u, custody.EscapePath(t.path), t.rec.UID, u)
	}
	if runtime.GOOS == "linux" {
		for _, p := range []string{"/proc", "/sys"} {
			if t.path == p || strings.HasPrefix(t.path, p+"/") {
				return "not followed: the target " + custody.EscapePath(t.path) + " is in " + p + ", a kernel pseudo file system"
			}
		}
	}
	return ""
}

func contains(s []uint32, v uint32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
