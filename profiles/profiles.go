// Package profiles defines the profile format (what a collection takes on a
// platform), loads profiles from YAML and holds the embedded ones.
//
// It only describes; it never reads the host. Format: docs/profiles.md.
package profiles

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Profile is a named plan for one platform.
type Profile struct {
	Name        string              `yaml:"name"`
	Description string              `yaml:"description"`
	Platform    string              `yaml:"platform"` // linux, windows, any
	Include     []string            `yaml:"include,omitempty"`
	Variables   map[string]Variable `yaml:"variables,omitempty"`
	Artifacts   []Artifact          `yaml:"artifacts"`

	// SHA256 is the digest of the profile's own bytes followed by those of
	// every included profile, in include order.
	SHA256 [32]byte `yaml:"-"`
	// Source is where it came from: "embedded:NAME" or a file path.
	Source string `yaml:"-"`
}

// Variable is a value the responder may override with --set.
type Variable struct {
	Default     string `yaml:"default"`
	Description string `yaml:"description"`
	// Discover names a search custos runs when the responder gave no
	// value and there is no default ("magento": where shops usually live).
	Discover string `yaml:"discover,omitempty"`
}

// Uses reports whether an artifact refers to variable name.
func (a *Artifact) Uses(name string) bool {
	b, _ := yaml.Marshal(a)
	return strings.Contains(string(b), "${"+name+"}")
}

// Artifact is one unit of evidence; exactly one source kind is set.
type Artifact struct {
	Name        string    `yaml:"name"`
	Description string    `yaml:"description,omitempty"`
	Live        string    `yaml:"live,omitempty"`
	Files       *Files    `yaml:"files,omitempty"`
	Bodyfile    *Bodyfile `yaml:"bodyfile,omitempty"`
	MySQL       *MySQL    `yaml:"mysql,omitempty"`
	Packages    *Packages `yaml:"packages,omitempty"`
	// Discover takes what custos finds from the host's own configuration
	// (services, registry, IIS configuration) rather than fixed paths:
	// one of Discoveries.
	Discover string `yaml:"discover,omitempty"`
	// Platform restricts one artifact to a platform.
	Platform string `yaml:"platform,omitempty"`
}

// Files takes files matching absolute glob patterns.
type Files struct {
	Paths    []string `yaml:"paths"`
	Exclude  []string `yaml:"exclude,omitempty"`
	MaxSize  Size     `yaml:"max_size,omitempty"`
	HashOnly bool     `yaml:"hash_only,omitempty"`
	// Flag lists settings worth a responder's eye (auto_prepend_file):
	// a line of a collected file that sets one to a non-empty value is
	// recorded as a warning on the artifact.
	Flag []string `yaml:"flag,omitempty"`
	// Logs marks a log source: --since and --until apply to it.
	Logs bool `yaml:"logs,omitempty"`
	// Redact names the secrets to replace by REDACTED in the stored copy
	// (the record keeps the original's SHA-256): one of Redactions.
	Redact string `yaml:"redact,omitempty"`
	// Links is "follow" (the default: each symlink is recorded and what it
	// leads to taken) or "record" (each symlink recorded, none followed).
	Links string `yaml:"links,omitempty"`
	// Locked marks files Windows may hold open without sharing read
	// (hives, ESE databases, event logs): each is read by the first
	// method that can (shared read, the file's clusters from the volume,
	// custos's NTFS reader), and the record says which.
	Locked bool `yaml:"locked,omitempty"`
	// CopySuspicious (with hash_only) copies, and flags, the files that
	// look out of place: code in them (<?php, <?=, <script, eval() where
	// their extension is not one of CodeExt, content that is not what the
	// extension says (a .png that is no PNG), a hidden file or folder.
	CopySuspicious bool     `yaml:"copy_suspicious,omitempty"`
	CodeExt        []string `yaml:"code_ext,omitempty"`
	// ChangedWithin takes only files changed (mtime or ctime) within
	// --since, or without it within this long before the collection.
	ChangedWithin Duration `yaml:"changed_within,omitempty"`
	// Sensitive are patterns of files whose content is a secret in itself
	// (private keys, htpasswd): their records say so. A file that holds a
	// PEM or OpenSSH private key is marked whatever its name.
	Sensitive []string `yaml:"sensitive,omitempty"`
}

