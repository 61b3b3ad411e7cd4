package live

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Persistence: what starts by itself. Read from the files systemd, cron and
// the shell read, not from systemctl or crontab -l.

// Unit is one line of the "services" source: a systemd unit file.
type Unit struct {
	Name       string     `json:"name"`
	Path       string     `json:"path"`
	Kind       string     `json:"kind"` // service, timer, socket, path, ...
	Enabled    []string   `json:"enabled_by,omitempty"`
	ExecStart  []string   `json:"exec_start,omitempty"`
	OnCalendar []string   `json:"on_calendar,omitempty"`
	Override   bool       `json:"override,omitempty"` // a drop-in (*.d/*.conf)
	Mtime      *time.Time `json:"mtime,omitempty"`
	SHA256     string     `json:"sha256,omitempty"`
	Errors     []string   `json:"errors,omitempty"`
}

var unitDirs = []string{"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"}

// Services lists systemd units (services, timers, sockets, paths) with their
// ExecStart lines and what enables them.
func Services(ctx context.Context, w io.Writer) error {
	out := newLines(w)
	dirs := append([]string(nil), unitDirs...)
	homes, _ := filepath.Glob("/home/*/.config/systemd/user")
	dirs = append(append(dirs, "/root/.config/systemd/user"), homes...)
	enabled := map[string][]string{}
	for _, d := range dirs {
		wants, _ := filepath.Glob(filepath.Join(d, "*.wants", "*"))
		for _, l := range wants {
			enabled[filepath.Base(l)] = append(enabled[filepath.Base(l)], filepath.Base(filepath.Dir(l)))
		}
	}
	for _, d := range dirs {
		files, _ := filepath.Glob(filepath.Join(d, "*"))
		drop, _ := filepath.Glob(filepath.Join(d, "*.d", "*.conf"))
		files = append(files, drop...)
		sort.Strings(files)
		for _, p := range files {
			if err := ctx.Err(); err != nil {
				return err
			}
			fi, err := os.Stat(p)
			if err != nil || fi.IsDir() {
				continue
			}
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
				continue
			}
			u := Unit{Name: name, Path: p, Kind: kind, Enabled: enabled[name], Override: override, Mtime: utc(fi.ModTime())}
			b, err := readSmall(p)
			if err != nil {
				u.Errors = append(u.Errors, err.Error())
			} else {
				sum := sha256.Sum256(b)
				u.SHA256 = hex.EncodeToString(sum[:])
				u.ExecStart = directives(b, "ExecStart", "ExecStartPre", "ExecStartPost", "ExecStop", "ExecReload")
				u.OnCalendar = directives(b, "OnCalendar", "OnBootSec", "OnUnitActiveSec")
			}
			if err := out.put(u); err != nil {
				return err
			}
		}
	}
	return nil
}

func directives(b []byte, keys ...string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(string(b)))
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

func readSmall(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
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

// Scheduled lists every crontab entry of the system and of users, and
// anacron jobs.
func Scheduled(ctx context.Context, w io.Writer) error {
	out := newLines(w)
	var files []string
	for _, pat := range []string{"/etc/crontab", "/etc/cron.d/*", "/etc/anacrontab", "/var/spool/cron/crontabs/*", "/var/spool/cron/*"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	for _, p := range files {
		fi, err := os.Stat(p)
		if err != nil || fi.IsDir() {
			continue
		}
		b, err := readSmall(p)
		if err != nil {
			continue
		}
		system := !strings.HasPrefix(p, "/var/spool/")
		for i, l := range strings.Split(string(b), "\n") {
			e, ok := parseCron(l, system)
			if !ok {
				continue
			}
			e.File, e.Line = p, i+1
			if !system {
				e.User = filepath.Base(p)
			}
			if err := out.put(e); err != nil {
				return err
			}
		}
	}
	return nil
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
// at boot or login, as found.
type Autostart struct {
	Path   string     `json:"path"`
	Kind   string     `json:"kind"`
	Size   int64      `json:"size"`
	Mtime  *time.Time `json:"mtime,omitempty"`
	SHA256 string     `json:"sha256,omitempty"`
	Lines  []string   `json:"lines,omitempty"` // for small text files: their non-comment lines
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
		m, _ := filepath.Glob(pl.pattern)
		sort.Strings(m)
		for _, p := range m {
			fi, err := os.Stat(p)
			if err != nil || fi.IsDir() {
				continue
			}
			a := Autostart{Path: p, Kind: pl.kind, Size: fi.Size(), Mtime: utc(fi.ModTime())}
			if b, err := readSmall(p); err == nil {
				sum := sha256.Sum256(b)
				a.SHA256 = hex.EncodeToString(sum[:])
				if fi.Size() <= 16<<10 {
					for _, l := range strings.Split(string(b), "\n") {
						if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
							a.Lines = append(a.Lines, t)
						}
					}
				}
			}
			if err := out.put(a); err != nil {
				return err
			}
		}
	}
	return nil
}
