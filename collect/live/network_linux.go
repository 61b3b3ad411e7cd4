package live

import (
	"os"
	"path/filepath"
	"strconv"
)

// networkMore adds what /proc/net/route and arp do not show: IPv6 routes,
// and raw and packet sockets (sniffers and port-knocking backdoors listen
// below TCP and UDP), with their owners.
func networkMore(out *lineWriter) error {
	if b, err := os.ReadFile(filepath.Join(procRoot, "net/ipv6_route")); err == nil {
		for _, r := range parseIPv6Route(b) {
			if err := out.put(r); err != nil {
				return err
			}
		}
	}
	var socks []RawSocket
	for _, f := range []struct {
		name string
		v6   bool
	}{{"raw", false}, {"raw6", true}} {
		if b, err := os.ReadFile(filepath.Join(procRoot, "net", f.name)); err == nil {
			socks = append(socks, parseRawSockets(b, f.v6)...)
		}
	}
	if b, err := os.ReadFile(filepath.Join(procRoot, "net/packet")); err == nil {
		socks = append(socks, parsePacket(b)...)
	}
	if len(socks) == 0 {
		return nil
	}
	owners := socketOwners()
	names := processNames()
	for _, s := range socks {
		s.PID = owners[s.Inode]
		s.Process = names[s.PID]
		if err := out.put(s); err != nil {
			return err
		}
	}
	return nil
}

// socketOwners maps socket inodes to the pid holding them.
func socketOwners() map[string]int32 {
	out := map[string]int32{}
	pids, _ := listPIDs()
	for _, pid := range pids {
		dir := filepath.Join(procRoot, strconv.Itoa(int(pid)), "fd")
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			l, err := os.Readlink(filepath.Join(dir, e.Name()))
			if err == nil && len(l) > 9 && l[:8] == "socket:[" {
				if _, dup := out[l[8:len(l)-1]]; !dup {
					out[l[8:len(l)-1]] = pid
				}
			}
		}
	}
	return out
}
