package collect

import (
	"context"

	"strings"

	"github.com/custos-ir/custos/collect/windows"
	"github.com/custos-ir/custos/profiles"
)

// planWindowsTriage plans the discover kinds of the standard Windows
// triage set: registry hives of the machine and every profile, the NTFS
// metadata of the volumes that matter, and the web roots the servers'
// configuration names (a hash listing, the scripts, a timeline).
func planWindowsTriage(a profiles.Artifact, h *WindowsHost) (Planned, bool) {
	var finds []windows.Finding
	var st Planned
	switch a.Discover {
	case "registry":
		sets, f := windows.Hives(h.Registry, h.FS, h.Env)
		finds = f
		src := &Locked{Name: a.Name, Kind: "discover"}
		for _, s := range sets {
			for _, inc := range s.Include {
				src.Patterns = append(src.Patterns, h.Local(winPath(s.Root, inc)))
			}
			src.Notes = append(src.Notes, "found "+s.Root+": "+s.Why)
		}
		st = Planned{Source: src}
	case "ntfs":
		src := &Locked{Name: a.Name, Kind: "discover"}
		for _, d := range ntfsVolumes(h) {
			src.Paths = append(src.Paths, d.drive+`\$MFT`, d.drive+`\$LogFile`, d.drive+`\$Extend\$UsnJrnl:$J`)
			src.Notes = append(src.Notes, "volume "+d.drive+": "+d.why)
		}
		if h.NTFS != nil {
			m := []windows.CopyMethod{windows.NTFSMethod(h.NTFS, nil)}
			src.Methods = func(string) []windows.CopyMethod { return m }
		} else {
			src.Methods = func(string) []windows.CopyMethod { return windows.MetadataMethods() }
		}
		st = Planned{Source: src}
	case "webroots", "webroot-scripts", "webroot-timeline":
		roots, f := winWebRoots(h)
		finds = f
		var notes []string
		for _, r := range roots {
			notes = append(notes, "found "+r.Dir+": "+r.Why)
		}
		if len(roots) == 0 {
			notes = append(notes, "no web root found (IIS applicationHost.config, Tomcat server.xml and context files)")
		}
		if a.Discover == "webroot-timeline" {
			b := &Bodyfile{Name: a.Name}
			for _, r := range roots {
				b.Roots = append(b.Roots, h.Local(r.Dir))
			}
			st = Planned{Source: &notedBodyfile{b, notes}}
			break
		}
		src := &Files{Name: a.Name, Kind: "discover", Notes: notes}
		for _, r := range roots {
			g := FileGroup{Options: FileOptions{HashOnly: true}, Patterns: []string{h.Local(r.Dir)}}
			if a.Discover == "webroot-scripts" {
				// Scripts changed within --since are copied (all of them
				// without it); the listing artifact hashes the rest.
				g = FileGroup{Options: FileOptions{Logs: true, MaxSize: 16 << 20}}
				for _, p := range windows.ScriptPatterns {
					g.Patterns = append(g.Patterns, h.Local(winPath(r.Dir, p)))
				}
			}
			src.Groups = append(src.Groups, g)
		}
		st = Planned{Source: src}
	default:
		return Planned{}, false
	}
	if lk, ok := st.Source.(*Locked); ok {
		for _, fd := range finds {
			if fd.IsFailure() {
				lk.Failures = append(lk.Failures, fd.String())
			} else {
				lk.Notes = append(lk.Notes, fd.String())
			}
		}
	}
	if fl, ok := st.Source.(*Files); ok {
		for _, fd := range finds {
			if fd.IsFailure() {
				fl.Failures = append(fl.Failures, fd.String())
			} else {
				fl.Notes = append(fl.Notes, fd.String())
			}
		}
	}
	st.Desc = st.Source.Describe()
	st.Desc.Sources = append([]string{"discover:" + a.Discover}, st.Desc.Sources...)
	return st, true
}

// winWebRoots are IIS's virtual directories and every Tomcat's appBase and
// docBases.
func winWebRoots(h *WindowsHost) ([]windows.WebRoot, []windows.Finding) {
	roots, _, finds := windows.IISWebRoots(h.FS, h.Env)
	tomcats, _ := windows.Tomcat(h.Registry, h.FS, h.Env)
	for _, t := range tomcats {
		r, f := t.WebRoots(h.FS)
		roots, finds = append(roots, r...), append(finds, f...)
	}
	var out []windows.WebRoot
	seen := map[string]bool{}
	for _, r := range roots {
		k := strings.ToLower(r.Dir)
		if !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out, finds
}

type ntfsVolume struct{ drive, why string }

// ntfsVolumes: the system drive, then each drive a web root lives on.
func ntfsVolumes(h *WindowsHost) []ntfsVolume {
	sys := h.Env("SystemDrive")
	if sys == "" {
		sys = "C:"
	}
	out := []ntfsVolume{{strings.ToUpper(sys), "the system volume"}}
	seen := map[string]bool{strings.ToUpper(sys): true}
	roots, _ := winWebRoots(h)
	for _, r := range roots {
		if len(r.Dir) < 2 || r.Dir[1] != ':' {
			continue
		}
		d := strings.ToUpper(r.Dir[:2])
		if !seen[d] {
			seen[d] = true
			out = append(out, ntfsVolume{d, "holds the web root " + r.Dir})
		}
	}
	return out
}

// notedBodyfile is a timeline with what discovery found said first.
type notedBodyfile struct {
	*Bodyfile
	notes []string
}

func (n *notedBodyfile) Collect(ctx context.Context, e *Emitter) error {
	for _, m := range n.notes {
		e.Warn("%s", m)
	}
	if len(n.Roots) == 0 {
		return nil
	}
	return n.Bodyfile.Collect(ctx, e)
}