// Discoveries are the values of an artifact's discover key.
var Discoveries = map[string]string{
	"tomcat":        "every Tomcat instance (Procrun services, CATALINA_BASE, default folders): logs, conf (secrets redacted), webapps hashed, work",
	"iis":           "IIS configuration, every site's log folder as applicationHost.config names it, HTTPERR, the ISAPI redirector",
	"fusionreactor": "every FusionReactor instance: logs, archives, configuration (secrets redacted)",
	"eventlogs":     "Windows event logs (.evtx), copied even while the event log service holds them open",
	// The standard Windows triage set (docs/windows.md).
	"registry":         "registry hives with their transaction logs: SAM, SYSTEM, SOFTWARE, SECURITY, DEFAULT, system and service profiles, every user's NTUSER.DAT and UsrClass.dat",
	"ntfs":             "$MFT, $LogFile and $UsnJrnl:$J (its data only) of the system volume and of every volume a web root lives on, through custos's NTFS reader",
	"webroots":         "every IIS physicalPath and Tomcat appBase/docBase, listed with hashes",
	"webroot-scripts":  "scripts and web.config of every web root (changed within --since, all without it)",
	"webroot-timeline": "a timeline (bodyfile) of every web root",
	"homes":            "every account's home as /etc/passwd names it: SSH (and the AuthorizedKeysFile sshd_config sets), shell and tool histories, login scripts, user units (Linux)",
	"web-logs":         "every log nginx, Apache, PHP-FPM and php.ini write, from their configuration with includes followed, rotations included, and hosting-panel log folders (Linux)",
	"varnish":          "Varnish's shared-memory log (the VSM files of each instance), varnishncsa's output and Varnish's units (Linux)",
}

// Redactions are the values of a files artifact's redact key. The value
// may be a ${variable}, checked when the plan is made ("" redacts nothing).
var Redactions = []string{"tomcat-conf", "iis-config", "fr-conf", "magento-env", "shadow"}

// MySQL dumps tables of a MySQL or MariaDB database in one snapshot.
type MySQL struct {
	// MagentoRoot reads the connection from app/etc/env.php (Magento 2) or
	// app/etc/local.xml (Magento 1) under it, and dumps Magento's plan.
	MagentoRoot string `yaml:"magento_root,omitempty"`
	// Or a connection given here; the password comes from the environment
	// variable CUSTOS_MYSQL_PASSWORD, never from a file or flag.
	Host     string `yaml:"host,omitempty"`
	Port     int    `yaml:"port,omitempty"`
	Socket   string `yaml:"socket,omitempty"`
	User     string `yaml:"user,omitempty"`
	Database string `yaml:"database,omitempty"`
	Prefix   string `yaml:"table_prefix,omitempty"`
	// Tables to dump; empty with magento_root means Magento's plan.
	Tables    []MySQLTable `yaml:"tables,omitempty"`
	Format    string       `yaml:"format,omitempty"` // sql (default) or tsv
	Customers bool         `yaml:"customers,omitempty"`
	// Logs takes the server's logs instead of a dump: binary logs, error,
	// general and slow query logs, wherever the server says they are.
	Logs bool `yaml:"logs,omitempty"`
}

// MySQLTable is one table to dump.
type MySQLTable struct {
	Name    string   `yaml:"name"`
	Mode    string   `yaml:"mode,omitempty"` // rows, count, schema
	Where   string   `yaml:"where,omitempty"`
	Limit   int      `yaml:"limit,omitempty"`
	Exclude []string `yaml:"exclude_columns,omitempty"`
	Mask    []string `yaml:"mask_columns,omitempty"`
}

// Packages lists installed packages from the package managers' own
// databases (dpkg, rpm) and checks packaged files against the digests they
// recorded (Linux).
type Packages struct {
	// Integrity is "default" (what runs: executables, libraries, PAM,
	// web-server and kernel modules, and conffiles), "full" (every packaged
	// file) or "none" (list packages only).
	Integrity string `yaml:"integrity,omitempty"`
}

// Bodyfile is a timeline of directory trees.
type Bodyfile struct {
	Roots   []string `yaml:"roots"`
	Exclude []string `yaml:"exclude,omitempty"`
	Links   string   `yaml:"links,omitempty"` // as in Files
	// WebRoots adds the document roots the host's nginx, Apache and
	// PHP-FPM configuration names (Linux).
	WebRoots bool `yaml:"web_roots,omitempty"`
}

// checkLinks validates a links: value.
func checkLinks(s string) error {
	switch s {
	case "", "follow", "record":
		return nil
	}
	return fmt.Errorf("links %q: want follow or record", s)
}

