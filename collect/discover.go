package collect

import (
	"fmt"
	"strings"

	"github.com/custos-ir/custos/collect/windows"
	"github.com/custos-ir/custos/profiles"
)

// WindowsHost is what discovery reads: the registry, files by Windows
// path, the environment; Local turns a Windows path into the path this
// process opens (itself on Windows, a fixture directory in tests).
type WindowsHost struct {
	Registry windows.Registry
	FS       windows.FS
	Env      windows.Env
	Local    func(string) string
	// NTFS opens a volume for the NTFS reader; nil: this host's own
	// (\\.\C:, on Windows only). Tests and images give theirs.
	NTFS windows.VolumeOpener
}

// hostWindows is this host's own, set on Windows.
var hostWindows func() *WindowsHost

// planDiscover turns a discover artifact into a files source whose groups
// are what discovery found, with what it noticed on the way.
func planDiscover(a profiles.Artifact, o PlanOptions, goos string) Planned {
	if st, ok := planLinuxDiscover(a, o); ok {
		return st
	}
	desc := Description{Name: a.Name, Kind: "discover", Format: "tar", Sources: []string{"discover:" + a.Discover}}
	h := o.Windows
	if h == nil && hostWindows != nil {
		h = hostWindows()
	}
	if h == nil {
		return Planned{Desc: desc, Skip: fmt.Sprintf("discover %s reads a Windows host's registry and configuration; this host runs %s", a.Discover, goos)}
	}
	if a.Discover == "eventlogs" {
		ev := &Locked{Name: a.Name, Kind: "eventlogs", Patterns: []string{h.Local(eventLogDir(h.Env) + `\*.evtx`)}}
		return Planned{Source: ev, Desc: ev.Describe()}
	}
	if st, ok := planWindowsTriage(a, h); ok {
		return st
	}
	var sets []windows.FileSet
	var finds []windows.Finding
	var notes []string
	switch a.Discover {
	case "tomcat":
		insts, f := windows.Tomcat(h.Registry, h.FS, h.Env)
		finds = f
		for _, t := range insts {
			notes = append(notes, "found Tomcat "+t.Base+" through "+strings.Join(t.Sources, ", "))
			sets = append(sets, t.FileSets()...)
		}
		if len(insts) == 0 {
			finds = append(finds, windows.Finding{What: "no Tomcat found", Where: "Procrun services, CATALINA_BASE/CATALINA_HOME, default folders", Detail: "nothing to take"})
		}
	case "iis":
		sets, finds = windows.IIS(h.FS, h.Env)
		if sets == nil && finds == nil {
			finds = append(finds, windows.Finding{What: "no IIS configuration", Where: "applicationHost.config", Detail: "IIS is not installed"})
		}
	case "fusionreactor":
		insts, _ := windows.Tomcat(h.Registry, h.FS, h.Env)
		sets, finds = windows.FusionReactor(h.Registry, h.FS, h.Env, insts)
		if len(sets) == 0 {
			finds = append(finds, windows.Finding{What: "no FusionReactor instance found", Where: "-javaagent options, C:\\FusionReactor", Detail: "nothing to take"})
		}
	}
	f := &Files{Name: a.Name, Kind: "discover"}
	for _, s := range sets {
		g := FileGroup{Options: FileOptions{HashOnly: s.HashOnly, Redact: s.Redact, Logs: strings.Contains(s.Name, "log")}}
		for _, inc := range s.Include {
			g.Patterns = append(g.Patterns, h.Local(winPath(s.Root, inc)))
		}
		for _, ex := range s.Exclude {
			g.Excludes = append(g.Excludes, h.Local(winPath(s.Root, ex)))
		}
		f.Groups = append(f.Groups, g)
		if a.Discover != "tomcat" {
			notes = append(notes, "found "+s.Root+": "+s.Why)
		}
	}
	f.Notes = notes
	for _, fd := range finds {
		if fd.IsFailure() {
			f.Failures = append(f.Failures, fd.String())
		} else {
			f.Notes = append(f.Notes, fd.String())
		}
	}
	d := f.Describe()
	d.Sources = append([]string{"discover:" + a.Discover}, d.Sources...)
	return Planned{Source: f, Desc: d}
}

// winPath joins a root and a slash-separated relative pattern into a
// Windows path ("..\\conf" climbs out of the root, as the ISAPI
// redirector's layout needs).
func winPath(root, rel string) string {
	parts := strings.Split(strings.TrimRight(root, `\`), `\`)
	for _, seg := range strings.Split(rel, "/") {
		if seg == ".." && len(parts) > 1 {
			parts = parts[:len(parts)-1]
			continue
		}
		parts = append(parts, seg)
	}
	return strings.Join(parts, `\`)
}

func eventLogDir(env windows.Env) string {
	root := env("SystemRoot")
	if root == "" {
		root = `C:\Windows`
	}
	return strings.TrimRight(root, `\`) + `\System32\winevt\Logs`
}

// FixtureHost is a WindowsHost over fixture drives (tests, mounted images).
func FixtureHost(drives windows.FixtureFS, reg windows.Registry, env map[string]string) *WindowsHost {
	return &WindowsHost{
		Registry: reg,
		FS:       drives,
		Env:      func(k string) string { return env[k] },
		Local: func(p string) string {
			l, err := drives.Local(p)
			if err != nil {
				return p
			}
			return l
		},
	}
}
