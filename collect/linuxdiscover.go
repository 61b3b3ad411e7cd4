package collect

import (
	"strings"

	"github.com/custos-ir/custos/collect/apps"
	"github.com/custos-ir/custos/profiles"
)

// linuxDiscoveries are the discover kinds read from a Linux host's own
// configuration (collect/apps).
var linuxDiscoveries = map[string]func(apps.Host) ([]apps.FileSet, []apps.Finding){
	"homes":    apps.Host.Homes,
	"web-logs": apps.Host.WebLogs,
	"varnish":  apps.Host.Varnish,
}

// planLinuxDiscover plans a discover artifact of a Linux kind: a files
// source with a group per set discovery found; ok is false for the other
// kinds.
func planLinuxDiscover(a profiles.Artifact, o PlanOptions) (Planned, bool) {
	find, ok := linuxDiscoveries[a.Discover]
	if !ok {
		return Planned{}, false
	}
	sets, finds := find(apps.Host{Root: o.Root})
	f := &Files{Name: a.Name, Kind: "discover"}
	for _, s := range sets {
		g := FileGroup{Options: FileOptions{Logs: s.Logs}}
		for _, p := range s.Patterns {
			g.Patterns = append(g.Patterns, o.Root+p)
		}
		for _, p := range s.Excludes {
			g.Excludes = append(g.Excludes, o.Root+p)
		}
		for _, p := range s.Sensitive {
			g.Options.Sensitive = append(g.Options.Sensitive, o.Root+p)
		}
		f.Groups = append(f.Groups, g)
		f.Notes = append(f.Notes, "found "+s.Name+": "+s.Why)
	}
	for _, fd := range finds {
		if fd.Failure {
			f.Failures = append(f.Failures, fd.String())
		} else {
			f.Notes = append(f.Notes, fd.String())
		}
	}
	if len(sets) == 0 {
		f.Notes = append(f.Notes, "discover "+a.Discover+": nothing on this host")
	}
	d := f.Describe()
	d.Sources = append([]string{"discover:" + a.Discover}, d.Sources...)
	return Planned{Source: f, Desc: d}, true
}

// webRoots are the document roots the host's web servers serve, below
// root, for a timeline that asks for them.
func webRoots(root string) []string {
	var out []string
	for _, r := range (apps.Host{Root: root}).DocRoots() {
		out = append(out, root+r)
	}
	return out
}

// hasRoot reports whether roots holds r or a directory above it.
func hasRoot(roots []string, r string) bool {
	for _, x := range roots {
		if x == r || strings.HasPrefix(r, strings.TrimSuffix(x, "/")+"/") {
			return true
		}
	}
	return false
}
