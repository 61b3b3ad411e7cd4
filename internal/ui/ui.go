// Package ui prints collection progress for people and programs: a live
// line on a terminal, one plain line per artifact otherwise (over SSH, into
// a log), or JSON events. It writes to stderr only: stdout belongs to
// evidence.
package ui

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/custos-ir/custos/collect"
)

// Mode picks a reporter.
type Mode int

const (
	Auto  Mode = iota // live line on a terminal, else plain
	Plain             // a line per artifact
	JSON              // a JSON object per event
	Quiet             // nothing but warnings and the summary
)

// New returns a reporter writing to w (normally os.Stderr).
func New(w io.Writer, mode Mode) collect.Reporter {
	if mode == Auto {
		mode = Plain
		if f, ok := w.(*os.File); ok && IsTerminal(f) {
			return &live{w: w}
		}
	}
	switch mode {
	case JSON:
		return &jsonReporter{enc: json.NewEncoder(w)}
	case Quiet:
		return &plain{w: w, quiet: true}
	}
	return &plain{w: w}
}

type jsonReporter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (j *jsonReporter) Event(ev collect.Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	ev.Time = ev.Time.UTC()
	j.enc.Encode(ev)
}

type plain struct {
	mu    sync.Mutex
	w     io.Writer
	quiet bool
	start map[string]time.Time
}

func (p *plain) Event(ev collect.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.start == nil {
		p.start = map[string]time.Time{}
	}
	switch ev.Type {
	case collect.EventStart:
		p.start[ev.Artifact] = ev.Time
	case collect.EventDone:
		if p.quiet && ev.Status == "ok" {
			return
		}
		fmt.Fprintln(p.w, DoneLine(ev, ev.Time.Sub(p.start[ev.Artifact])))
	case collect.EventWarn, collect.EventPhase:
		fmt.Fprintf(p.w, "custos: %s\n", ev.Message)
	}
}

// DoneLine is the one-line account of a finished artifact.
func DoneLine(ev collect.Event, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "custos: %-8s %-20s", ev.Status, ev.Artifact)
	if ev.Status == "ok" || ev.Status == "partial" {
		fmt.Fprintf(&b, " %9s -> %9s stored", Bytes(ev.Bytes), Bytes(ev.Stored))
		if took > 0 {
			fmt.Fprintf(&b, " in %s", took.Round(time.Millisecond))
		}
	}
	if ev.Err != "" {
		b.WriteString(" (" + oneLine(ev.Err) + ")")
	}
	return b.String()
}

type live struct {
	mu    sync.Mutex
	w     io.Writer
	start map[string]time.Time
	dirty bool
}

func (l *live) Event(ev collect.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.start == nil {
		l.start = map[string]time.Time{}
	}
	clear := func() {
		if l.dirty {
			fmt.Fprint(l.w, "\r\033[K")
			l.dirty = false
		}
	}
	switch ev.Type {
	case collect.EventStart:
		l.start[ev.Artifact] = ev.Time
		clear()
		fmt.Fprintf(l.w, "custos: reading %s ...", ev.Artifact)
		l.dirty = true
	case collect.EventProgress:
		clear()
		el := ev.Time.Sub(l.start[ev.Artifact]).Seconds()
		rate := ""
		if el > 0 {
			rate = Bytes(int64(float64(ev.Bytes)/el)) + "/s"
		}
		fmt.Fprintf(l.w, "custos: reading %s: %s %s", ev.Artifact, Bytes(ev.Bytes), rate)
		l.dirty = true
	case collect.EventDone:
		clear()
		fmt.Fprintln(l.w, DoneLine(ev, ev.Time.Sub(l.start[ev.Artifact])))
	case collect.EventWarn, collect.EventPhase:
		clear()
		fmt.Fprintf(l.w, "custos: %s\n", ev.Message)
	}
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}

// Bytes formats a byte count in binary units.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
