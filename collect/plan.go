package collect

import (
	"fmt"
	"path/filepath"
	"runtime"
	"sort"

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
}

// kindRank orders a collection by volatility: live state, then the
// timeline (before any file is read, so reading cannot disturb it), then
// files, then everything else.
var kindRank = map[string]int{"live": 0, "bodyfile": 1, "files": 2}

// Plan turns a profile into the ordered steps of a collection.
func Plan(p *profiles.Profile, o PlanOptions) ([]Planned, error) {
	goos := o.GOOS
	if goos == "" {
		goos = runtime.GOOS
	}
	vars, err := p.Values(o.Vars)
	if err != nil {
		return nil, err
	}
	exp := func(ss []string) ([]string, error) {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = filepath.FromSlash(profiles.Expand(s, vars))
			if err := ValidatePattern(out[i]); err != nil {
				return nil, fmt.Errorf("profile %s: %w", p.Name, err)
			}
		}
		return out, nil
	}
	var steps []Planned
	for _, a := range p.Artifacts {
		a := a
		platform := a.Platform
		if platform == "" {
			platform = p.Platform
		}
		var st Planned
		switch {
		case a.Live != "":
			st.Desc = Description{Name: a.Name, Kind: "live", Format: "jsonl", Sources: []string{a.Live}, Method: "go (gopsutil, /proc or OS API)"}
			if fn, ok := o.Live(a.Live); ok {
				st.Source = &Stream{Desc: st.Desc, Fn: fn}
			} else {
				st.Skip = fmt.Sprintf("live source %q is not available on %s", a.Live, goos)
			}
		case a.Files != nil:
			paths, err := exp(a.Files.Paths)
			if err != nil {
				return nil, err
			}
			excl, err := exp(a.Files.Exclude)
			if err != nil {
				return nil, err
			}
			f := &Files{Name: a.Name, Patterns: paths, Excludes: excl,
				Options: FileOptions{MaxSize: int64(a.Files.MaxSize), HashOnly: a.Files.HashOnly}}
			st.Source, st.Desc = f, f.Describe()
		case a.Bodyfile != nil:
			roots, err := exp(a.Bodyfile.Roots)
			if err != nil {
				return nil, err
			}
			excl, err := exp(a.Bodyfile.Exclude)
			if err != nil {
				return nil, err
			}
			b := &Bodyfile{Name: a.Name, Roots: roots, Excludes: excl}
			st.Source, st.Desc = b, b.Describe()
		}
		if platform != "any" && platform != goos {
			st.Source, st.Skip = nil, fmt.Sprintf("artifact is for %s, this host runs %s", platform, goos)
		}
		steps = append(steps, st)
	}
	if len(o.ExtraPaths) > 0 {
		paths, err := exp(o.ExtraPaths)
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

func rank(kind string) int {
	if r, ok := kindRank[kind]; ok {
		return r
	}
	return len(kindRank)
}