// Kind names the artifact's source kind.
func (a *Artifact) Kind() string {
	switch {
	case a.Live != "":
		return "live"
	case a.Files != nil:
		return "files"
	case a.Bodyfile != nil:
		return "bodyfile"
	case a.MySQL != nil:
		return "mysql"
	case a.Discover != "":
		return "discover"
	case a.Packages != nil:
		return "packages"
	}
	return ""
}

//go:embed embedded/*.yaml
var embedded embed.FS

// Names lists the embedded profiles.
func Names() []string {
	ents, _ := embedded.ReadDir("embedded")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// ErrUnknown is returned for a profile name that is neither embedded nor
// a readable file.
var ErrUnknown = errors.New("unknown profile")

// Load finds a profile by embedded name or file path, resolves its
// includes and validates the result.
func Load(nameOrPath string) (*Profile, error) {
	return load(nameOrPath, nil)
}

func load(ref string, stack []string) (*Profile, error) {
	for _, s := range stack {
		if s == ref {
			return nil, fmt.Errorf("profile %s includes itself (%s)", ref, strings.Join(append(stack, ref), " -> "))
		}
	}
	data, src, err := read(ref)
	if err != nil {
		return nil, err
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", src, err)
	}
	p.Source = src
	h := sha256.New()
	h.Write(data)
	var merged []Artifact
	vars := map[string]Variable{}
	for _, inc := range p.Include {
		ip, err := load(inc, append(stack, ref))
		if err != nil {
			return nil, err
		}
		h.Write(ip.SHA256[:])
		merged = append(merged, ip.Artifacts...)
		for k, v := range ip.Variables {
			vars[k] = v
		}
	}
	for k, v := range p.Variables {
		vars[k] = v
	}
	p.Artifacts = append(merged, p.Artifacts...)
	p.Variables = vars
	h.Sum(p.SHA256[:0])
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("profile %s: %w", src, err)
	}
	return p, nil
}

