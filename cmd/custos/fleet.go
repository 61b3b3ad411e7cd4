package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/remote"
	"github.com/custos-ir/custos/internal/term"
	"github.com/custos-ir/custos/internal/units"
)

// runFleet collects every host of a hosts file, --parallel at a time,
// each streamed home under its own host in the same destination. One host
// failing never stops the others; a host that could not be collected is
// recorded in the case.
func runFleet(ctx context.Context, o remoteOptions, std stdio) error {
	var in io.Reader = std.in
	if o.hostsFile != "-" {
		fh, err := os.Open(o.hostsFile)
		if err != nil {
			return usageErr("--hosts: %v", err)
		}
		defer fh.Close()
		in = fh
	}
	targets, bad := remote.ParseHosts(in)
	for _, err := range bad {
		fmt.Fprintf(std.err, "custos: warning: %v\n", err)
	}
	if len(targets) == 0 {
		return usageErr("--hosts %s names no host", o.hostsFile)
	}
	req, err := prepareRemote(o)
	if err != nil {
		return err
	}
	rep := newFleetReporter(std.err, o.json, targets)
	results := make([]hostResult, len(targets))
	remote.Each(ctx, targets, o.parallel, func(ctx context.Context, i int, t remote.Target) {
		out := rep.output(t)
		hio := hostIO{stdio: stdio{in: std.in, out: io.Discard, err: out}, stderr: out,
			progress: func(state string, n int64) { rep.state(t, state, n, "") }}
		res := collectHost(ctx, req, t, hio)
		switch {
		case res.err != nil:
			why := res.err
			key, rerr := notCollected(ctx, req, t, why)
			if rerr != nil {
				fmt.Fprintf(out, "custos: error: could not record the host as not collected: %v\n", rerr)
			} else {
				fmt.Fprintf(out, "custos: recorded as not collected: %s\n", key)
			}
			rep.state(t, "not collected", res.bytes, oneLine(why.Error()))
		case res.code != nil:
			rep.state(t, "partial", res.bytes, "stored as far as it arrived")
		default:
			rep.state(t, "complete", res.bytes, "")
		}
		results[i] = res
	})
	rep.done()
	return fleetSummary(ctx, req, results, len(bad), std)
}

// fleetSummary prints one line per host and the exit code of the run;
// with a sign key it signs the case once every host is home.
func fleetSummary(ctx context.Context, req *remoteRequest, results []hostResult, bad int, std stdio) error {
	complete, partial, failed := 0, 0, 0
	for _, r := range results {
		switch {
		case r.err != nil:
			failed++
			fmt.Fprintf(std.err, "custos: %-24s NOT COLLECTED: %s\n", r.target.Name, oneLine(r.err.Error()))
		case r.code != nil:
			partial++
			fmt.Fprintf(std.err, "custos: %-24s partial: %s (%s)\n", r.target.Name, strings.TrimSuffix(r.prefix, "/"), units.Bytes(r.bytes))
		default:
			complete++
			fmt.Fprintf(std.err, "custos: %-24s complete: %s (%s)\n", r.target.Name, strings.TrimSuffix(r.prefix, "/"), units.Bytes(r.bytes))
		}
	}
	fmt.Fprintf(std.err, "custos: case %s: %d hosts complete, %d partial, %d not collected%s; in %s\n", req.caseID, complete, partial, failed,
		map[bool]string{true: fmt.Sprintf(", %d bad hosts lines", bad), false: ""}[bad > 0], req.to)
	if req.signer != nil && complete+partial > 0 {
		if err := signCase(ctx, caseLocation(req.to, req.caseID), &req.s3, req.signer, "", std); err != nil {
			fmt.Fprintf(std.err, "custos: error: the case is stored but not signed: %s\n", oneLine(err.Error()))
			return exitWith(exitPartial)
		}
	}
	switch {
	case complete+partial == 0:
		return &exitError{code: exitFatal, err: errors.New("no host was collected")}
	case partial > 0 || failed > 0 || bad > 0:
		return exitWith(exitPartial)
	}
	return nil
}

// caseLocation is a case's location under a --to.
func caseLocation(to, caseID string) string {
	return ingestedLocation(to, custody.KeySegment(caseID))
}

// fleetReporter shows the hosts of a run: a live table on a terminal,
// plain lines (each host's own prefixed) otherwise, or JSON events.
type fleetReporter struct {
	mu     sync.Mutex
	w      io.Writer
	json   *json.Encoder
	table  bool
	rows   []*fleetRow
	byName map[string]*fleetRow
	drawn  int
	last   time.Time
}

type fleetRow struct {
	name, state, note string
	bytes             int64
	start             time.Time
	errors            int
	log               tailBuffer
}

