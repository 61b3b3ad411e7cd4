// Package apps finds where applications on a Linux host keep evidence by
// reading their own configuration: the logs nginx, Apache, PHP-FPM and
// php.ini name (includes followed), the document roots they serve,
// hosting-panel layouts, Varnish's shared-memory log, and every account's
// home as /etc/passwd gives it.
//
// It reads through collect/hostfile only (no link followed against the
// walk's rules, O_NOATIME, no FIFO opened) and never runs a program of the
// host. A configuration that does not parse is a Finding; discovery goes on
// with the rest.
package apps

import (
	"context"
	"path"
	"sort"
	"strings"

	"github.com/custos-ir/custos/collect/hostfile"
)

// Host is the Linux host discovery reads: Root is where its / is ("" for
// this host; a fixture root in tests). Paths handed out are the host's,
// below Root.
type Host struct {
	Root string
}

// maxConfig bounds what discovery reads of one configuration file.
const maxConfig = 8 << 20

// maxIncludes bounds how many files one configuration may pull in, so a
// loop of includes (or a glob over a huge directory) ends.
const maxIncludes = 4096

// read reads a configuration file at host path p.
func (h Host) read(p string) ([]byte, error) {
	c, err := hostfile.ReadFile(h.Root+p, maxConfig)
	if err != nil {
		return nil, err
	}
	return c.Data, nil
}

// exists reports whether host path p names something.
func (h Host) exists(p string) bool {
	_, _, err := hostfile.Stat(h.Root + p)
	return err == nil
}

// glob returns the host paths of the regular files and directories pattern
// matches (links followed as a walk follows them, reported at their
// targets), sorted.
func (h Host) glob(pattern string, dirs bool) []string {
	var out []string
	seen := map[string]bool{}
	hostfile.Walk(context.Background(), []string{h.Root + pattern}, hostfile.WalkOptions{Shallow: true}, func(e *hostfile.Entry) error {
		if e.Err != nil || e.Kind == hostfile.KindLink {
			return nil
		}
		if (e.Kind == hostfile.KindDir) != dirs && e.Kind != hostfile.KindUnknown {
			return nil
		}
		p := strings.TrimPrefix(e.Path, h.Root)
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// Finding is something discovery noticed: a configuration that does not
// parse, a log a configuration names that is not there.
type Finding struct {
	What, Where, Detail string
	// Failure marks what the artifact should record as an error (a
	// configuration custos could not read), not a note.
	Failure bool
}

func (f Finding) String() string { return f.What + ": " + f.Where + ": " + f.Detail }

// FileSet is what discovery asks to take: patterns of host paths, and why.
type FileSet struct {
	Name     string   // what it is, e.g. "nginx logs"
	Why      string   // where discovery learnt of it
	Patterns []string // absolute host paths and globs
	Excludes []string // patterns left out
	Logs     bool     // --since/--until apply
	// Sensitive are patterns among these whose content is a secret.
	Sensitive []string
}

// globify turns a path with configuration variables ($host, ${APACHE_LOG_DIR}
// left unknown, %Y of rotatelogs) into a glob matching what they stand for.
func globify(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '$' && i+1 < len(p) && p[i+1] == '{':
			if j := strings.IndexByte(p[i:], '}'); j > 0 {
				b.WriteByte('*')
				i += j
				continue
			}
		case c == '$' && i+1 < len(p) && isIdent(p[i+1]):
			j := i + 1
			for j < len(p) && isIdent(p[j]) {
				j++
			}
			b.WriteByte('*')
			i = j - 1
			continue
		case c == '%' && i+1 < len(p) && p[i+1] != '%':
			b.WriteByte('*')
			i++
			continue
		}
		b.WriteByte(c)
	}
	return collapseStars(b.String())
}

func collapseStars(s string) string {
	for strings.Contains(s, "**") {
		s = strings.ReplaceAll(s, "**", "*")
	}
	return s
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// abs makes a configuration's relative path absolute against dir and
// cleans it; "" for what is not a file path (syslog:, a pipe, stderr).
func abs(dir, p string) string {
	p = strings.TrimSpace(p)
	switch {
	case p == "", p == "off", p == "stderr", p == "stdout", p == "syslog", strings.HasPrefix(p, "syslog:"),
		strings.HasPrefix(p, "|"), strings.HasPrefix(p, "/dev/"), strings.HasPrefix(p, "memory:"):
		return ""
	case !strings.HasPrefix(p, "/"):
		p = dir + "/" + p
	}
	return path.Clean(p)
}

// rotations are a log's path and its rotated siblings (access.log.1,
// access.log.2.gz, access.log-20261120.gz).
func rotations(p string) []string {
	if strings.HasSuffix(p, "*") {
		return []string{p}
	}
	return []string{p, p + ".*", p + "-*", p + "_*"}
}
