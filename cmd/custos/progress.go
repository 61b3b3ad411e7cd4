package main

// Progress of a collection for people and programs: a live line on a
// terminal, one plain line per artifact otherwise (over SSH, into a log),
// or JSON events. It writes to stderr only: stdout belongs to evidence.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/internal/term"
	"github.com/custos-ir/custos/internal/units"
)

// progressMode picks a reporter.
type progressMode int

const (
	progressAuto  progressMode = iota // live line on a terminal, else plain
	progressPlain                     // a line per artifact
	progressJSON                      // a JSON object per event
	progressQuiet                     // nothing but warnings and the summary
)

// newReporter returns a reporter writing to w (normally os.Stderr).
func newReporter(w io.Writer, mode progressMode) collect.Reporter {
	if mode == progressAuto {
		mode = progressPlain
		if f, ok := w.(*os.File); ok && term.IsTerminal(f) {
			return &liveLine{w: w}
		}
	}
	switch mode {
	case progressJSON:
		return &jsonReporter{enc: json.NewEncoder(w)}
	case progressQuiet:
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
		fmt.Fprintln(p.w, doneLine(ev, ev.Time.Sub(p.start[ev.Artifact])))
	case collect.EventWarn, collect.EventPhase:
		fmt.Fprintf(p.w, "custos: %s\n", ev.Message)
	}
}

// doneLine is the one-line account of a finished artifact.
func doneLine(ev collect.Event, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "custos: %-8s %-20s", ev.Status, ev.Artifact)
	if ev.Status == "ok" || ev.Status == "partial" {
		fmt.Fprintf(&b, " %9s -> %9s stored", units.Bytes(ev.Bytes), units.Bytes(ev.Stored))
		if took > 0 {
			fmt.Fprintf(&b, " in %s", took.Round(time.Millisecond))
		}
	}
	if ev.Err != "" {
		b.WriteString(" (" + shortLine(ev.Err) + ")")
	}
	return b.String()
}

type liveLine struct {
	mu    sync.Mutex
	w     io.Writer
	start map[string]time.Time
	dirty bool
}

func (l *liveLine) Event(ev collect.Event) {
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
			rate = units.Bytes(int64(float64(ev.Bytes)/el)) + "/s"
		}
		fmt.Fprintf(l.w, "custos: reading %s: %s %s", ev.Artifact, units.Bytes(ev.Bytes), rate)
		l.dirty = true
	case collect.EventDone:
		clear()
		fmt.Fprintln(l.w, doneLine(ev, ev.Time.Sub(l.start[ev.Artifact])))
	case collect.EventWarn, collect.EventPhase:
		clear()
		fmt.Fprintf(l.w, "custos: %s\n", ev.Message)
	}
}

func shortLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}
