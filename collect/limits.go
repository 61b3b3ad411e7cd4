package collect

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/custos-ir/custos/internal/rate"
)

// Limits keep a collection gentle and bounded on a live host. The zero
// value limits nothing.
type Limits struct {
	// Workers is how many artifacts are taken at once after the live state
	// (which is always taken first, one at a time, in order). 0 means 1.
	Workers int
	// SourceTimeout stops an artifact that takes longer: what it took is
	// stored, what it had not reached is recorded as not taken. One stuck
	// in a read that never returns (a dead network mount) is abandoned a
	// grace period later. 0: no limit.
	SourceTimeout time.Duration
	// FileTimeout cuts the read of one file that takes longer: the bytes
	// read are kept, the record says where it was cut, and the artifact's
	// other files are taken. 0: no limit.
	FileTimeout time.Duration
	// ReadRate and UploadRate bound bytes per second read from files and
	// written to the store, across all workers.
	ReadRate, UploadRate *rate.Limiter
	// Since and Until bound the modification time of files in log
	// artifacts; files outside are recorded, not read.
	Since, Until time.Time
	// MaxArtifact and MaxTotal bound the plaintext bytes of file content
	// read per artifact and in all; files past a cap are recorded, not read.
	MaxArtifact, MaxTotal int64

	total atomic.Int64
}

// reserve takes n bytes from the total budget, or says why not.
func (l *Limits) reserve(n int64) string {
	if l == nil || l.MaxTotal <= 0 {
		return ""
	}
	if l.total.Add(n) > l.MaxTotal {
		l.total.Add(-n)
		return fmt.Sprintf("over --max-total %d bytes: recorded, not read", l.MaxTotal)
	}
	return ""
}

// window says why a file's mtime puts it out of scope, or "".
func (l *Limits) window(mtime *time.Time) string {
	if l == nil || mtime == nil {
		return ""
	}
	if !l.Since.IsZero() && mtime.Before(l.Since) {
		return "modified before --since " + l.Since.UTC().Format(time.RFC3339) + ": recorded, not read"
	}
	if !l.Until.IsZero() && mtime.After(l.Until) {
		return "modified after --until " + l.Until.UTC().Format(time.RFC3339) + ": recorded, not read"
	}
	return ""
}
