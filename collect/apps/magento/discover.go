// Package magento knows where a Magento 1 or 2 store keeps its evidence:
// where stores live on a host (every root: staging copies and old releases
// too), how to read their database settings from app/etc/env.php or
// local.xml without running PHP, what of their database to dump, and the
// secrets in their configuration.
//
// It reads the host only through collect/hostfile and never runs a
// program.
package magento

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/custos-ir/custos/collect/hostfile"
	"github.com/custos-ir/custos/collect/mysqldump"
)

// Places are where stores usually live: plain document roots, Deployer and
// Capistrano layouts (current and every release), hosting panels' folders,
// staging copies beside or below the live store.
var Places = []string{
	"/var/www/html", "/var/www/html/*", "/var/www/magento*", "/var/www/*", "/var/www/*/htdocs", "/var/www/*/public_html",
	"/var/www/*/current", "/var/www/*/releases/*", "/var/www/*/*/current", "/var/www/*/*/releases/*",
	"/var/www/vhosts/*/httpdocs", "/var/www/vhosts/*/httpdocs/*",
	"/srv/*", "/srv/*/current", "/srv/*/releases/*", "/srv/www/*", "/srv/www/*/current", "/srv/www/*/releases/*",
	"/home/*/public_html", "/home/*/public_html/*", "/home/*/www", "/home/*/magento*", "/home/*/domains/*/public_html",
	"/home/*/*/current", "/home/*/*/releases/*", "/opt/magento*", "/usr/share/nginx/html", "/app",
}

// Root is one store found on the host.
type Root struct {
	Path    string // as found: through a link where one led there (current -> releases/42)
	Version int    // 1 or 2
	id      [2]uint64
}

// markers tell a store root and its version.
var markers = []struct {
	rel     string
	version int
}{{"app/etc/env.php", 2}, {"app/etc/local.xml", 1}, {"app/Mage.php", 1}, {"bin/magento", 2}}

// Detect says whether dir is a store root, and which Magento.
func Detect(dir string) (Root, bool) {
	for _, m := range markers {
		if _, _, err := hostfile.Stat(filepath.Join(dir, m.rel)); err == nil {
			rec, _, err := hostfile.Stat(dir)
			if err != nil {
				return Root{}, false
			}
			return Root{Path: dir, Version: m.version, id: [2]uint64{rec.Device, rec.Inode}}, true
		}
	}
	return Root{}, false
}

// Discover finds every store under base (the host's root: "" or "/"; a
// mounted image's or a test's directory otherwise), each once however many
// paths lead to it, the live one first: a current link, then other roots,
// then old releases, newest first.
func Discover(base string) []Root {
	seen := map[[2]uint64]int{}
	var found []Root
	for _, pat := range Places {
		var ms []string
		hostfile.Walk(context.Background(), []string{strings.TrimSuffix(base, "/") + pat}, hostfile.WalkOptions{Links: hostfile.Record, Shallow: true}, func(e *hostfile.Entry) error {
			if e.Err == nil && (e.Kind == hostfile.KindDir || e.Kind == hostfile.KindLink) {
				ms = append(ms, e.Path)
			}
			return nil
		})
		sort.Strings(ms)
		for _, d := range ms {
			r, ok := Detect(d)
			if !ok {
				continue
			}
			if i, dup := seen[r.id]; dup {
				if rank(r.Path) < rank(found[i].Path) { // the same store by a better name
					found[i].Path = r.Path
				}
				continue
			}
			seen[r.id] = len(found)
			found = append(found, r)
		}
	}
	sort.SliceStable(found, func(i, j int) bool {
		ri, rj := rank(found[i].Path), rank(found[j].Path)
		if ri != rj {
			return ri < rj
		}
		if ri == 2 { // releases: newest (highest name) first
			return found[i].Path > found[j].Path
		}
		return false
	})
	return found
}

// rank orders roots: what the web server serves (a current link) first,
// plain roots next, old releases last.
func rank(p string) int {
	switch {
	case path.Base(p) == "current":
		return 0
	case strings.Contains(p, "/releases/"):
		return 2
	}
	return 1
}

// sharedPaths are what deploy tools share between releases (Deployer's
// and Capistrano's shared_dirs and shared_files for Magento).
var sharedPaths = []string{"app/etc/env.php", "app/etc/local.xml", "var", "var/log", "var/report", "var/backups", "var/export",
	"var/import", "var/importexport", "var/session", "var/tmp", "pub/media", "pub/sitemap", "pub/sitemaps", "pub/static/_cache", "media", "sitemaps"}

// Shared lists the paths (relative) that other shares with first: the
// same file or directory reached from both, usually through links into
// deploy's shared/ folder. A collection takes them once, with first.
func Shared(first, other Root) []string {
	var out []string
	for _, rel := range sharedPaths {
		a, _, err1 := hostfile.Stat(filepath.Join(first.Path, rel))
		b, _, err2 := hostfile.Stat(filepath.Join(other.Path, rel))
		if err1 == nil && err2 == nil && a.Inode == b.Inode && a.Device == b.Device {
			out = append(out, rel)
		}
	}
	return out
}

// ReadConn reads a store's database settings: app/etc/env.php (Magento 2)
// or app/etc/local.xml (Magento 1), read through hostfile as evidence is
// read (no access time moved, links followed only as a walk would, a FIFO
// never waited on). version is 1 or 2.
func ReadConn(root string) (c mysqldump.Conn, version int, err error) {
	var problems []string
	for _, f := range []struct {
		name    string
		version int
		parse   func([]byte) (mysqldump.Conn, error)
	}{{"env.php", 2, EnvDB}, {"local.xml", 1, LocalXMLDB}} {
		b, err := hostfile.ReadFile(filepath.Join(root, "app", "etc", f.name), 16<<20)
		if err == nil {
			c, err := f.parse(b.Data)
			if err != nil {
				err = fmt.Errorf("%s: %w", filepath.Join(root, "app", "etc"), err)
			}
			return c, f.version, err
		}
		if !errors.Is(err, fs.ErrNotExist) {
			problems = append(problems, "app/etc/"+f.name+": "+hostfile.ErrText(err))
		}
	}
	if len(problems) > 0 {
		return mysqldump.Conn{}, 0, fmt.Errorf("the Magento configuration under %s: %s", root, strings.Join(problems, "; "))
	}
	return mysqldump.Conn{}, 0, fmt.Errorf("no app/etc/env.php or app/etc/local.xml under %s: pass --set magento_root=DIR", root)
}
