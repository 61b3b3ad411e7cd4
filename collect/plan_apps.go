package collect

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect/apps/magento"
	"github.com/custos-ir/custos/profiles"
)

// instance is one artifact of the profile planned for one store: the
// store's variables, what it shares with the first store (taken there),
// or why it is not taken at all.
type instance struct {
	a        profiles.Artifact
	vars     map[string]string
	excludes []string
	notes    []string
	skip     string
}

// instancesOf plans an artifact once, or, when it uses a variable that
// discovery filled with several stores, once per store: the first store
// under the artifact's own name, each other under NAME.<where it is>.
// What a later store shares with the first (deploy's shared/ folders
// reached through links) is left to the first; a database already dumped
// for an earlier store is not dumped again.
func instancesOf(a profiles.Artifact, vars map[string]string, stores map[string][]magento.Root) []instance {
	var name string
	var roots []magento.Root
	for n, rs := range stores {
		if a.Uses(n) {
			name, roots = n, rs
			break
		}
	}
	if len(roots) < 2 {
		return []instance{{a: a, vars: vars}}
	}
	var out []instance
	dbs := map[string]string{} // database key -> the artifact that dumps it
	for i, r := range roots {
		in := instance{a: a, vars: map[string]string{}}
		for k, v := range vars {
			in.vars[k] = v
		}
		in.vars[name] = r.Path
		if i > 0 {
			in.a.Name = storeName(a.Name, roots[0].Path, r.Path)
			for _, rel := range magento.Shared(roots[0], r) {
				in.excludes = append(in.excludes, filepath.Join(r.Path, rel))
				in.notes = append(in.notes, fmt.Sprintf("%s is the same as %s (shared between deploys): taken once, in %s", filepath.Join(r.Path, rel), filepath.Join(roots[0].Path, rel), a.Name))
			}
		}
		if a.MySQL != nil {
			if c, _, err := magento.ReadConn(r.Path); err == nil {
				key := c.Key()
				if m := a.MySQL; m.Logs {
					key = "logs|" + c.Addr()
				}
				if first, ok := dbs[key]; ok {
					in.skip = fmt.Sprintf("the store at %s uses the same database as artifact %s (%s): taken once, there", r.Path, first, c)
				} else {
					dbs[key] = in.a.Name
				}
			}
		}
		out = append(out, in)
	}
	return out
}

var slugRE = regexp.MustCompile(`[^a-z0-9._-]+`)

// storeName names an artifact of a later store by where the store is,
// relative to the first: magento-logs.releases-41, database.staging-current.
func storeName(base, first, root string) string {
	a, b := strings.Split(first, "/"), strings.Split(root, "/")
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	slug := strings.Trim(slugRE.ReplaceAllString(strings.ToLower(strings.Join(b[i:], "-")), "-"), "-.")
	if slug == "" {
		slug = "store"
	}
	if max := 63 - len(base); len(slug) > max {
		slug = slug[len(slug)-max:]
	}
	return base + "." + slug
}

// storesFound tells the responder every store that will be taken.
func storesFound(roots []magento.Root) string {
	var ps []string
	for _, r := range roots {
		ps = append(ps, fmt.Sprintf("%s (Magento %d)", r.Path, r.Version))
	}
	return fmt.Sprintf("found %d Magento stores, each collected with its own files and database: %s; artifacts of each store after the first carry its place in their name", len(roots), strings.Join(ps, ", "))
}

// fileOptions are a files artifact's options; a redact: ${var} is
// resolved and checked here.
func fileOptions(a profiles.Artifact, vars map[string]string) (FileOptions, error) {
	f := a.Files
	opt := FileOptions{MaxSize: int64(f.MaxSize), HashOnly: f.HashOnly, Flag: f.Flag, Logs: f.Logs, Redact: profiles.Expand(f.Redact, vars),
		Links: linkPolicy(f.Links), ChangedWithin: time.Duration(f.ChangedWithin)}
	if opt.Redact == "none" {
		opt.Redact = ""
	}
	if opt.Redact != "" && !contains(profiles.Redactions, opt.Redact) {
		return opt, fmt.Errorf("artifact %s: redact %q: want none or one of %s", a.Name, opt.Redact, strings.Join(profiles.Redactions, ", "))
	}
	if f.CopySuspicious {
		opt.Suspicious = &Suspicious{CodeExt: f.CodeExt}
	}
	return opt, nil
}
