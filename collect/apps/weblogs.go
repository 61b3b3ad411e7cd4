package apps

import (
	"path"
	"sort"
)

// panelLogs are where hosting panels keep each site's logs: Plesk's
// vhosts, cPanel's domlogs and every user's ~/logs (cPanel, DirectAdmin,
// ISPConfig's web roots).
var panelLogs = []string{
	"/var/www/vhosts/*/logs", "/var/www/vhosts/system/*/logs", "/usr/local/apache/domlogs",
	"/usr/local/apache/logs", "/var/log/virtualmin", "/var/www/clients/client*/web*/log", "/home/*/logs", "/home/*/access-logs",
}

// WebLogs is every log nginx, Apache, PHP-FPM and php.ini write, read from
// their configuration, with rotated siblings, and the hosting-panel log
// folders that exist; the configuration files read, as they are (those
// outside /etc too); and what discovery noticed on the way.
func (h Host) WebLogs() ([]FileSet, []Finding) {
	var sets []FileSet
	var finds []Finding
	var conf []string
	for _, src := range []struct {
		name string
		w    webConfig
	}{{"nginx", h.nginx()}, {"Apache", h.apache()}, {"PHP", h.php()}} {
		finds = append(finds, src.w.findings...)
		conf = append(conf, src.w.files...)
		if len(src.w.logs) == 0 {
			continue
		}
		fs := FileSet{Name: src.name + " logs", Why: src.name + "'s configuration (" + itoa(len(src.w.files)) + " files read)", Logs: true}
		for _, l := range src.w.logs {
			fs.Patterns = append(fs.Patterns, rotations(l)...)
		}
		sets = append(sets, fs)
	}
	var panels []string
	for _, p := range panelLogs {
		panels = append(panels, h.glob(p, true)...)
	}
	if len(panels) > 0 {
		sets = append(sets, FileSet{Name: "hosting-panel logs", Why: "the panel's layout", Patterns: panels, Logs: true})
	}
	if len(conf) > 0 {
		sort.Strings(conf)
		sets = append(sets, FileSet{Name: "web server and PHP configuration", Why: "the files the configuration readers followed", Patterns: conf})
	}
	return sets, finds
}

// Varnish is each instance's shared-memory log (the VSM files as they
// are: the recent requests exist nowhere else) and varnishncsa's output
// where its unit or defaults file sends it.
func (h Host) Varnish() ([]FileSet, []Finding) {
	shm, logs, files := h.varnish()
	var sets []FileSet
	var finds []Finding
	if len(shm) > 0 {
		sets = append(sets, FileSet{Name: "Varnish shared memory", Why: "varnishd's working directories (-n)", Patterns: shm})
	} else if len(files) > 0 {
		finds = append(finds, Finding{What: "no Varnish working directory", Where: "/var/lib/varnish and -n", Detail: "varnishd is configured but not running: its shared-memory log is gone"})
	}
	if len(logs) > 0 {
		var pats []string
		for _, l := range logs {
			pats = append(pats, rotations(l)...)
		}
		sets = append(sets, FileSet{Name: "varnishncsa logs", Why: "varnishncsa's -w", Patterns: pats, Logs: true})
	}
	if len(files) > 0 {
		sets = append(sets, FileSet{Name: "Varnish units and defaults", Why: "where its options are set", Patterns: files})
	}
	return sets, finds
}

// DocRoots are the document roots nginx, Apache and PHP-FPM serve, as
// their configuration names them, that exist.
func (h Host) DocRoots() []string {
	var out []string
	for _, w := range []webConfig{h.nginx(), h.apache(), h.php()} {
		for _, r := range w.roots {
			// Magento, Laravel and Symfony serve pub/, public/ or web/
			// and keep their code and configuration above it.
			if app := path.Dir(r); app != r && (h.exists(app+"/app/etc") || h.exists(app+"/artisan") || h.exists(app+"/bin/console")) {
				r = app
			}
			if !contains(out, r) && h.exists(r) {
				out = append(out, r)
			}
		}
	}
	sort.Strings(out)
	return out
}
