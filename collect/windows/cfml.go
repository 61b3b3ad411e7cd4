package windows

import (
	"errors"
	"io/fs"
	"sort"
	"strings"
)

// defaultColdFusion are where ColdFusion installs its instance "cfusion".
var defaultColdFusion = []string{
	`C:\ColdFusion2025\cfusion`, `C:\ColdFusion2023\cfusion`, `C:\ColdFusion2021\cfusion`,
	`C:\ColdFusion2018\cfusion`, `C:\ColdFusion2016\cfusion`, `C:\ColdFusion11\cfusion`,
}

// watchedCFML finds the CFML engines FusionReactor watches and takes their
// logs and scheduled tasks: a ColdFusion instance (found from its
// service's ImagePath, ...\cfusion\bin\coldfusionsvc.exe, or the default
// folders) whose bin\jvm.config loads fusionreactor.jar; a Lucee running
// in a Tomcat whose service loads it (lucee-server beside the base, or a
// lucee jar in its lib).
func watchedCFML(reg Registry, fsys FS, tomcats []TomcatInstance) ([]FileSet, []Finding) {
	var out []FileSet
	var finds []Finding
	seen := map[string]bool{}
	cf := func(inst, how string) {
		if seen[normalize(inst)] {
			return
		}
		seen[normalize(inst)] = true
		jvm := winJoin(inst, `bin\jvm.config`)
		b, err := fsys.ReadFile(jvm)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				finds = append(finds, Finding{"ColdFusion jvm.config not readable", jvm, err.Error()})
			}
			return
		}
		if !strings.Contains(strings.ToLower(string(b)), "fusionreactor") {
			return
		}
		out = append(out,
			FileSet{Name: "coldfusion-logs", Root: inst, Include: []string{"logs/**", "runtime/logs/**"}, Why: "ColdFusion " + inst + " (" + how + "; FusionReactor in its jvm.config): logs"},
			FileSet{Name: "coldfusion-tasks", Root: winJoin(inst, "lib"), Include: []string{"neo-cron.xml", "neo-event.xml"}, Redact: "tomcat-conf", Why: "ColdFusion " + inst + " scheduled tasks (neo-cron.xml)"},
			FileSet{Name: "coldfusion-jvm", Root: winJoin(inst, "bin"), Include: []string{"jvm.config"}, Why: "ColdFusion " + inst + " JVM options"})
	}
	svcs, err := reg.SubKeys(servicesKey)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		finds = append(finds, Finding{"registry key not readable", servicesKey, err.Error()})
	}
	sort.Strings(svcs)
	for _, svc := range svcs {
		img, err := reg.String(servicesKey+`\`+svc, "ImagePath")
		if err != nil {
			continue
		}
		l := strings.ToLower(strings.Trim(img, `" `))
		if i := strings.Index(l, `\bin\coldfusionsvc.exe`); i > 0 {
			cf(strings.Trim(img, `" `)[:i], "service "+svc)
		}
	}
	for _, d := range defaultColdFusion {
		if _, err := fsys.Stat(d); err == nil {
			cf(d, "default folder")
		}
	}
	for _, t := range tomcats {
		if !frWatches(reg, t) {
			continue
		}
		lucee := false
		if _, err := fsys.Stat(winJoin(t.Base, "lucee-server")); err == nil {
			lucee = true
		}
		for _, dir := range []string{t.Base, t.Home} {
			ents, _ := fsys.ReadDir(winJoin(dir, "lib"))
			for _, e := range ents {
				if n := strings.ToLower(e.Name()); strings.HasPrefix(n, "lucee") && strings.HasSuffix(n, ".jar") {
					lucee = true
				}
			}
		}
		if lucee {
			out = append(out, FileSet{Name: "lucee", Root: t.Base,
				Include: []string{"lucee-server/context/logs/**", "lucee-server/context/scheduler/**", "lucee-server/context/lucee-server.xml",
					"webapps/*/WEB-INF/lucee/logs/**", "webapps/*/WEB-INF/lucee/scheduler/**"},
				Redact: "tomcat-conf", Why: "Lucee in Tomcat " + t.Base + " (FusionReactor watches it): logs, scheduled tasks, configuration"})
		}
	}
	return out, finds
}

// frWatches says whether a Tomcat's Procrun service loads FusionReactor.
func frWatches(reg Registry, t TomcatInstance) bool {
	if t.Service == "" {
		return false
	}
	for _, root := range []string{procrun, strings.Replace(procrun, `SOFTWARE\`, `SOFTWARE\WOW6432Node\`, 1)} {
		for _, name := range []string{"Options", "Options9"} {
			opts, _ := reg.Strings(root+`\`+t.Service+`\Parameters\Java`, name)
			for _, o := range opts {
				if strings.Contains(strings.ToLower(o), "fusionreactor") {
					return true
				}
			}
		}
	}
	return false
}
