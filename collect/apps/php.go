package apps

import (
	"path"
	"strings"
)

// phpINIs are php.ini files and their scan directories for the CLI, FPM and
// Apache's mod_php in the layouts of Debian, Red Hat (and Remi's SCL),
// cPanel's EasyApache, and the official Docker images.
var phpINIs = []string{
	"/etc/php/*/*/php.ini", "/etc/php/*/*/conf.d/*.ini", "/etc/php.ini", "/etc/php.d/*.ini",
	"/etc/opt/remi/php*/php.ini", "/etc/opt/remi/php*/php.d/*.ini",
	"/opt/cpanel/ea-php*/root/etc/php.ini", "/opt/cpanel/ea-php*/root/etc/php.d/*.ini",
	"/usr/local/etc/php/php.ini", "/usr/local/etc/php/conf.d/*.ini", "/usr/local/lib/php.ini",
}

// fpmConfs are PHP-FPM's main files and pool files.
var fpmConfs = []string{
	"/etc/php/*/fpm/php-fpm.conf", "/etc/php/*/fpm/pool.d/*.conf", "/etc/php-fpm.conf", "/etc/php-fpm.d/*.conf",
	"/etc/opt/remi/php*/php-fpm.conf", "/etc/opt/remi/php*/php-fpm.d/*.conf",
	"/opt/cpanel/ea-php*/root/etc/php-fpm.conf", "/opt/cpanel/ea-php*/root/etc/php-fpm.d/*.conf",
	"/usr/local/etc/php-fpm.conf", "/usr/local/etc/php-fpm.d/*.conf",
}

// iniPair is one key = value line of an INI file, in its [section].
type iniPair struct {
	section, key, value string
}

// parseINI reads php.ini and PHP-FPM's pool files: key = value lines,
// ; and # comments, [sections], quoted values unquoted.
func parseINI(b []byte) []iniPair {
	var out []iniPair
	sec := ""
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == ';' || l[0] == '#' {
			continue
		}
		if l[0] == '[' {
			if end := strings.IndexByte(l, ']'); end > 0 {
				sec = l[1:end]
			}
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') {
			if end := strings.IndexByte(v[1:], v[0]); end >= 0 {
				v = v[1 : end+1]
			}
		} else if i := strings.Index(v, " ;"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		}
		out = append(out, iniPair{section: sec, key: strings.TrimSpace(k), value: v})
	}
	return out
}

// php reads php.ini's error_log and PHP-FPM's error_log, slowlog,
// access.log and pools' php_admin_value[error_log] / php_value[error_log].
func (h Host) php() webConfig {
	var w webConfig
	for _, pat := range phpINIs {
		for _, f := range h.glob(pat, false) {
			b, err := h.read(f)
			if err != nil {
				w.findings = append(w.findings, Finding{What: "PHP configuration not read", Where: f, Detail: err.Error(), Failure: true})
				continue
			}
			w.files = append(w.files, f)
			for _, kv := range parseINI(b) {
				if kv.key == "error_log" {
					w.add(&w.logs, globify(abs(path.Dir(f), kv.value)))
				}
			}
		}
	}
	seen := map[string]bool{}
	for _, pat := range fpmConfs {
		for _, f := range h.glob(pat, false) {
			h.fpmFile(f, seen, &w)
		}
	}
	return w
}

func (h Host) fpmFile(f string, seen map[string]bool, w *webConfig) {
	if seen[f] || len(seen) >= maxIncludes {
		return
	}
	seen[f] = true
	b, err := h.read(f)
	if err != nil {
		w.findings = append(w.findings, Finding{What: "PHP-FPM configuration not read", Where: f, Detail: err.Error(), Failure: true})
		return
	}
	w.files = append(w.files, f)
	// A relative path is relative to FPM's prefix, whose var/ packaged
	// FPMs keep their logs in: /var here. The pool's name stands in for
	// $pool.
	for _, kv := range parseINI(b) {
		v := strings.ReplaceAll(kv.value, "$pool", kv.section)
		switch kv.key {
		case "include":
			for _, g := range h.glob(abs(path.Dir(f), v), false) {
				h.fpmFile(g, seen, w)
			}
		case "error_log", "slowlog", "access.log", "php_admin_value[error_log]", "php_value[error_log]":
			w.add(&w.logs, globify(abs("/var", v)))
		case "chdir", "php_admin_value[doc_root]":
			if r := abs("/", v); r != "" && !strings.Contains(r, "$") {
				w.add(&w.roots, r)
			}
		}
	}
}
