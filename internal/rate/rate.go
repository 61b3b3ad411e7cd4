// Package rate limits throughput in bytes per second, shared by every
// goroutine that uses one Limiter, so --read-rate holds for the whole
// collection, not per artifact.
package rate

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/custos-ir/custos/internal/units"
)

// Limiter hands out bytes at a fixed rate with a one-second burst.
type Limiter struct {
	mu   sync.Mutex
	rate float64 // bytes per second
	next time.Time
}

// New returns a limiter of bps bytes per second; nil (no limit) for 0.
func New(bps int64) *Limiter {
	if bps <= 0 {
		return nil
	}
	return &Limiter{rate: float64(bps)}
}

// Wait blocks until n bytes may pass, or ctx ends.
func (l *Limiter) Wait(ctx context.Context, n int) error {
	if l == nil || n <= 0 {
		return nil
	}
	l.mu.Lock()
	now := time.Now()
	if l.next.Before(now.Add(-time.Second)) {
		l.next = now.Add(-time.Second) // at most a second of burst
	}
	l.next = l.next.Add(time.Duration(float64(n) / l.rate * float64(time.Second)))
	wait := l.next.Sub(now)
	l.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Writer limits writes to w.
func (l *Limiter) Writer(ctx context.Context, w io.Writer) io.Writer {
	if l == nil {
		return w
	}
	return writer{ctx, l, w}
}

type writer struct {
	ctx context.Context
	l   *Limiter
	w   io.Writer
}

func (w writer) Write(p []byte) (int, error) {
	done := 0
	for len(p) > 0 {
		k := min(len(p), 256<<10)
		if err := w.l.Wait(w.ctx, k); err != nil {
			return done, err
		}
		n, err := w.w.Write(p[:k])
		done += n
		if err != nil {
			return done, err
		}
		p = p[k:]
	}
	return done, nil
}

// Parse reads a rate like 50MiB/s, 20MB/s or 1048576 (bytes per second).
func Parse(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), "/s")
	n, err := units.ParseSize(t)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("rate %q: want bytes per second like 20MiB/s or 50MiB/s", s)
	}
	return int64(n), nil
}