func newFleetReporter(w io.Writer, asJSON bool, targets []remote.Target) *fleetReporter {
	f := &fleetReporter{w: w, byName: map[string]*fleetRow{}}
	if asJSON {
		f.json = json.NewEncoder(w)
	} else if tw, ok := w.(*term.Writer); ok && tw.IsTerminal() {
		f.table = true
	}
	for _, t := range targets {
		r := &fleetRow{name: t.Name, state: "waiting"}
		f.rows = append(f.rows, r)
		f.byName[t.Name] = r
	}
	return f
}

// output is where one host's lines go: prefixed with its name in plain
// mode, kept for the end in table mode, events in JSON mode.
func (f *fleetReporter) output(t remote.Target) io.Writer {
	return &hostLines{f: f, row: f.byName[t.Name]}
}

// hostLines is written at once by the host's stderr (copied by the ssh
// command's goroutine) and by custos's own lines about the host.
type hostLines struct {
	f   *fleetReporter
	row *fleetRow
	mu  sync.Mutex
	buf []byte
}

func (h *hostLines) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf = append(h.buf, p...)
	for {
		i := bytes.IndexByte(h.buf, '\n')
		if i < 0 {
			break
		}
		h.f.line(h.row, term.Clean(string(h.buf[:i])))
		h.buf = h.buf[i+1:]
	}
	if len(h.buf) > 64<<10 { // a line that never ends: shown in pieces, not kept
		h.f.line(h.row, term.Clean(string(h.buf)))
		h.buf = h.buf[:0]
	}
	return len(p), nil
}

func (f *fleetReporter) line(r *fleetRow, s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.Contains(s, "FAIL") || strings.Contains(s, "error:") || strings.Contains(s, "not stored") {
		r.errors++
	}
	switch {
	case f.json != nil:
		f.json.Encode(map[string]any{"event": "line", "host": r.name, "time": time.Now().UTC(), "line": s})
	case f.table:
		fmt.Fprintln(&r.log, s)
	default:
		fmt.Fprintf(f.w, "%s| %s\n", r.name, s)
	}
}

func (f *fleetReporter) state(t remote.Target, state string, n int64, note string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.byName[t.Name]
	changed := r.state != state
	if r.start.IsZero() {
		r.start = time.Now()
	}
	r.state, r.bytes = state, n
	if note != "" {
		r.note = note
	}
	switch {
	case f.json != nil && (changed || note != ""):
		f.json.Encode(map[string]any{"event": "host", "host": r.name, "state": state, "bytes": n, "errors": r.errors, "note": note, "time": time.Now().UTC()})
	case f.table:
		if changed || time.Since(f.last) > 200*time.Millisecond {
			f.draw()
		}
	case changed && state != "collecting" || note != "":
		fmt.Fprintf(f.w, "custos: %s: %s%s\n", r.name, state, map[bool]string{true: ": " + note, false: ""}[note != ""])
	case changed:
		fmt.Fprintf(f.w, "custos: %s: %s\n", r.name, state)
	}
}

// draw redraws the table in place.
func (f *fleetReporter) draw() {
	f.last = time.Now()
	var b strings.Builder
	if f.drawn > 0 {
		fmt.Fprintf(&b, "\033[%dA", f.drawn)
	}
	fmt.Fprintf(&b, "\r\033[K%-24s %-14s %10s %11s %6s  %s\n", "HOST", "STATE", "BYTES", "RATE", "ERRORS", "")
	for _, r := range f.rows {
		rate := ""
		if el := time.Since(r.start).Seconds(); el > 0 && r.bytes > 0 {
			rate = units.Bytes(int64(float64(r.bytes)/el)) + "/s"
		}
		note := r.note
		if len(note) > 60 {
			note = note[:57] + "..."
		}
		fmt.Fprintf(&b, "\r\033[K%-24s %-14s %10s %11s %6d  %s\n", r.name, r.state, units.Bytes(r.bytes), rate, r.errors, note)
	}
	f.drawn = len(f.rows) + 1
	// The table is custos's own output: written past the escaping of
	// the host's text.
	if tw, ok := f.w.(*term.Writer); ok {
		tw.Raw(b.String())
	} else {
		io.WriteString(f.w, b.String())
	}
}

// done draws the table a last time and prints, in table mode, what each
// host that had errors said.
func (f *fleetReporter) done() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.table {
		return
	}
	f.draw()
	rows := append([]*fleetRow(nil), f.rows...)
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].name < rows[j].name })
	for _, r := range rows {
		if r.errors > 0 || r.state == "not collected" {
			fmt.Fprintf(f.w, "--- %s\n%s", r.name, r.log.String())
		}
	}
}
