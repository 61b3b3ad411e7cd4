package live

import (
	"bytes"
	"net"
	"strconv"
	"strings"
)

// Parsers of more /proc files, portable so they are tested and fuzzed
// anywhere.

// parseEnviron splits /proc/PID/environ at NULs.
func parseEnviron(b []byte) []string {
	var out []string
	for _, kv := range bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0}) {
		if len(kv) > 0 {
			out = append(out, string(kv))
		}
	}
	return out
}

// Mapping is a file mapped into a process, as /proc/PID/maps lists it.
type Mapping struct {
	Path    string `json:"path"`
	Perms   string `json:"perms"` // the union of its mappings' permissions, e.g. r-xp
	Deleted bool   `json:"deleted,omitempty"`
	Memfd   bool   `json:"memfd,omitempty"`
	Exec    bool   `json:"exec,omitempty"`
}

// parseMaps lists each file mapped, once, with whether it was deleted
// since (a library loaded then removed) or is a memfd (injected, fileless),
// and anonymous executable regions counted (shellcode lives there; JITs
// make them too).
func parseMaps(b []byte) (files []Mapping, anonExec int) {
	idx := map[string]int{}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 5 {
			continue
		}
		perms := f[1]
		exec := len(perms) >= 3 && perms[2] == 'x'
		if len(f) < 6 {
			if exec {
				anonExec++
			}
			continue
		}
		p := strings.Join(f[5:], " ")
		if strings.HasPrefix(p, "[") { // [heap], [stack], [vdso]
			if exec && p != "[vdso]" && p != "[vsyscall]" {
				anonExec++
			}
			continue
		}
		m := Mapping{Path: p, Perms: perms, Exec: exec}
		if strings.HasSuffix(p, " (deleted)") {
			m.Path, m.Deleted = strings.TrimSuffix(p, " (deleted)"), true
		}
		m.Memfd = strings.HasPrefix(m.Path, "/memfd:")
		if i, ok := idx[p]; ok {
			files[i].Exec = files[i].Exec || exec
			continue
		}
		idx[p] = len(files)
		files = append(files, m)
	}
	return files, anonExec
}

// parseCgroup reads /proc/PID/cgroup lines "ID:CONTROLLERS:PATH".
func parseCgroup(b []byte) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if parts := strings.SplitN(l, ":", 3); len(parts) == 3 {
			out = append(out, parts[1]+":"+parts[2])
		}
	}
	return out
}

// Route6 is one line of the "network" source of kind "route6".
type Route6 struct {
	Kind        string `json:"kind"` // "route6"
	Destination string `json:"destination"`
	Source      string `json:"source,omitempty"`
	Gateway     string `json:"gateway,omitempty"`
	Metric      int64  `json:"metric"`
	Flags       string `json:"flags"`
	Interface   string `json:"interface"`
}

// parseIPv6Route reads /proc/net/ipv6_route: hex addresses, hex prefix
// lengths.
func parseIPv6Route(b []byte) []Route6 {
	var out []Route6
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 10 {
			continue
		}
		dl, _ := strconv.ParseUint(f[1], 16, 8)
		sl, _ := strconv.ParseUint(f[3], 16, 8)
		m, _ := strconv.ParseInt(f[5], 16, 64)
		r := Route6{Kind: "route6", Destination: hexIPv6(f[0]) + "/" + strconv.Itoa(int(dl)), Metric: m, Flags: f[8], Interface: f[9]}
		if s := hexIPv6(f[2]); s != "::" || sl != 0 {
			r.Source = s + "/" + strconv.Itoa(int(sl))
		}
		if g := hexIPv6(f[4]); g != "::" {
			r.Gateway = g
		}
		out = append(out, r)
	}
	return out
}

func hexIPv6(s string) string {
	if len(s) != 32 {
		return s
	}
	var b [16]byte
	for i := 0; i < 16; i++ {
		v, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return s
		}
		b[i] = byte(v)
	}
	return ipString(b[:])
}

// RawSocket is one line of the "network" source of kind "raw-socket" or
// "packet-socket": sockets that see or forge traffic below TCP and UDP
// (sniffers, port-knocking backdoors).
type RawSocket struct {
	Kind     string `json:"kind"`
	Local    string `json:"local,omitempty"`
	Protocol string `json:"protocol"` // IP protocol number, or ethertype for packet sockets
	Inode    string `json:"inode"`
	UID      string `json:"uid,omitempty"`
	PID      int32  `json:"pid,omitempty"`
	Process  string `json:"process,omitempty"`
	Iface    string `json:"interface_index,omitempty"`
}

// parseRawSockets reads /proc/net/raw and raw6 (the tcp layout: the local
// "port" is the protocol).
func parseRawSockets(b []byte, v6 bool) []RawSocket {
	var out []RawSocket
	for i, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if i == 0 || len(f) < 10 {
			continue
		}
		addr, proto, _ := strings.Cut(f[1], ":")
		p, _ := strconv.ParseUint(proto, 16, 16)
		local := addr
		if v6 {
			local = hexIPv6Words(addr)
		} else {
			local = hexIPv4(addr)
		}
		out = append(out, RawSocket{Kind: "raw-socket", Local: local, Protocol: strconv.Itoa(int(p)), UID: f[7], Inode: f[9]})
	}
	return out
}

// hexIPv6Words reads /proc/net's IPv6 address: four little-endian words.
func hexIPv6Words(s string) string {
	if len(s) != 32 {
		return s
	}
	var b [16]byte
	for w := 0; w < 4; w++ {
		for i := 0; i < 4; i++ {
			v, err := strconv.ParseUint(s[w*8+(3-i)*2:w*8+(3-i)*2+2], 16, 8)
			if err != nil {
				return s
			}
			b[w*4+i] = byte(v)
		}
	}
	return ipString(b[:])
}

// parsePacket reads /proc/net/packet: sk RefCnt Type Proto Iface R Rmem User Inode.
func parsePacket(b []byte) []RawSocket {
	var out []RawSocket
	for i, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if i == 0 || len(f) < 9 {
			continue
		}
		out = append(out, RawSocket{Kind: "packet-socket", Protocol: "0x" + f[3], Iface: f[4], UID: f[7], Inode: f[8]})
	}
	return out
}

// taintFlags are the kernel's taint bits (Documentation/admin-guide/tainted-kernels.rst).
var taintFlags = []string{
	"P proprietary module", "F module force-loaded", "S out-of-spec system", "R module force-unloaded",
	"M machine check", "B bad page", "U taint requested by user space", "D kernel died (oops or BUG)",
	"A ACPI table overridden", "W kernel warning", "C staging driver", "I firmware bug worked around",
	"O out-of-tree module", "E unsigned module", "L soft lockup", "K live-patched", "X auxiliary taint",
	"T built with struct randomization", "N test taint",
}

// decodeTaint names the bits of /proc/sys/kernel/tainted.
func decodeTaint(s string) (uint64, []string) {
	v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, nil
	}
	var out []string
	for i, f := range taintFlags {
		if v&(1<<uint(i)) != 0 {
			out = append(out, f)
		}
	}
	return v, out
}

func ipString(b []byte) string { return net.IP(b).String() }
