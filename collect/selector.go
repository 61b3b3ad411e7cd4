package collect

import (
	"strings"
	"time"

	"github.com/custos-ir/custos/collect/apps/magento"
	"github.com/custos-ir/custos/collect/hostfile"
	"github.com/custos-ir/custos/collect/sniff"
)

// selector applies a group's choices that depend on each entry: only what
// changed within a window, hidden names among hash-only files, secrets.
// It runs on the walking goroutine.
type selector struct {
	opt       FileOptions
	since     time.Time
	roots     []string // where hidden names are judged from: the patterns' fixed parts and the links' targets
	unchanged int
}

func newSelector(g FileGroup, l *Limits) *selector {
	s := &selector{opt: g.Options}
	if w := g.Options.ChangedWithin; w > 0 {
		s.since = time.Now().Add(-w)
		if l != nil && !l.Since.IsZero() {
			s.since = l.Since
		}
	}
	if g.Options.Suspicious != nil {
		s.roots = append(s.roots, g.Options.Suspicious.Roots...)
		for _, p := range g.Patterns {
			s.roots = append(s.roots, fixedPart(p))
		}
	}
	return s
}

// fixedPart is a pattern up to its first wildcard segment.
func fixedPart(p string) string {
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		if strings.ContainsAny(seg, "*?[") {
			return strings.Join(segs[:i], "/")
		}
	}
	return p
}

// wanted says whether the walk hands the entry on: under ChangedWithin,
// only what changed (mtime or ctime) since the window began.
func (s *selector) wanted(en *hostfile.Entry) bool {
	if s.opt.Suspicious != nil && en.Link != nil && en.Link.Target != "" {
		s.roots = append(s.roots, en.Link.Target)
	}
	if s.since.IsZero() || en.Err != nil {
		return true
	}
	rec, err := en.Record()
	if err != nil {
		return true // its record will say what went wrong
	}
	if (rec.Mtime != nil && !rec.Mtime.Before(s.since)) || (rec.Ctime != nil && !rec.Ctime.Before(s.since)) {
		return true
	}
	s.unchanged++
	return false
}

// mark adds what the entry's name says to its prepared record.
func (s *selector) mark(en *hostfile.Entry, pd *pending) {
	if pd.rec.Type != "file" {
		return
	}
	if s.opt.HashOnly && s.opt.Suspicious != nil && pd.suspect == "" && (pd.kind == pendData || pd.kind == pendStream) {
		if seg := sniff.Hidden(en.Path, s.roots); seg != "" {
			pd.suspect = "a hidden file or folder (" + seg + ")"
		}
	}
}

// redactConfig redacts a configuration file by kind: Magento's env.php or
// local.xml, or a Windows server's configuration.
func redactConfig(kind string, b []byte) ([]byte, []string, error) {
	if kind == "magento-env" {
		return magento.Redact(b)
	}
	return redactAs(kind, b)
}
