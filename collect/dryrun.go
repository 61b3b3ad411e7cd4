package collect

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
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
		Expand(ctx, s.Patterns, s.Excludes, func(p string, err error) error {
			if err != nil {
				return nil
			}
			if rec, err := lstatRecord(p); err == nil && rec.Type == "file" {
				e.Files++
				if s.Options.MaxSize == 0 || rec.Size <= s.Options.MaxSize {
					e.Bytes += rec.Size
				}
			}
			return nil
		})
		if s.Options.HashOnly {
			e.Note = "hashed, not copied"
		}
		return e
	case *Bodyfile:
		var e Estimate
		for _, r := range s.Roots {
			filepath.WalkDir(r, func(p string, d fs.DirEntry, err error) error {
				if err == nil {
					e.Files++
				}
				return nil
			})
		}
		e.Bytes = int64(e.Files) * 120
		e.Note = "entries timelined (about 120 bytes each)"
		return e
	case *MySQLSource:
		return Estimate{Note: fmt.Sprintf("database dump, credentials from %s", s.Describe().Sources[0])}
	case *Stream:
		return Estimate{Note: "live state"}
	}
	return Estimate{}
}
