package live

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect/hostfile"
)

// Persistence: what starts by itself. Read from the files systemd, cron and
// the shell read, not from systemctl or crontab -l.

// Unit is one line of the "services" source: a systemd unit file, or a
// link standing for one (an alias, or a unit masked by a link to
// /dev/null).
type Unit struct {
	Name       string     `json:"name"`
	Path       string     `json:"path"`
	Kind       string     `json:"kind"`             // service, timer, socket, path, ...
	Type       string     `json:"type,omitempty"`   // symlink, or what else when not a regular file
	Link       string     `json:"link,omitempty"`   // a link's text
	Target     string     `json:"target,omitempty"` // what it leads to (its own line, when a unit)
	Enabled    []string   `json:"enabled_by,omitempty"`
	ExecStart  []string   `json:"exec_start,omitempty"`
	OnCalendar []string   `json:"on_calendar,omitempty"`
	Override   bool       `json:"override,omitempty"` // a drop-in (*.d/*.conf)
	Mtime      *time.Time `json:"mtime,omitempty"`
	SHA256     string     `json:"sha256,omitempty"`
	Note       string     `json:"note,omitempty"`
	Errors     []string   `json:"errors,omitempty"`
}

var unitDirs = []string{"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"}

var userUnitDirs = []string{"/root/.config/systemd/user", "/home/*/.config/systemd/user"}

// Services lists systemd units (services, timers, sockets, paths) with their
// ExecStart lines and what enables them.
func Services(ctx context.Context, w io.Writer) error {
	out := newLines(w)
	dirs := append(append([]string(nil), unitDirs...), userUnitDirs...)
	enabled := map[string][]string{}
	var wants, units []string
	for _, d := range dirs {
		wants = append(wants, d+"/*.wants/*")
		units = append(units, d+"/*", d+"/*.d/*.conf")
	}
	// The *.wants entries are links whose names say what is enabled.
	err := walkHost(ctx, wants, hostfile.Record, func(e *hostfile.Entry) error {
		name, by := filepath.Base(e.Path), filepath.Base(filepath.Dir(e.Path))
		enabled[name] = append(enabled[name], by)
		return nil
	})
	if err != nil {
		return err
	}
	return walkHost(ctx, units, hostfile.Follow, func(e *hostfile.Entry) error {
		u, ok := unitOf(e, enabled)
		if !ok {
			return nil
		}
		return out.put(u)
	})
}

// unitOf reads one walked entry as a unit; ok is false for what is not one.
func unitOf(e *hostfile.Entry, enabled map[string][]string) (Unit, bool) {
	if e.Kind == hostfile.KindDir && e.Err == nil {
		return Unit{}, false
	}
	p := e.Path
	kind := strings.TrimPrefix(filepath.Ext(p), ".")
	override := kind == "conf"
	name := filepath.Base(p)
	if override {
		name = filepath.Base(filepath.Dir(p))
		kind = strings.TrimPrefix(filepath.Ext(strings.TrimSuffix(name, ".d")), ".")
	}
	switch kind {
	case "service", "timer", "socket", "path", "mount", "target":
	default:
		return Unit{}, false
	}
	ff, b := readEntry(e, 1<<20)
	u := Unit{Name: name, Path: ff.Path, Kind: kind, Type: ff.Type, Link: ff.Link, Target: ff.Target, Enabled: enabled[name],
		Override: override, SHA256: ff.SHA256, Note: ff.Note}
	if rec, err := e.Record(); err == nil {
		u.Mtime = rec.Mtime
	}
	if ff.Error != "" {
		u.Errors = append(u.Errors, ff.Error)
	}
	if ff.Type == "device" && ff.Link == "" {
		u.Note = "a device, not a unit file (masked?): recorded, never opened"
	}
	u.ExecStart = directives(b, "ExecStart", "ExecStartPre", "ExecStartPost", "ExecStop", "ExecReload")
	u.OnCalendar = directives(b, "OnCalendar", "OnBootSec", "OnUnitActiveSec")
	return u, true
}

func directives(b []byte, keys ...string) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		for _, k := range keys {
			if v, ok := strings.CutPrefix(l, k+"="); ok {
				out = append(out, k+"="+v)
			}
		}
	}
	return out
}

// CronEntry is one line of the "scheduled" source.
type CronEntry struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	User     string `json:"user,omitempty"` // from the file (system crontabs) or its name (spools)
	Schedule string `json:"schedule"`
	Command  string `json:"command"`
	Raw      string `json:"raw"`
}

var cronFiles = []string{"/etc/crontab", "/etc/cron.d/*", "/etc/anacrontab", "/var/spool/cron/crontabs/*", "/var/spool/cron/*"}

