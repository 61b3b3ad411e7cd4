package apps

import (
	"path"
	"strings"
)

// apacheMains are where Apache httpd's main configuration lives, with the
// ServerRoot each layout implies.
var apacheMains = []struct{ conf, root string }{
	{"/etc/apache2/apache2.conf", "/etc/apache2"},
	{"/etc/apache2/httpd.conf", "/etc/apache2"}, // SUSE
	{"/etc/httpd/conf/httpd.conf", "/etc/httpd"},
	{"/usr/local/apache/conf/httpd.conf", "/usr/local/apache"}, // cPanel
	{"/usr/local/apache2/conf/httpd.conf", "/usr/local/apache2"},
	{"/opt/apache2/conf/httpd.conf", "/opt/apache2"},
}

// apacheLine is one directive of an Apache configuration.
type apacheLine struct {
	name string
	args []string
}

// parseApache splits an Apache configuration into directives: continued
// lines joined, comments dropped, arguments unquoted. Section tags
// (<VirtualHost>) are kept as directives named by the tag.
func parseApache(b []byte) []apacheLine {
	var out []apacheLine
	var joined strings.Builder
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimRight(l, "\r")
		if strings.HasSuffix(l, "\\") {
			joined.WriteString(strings.TrimSuffix(l, "\\"))
			joined.WriteByte(' ')
			continue
		}
		joined.WriteString(l)
		s := strings.TrimSpace(joined.String())
		joined.Reset()
		if s == "" || s[0] == '#' {
			continue
		}
		s = strings.Trim(s, "<>")
		words := splitQuoted(s)
		if len(words) > 0 {
			out = append(out, apacheLine{name: strings.ToLower(words[0]), args: words[1:]})
		}
	}
	return out
}

// splitQuoted splits on blanks, keeping "quoted words" whole.
func splitQuoted(s string) []string {
	var out []string
	var cur strings.Builder
	in, quoted := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted != 0:
			if c == '\\' && i+1 < len(s) && s[i+1] == quoted {
				cur.WriteByte(quoted)
				i++
			} else if c == quoted {
				quoted = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quoted, in = c, true
		case c == ' ' || c == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// apache reads every Apache configuration it finds, following Include and
// IncludeOptional, with Debian's envvars for ${APACHE_LOG_DIR}.
func (h Host) apache() webConfig {
	var w webConfig
	for _, m := range apacheMains {
		if !h.exists(m.conf) {
			continue
		}
		st := &apacheState{root: m.root, env: h.apacheEnv(path.Dir(m.conf) + "/envvars"), seen: map[string]bool{}}
		h.apacheFile(m.conf, st, &w)
	}
	return w
}

type apacheState struct {
	root string
	env  map[string]string
	seen map[string]bool
}

// apacheEnv reads the shell variables Debian's apache2ctl sets before
// httpd starts (export APACHE_LOG_DIR=/var/log/apache2$SUFFIX).
func (h Host) apacheEnv(p string) map[string]string {
	env := map[string]string{}
	b, err := h.read(p)
	if err != nil {
		return env
	}
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "export "))
		k, v, ok := strings.Cut(l, "=")
		if !ok || strings.ContainsAny(k, " \t$") {
			continue
		}
		v = strings.Trim(v, `"'`)
		if strings.HasPrefix(v, "${") { // ${APACHE_RUN_USER:=www-data}-style defaults
			continue
		}
		env[k] = strings.ReplaceAll(v, "$SUFFIX", "")
	}
	return env
}

func (st *apacheState) expand(s string) string {
	for k, v := range st.env {
		s = strings.ReplaceAll(s, "${"+k+"}", v)
	}
	return s
}

func (h Host) apacheFile(p string, st *apacheState, w *webConfig) {
	if st.seen[p] || len(st.seen) >= maxIncludes {
		return
	}
	st.seen[p] = true
	b, err := h.read(p)
	if err != nil {
		w.findings = append(w.findings, Finding{What: "Apache configuration not read", Where: p, Detail: err.Error(), Failure: true})
		return
	}
	w.files = append(w.files, p)
	for _, d := range parseApache(b) {
		if len(d.args) == 0 {
			continue
		}
		arg := st.expand(d.args[0])
		switch d.name {
		case "serverroot":
			st.root = path.Clean(arg)
		case "include", "includeoptional":
			target := abs(st.root, arg)
			if hasMeta(target) {
				for _, f := range h.glob(target, false) {
					h.apacheFile(f, st, w)
				}
				continue
			}
			if d.name == "include" && !h.exists(target) {
				w.findings = append(w.findings, Finding{What: "Apache Include names nothing", Where: p, Detail: target})
				continue
			}
			for _, f := range append(h.glob(target, false), h.glob(target+"/*", false)...) { // a directory includes its files
				h.apacheFile(f, st, w)
			}
		case "customlog", "transferlog", "errorlog", "forensiclog", "scriptlog", "rewritelog", "jklogfile":
			for _, l := range logTargets(arg) {
				w.add(&w.logs, globify(abs(st.root, l)))
			}
		case "documentroot":
			if r := abs(st.root, arg); r != "" && !strings.Contains(r, "$") {
				w.add(&w.roots, r)
			}
		}
	}
}

// logTargets is the file a log directive writes: the path itself, or, for
// a piped log ("|/usr/sbin/rotatelogs /var/log/x.%Y 86400"), the absolute
// paths among the program's arguments.
func logTargets(arg string) []string {
	if !strings.HasPrefix(arg, "|") {
		return []string{arg}
	}
	f := strings.Fields(strings.TrimLeft(arg, "|$"))
	var out []string
	for i, a := range f {
		if i > 0 && strings.HasPrefix(a, "/") {
			out = append(out, a)
		}
	}
	return out
}

func hasMeta(s string) bool { return strings.ContainsAny(s, "*?[") }
