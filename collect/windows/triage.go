package windows

// The standard Windows triage set that is not at fixed paths: every
// user's registry hives (the profiles the registry knows and the folders
// under Users), and the web roots the servers' own configuration names.

import (
	"encoding/xml"
	"errors"
	"io/fs"
	"sort"
	"strings"
)

// Hives are the registry hives with their transaction logs (.LOG, .LOG1,
// .LOG2, and the KTM logs .blf/.regtrans-ms beside a user hive or in
// config\TxR): the machine's (SAM, SYSTEM, SOFTWARE, SECURITY, DEFAULT,
// RegBack), the system and service profiles', and every user profile's
// NTUSER.DAT and UsrClass.dat, whether the user is logged on (the hive is
// loaded, and held) or not. Profiles come from the ProfileList key and the
// folders under %SystemDrive%\Users, each once.
func Hives(reg Registry, fsys FS, env Env) ([]FileSet, []Finding) {
	sysroot := env("SystemRoot")
	if sysroot == "" {
		sysroot = `C:\Windows`
	}
	cfg := winJoin(sysroot, `System32\config`)
	var inc []string
	for _, h := range []string{"SAM", "SYSTEM", "SOFTWARE", "SECURITY", "DEFAULT"} {
		inc = append(inc, h, h+".LOG*")
	}
	out := []FileSet{
		{Name: "hives-system", Root: cfg, Include: append(inc, "RegBack/*", "TxR/*"), Why: "SAM, SYSTEM, SOFTWARE, SECURITY, DEFAULT with their transaction logs, RegBack"},
		{Name: "hives-systemprofile", Root: winJoin(cfg, "systemprofile"), Include: []string{"NTUSER.DAT*"}, Why: "LocalSystem's NTUSER.DAT"},
		{Name: "hives-localservice", Root: winJoin(sysroot, `ServiceProfiles\LocalService`), Include: []string{"NTUSER.DAT*"}, Why: "LocalService's NTUSER.DAT"},
		{Name: "hives-networkservice", Root: winJoin(sysroot, `ServiceProfiles\NetworkService`), Include: []string{"NTUSER.DAT*"}, Why: "NetworkService's NTUSER.DAT"},
	}
	profiles, finds := Profiles(reg, fsys, env)
	for _, p := range profiles {
		out = append(out, FileSet{Name: "hives-" + strings.ToLower(p.Name), Root: p.Dir,
			Include: []string{"NTUSER.DAT*", "AppData/Local/Microsoft/Windows/UsrClass.dat*"}, Why: "NTUSER.DAT and UsrClass.dat of " + p.Why})
	}
	return out, finds
}

// Profile is a user profile folder and how it was found.
type Profile struct {
	Dir, Name, Why string
}

const profileListKey = `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList`

