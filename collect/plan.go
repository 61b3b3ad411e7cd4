package collect

import (
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/custos-ir/custos/collect/apps/magento"
	"github.com/custos-ir/custos/collect/hostfile"
	"github.com/custos-ir/custos/profiles"
)

// Planned is one step of a collection: a source, or the reason an artifact
// of the profile is not collected here (recorded as skipped).
type Planned struct {
	Source Source
	Desc   Description
	Skip   string
}

// PlanOptions are the responder's choices on top of a profile.
type PlanOptions struct {
	Vars       map[string]string // --set values
	ExtraPaths []string          // --path patterns, one more files artifact
	// Live finds live-state sources by name (the platform's package).
	Live func(name string) (StreamFunc, bool)
	GOOS string // defaults to runtime.GOOS
	// Warn receives what the responder should know about the plan.
	Warn func(string)
	// Windows is the host discovery reads on Windows; nil means this
	// host's own registry, files and environment (on Windows only).
	Windows *WindowsHost
	// Root is where a Linux host's / is ("" for this host's own): it is
	// put before every path of the profile and below it discovery reads
	// the host's configuration. Tests point it at a fixture root.
	Root string
}

// kindRank orders a collection by volatility: live state, then the
// timeline (before any file is read, so reading cannot disturb it), then
// files, then everything else.
var kindRank = map[string]int{"live": 0, "bodyfile": 1, "eventlogs": 2, "files": 2, "discover": 2, "packages": 2, "mysql": 3}

