// Package windows finds where a Windows server keeps the evidence that
// matters — Tomcat instances, IIS site logs, FusionReactor, event logs —
// from the server's own configuration (services, registry, IIS
// configuration) rather than default paths, and redacts secrets from the
// configuration files it collects.
//
// Discovery is pure logic behind two small interfaces (Registry, FS), so it
// is tested on any OS against fixture data. It never writes anything.
package windows

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Registry reads the Windows registry. Paths look like
// `HKLM\SOFTWARE\Apache Software Foundation\Procrun 2.0`.
type Registry interface {
	SubKeys(path string) ([]string, error)
	String(path, name string) (string, error)    // REG_SZ, REG_EXPAND_SZ (expanded)
	Strings(path, name string) ([]string, error) // REG_MULTI_SZ
}

// FS reads files by Windows path (C:\...).
type FS interface {
	Stat(path string) (fs.FileInfo, error)
	ReadFile(path string) ([]byte, error)
	ReadDir(path string) ([]fs.DirEntry, error)
}

// Env reads environment variables (os.Getenv on the host).
type Env func(string) string

// FileSet is what the collector takes: files under Root matching Include
// globs (slash-separated, relative to Root, ** allowed), minus Exclude.
type FileSet struct {
	Name     string
	Root     string // a Windows path
	Include  []string
	Exclude  []string
	HashOnly bool
	Redact   string // "", "tomcat-conf", "iis-config"
	Why      string
}

// Finding is something discovery noticed and records, not an error that
// stops it: a CATALINA_BASE that no longer exists, a registry key without
// access, a configuration that does not parse.
type Finding struct {
	What, Where, Detail string
}

func (f Finding) String() string { return f.What + ": " + f.Where + ": " + f.Detail }

