package hostfile

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// Patterns are absolute, slash-separated paths in which a segment may hold
// the wildcards of path.Match (* ? [..]) or be "**", any number of
// directories. A wildcard matches names starting with a dot too: evidence
// hides in dot files. A matched directory stands for its whole tree. How
// links are met: see Walk.

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

func hasMeta(s string) bool { return strings.ContainsAny(s, "*?[\\") && s != "" }

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