// Plan turns a profile into the ordered steps of a collection.
func Plan(p *profiles.Profile, o PlanOptions) ([]Planned, error) {
	goos := o.GOOS
	if goos == "" {
		goos = runtime.GOOS
	}
	if o.Warn == nil {
		o.Warn = func(string) {}
	}
	if p.Platform != "any" && p.Platform != goos {
		o.Warn(fmt.Sprintf("profile %s is for %s, this host runs %s: collecting only what applies", p.Name, p.Platform, goos))
	}
	vars, err := p.Values(o.Vars)
	if err != nil {
		return nil, err
	}
	// Variables still empty are discovered on the host where the profile
	// says how; artifacts needing one that stays empty are skipped, with
	// what to do.
	unresolved := map[string]string{}
	stores := map[string][]magento.Root{} // variables that every store found fills in turn
	for name, v := range p.Variables {
		if vars[name] != "" {
			continue
		}
		switch v.Discover {
		case "magento":
			roots := magento.Discover(o.Root)
			if len(roots) == 0 {
				unresolved[name] = "no Magento root found (no app/etc/env.php or local.xml where shops usually live): pass --set " + name + "=DIR"
				continue
			}
			vars[name] = roots[0].Path
			stores[name] = roots
			if len(roots) > 1 {
				o.Warn(storesFound(roots))
			}
		default:
			unresolved[name] = "profile variable " + name + " has no value: pass --set " + name + "=VALUE"
		}
	}
	exp := func(vars map[string]string, ss []string) ([]string, error) {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = filepath.FromSlash(profiles.Expand(s, vars))
			if o.Root != "" && strings.HasPrefix(out[i], "/") && !strings.HasPrefix(out[i], o.Root+"/") {
				out[i] = o.Root + out[i]
			}
			if o.Windows != nil && len(out[i]) > 2 && out[i][1] == ':' {
				out[i] = o.Windows.Local(out[i])
			}
			if err := hostfile.ValidatePattern(out[i]); err != nil {
				return nil, fmt.Errorf("profile %s: %w", p.Name, err)
			}
		}
		return out, nil
	}
	var steps []Planned
	for _, a0 := range p.Artifacts {
		for _, in := range instancesOf(a0, vars, stores) {
			a, vars := in.a, in.vars
			if in.skip != "" {
				steps = append(steps, Planned{Desc: Description{Name: a.Name, Kind: a.Kind()}, Skip: in.skip})
				continue
			}
			platform := a.Platform
			if platform == "" {
				platform = p.Platform
			}
			if platform != "any" && platform != goos {
				steps = append(steps, Planned{Desc: Description{Name: a.Name, Kind: a.Kind()}, Skip: fmt.Sprintf("artifact is for %s, this host runs %s", platform, goos)})
				continue
			}
			if why := needsUnresolved(&a, unresolved); why != "" {
				steps = append(steps, Planned{Desc: Description{Name: a.Name, Kind: a.Kind()}, Skip: why})
				continue
			}
			var st Planned
			switch {
			case a.Live != "":
				st = planLive(a, o, goos)
			case a.Files != nil:
				paths, err := exp(vars, a.Files.Paths)
				if err != nil {
					return nil, err
				}
				excl, err := exp(vars, a.Files.Exclude)
				if err != nil {
					return nil, err
				}
				opt, err := fileOptions(a, vars)
				if err != nil {
					return nil, fmt.Errorf("profile %s: %w", p.Name, err)
				}
				if opt.Sensitive, err = exp(vars, a.Files.Sensitive); err != nil {
					return nil, err
				}
				f := &Files{Name: a.Name, Patterns: paths, Excludes: append(excl, in.excludes...), Options: opt, Notes: in.notes}
				st.Source, st.Desc = f, f.Describe()
				if a.Files.Locked {
					lk := &Locked{Name: a.Name, Patterns: paths, Excludes: f.Excludes, Options: f.Options}
					st.Source, st.Desc = lk, lk.Describe()
				}
			case a.MySQL != nil:
				m := *a.MySQL
				m.MagentoRoot = filepath.FromSlash(profiles.Expand(m.MagentoRoot, vars))
				for _, f := range []*string{&m.Host, &m.Socket, &m.User, &m.Database, &m.Prefix} {
					*f = profiles.Expand(*f, vars)
				}
				src := &MySQLSource{Name: a.Name, Spec: m}
				st.Source, st.Desc = src, src.Describe()
			case a.Discover != "":
				st = planDiscover(a, o, goos)
			case a.Packages != nil:
				src := &Packages{Name: a.Name, Root: o.Root, Full: a.Packages.Integrity == "full", None: a.Packages.Integrity == "none"}
				st.Source, st.Desc = src, src.Describe()
			case a.Bodyfile != nil:
				roots, err := exp(vars, a.Bodyfile.Roots)
				if err != nil {
					return nil, err
				}
				excl, err := exp(vars, a.Bodyfile.Exclude)
				if err != nil {
					return nil, err
				}
				if a.Bodyfile.WebRoots {
					for _, r := range webRoots(o.Root) {
						if !hasRoot(roots, r) {
							roots = append(roots, r)
						}
					}
				}
				b := &Bodyfile{Name: a.Name, Roots: roots, Excludes: append(excl, in.excludes...), Links: linkPolicy(a.Bodyfile.Links)}
				st.Source, st.Desc = b, b.Describe()
			}
			steps = append(steps, st)
		}
	}
	if len(o.ExtraPaths) > 0 {
		paths, err := exp(vars, o.ExtraPaths)
		if err != nil {
			return nil, fmt.Errorf("--path: %w", err)
		}
		f := &Files{Name: "extra-paths", Patterns: paths}
		steps = append(steps, Planned{Source: f, Desc: f.Describe()})
	}
	sort.SliceStable(steps, func(i, j int) bool {
		return rank(steps[i].Desc.Kind) < rank(steps[j].Desc.Kind)
	})
	return steps, nil
}

// planLive plans a live source: the platform's, or deleted (a tar of
// files, taken here).
func planLive(a profiles.Artifact, o PlanOptions, goos string) Planned {
	if a.Live == "deleted" {
		src := &Deleted{Name: a.Name}
		if goos != "linux" {
			return Planned{Desc: src.Describe(), Skip: "live source \"deleted\" reads /proc, which " + goos + " does not have"}
		}
		return Planned{Source: src, Desc: src.Describe()}
	}
	st := Planned{Desc: Description{Name: a.Name, Kind: "live", Format: "jsonl", Sources: []string{a.Live}, Method: "go (gopsutil, /proc or OS API)"}}
	if fn, ok := o.Live(a.Live); ok {
		st.Source = &Stream{Desc: st.Desc, Fn: fn}
	} else {
		st.Skip = fmt.Sprintf("live source %q is not available on %s", a.Live, goos)
	}
	return st
}

// linkPolicy is a profile's links: value (validated by profiles).
func linkPolicy(s string) hostfile.LinkPolicy {
	if s == "record" {
		return hostfile.Record
	}
	return hostfile.Follow
}

func needsUnresolved(a *profiles.Artifact, unresolved map[string]string) string {
	for name, why := range unresolved {
		if a.Uses(name) {
			return why
		}
	}
	return ""
}

func rank(kind string) int {
	if r, ok := kindRank[kind]; ok {
		return r
	}
	return len(kindRank)
}