// Profiles lists the user profiles: each ProfileImagePath of ProfileList
// (the system and service profiles are taken on their own and left out
// here), then every folder under %SystemDrive%\Users the list does not
// name (a profile whose key was removed).
func Profiles(reg Registry, fsys FS, env Env) ([]Profile, []Finding) {
	var out []Profile
	var finds []Finding
	seen := map[string]bool{}
	add := func(dir, why string) {
		k := normalize(dir)
		if dir == "" || seen[k] {
			return
		}
		seen[k] = true
		name := dir[strings.LastIndex(dir, `\`)+1:]
		out = append(out, Profile{Dir: dir, Name: name, Why: why})
	}
	sids, err := reg.SubKeys(profileListKey)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		finds = append(finds, Finding{"registry key not readable", profileListKey, err.Error()})
	}
	sort.Strings(sids)
	sysroot := normalize(env("SystemRoot"))
	for _, sid := range sids {
		p, err := reg.String(profileListKey+`\`+sid, "ProfileImagePath")
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				finds = append(finds, Finding{"registry value not readable", profileListKey + `\` + sid + `\ProfileImagePath`, err.Error()})
			}
			continue
		}
		p = expand(p, env)
		if sysroot != "" && strings.HasPrefix(normalize(p), sysroot+`\`) {
			continue // systemprofile, LocalService, NetworkService: taken as such
		}
		if _, err := fsys.Stat(p); err != nil {
			finds = append(finds, Finding{"profile folder not there", p, "ProfileList " + sid + " names it"})
			continue
		}
		add(p, "profile "+sid+" (ProfileList)")
	}
	drive := env("SystemDrive")
	if drive == "" {
		drive = "C:"
	}
	users := winJoin(drive, "Users")
	ents, err := fsys.ReadDir(users)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		finds = append(finds, Finding{"profiles folder not readable", users, err.Error()})
	}
	for _, e := range ents {
		if e.IsDir() && !strings.EqualFold(e.Name(), "All Users") {
			add(winJoin(users, e.Name()), "the folder "+winJoin(users, e.Name()))
		}
	}
	return out, finds
}

// WebRoot is a folder a web server serves from, and who says so.
type WebRoot struct {
	Dir, Why string
}

// webSites is the part of applicationHost.config that names content.
type webSites struct {
	Sites struct {
		Defaults struct {
			Trace struct {
				Directory string `xml:"directory,attr"`
			} `xml:"traceFailedRequestsLogging"`
		} `xml:"siteDefaults"`
		Site []struct {
			Name        string `xml:"name,attr"`
			ID          string `xml:"id,attr"`
			Application []struct {
				Path string `xml:"path,attr"`
				VDir []struct {
					Path         string `xml:"path,attr"`
					PhysicalPath string `xml:"physicalPath,attr"`
				} `xml:"virtualDirectory"`
			} `xml:"application"`
			Trace struct {
				Directory string `xml:"directory,attr"`
			} `xml:"traceFailedRequestsLogging"`
		} `xml:"site"`
	} `xml:"system.applicationHost>sites"`
}

// IISWebRoots reads every site's applications' virtual directories
// (physicalPath) from applicationHost.config, and the folders its failed
// request tracing writes to (FailedReqLogFiles: the site's, else the
// defaults', else %SystemDrive%\inetpub\logs\FailedReqLogFiles).
func IISWebRoots(fsys FS, env Env) (roots []WebRoot, failedReq []string, finds []Finding) {
	sysroot := env("SystemRoot")
	if sysroot == "" {
		sysroot = `C:\Windows`
	}
	cfg := winJoin(sysroot, `System32\inetsrv\config\applicationHost.config`)
	b, err := fsys.ReadFile(cfg)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			finds = append(finds, Finding{"IIS configuration not readable", cfg, err.Error()})
		}
		return nil, nil, finds
	}
	var ws webSites
	if err := xml.Unmarshal(b, &ws); err != nil {
		def := expand(`%SystemDrive%\inetpub\wwwroot`, env)
		return []WebRoot{{def, "IIS default web root (applicationHost.config does not parse)"}},
			[]string{expand(`%SystemDrive%\inetpub\logs\FailedReqLogFiles`, env)},
			[]Finding{{"IIS configuration does not parse; web roots unknown (the default is taken)", cfg, err.Error()}}
	}
	defTrace := ws.Sites.Defaults.Trace.Directory
	if defTrace == "" {
		defTrace = `%SystemDrive%\inetpub\logs\FailedReqLogFiles`
	}
	seenTrace := map[string]bool{}
	for _, s := range ws.Sites.Site {
		for _, a := range s.Application {
			for _, v := range a.VDir {
				if v.PhysicalPath == "" {
					continue
				}
				roots = append(roots, WebRoot{expand(v.PhysicalPath, env), "IIS site " + s.Name + " application " + a.Path + " virtual directory " + v.Path})
			}
		}
		d := s.Trace.Directory
		if d == "" {
			d = defTrace
		}
		d = expand(d, env)
		if !seenTrace[normalize(d)] {
			seenTrace[normalize(d)] = true
			failedReq = append(failedReq, d)
		}
	}
	return dedupRoots(roots), failedReq, nil
}

// tomcatServer is the part of server.xml that names content.
type tomcatServer struct {
	Services []struct {
		Engine struct {
			Hosts []struct {
				Name     string `xml:"name,attr"`
				AppBase  string `xml:"appBase,attr"`
				Contexts []struct {
					Path    string `xml:"path,attr"`
					DocBase string `xml:"docBase,attr"`
				} `xml:"Context"`
			} `xml:"Host"`
		} `xml:"Engine"`
	} `xml:"Service"`
}

type tomcatContext struct {
	DocBase string `xml:"docBase,attr"`
}

// TomcatWebRoots reads each Host's appBase (relative to CATALINA_BASE;
// webapps when unset) and every Context's docBase, in server.xml and in
// conf\Catalina\<host>\*.xml.
func (t TomcatInstance) WebRoots(fsys FS) ([]WebRoot, []Finding) {
	cfg := winJoin(t.Base, `conf\server.xml`)
	var roots []WebRoot
	var finds []Finding
	abs := func(p, rel string) string {
		p = strings.ReplaceAll(p, "/", `\`)
		if len(p) > 1 && p[1] == ':' || strings.HasPrefix(p, `\\`) {
			return p
		}
		return winJoin(rel, p)
	}
	b, err := fsys.ReadFile(cfg)
	var srv tomcatServer
	if err == nil {
		err = xml.Unmarshal(b, &srv)
	}
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			finds = append(finds, Finding{"Tomcat server.xml not readable or does not parse; webapps taken", cfg, err.Error()})
		}
		return []WebRoot{{winJoin(t.Base, "webapps"), "Tomcat " + t.Base + " default appBase"}}, finds
	}
	hosts := 0
	for _, s := range srv.Services {
		for _, h := range s.Engine.Hosts {
			hosts++
			appBase := h.AppBase
			if appBase == "" {
				appBase = "webapps"
			}
			ab := abs(appBase, t.Base)
			roots = append(roots, WebRoot{ab, "Tomcat " + t.Base + " Host " + h.Name + " appBase"})
			for _, c := range h.Contexts {
				if c.DocBase != "" {
					roots = append(roots, WebRoot{abs(c.DocBase, ab), "Tomcat " + t.Base + " Context " + c.Path + " docBase (server.xml)"})
				}
			}
			dir := winJoin(t.Base, "conf", "Catalina", h.Name)
			if h.Name == "" {
				continue
			}
			ents, _ := fsys.ReadDir(dir)
			for _, e := range ents {
				if e.IsDir() || !strings.HasSuffix(strings.ToLower(e.Name()), ".xml") {
					continue
				}
				cb, err := fsys.ReadFile(winJoin(dir, e.Name()))
				var c tomcatContext
				if err == nil {
					err = xml.Unmarshal(cb, &c)
				}
				if err != nil {
					finds = append(finds, Finding{"Tomcat context file not readable or does not parse", winJoin(dir, e.Name()), err.Error()})
					continue
				}
				if c.DocBase != "" {
					roots = append(roots, WebRoot{abs(c.DocBase, ab), "Tomcat " + t.Base + " context " + winJoin(dir, e.Name()) + " docBase"})
				}
			}
		}
	}
	if hosts == 0 {
		roots = append(roots, WebRoot{winJoin(t.Base, "webapps"), "Tomcat " + t.Base + " default appBase (server.xml names no Host)"})
	}
	return dedupRoots(roots), finds
}

// dedupRoots keeps each folder once, and drops one that lies inside
// another (its tree is walked with the other's).
func dedupRoots(in []WebRoot) []WebRoot {
	var out []WebRoot
	for _, r := range in {
		n := normalize(r.Dir)
		dup := false
		for i, o := range out {
			on := normalize(o.Dir)
			switch {
			case n == on || strings.HasPrefix(n, on+`\`):
				dup = true
			case strings.HasPrefix(on, n+`\`):
				out[i], dup = r, true
			}
			if dup {
				break
			}
		}
		if !dup {
			out = append(out, r)
		}
	}
	return out
}

// ScriptPatterns are the files of a web root worth copying when changed:
// server-side code a web shell is written in, and the configuration that
// can map a new handler.
var ScriptPatterns = []string{"**/*.aspx", "**/*.asp", "**/*.ashx", "**/*.asmx", "**/*.jsp", "**/*.jspx", "**/*.cfm", "**/*.cfc", "**/*.php", "**/web.config"}
