package apps

import (
	"errors"
	"path"
	"strings"
)

// nginxMains are where nginx's main configuration lives (distribution
// packages, source builds, OpenResty, Plesk and cPanel's ea-nginx).
var nginxMains = []string{"/etc/nginx/nginx.conf", "/usr/local/nginx/conf/nginx.conf", "/usr/local/etc/nginx/nginx.conf",
	"/etc/openresty/nginx.conf", "/usr/local/openresty/nginx/conf/nginx.conf", "/opt/nginx/conf/nginx.conf"}

// nginxDirective is one directive of an nginx configuration: its name and
// arguments, quotes removed.
type nginxDirective struct {
	name string
	args []string
	line int
}

// parseNginx splits an nginx configuration into its directives, blocks
// flattened (what discovery needs is every log and root, wherever it
// sits). It fails on an unbalanced block or an unterminated quote, and
// keeps what came before.
func parseNginx(b []byte) ([]nginxDirective, error) {
	var out []nginxDirective
	var words []string
	var cur strings.Builder
	inWord, depth, line, start := false, 0, 1, 1
	flush := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	end := func() {
		flush()
		if len(words) > 0 {
			out = append(out, nginxDirective{name: words[0], args: words[1:], line: start})
		}
		words = nil
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '\n':
			line++
			flush()
		case c == '#' && !inWord:
			for i < len(b) && b[i] != '\n' {
				i++
			}
			line++
		case c == '"' || c == '\'':
			j := i + 1
			for j < len(b) && b[j] != c {
				if b[j] == '\\' {
					j++
				}
				if j < len(b) && b[j] == '\n' {
					line++
				}
				j++
			}
			if j >= len(b) {
				return out, errors.New("unterminated quote")
			}
			if len(words) == 0 && !inWord {
				start = line
			}
			cur.Write(b[i+1 : j])
			inWord = true
			i = j
		case c == ' ' || c == '\t' || c == '\r':
			flush()
		case c == ';':
			end()
		case c == '{':
			end()
			depth++
		case c == '}':
			end()
			if depth--; depth < 0 {
				return out, errors.New("unbalanced }")
			}
		default:
			if c == '\\' && i+1 < len(b) {
				i++
				c = b[i]
			}
			if len(words) == 0 && !inWord {
				start = line
			}
			cur.WriteByte(c)
			inWord = true
		}
	}
	flush()
	if len(words) > 0 {
		return out, errors.New("last directive has no ';'")
	}
	if depth != 0 {
		return out, errors.New("unclosed {")
	}
	return out, nil
}

// webConfig is what the web-server readers learn.
type webConfig struct {
	logs     []string // log paths (globs), without rotations
	roots    []string // document roots
	files    []string // configuration files read
	findings []Finding
}

func (w *webConfig) add(logs *[]string, p string) {
	if p == "" {
		return
	}
	for _, x := range *logs {
		if x == p {
			return
		}
	}
	*logs = append(*logs, p)
}

// nginx reads every nginx configuration it finds, following includes.
func (h Host) nginx() webConfig {
	var w webConfig
	for _, main := range nginxMains {
		if !h.exists(main) {
			continue
		}
		prefix := path.Dir(main)
		seen := map[string]bool{}
		h.nginxFile(main, prefix, seen, &w)
	}
	return w
}

func (h Host) nginxFile(p, prefix string, seen map[string]bool, w *webConfig) {
	if seen[p] || len(seen) >= maxIncludes {
		return
	}
	seen[p] = true
	b, err := h.read(p)
	if err != nil {
		w.findings = append(w.findings, Finding{What: "nginx configuration not read", Where: p, Detail: err.Error(), Failure: true})
		return
	}
	w.files = append(w.files, p)
	ds, err := parseNginx(b)
	if err != nil {
		w.findings = append(w.findings, Finding{What: "nginx configuration does not parse", Where: p, Detail: err.Error() + " (what came before it is used)"})
	}
	for _, d := range ds {
		if len(d.args) == 0 {
			continue
		}
		switch d.name {
		case "include":
			for _, f := range h.glob(abs(prefix, d.args[0]), false) {
				h.nginxFile(f, prefix, seen, w)
			}
		case "access_log", "error_log":
			w.add(&w.logs, globify(abs(prefix, d.args[0])))
		case "root", "alias":
			if r := abs(prefix, d.args[0]); r != "" && !strings.Contains(r, "$") {
				w.add(&w.roots, r)
			}
		}
	}
}
