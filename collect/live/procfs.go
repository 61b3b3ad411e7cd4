package live

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
)

// Parsers of /proc files, portable so they are tested and fuzzed anywhere.

type procStat struct {
	comm       string
	state      string
	ppid       int32
	threads    int32
	startTicks uint64
}

// parseStat reads /proc/PID/stat. The command name sits in parentheses and
// may itself hold spaces and parentheses: split at the last ')'.
func parseStat(b []byte) (procStat, error) {
	var s procStat
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return s, errors.New("malformed stat")
	}
	s.comm = string(b[open+1 : end])
	f := strings.Fields(string(b[end+1:]))
	// After the name: state(3) ppid(4) ... num_threads(20) ... starttime(22).
	if len(f) < 20 {
		return s, errors.New("short stat")
	}
	s.state = f[0]
	ppid, err := strconv.ParseInt(f[1], 10, 32)
	if err != nil {
		return s, errors.New("bad ppid")
	}
	s.ppid = int32(ppid)
	th, _ := strconv.ParseInt(f[17], 10, 32)
	s.threads = int32(th)
	s.startTicks, _ = strconv.ParseUint(f[19], 10, 64)
	return s, nil
}

// parseUIDs reads the real and effective uid from /proc/PID/status.
func parseUIDs(b []byte) (uid, euid uint32, ok bool) {
	for _, l := range strings.Split(string(b), "\n") {
		if rest, found := strings.CutPrefix(l, "Uid:"); found {
			f := strings.Fields(rest)
			if len(f) < 2 {
				return 0, 0, false
			}
			u, err1 := strconv.ParseUint(f[0], 10, 32)
			e, err2 := strconv.ParseUint(f[1], 10, 32)
			return uint32(u), uint32(e), err1 == nil && err2 == nil
		}
	}
	return 0, 0, false
}

// splitCmdline splits /proc/PID/cmdline at NULs. A process that rewrote its
// argv may use spaces instead; it is kept as one string, as written.
func splitCmdline(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return []string{}
	}
	parts := bytes.Split(b, []byte{0})
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = string(p)
	}
	return out
}

// Route is one line of the "network" source of kind "route".
type Route struct {
	Kind        string `json:"kind"` // "route"
	Interface   string `json:"interface"`
	Destination string `json:"destination"`
	Gateway     string `json:"gateway,omitempty"`
	Mask        string `json:"mask,omitempty"`
	Flags       string `json:"flags"`
	Metric      int    `json:"metric"`
}

// parseRoutes reads /proc/net/route (IPv4, little-endian hex addresses).
func parseRoutes(b []byte) []Route {
	var out []Route
	for i, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if i == 0 || len(f) < 8 {
			continue
		}
		m, _ := strconv.Atoi(f[6])
		out = append(out, Route{Kind: "route", Interface: f[0], Destination: hexIPv4(f[1]), Gateway: hexIPv4(f[2]), Flags: f[3], Metric: m, Mask: hexIPv4(f[7])})
	}
	return out
}

func hexIPv4(s string) string {
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil || len(s) != 8 {
		return s
	}
	return strconv.Itoa(int(v&0xff)) + "." + strconv.Itoa(int(v>>8&0xff)) + "." + strconv.Itoa(int(v>>16&0xff)) + "." + strconv.Itoa(int(v>>24))
}

// Neighbor is one line of the "network" source of kind "neighbor".
type Neighbor struct {
	Kind      string `json:"kind"` // "neighbor"
	IP        string `json:"ip"`
	MAC       string `json:"mac"`
	Flags     string `json:"flags"`
	Interface string `json:"interface"`
}

// parseARP reads /proc/net/arp.
func parseARP(b []byte) []Neighbor {
	var out []Neighbor
	for i, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if i == 0 || len(f) < 6 {
			continue
		}
		out = append(out, Neighbor{Kind: "neighbor", IP: f[0], Flags: f[2], MAC: f[3], Interface: f[5]})
	}
	return out
}

// Module is one line of the "modules" source.
type Module struct {
	Name    string   `json:"name"`
	Size    int64    `json:"size"`
	Users   int      `json:"use_count"`
	UsedBy  []string `json:"used_by,omitempty"`
	State   string   `json:"state"`
	Address string   `json:"address,omitempty"`
	Taint   string   `json:"taint,omitempty"` // e.g. (OE): out-of-tree, unsigned — worth a look
}

// parseModules reads /proc/modules.
func parseModules(b []byte) []Module {
	var out []Module
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 5 {
			continue
		}
		m := Module{Name: f[0], State: f[4]}
		m.Size, _ = strconv.ParseInt(f[1], 10, 64)
		m.Users, _ = strconv.Atoi(f[2])
		if f[3] != "-" {
			m.UsedBy = strings.Split(strings.TrimSuffix(f[3], ","), ",")
		}
		if len(f) > 5 {
			m.Address = f[5]
		}
		if len(f) > 6 {
			m.Taint = f[6]
		}
		out = append(out, m)
	}
	return out
}

// Mount is one line of the "mounts" source.
type Mount struct {
	ID         int    `json:"mount_id"`
	Parent     int    `json:"parent_id"`
	Device     string `json:"device"` // major:minor
	Root       string `json:"root"`
	MountPoint string `json:"mount_point"`
	Options    string `json:"options"`
	FSType     string `json:"fs_type"`
	Source     string `json:"source"`
	SuperOpts  string `json:"super_options"`
}

// parseMountinfo reads /proc/self/mountinfo. Paths use octal escapes
// (\040 for a space), decoded here.
func parseMountinfo(b []byte) []Mount {
	var out []Mount
	for _, l := range strings.Split(string(b), "\n") {
		left, right, ok := strings.Cut(l, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(left), strings.Fields(right)
		if len(f) < 6 || len(g) < 3 {
			continue
		}
		m := Mount{Device: f[2], Root: unoctal(f[3]), MountPoint: unoctal(f[4]), Options: f[5], FSType: g[0], Source: unoctal(g[1]), SuperOpts: g[2]}
		m.ID, _ = strconv.Atoi(f[0])
		m.Parent, _ = strconv.Atoi(f[1])
		out = append(out, m)
	}
	return out
}

func unoctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
