package live

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
)

// Network lists interfaces with their addresses, the IPv4 routes and the
// neighbour (ARP) table.
func Network(ctx context.Context, w io.Writer) error {
	out := newLines(w)
	ifs, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, i := range ifs {
		var addrs []string
		as, _ := i.Addrs()
		for _, a := range as {
			addrs = append(addrs, a.String())
		}
		if err := out.put(map[string]any{"kind": "interface", "name": i.Name, "index": i.Index, "mac": i.HardwareAddr.String(),
			"mtu": i.MTU, "flags": i.Flags.String(), "addresses": addrs}); err != nil {
			return err
		}
	}
	if b, err := os.ReadFile(filepath.Join(procRoot, "net/route")); err == nil {
		for _, r := range parseRoutes(b) {
			if err := out.put(r); err != nil {
				return err
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(procRoot, "net/arp")); err == nil {
		for _, n := range parseARP(b) {
			if err := out.put(n); err != nil {
				return err
			}
		}
	}
	return networkMore(out)
}

// Modules lists loaded kernel modules.
func Modules(ctx context.Context, w io.Writer) error {
	b, err := os.ReadFile(filepath.Join(procRoot, "modules"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a kernel built without loadable modules: none to list
	}
	if err != nil {
		return err
	}
	out := newLines(w)
	for _, m := range parseModules(b) {
		if err := out.put(m); err != nil {
			return err
		}
	}
	return nil
}

// Mounts lists mounted file systems as this process sees them.
func Mounts(ctx context.Context, w io.Writer) error {
	b, err := os.ReadFile(filepath.Join(procRoot, "self/mountinfo"))
	if err != nil {
		return err
	}
	out := newLines(w)
	for _, m := range parseMountinfo(b) {
		if err := out.put(m); err != nil {
			return err
		}
	}
	return nil
}
