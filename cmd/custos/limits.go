package main

import (
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/internal/prio"
	"github.com/custos-ir/custos/internal/rate"
	"github.com/custos-ir/custos/profiles"
)

// limitOptions keep a collection gentle on a live host.
type limitOptions struct {
	cpu           int
	priority      string
	readRate      string
	uploadRate    string
	sourceTimeout time.Duration
	fileTimeout   time.Duration
	deadline      string
	since, until  string
	maxArtifact   string
	maxTotal      string
}

func (o *limitOptions) flags(f *pflag.FlagSet) {
	f.IntVar(&o.cpu, "cpu", runtime.NumCPU(), "use at most `N` cores: artifacts taken at once after live state, and GOMAXPROCS")
	f.StringVar(&o.priority, "priority", "low", "CPU and I/O priority: low (nice 10, best-effort I/O) or normal")
	f.StringVar(&o.readRate, "read-rate", "", "read files at most this fast, e.g. `50MiB/s`")
	f.StringVar(&o.uploadRate, "upload-rate", "", "write to the destination at most this fast, e.g. `20MiB/s`")
	f.DurationVar(&o.sourceTimeout, "source-timeout", 30*time.Minute, "stop an artifact after this long: what it took is stored, the rest recorded as not taken (0: no limit)")
	f.DurationVar(&o.fileTimeout, "file-timeout", 10*time.Minute, "cut the read of one file after this long: the bytes read are kept, the record says where it was cut (0: no limit)")
	f.StringVar(&o.deadline, "deadline", "", "stop taking artifacts after this `DURATION` (2h) or time (RFC 3339); the manifest is still written")
	f.StringVar(&o.since, "since", "", "log files modified before this are recorded, not read: a date, RFC 3339 time, or age like 30d")
	f.StringVar(&o.until, "until", "", "log files modified after this are recorded, not read")
	f.StringVar(&o.maxArtifact, "max-artifact", "", "read at most `SIZE` of file content per artifact, e.g. 4GiB")
	f.StringVar(&o.maxTotal, "max-total", "", "read at most `SIZE` of file content in all, e.g. 20GiB")
}

// parseWhen reads 2026-11-01, an RFC 3339 time, or an age (30d, 12h).
func parseWhen(flag, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(d, "%d", &n); err == nil && n >= 0 && fmt.Sprint(n) == d {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usageErr("--%s %q: want a date (2026-11-01), an RFC 3339 time, or an age like 30d or 12h", flag, s)
}

// build checks every limit before anything is read and returns them, with
// the settings to record and the collection's deadline (zero: none).
func (o *limitOptions) build(now time.Time) (*collect.Limits, map[string]string, time.Time, error) {
	l := &collect.Limits{SourceTimeout: o.sourceTimeout, FileTimeout: o.fileTimeout}
	set := map[string]string{"cpu": fmt.Sprint(o.cpu), "priority": o.priority, "source_timeout": o.sourceTimeout.String(),
		"file_timeout": o.fileTimeout.String()}
	if o.cpu < 1 {
		return nil, nil, time.Time{}, usageErr("--cpu %d: want 1 or more", o.cpu)
	}
	l.Workers = o.cpu
	switch o.priority {
	case "low", "normal":
	default:
		return nil, nil, time.Time{}, usageErr("--priority %q: want low or normal", o.priority)
	}
	for _, r := range []struct {
		flag, val string
		dst       **rate.Limiter
	}{{"read-rate", o.readRate, &l.ReadRate}, {"upload-rate", o.uploadRate, &l.UploadRate}} {
		if r.val == "" {
			continue
		}
		bps, err := rate.Parse(r.val)
		if err != nil {
			return nil, nil, time.Time{}, usageErr("--%s: %v", r.flag, err)
		}
		*r.dst = rate.New(bps)
		set[strings.ReplaceAll(r.flag, "-", "_")] = r.val
	}
	for _, c := range []struct {
		flag, val string
		dst       *int64
	}{{"max-artifact", o.maxArtifact, &l.MaxArtifact}, {"max-total", o.maxTotal, &l.MaxTotal}} {
		if c.val == "" {
			continue
		}
		n, err := profiles.ParseSize(c.val)
		if err != nil || n == 0 {
			return nil, nil, time.Time{}, usageErr("--%s %q: want a size like 4GiB", c.flag, c.val)
		}
		*c.dst = int64(n)
		set[strings.ReplaceAll(c.flag, "-", "_")] = c.val
	}
	var err error
	if l.Since, err = parseWhen("since", o.since, now); err != nil {
		return nil, nil, time.Time{}, err
	}
	if l.Until, err = parseWhen("until", o.until, now); err != nil {
		return nil, nil, time.Time{}, err
	}
	if !l.Since.IsZero() {
		set["since"] = l.Since.UTC().Format(time.RFC3339)
	}
	if !l.Until.IsZero() {
		set["until"] = l.Until.UTC().Format(time.RFC3339)
	}
	if !l.Since.IsZero() && !l.Until.IsZero() && l.Until.Before(l.Since) {
		return nil, nil, time.Time{}, usageErr("--until is before --since: nothing would be read")
	}
	var deadline time.Time
	if o.deadline != "" {
		if d, err := time.ParseDuration(o.deadline); err == nil {
			deadline = now.Add(d)
		} else if t, err := time.Parse(time.RFC3339, o.deadline); err == nil {
			deadline = t
		} else {
			return nil, nil, time.Time{}, usageErr("--deadline %q: want a duration like 2h or an RFC 3339 time", o.deadline)
		}
		if !deadline.After(now) {
			return nil, nil, time.Time{}, usageErr("--deadline %s is already past: nothing would be collected", deadline.UTC().Format(time.RFC3339))
		}
		set["deadline"] = deadline.UTC().Format(time.RFC3339)
	}
	return l, set, deadline, nil
}

// apply sets GOMAXPROCS and the priority; it returns a note for the record.
func (o *limitOptions) apply() string {
	runtime.GOMAXPROCS(o.cpu)
	if o.priority != "low" {
		return ""
	}
	what, err := prio.Lower()
	if err != nil {
		return "could not lower priority: " + err.Error()
	}
	return what
}