func read(ref string) ([]byte, string, error) {
	if !strings.ContainsAny(ref, `/\`) && !strings.HasSuffix(ref, ".yaml") && !strings.HasSuffix(ref, ".yml") {
		b, err := embedded.ReadFile("embedded/" + ref + ".yaml")
		if err != nil {
			return nil, "", fmt.Errorf("%w %q: embedded profiles are %s, or give a profile file path", ErrUnknown, ref, strings.Join(Names(), ", "))
		}
		return b, "embedded:" + ref, nil
	}
	b, err := os.ReadFile(ref)
	if err != nil {
		return nil, "", fmt.Errorf("%w %q: %v", ErrUnknown, ref, err)
	}
	return b, ref, nil
}

// Parse decodes one profile document strictly: unknown keys are errors.
// Includes are not resolved.
func Parse(data []byte) (*Profile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Profile
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty profile")
		}
		return nil, cleanYAMLError(err)
	}
	if err := dec.Decode(new(any)); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document")
	}
	if p.Name == "" {
		return nil, errors.New("name is required")
	}
	return &p, nil
}

var (
	yamlFieldRE = regexp.MustCompile(`field (\S+) not found in type profiles\.(\w+)`)
	yamlTypeRE  = regexp.MustCompile(` into profiles\.\w+| into \S+`)
)

// cleanYAMLError turns the decoder's multi-line message into one line a
// profile author can act on.
func cleanYAMLError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:")
	msg = yamlFieldRE.ReplaceAllString(msg, "unknown key \"$1\"")
	msg = yamlTypeRE.ReplaceAllString(msg, "")
	var parts []string
	for _, l := range strings.Split(msg, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return errors.New(strings.Join(parts, "; "))
}

var (
	nameRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	identRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)
	varRE   = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
)

func (p *Profile) validate() error {
	switch p.Platform {
	case "linux", "windows", "darwin", "any":
	default:
		return fmt.Errorf("platform %q: want linux, windows, darwin or any", p.Platform)
	}
	seen := map[string]bool{}
	for i, a := range p.Artifacts {
		where := fmt.Sprintf("artifact %d (%s)", i+1, a.Name)
		if !nameRE.MatchString(a.Name) {
			return fmt.Errorf("%s: name must be lowercase letters, digits, '.', '_' or '-'", where)
		}
		if seen[a.Name] {
			return fmt.Errorf("%s: duplicate artifact name", where)
		}
		seen[a.Name] = true
		kinds := 0
		for _, set := range []bool{a.Live != "", a.Files != nil, a.Bodyfile != nil, a.MySQL != nil, a.Discover != "", a.Packages != nil} {
			if set {
				kinds++
			}
		}
		if kinds != 1 {
			return fmt.Errorf("%s: give exactly one of live, files, bodyfile, mysql, discover, packages", where)
		}
		if a.Packages != nil {
			switch a.Packages.Integrity {
			case "", "default", "full", "none":
			default:
				return fmt.Errorf("%s: packages integrity %q: want default, full or none", where, a.Packages.Integrity)
			}
		}
		var pats []string
		switch {
		case a.Files != nil:
			if len(a.Files.Paths) == 0 {
				return fmt.Errorf("%s: files needs paths", where)
			}
			pats = append(append(append(pats, a.Files.Paths...), a.Files.Exclude...), a.Files.Sensitive...)
			if r := a.Files.Redact; r != "" && !slices.Contains(Redactions, r) && !varRE.MatchString(r) {
				return fmt.Errorf("%s: redact %q: want one of %s", where, r, strings.Join(Redactions, ", "))
			}
			if err := checkLinks(a.Files.Links); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			if a.Files.Locked && (a.Files.Redact != "" || len(a.Files.Flag) > 0) {
				return fmt.Errorf("%s: locked files are copied as they are: redact and flag do not apply to them", where)
			}
		case a.Discover != "":
			if _, ok := Discoveries[a.Discover]; !ok {
				var names []string
				for n := range Discoveries {
					names = append(names, n)
				}
				sort.Strings(names)
				return fmt.Errorf("%s: discover %q: want one of %s", where, a.Discover, strings.Join(names, ", "))
			}
		case a.MySQL != nil:
			m := a.MySQL
			if m.MagentoRoot == "" && m.Database == "" {
				return fmt.Errorf("%s: mysql needs magento_root or database", where)
			}
			if m.MagentoRoot == "" && len(m.Tables) == 0 {
				return fmt.Errorf("%s: mysql needs tables (or magento_root for Magento's plan)", where)
			}
			if m.Format != "" && m.Format != "sql" && m.Format != "tsv" {
				return fmt.Errorf("%s: mysql format %q: want sql or tsv", where, m.Format)
			}
			for _, t := range m.Tables {
				if !identRE.MatchString(t.Name) {
					return fmt.Errorf("%s: table %q is not an identifier", where, t.Name)
				}
			}
			if m.Prefix != "" && !identRE.MatchString(m.Prefix) {
				return fmt.Errorf("%s: table_prefix %q is not an identifier", where, m.Prefix)
			}
			if m.MagentoRoot != "" {
				pats = append(pats, m.MagentoRoot)
			}
		case a.Bodyfile != nil:
			if len(a.Bodyfile.Roots) == 0 {
				return fmt.Errorf("%s: bodyfile needs roots", where)
			}
			if err := checkLinks(a.Bodyfile.Links); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			pats = append(append(pats, a.Bodyfile.Roots...), a.Bodyfile.Exclude...)
		}
		for _, pat := range pats {
			for _, m := range varRE.FindAllStringSubmatch(pat, -1) {
				if _, ok := p.Variables[m[1]]; !ok {
					return fmt.Errorf("%s: pattern %q uses undefined variable ${%s}", where, pat, m[1])
				}
			}
			if err := checkPattern(pat); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
		}
	}
	return nil
}

// checkPattern rejects patterns that are not absolute or climb out of
// their root. Variables are checked after substitution too.
func checkPattern(p string) error {
	p = strings.ReplaceAll(p, "\\", "/")
	if !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "${") && !(len(p) > 2 && p[1] == ':') {
		return fmt.Errorf("pattern %q is not an absolute path", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return fmt.Errorf("pattern %q escapes its root with \"..\"", p)
		}
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("pattern %q: bad wildcard", p)
		}
	}
	return nil
}

// Expand substitutes ${var} in s with vars (responder's --set values over
// the profile's defaults).
func Expand(s string, vars map[string]string) string {
	return varRE.ReplaceAllStringFunc(s, func(m string) string {
		return vars[m[2:len(m)-1]]
	})
}

// Values merges the profile's defaults with overrides; an override of an
// undefined variable is an error.
func (p *Profile) Values(set map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range p.Variables {
		out[k] = v.Default
	}
	for k, v := range set {
		if _, ok := p.Variables[k]; !ok {
			return nil, fmt.Errorf("--set %s: profile %s has no variable %q", k, p.Name, k)
		}
		out[k] = v
	}
	return out, nil
}