// Scheduled lists every crontab entry of the system and of users, and
// anacron jobs.
func Scheduled(ctx context.Context, w io.Writer) error {
	out := newLines(w)
	return walkHost(ctx, cronFiles, hostfile.Follow, func(e *hostfile.Entry) error {
		if e.Err != nil || e.Link != nil || e.Kind == hostfile.KindDir {
			return nil
		}
		_, b := readEntry(e, 1<<20)
		p := hostfile.RecordPath(e.Path)
		system := !strings.HasPrefix(e.Path, fsRoot+"/var/spool/")
		for i, l := range strings.Split(string(b), "\n") {
			ce, ok := parseCron(l, system)
			if !ok {
				continue
			}
			ce.File, ce.Line = p, i+1
			if !system {
				ce.User = filepath.Base(e.Path)
			}
			if err := out.put(ce); err != nil {
				return err
			}
		}
		return nil
	})
}

// parseCron reads one crontab line; system crontabs carry a user field.
func parseCron(l string, system bool) (CronEntry, bool) {
	t := strings.TrimSpace(l)
	if t == "" || strings.HasPrefix(t, "#") {
		return CronEntry{}, false
	}
	f := strings.Fields(t)
	if len(f) > 0 && strings.Contains(f[0], "=") && !strings.HasPrefix(f[0], "@") {
		return CronEntry{}, false // a variable assignment
	}
	n := 5
	if strings.HasPrefix(f[0], "@") {
		n = 1
	}
	if system {
		n++
	}
	if len(f) <= n {
		return CronEntry{}, false
	}
	e := CronEntry{Raw: t}
	sched := f[:n]
	if system {
		e.User = sched[len(sched)-1]
		sched = sched[:len(sched)-1]
	}
	e.Schedule = strings.Join(sched, " ")
	e.Command = strings.Join(f[n:], " ")
	return e, true
}

// Autostart is one line of the "autostart" source: a place code runs from
// at boot or login, as found. A link is a line of its own (link, and the
// target it leads to, whose line follows, or why it was not followed).
type Autostart struct {
	Path   string     `json:"path"`
	Kind   string     `json:"kind"`
	Type   string     `json:"type,omitempty"` // symlink, fifo, ...: when not a regular file
	Link   string     `json:"link,omitempty"`
	Target string     `json:"target,omitempty"`
	Size   int64      `json:"size"`
	Mtime  *time.Time `json:"mtime,omitempty"`
	SHA256 string     `json:"sha256,omitempty"`
	Lines  []string   `json:"lines,omitempty"` // for small text files: their non-comment lines
	Note   string     `json:"note,omitempty"`
	Error  string     `json:"error,omitempty"`
}

var autostartPlaces = []struct{ pattern, kind string }{
	{"/etc/ld.so.preload", "ld-preload"},
	{"/etc/rc.local", "rc-local"},
	{"/etc/init.d/*", "sysv-init"},
	{"/etc/profile", "login-shell"},
	{"/etc/profile.d/*", "login-shell"},
	{"/etc/bash.bashrc", "login-shell"},
	{"/root/.bashrc", "login-shell"},
	{"/root/.profile", "login-shell"},
	{"/home/*/.bashrc", "login-shell"},
	{"/home/*/.profile", "login-shell"},
	{"/etc/xdg/autostart/*", "xdg-autostart"},
	{"/home/*/.config/autostart/*", "xdg-autostart"},
	{"/etc/update-motd.d/*", "motd"},
	{"/etc/udev/rules.d/*", "udev"},
	{"/etc/modules-load.d/*", "kernel-modules"},
	{"/etc/modules", "kernel-modules"},
}

// Autostarts lists what runs by itself besides units and crontabs.
func Autostarts(ctx context.Context, w io.Writer) error {
	out := newLines(w)
	for _, pl := range autostartPlaces {
		err := walkHost(ctx, []string{pl.pattern}, hostfile.Follow, func(e *hostfile.Entry) error {
			if e.Kind == hostfile.KindDir && e.Err == nil {
				return nil
			}
			ff, b := readEntry(e, 16<<10)
			a := Autostart{Path: ff.Path, Kind: pl.kind, Type: ff.Type, Link: ff.Link, Target: ff.Target, Size: ff.Size,
				SHA256: ff.SHA256, Note: ff.Note, Error: ff.Error}
			if rec, err := e.Record(); err == nil {
				a.Mtime = rec.Mtime
			}
			if ff.SHA256 != "" && ff.Size <= 16<<10 {
				for _, l := range strings.Split(string(b), "\n") {
					if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
						a.Lines = append(a.Lines, t)
					}
				}
			}
			return out.put(a)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