// winJoin joins Windows path parts.
func winJoin(parts ...string) string {
	out := strings.TrimRight(parts[0], `\/`)
	for _, p := range parts[1:] {
		out += `\` + strings.Trim(p, `\/`)
	}
	return out
}

// expand replaces %VAR% with env values (case-insensitive names).
func expand(s string, env Env) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '%')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.IndexByte(s[i+1:], '%')
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		name := s[i+1 : i+1+j]
		v := env(name)
		if v == "" {
			v = env(strings.ToUpper(name))
		}
		if v == "" {
			v = "%" + name + "%"
		}
		b.WriteString(s[:i] + v)
		s = s[i+2+j:]
	}
}

// normalize makes a Windows path comparable: backslashes, no trailing
// separator, lower case (NTFS is case-insensitive).
func normalize(p string) string {
	return strings.ToLower(strings.TrimRight(strings.ReplaceAll(p, "/", `\`), `\`))
}

// TomcatInstance is one Tomcat found on the host.
type TomcatInstance struct {
	Base    string   // CATALINA_BASE
	Home    string   // CATALINA_HOME, if known
	Service string   // the Windows service, if found through one
	Sources []string // how it was found
}

const procrun = `HKLM\SOFTWARE\Apache Software Foundation\Procrun 2.0`

var defaultTomcats = []string{
	`C:\Program Files\Apache Software Foundation\Tomcat 10.1`,
	`C:\Program Files\Apache Software Foundation\Tomcat 10.0`,
	`C:\Program Files\Apache Software Foundation\Tomcat 9.0`,
	`C:\Program Files\Apache Software Foundation\Tomcat 8.5`,
}

// Tomcat finds every Tomcat instance: Procrun service parameters
// (-Dcatalina.base in the JVM options, both registry views), the
// CATALINA_BASE/CATALINA_HOME environment, and the default locations.
func Tomcat(reg Registry, fsys FS, env Env) ([]TomcatInstance, []Finding) {
	var out []TomcatInstance
	var finds []Finding
	seen := map[string]int{}
	add := func(base, home, svc, how string) {
		if base == "" {
			return
		}
		k := normalize(base)
		if i, ok := seen[k]; ok {
			out[i].Sources = append(out[i].Sources, how)
			return
		}
		if _, err := fsys.Stat(winJoin(base, "conf")); err != nil {
			finds = append(finds, Finding{"CATALINA_BASE does not exist (or has no conf)", base, how})
			return
		}
		seen[k] = len(out)
		out = append(out, TomcatInstance{Base: base, Home: home, Service: svc, Sources: []string{how}})
	}
	for _, root := range []string{procrun, strings.Replace(procrun, `SOFTWARE\`, `SOFTWARE\WOW6432Node\`, 1)} {
		svcs, err := reg.SubKeys(root)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				finds = append(finds, Finding{"registry key not readable", root, err.Error()})
			}
			continue
		}
		sort.Strings(svcs)
		for _, svc := range svcs {
			key := root + `\` + svc + `\Parameters\Java`
			var opts []string
			for _, name := range []string{"Options", "Options9"} {
				o, err := reg.Strings(key, name)
				if err == nil {
					opts = append(opts, o...)
				} else if !errors.Is(err, fs.ErrNotExist) {
					finds = append(finds, Finding{"registry value not readable", key + `\` + name, err.Error()})
				}
			}
			base, home := jvmProp(opts, "catalina.base"), jvmProp(opts, "catalina.home")
			if base == "" {
				base = home
			}
			add(expand(base, env), expand(home, env), svc, "Procrun service "+svc)
		}
	}
	for _, v := range []string{"CATALINA_BASE", "CATALINA_HOME"} {
		add(env(v), env("CATALINA_HOME"), "", "environment "+v)
	}
	for _, d := range defaultTomcats {
		if _, err := fsys.Stat(winJoin(d, "conf")); err == nil {
			add(d, d, "", "default location")
		}
	}
	return out, finds
}

// jvmProp reads -Dname=value from JVM options.
func jvmProp(opts []string, name string) string {
	for _, o := range opts {
		if v, ok := strings.CutPrefix(strings.TrimSpace(o), "-D"+name+"="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// FileSets is what to take of one Tomcat.
func (t TomcatInstance) FileSets() []FileSet {
	sets := []FileSet{
		{Name: "logs", Root: winJoin(t.Base, "logs"), Include: []string{"**"}, Why: "catalina, localhost, access, manager and commons-daemon logs"},
		{Name: "conf", Root: winJoin(t.Base, "conf"), Include: []string{"**"}, Redact: "tomcat-conf", Why: "server.xml, web.xml, tomcat-users.xml (passwords redacted), Catalina/**"},
		{Name: "webapps", Root: winJoin(t.Base, "webapps"), Include: []string{"**"}, HashOnly: true, Why: "web shells hide as .jsp: listed with hashes"},
		{Name: "work", Root: winJoin(t.Base, "work", "Catalina"), Include: []string{"**"}, Why: "compiled JSPs show what actually ran"},
	}
	for i, dir := range []string{t.Base, t.Home} {
		if dir == "" || (i == 1 && normalize(t.Home) == normalize(t.Base)) {
			continue
		}
		sets = append(sets,
			FileSet{Name: "setenv", Root: winJoin(dir, "bin"), Include: []string{"setenv.*"}, Why: "setenv.bat/.ps1/.sh: JVM options, a -javaagent added here runs in every request (a script: stored as it is)"},
			FileSet{Name: "lib", Root: winJoin(dir, "lib"), Include: []string{"*.jar"}, HashOnly: true, Why: "Tomcat's own jars, hashed: a jar added here is loaded for every web application"})
	}
	return sets
}

// applicationHost is the part of IIS's configuration discovery reads.
type applicationHost struct {
	Sites struct {
		Defaults struct {
			LogFile logFile `xml:"logFile"`
		} `xml:"siteDefaults"`
		Site []struct {
			Name    string  `xml:"name,attr"`
			ID      string  `xml:"id,attr"`
			LogFile logFile `xml:"logFile"`
		} `xml:"site"`
	} `xml:"system.applicationHost>sites"`
	ISAPIFilters []struct {
		Name string `xml:"name,attr"`
		Path string `xml:"path,attr"`
	} `xml:"system.webServer>isapiFilters>filter"`
}

type logFile struct {
	Directory string `xml:"directory,attr"`
}

// IIS reads applicationHost.config for every site's log folder, and the
// ISAPI redirector (Tomcat connector) it loads.
func IIS(fsys FS, env Env) ([]FileSet, []Finding) {
	sysroot := env("SystemRoot")
	if sysroot == "" {
		sysroot = `C:\Windows`
	}
	cfg := winJoin(sysroot, `System32\inetsrv\config\applicationHost.config`)
	b, err := fsys.ReadFile(cfg)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil // no IIS
		}
		return nil, []Finding{{"IIS configuration not readable", cfg, err.Error()}}
	}
	out := []FileSet{
		{Name: "iis-config", Root: winJoin(sysroot, `System32\inetsrv\config`), Include: []string{"applicationHost.config", "administration.config", "redirection.config"}, Redact: "iis-config", Why: "IIS configuration (passwords redacted)"},
		{Name: "iis-httperr", Root: winJoin(sysroot, `System32\LogFiles\HTTPERR`), Include: []string{"**"}, Why: "HTTP.sys errors"},
	}
	_, traces, _ := IISWebRoots(fsys, env)
	for _, d := range traces {
		out = append(out, FileSet{Name: "iis-failedreq", Root: d, Include: []string{"**"}, Why: "failed request tracing (FailedReqLogFiles)"})
	}
	var ah applicationHost
	if err := xml.Unmarshal(b, &ah); err != nil {
		// The default log folder is still worth taking.
		out = append(out, FileSet{Name: "iis-logs-default", Root: expand(`%SystemDrive%\inetpub\logs\LogFiles`, env), Include: []string{"**"}, Why: "IIS default log folder"})
		return out, []Finding{{"IIS configuration does not parse; site log folders unknown (the default folder is taken)", cfg, err.Error()}}
	}
	defDir := ah.Sites.Defaults.LogFile.Directory
	if defDir == "" {
		defDir = `%SystemDrive%\inetpub\logs\LogFiles`
	}
	dirs := map[string]bool{}
	for _, s := range ah.Sites.Site {
		dir := s.LogFile.Directory
		if dir == "" {
			dir = defDir
		}
		dir = winJoin(expand(dir, env), "W3SVC"+s.ID)
		if !dirs[normalize(dir)] {
			dirs[normalize(dir)] = true
			out = append(out, FileSet{Name: "iis-logs-site" + s.ID, Root: dir, Include: []string{"**"}, Why: "access logs of site " + s.Name})
		}
	}
	var finds []Finding
	for _, f := range ah.ISAPIFilters {
		if !strings.Contains(strings.ToLower(f.Path), "isapi_redirect") {
			continue
		}
		dll := expand(f.Path, env)
		dir := dll[:max(strings.LastIndex(dll, `\`), 0)]
		out = append(out, FileSet{Name: "isapi-redirector", Root: dir, Include: []string{"*.properties", "**/*.log", "*.log", "../conf/*.properties", "../logs/**"}, Redact: "tomcat-conf", Why: "Tomcat connector " + f.Name + ": workers, URI map and its log"})
		// Its .properties names where its log and worker files really are.
		props := strings.TrimSuffix(dll, filepath.Ext(dll)) + ".properties"
		if b, err := fsys.ReadFile(props); err == nil {
			for _, kv := range [][2]string{{"log_file", "log (and its rotations)"}, {"worker_file", "workers"}, {"worker_mount_file", "URI map"}, {"rewrite_rule_file", "rewrite rules"}} {
				p := propValue(b, kv[0])
				if p == "" {
					continue
				}
				i := strings.LastIndex(p, `\`)
				if i < 0 {
					continue
				}
				inc := p[i+1:]
				if kv[0] == "log_file" {
					inc += "*"
				}
				out = append(out, FileSet{Name: "isapi-" + strings.TrimSuffix(kv[0], "_file"), Root: p[:i], Include: []string{inc}, Redact: "tomcat-conf",
					Why: "Tomcat connector " + kv[1] + ", as " + props + " names it"})
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			finds = append(finds, Finding{"ISAPI redirector configuration not readable", props, err.Error()})
		}
	}
	return out, finds
}

// propValue reads key=value from a .properties file (last one wins).
func propValue(b []byte, key string) string {
	v := ""
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if k, val, ok := strings.Cut(l, "="); ok && strings.TrimSpace(k) == key {
			v = strings.TrimSpace(val)
		}
	}
	return v
}

// FusionReactor finds FusionReactor homes from -javaagent options of Tomcat
// services and the default folder, and takes each instance's logs and
// configuration.
func FusionReactor(reg Registry, fsys FS, env Env, tomcats []TomcatInstance) ([]FileSet, []Finding) {
	homes := map[string]string{}
	for _, root := range []string{procrun, strings.Replace(procrun, `SOFTWARE\`, `SOFTWARE\WOW6432Node\`, 1)} {
		svcs, _ := reg.SubKeys(root)
		for _, svc := range svcs {
			for _, name := range []string{"Options", "Options9"} {
				opts, _ := reg.Strings(root+`\`+svc+`\Parameters\Java`, name)
				for _, o := range opts {
					if a, ok := strings.CutPrefix(strings.TrimSpace(o), "-javaagent:"); ok && strings.Contains(strings.ToLower(a), "fusionreactor") {
						jar := strings.Trim(strings.SplitN(a, "=", 2)[0], `"`)
						// <home>\instance\<name>\fusionreactor.jar
						dir := jar[:max(strings.LastIndex(jar, `\`), 0)]
						if i := strings.Index(strings.ToLower(dir), `\instance\`); i > 0 {
							homes[normalize(dir[:i])] = dir[:i]
						}
					}
				}
			}
		}
	}
	if _, err := fsys.Stat(`C:\FusionReactor\instance`); err == nil {
		homes[normalize(`C:\FusionReactor`)] = `C:\FusionReactor`
	}
	var out []FileSet
	var keys []string
	for k := range homes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		home := homes[k]
		ents, err := fsys.ReadDir(winJoin(home, "instance"))
		if err != nil {
			continue
		}
		for _, e := range ents {
			if !e.IsDir() {
				continue
			}
			out = append(out, FileSet{Name: "fusionreactor-" + strings.ToLower(e.Name()), Root: winJoin(home, "instance", e.Name()),
				Include: []string{"log/**", "archive/**", "conf/**"}, Redact: "fr-conf", Why: "FusionReactor instance " + e.Name() + ": logs, archives, configuration"})
		}
	}
	cf, finds := watchedCFML(reg, fsys, tomcats)
	return append(out, cf...), finds
}

// FixtureFS maps drive letters to local directories, for tests and for
// reading a mounted image.
type FixtureFS map[string]string // "C:" -> "/path/to/drive_c"

func (f FixtureFS) Local(p string) (string, error) {
	if len(p) < 2 || p[1] != ':' {
		return "", fmt.Errorf("%s: not a drive path", p)
	}
	root, ok := f[strings.ToUpper(p[:2])]
	if !ok {
		return "", fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	rest := strings.ReplaceAll(strings.TrimLeft(p[2:], `\/`), `\`, "/")
	// Case-insensitive like NTFS: resolve each segment.
	cur := root
	for _, seg := range strings.Split(rest, "/") {
		if seg == "" {
			continue
		}
		ents, err := os.ReadDir(cur)
		if err != nil {
			return filepath.Join(cur, seg), nil
		}
		next := filepath.Join(cur, seg)
		for _, e := range ents {
			if strings.EqualFold(e.Name(), seg) {
				next = filepath.Join(cur, e.Name())
				break
			}
		}
		cur = next
	}
	return cur, nil
}

func (f FixtureFS) Stat(p string) (fs.FileInfo, error) {
	l, err := f.Local(p)
	if err != nil {
		return nil, err
	}
	return os.Stat(l)
}

func (f FixtureFS) ReadFile(p string) ([]byte, error) {
	l, err := f.Local(p)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(l)
}

func (f FixtureFS) ReadDir(p string) ([]fs.DirEntry, error) {
	l, err := f.Local(p)
	if err != nil {
		return nil, err
	}
	return os.ReadDir(l)
}

// MapRegistry is a Registry in memory: key path → value name → values.
type MapRegistry map[string]map[string][]string

func (m MapRegistry) SubKeys(path string) ([]string, error) {
	prefix := strings.ToLower(path) + `\`
	set := map[string]bool{}
	found := false
	for k := range m {
		if strings.HasPrefix(strings.ToLower(k), prefix) {
			found = true
			set[strings.SplitN(k[len(prefix):], `\`, 2)[0]] = true
		} else if strings.EqualFold(k, path) {
			found = true
		}
	}
	if !found {
		return nil, fs.ErrNotExist
	}
	var out []string
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}

func (m MapRegistry) get(path, name string) ([]string, error) {
	for k, vals := range m {
		if strings.EqualFold(k, path) {
			if v, ok := vals[name]; ok {
				return v, nil
			}
		}
	}
	return nil, fs.ErrNotExist
}

func (m MapRegistry) String(path, name string) (string, error) {
	v, err := m.get(path, name)
	if err != nil || len(v) == 0 {
		return "", fs.ErrNotExist
	}
	return v[0], nil
}

func (m MapRegistry) Strings(path, name string) ([]string, error) { return m.get(path, name) }
