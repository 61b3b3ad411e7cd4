package live

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"
)

// platformIdentity reads /proc and /etc/os-release (host files through
// hostfile: O_NOATIME, no FIFO opened; /proc is the kernel's).
func platformIdentity(ctx context.Context) (Identity, error) {
	id := Identity{OS: "linux"}
	var problems []string
	id.Hostname, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		id.KernelVersion = strings.TrimSpace(string(b))
	} else {
		problems = append(problems, "kernel version: "+err.Error())
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "btime "); ok {
				if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
					id.BootTime = time.Unix(n, 0).UTC()
				}
			}
		}
	} else {
		problems = append(problems, "boot time: "+err.Error())
	}
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		b, err := readHost(p, 1<<20)
		if err != nil {
			continue
		}
		kv := osRelease(string(b))
		id.Platform, id.PlatformVersion = kv["ID"], kv["VERSION_ID"]
		if id.PlatformVersion == "" {
			id.PlatformVersion = kv["VERSION"]
		}
		break
	}
	// Debian keeps the point release in /etc/debian_version.
	if id.Platform == "debian" {
		if b, err := readHost("/etc/debian_version", 4096); err == nil {
			id.PlatformVersion = strings.TrimSpace(string(b))
		}
	}
	if len(problems) > 0 {
		return id, errors.New(strings.Join(problems, "; "))
	}
	return id, nil
}

// osRelease parses os-release(5): KEY=value, values optionally quoted.
func osRelease(s string) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else {
			v = strings.Trim(v, `'"`)
		}
		out[k] = v
	}
	return out
}
