// Package live captures volatile state — processes, sockets, sessions, host
// facts — as JSON Lines, read through Go (/proc, syscalls, gopsutil), never
// by running the host's programs, which an intruder may have replaced.
//
// A problem with one item (a process that exits mid-read, an unreadable
// cwd) is recorded in that item's "errors" and never fails the source.
// Field reference: docs/live-state.md.
package live

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	gnet "github.com/shirou/gopsutil/v4/net"
)

// Func captures one kind of live state as JSON Lines on w.
type Func func(ctx context.Context, w io.Writer) error

var sources = map[string]Func{
	"processes": Processes,
	"sockets":   Sockets,
	"users":     Users,
	"host":      Host,
	"network":   Network,
	"modules":   Modules,
	"mounts":    Mounts,
	"services":  Services,
	"scheduled": Scheduled,
	"autostart": Autostarts,
}

// Lookup returns the source of that name.
func Lookup(name string) (Func, bool) {
	f, ok := sources[name]
	return f, ok
}

// taken are the live sources whose artifact is a tar of files, which the
// collect package takes itself ("deleted": DeletedFiles copied).
var taken = []string{"deleted"}

// Names lists the sources, those in taken included.
func Names() []string {
	out := append([]string(nil), taken...)
	for n := range sources {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// lineWriter writes one JSON object per line.
type lineWriter struct{ enc *json.Encoder }

func newLines(w io.Writer) *lineWriter {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &lineWriter{enc}
}

func (l *lineWriter) put(v any) error { return l.enc.Encode(v) }

// errs collects per-item problems as strings.
type errs []string

func (e *errs) add(what string, err error) {
	if err != nil {
		*e = append(*e, what+": "+err.Error())
	}
}

func utc(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// Socket is one line of the "sockets" source.
type Socket struct {
	Family     string   `json:"family"` // inet, inet6, unix
	Type       string   `json:"type"`   // tcp, udp, unix-stream, ...
	LocalAddr  string   `json:"local_addr"`
	LocalPort  uint32   `json:"local_port"`
	RemoteAddr string   `json:"remote_addr,omitempty"`
	RemotePort uint32   `json:"remote_port,omitempty"`
	State      string   `json:"state,omitempty"`
	PID        int32    `json:"pid,omitempty"` // 0: owner unknown (no permission, or a kernel socket)
	UIDs       []int32  `json:"uids,omitempty"`
	Process    string   `json:"process,omitempty"`
	Errors     []string `json:"errors,omitempty"`
}

// Sockets lists every TCP, UDP and unix socket with its owning process.
func Sockets(ctx context.Context, w io.Writer) error {
	conns, err := gnet.ConnectionsWithContext(ctx, "all")
	if err != nil && len(conns) == 0 {
		return err
	}
	names := processNames()
	out := newLines(w)
	for _, c := range conns {
		s := Socket{Family: family(c.Family), Type: sockType(c.Family, c.Type),
			LocalAddr: c.Laddr.IP, LocalPort: c.Laddr.Port, RemoteAddr: c.Raddr.IP, RemotePort: c.Raddr.Port,
			State: c.Status, PID: c.Pid, UIDs: c.Uids, Process: names[c.Pid]}
		if s.State == "NONE" {
			s.State = ""
		}
		if err := out.put(s); err != nil {
			return err
		}
	}
	return nil
}

func family(f uint32) string {
	switch f {
	case 2:
		return "inet"
	case 10, 23, 30: // linux, windows, darwin AF_INET6
		return "inet6"
	case 1:
		return "unix"
	}
	return "other"
}

func sockType(fam, t uint32) string {
	if fam == 1 {
		switch t {
		case 1:
			return "unix-stream"
		case 2:
			return "unix-dgram"
		case 5:
			return "unix-seqpacket"
		}
		return "unix"
	}
	switch t {
	case 1:
		return "tcp"
	case 2:
		return "udp"
	}
	return "other"
}

// Session is one line of the "users" source: a logged-in session.
type Session struct {
	User     string     `json:"user"`
	Terminal string     `json:"terminal"`
	Host     string     `json:"host,omitempty"` // where the session came from
	Started  *time.Time `json:"started,omitempty"`
	PID      int        `json:"pid,omitempty"`
	Source   string     `json:"source,omitempty"` // utmp, logind
}

// Identity is the host identity for the manifest header.
type Identity struct {
	Hostname, MachineID, OS, Platform, PlatformVersion, KernelVersion, Arch string
	BootTime                                                                time.Time
	IPs                                                                     []string
	TimeZone                                                                string
	UTCOffsetSeconds                                                        int
}

// HostIdentity reads who the host says it is, from the kernel and the
// OS's own files (never by running a program: gopsutil's host.Info runs
// lsb_release on Linux).
func HostIdentity(ctx context.Context) (Identity, error) {
	id, err := platformIdentity(ctx)
	id.Arch = runtime.GOARCH
	if b, rerr := readHost("/etc/machine-id", 4096); rerr == nil {
		id.MachineID = strings.TrimSpace(string(b))
	}
	if id.Hostname == "" {
		id.Hostname, _ = os.Hostname()
	}
	id.IPs = addresses()
	id.TimeZone, id.UTCOffsetSeconds = time.Now().Zone()
	return id, err
}

func addresses() []string {
	var out []string
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				out = append(out, n.IP.String())
			}
		}
	}
	return out
}

