package collect

import (
	"context"
	"fmt"

	"github.com/custos-ir/custos/collect/hostfile"
)

// Estimate says what a step would take, from metadata alone: no file is
// opened, no database contacted.
type Estimate struct {
	Files int
	Bytes int64
	Note  string
}

// DryRun estimates a planned step.
func DryRun(ctx context.Context, st Planned) Estimate {
	switch s := st.Source.(type) {
	case *Files:
		var e Estimate
		vis := hostfile.NewVisited()
		for _, g := range s.groups() {
			opt := hostfile.WalkOptions{Excludes: g.Excludes, Links: g.Options.Links, Visited: vis}
			hostfile.Walk(ctx, g.Patterns, opt, func(en *hostfile.Entry) error {
				if en.Err != nil {
					return nil
				}
				if rec, err := en.Record(); err == nil && rec.Type == "file" {
					e.Files++
					if g.Options.MaxSize == 0 || rec.Size <= g.Options.MaxSize {
						e.Bytes += rec.Size
					}
				}
				return nil
			})
		}
		switch {
		case s.Options.HashOnly:
			e.Note = "hashed, not copied"
		case len(s.Groups) > 0:
			e.Note = fmt.Sprintf("%d places found on this host", len(s.Groups))
		}
		return e
	case *Locked:
		return s.estimate(ctx)
	case *Bodyfile:
		var e Estimate
		hostfile.Walk(ctx, s.Roots, hostfile.WalkOptions{Excludes: s.Excludes, Links: s.Links, Dirs: true}, func(en *hostfile.Entry) error {
			if en.Err == nil {
				e.Files++
			}
			return nil
		})
		e.Bytes = int64(e.Files) * 120
		e.Note = "entries timelined (about 120 bytes each)"
		return e
	case *MySQLSource:
		return Estimate{Note: fmt.Sprintf("database dump, credentials from %s", s.Describe().Sources[0])}
	case *Stream:
		return Estimate{Note: "live state"}
	case *Deleted:
		return Estimate{Note: "live state: deleted files still held by processes, copied through /proc"}
	}
	return Estimate{}
}