// HostFacts is the one line of the "host" source.
type HostFacts struct {
	Hostname         string     `json:"hostname"`
	MachineID        string     `json:"machine_id,omitempty"`
	OS               string     `json:"os"`
	Platform         string     `json:"platform,omitempty"`
	PlatformVersion  string     `json:"platform_version,omitempty"`
	KernelVersion    string     `json:"kernel_version,omitempty"`
	Arch             string     `json:"arch"`
	BootTime         *time.Time `json:"boot_time,omitempty"`
	UptimeSeconds    float64    `json:"uptime_seconds,omitempty"`
	ClockUTC         time.Time  `json:"clock_utc"`
	ClockLocal       string     `json:"clock_local"`
	TimeZone         string     `json:"time_zone"`
	UTCOffsetSeconds int        `json:"utc_offset_seconds"`
	TZEnv            string     `json:"tz_env,omitempty"`
	LocaltimeLink    string     `json:"localtime_link,omitempty"`
	IPs              []string   `json:"ips,omitempty"`
	Resolvers        []string   `json:"dns_resolvers,omitempty"`
	// NTFSLastAccess is Windows' NtfsDisableLastAccessUpdate setting, which
	// says whether the atimes of this host's files mean anything.
	NTFSLastAccess string   `json:"ntfs_last_access,omitempty"`
	Errors         []string `json:"errors,omitempty"`
}

// Host writes one line of host facts, the clock among them: compare
// clock_utc with the collector's own record of when it ran.
func Host(ctx context.Context, w io.Writer) error {
	id, err := HostIdentity(ctx)
	now := time.Now()
	f := HostFacts{Hostname: id.Hostname, MachineID: id.MachineID, OS: id.OS, Platform: id.Platform,
		PlatformVersion: id.PlatformVersion, KernelVersion: id.KernelVersion, Arch: id.Arch,
		BootTime: utc(id.BootTime), ClockUTC: now.UTC(), ClockLocal: now.Format(time.RFC3339Nano),
		TimeZone: id.TimeZone, UTCOffsetSeconds: id.UTCOffsetSeconds, TZEnv: os.Getenv("TZ"), IPs: id.IPs}
	if !id.BootTime.IsZero() {
		f.UptimeSeconds = now.Sub(id.BootTime).Seconds()
	}
	var e errs
	e.add("host info", err)
	f.LocaltimeLink, _ = os.Readlink(fsRoot + "/etc/localtime") // reading a link changes no time
	if platformHostFacts != nil {
		platformHostFacts(&f, &e)
	}
	f.Resolvers = resolvers()
	f.Errors = e
	return newLines(w).put(f)
}

// platformHostFacts adds what only one platform has (set on Windows).
var platformHostFacts func(*HostFacts, *errs)

func resolvers() []string {
	b, err := readHost("/etc/resolv.conf", 1<<20)
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "nameserver" {
			out = append(out, f[1])
		}
	}
	return out
}
