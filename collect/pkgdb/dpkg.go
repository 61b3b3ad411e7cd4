// Package pkgdb reads what a Linux host's package managers say is
// installed, and the digests they recorded for each file, from their own
// databases (dpkg's status file and info/*.md5sums, rpm's rpmdb.sqlite),
// without running dpkg or rpm. It parses bytes; reading the host is the
// caller's (through collect/hostfile).
package pkgdb

import (
	"bytes"
	"encoding/hex"
	"strings"
)

// Package is one installed package.
type Package struct {
	Manager string `json:"manager"` // dpkg, rpm
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"arch,omitempty"`
	Status  string `json:"status,omitempty"` // dpkg's "install ok installed"
	Source  string `json:"source_package,omitempty"`
	// Files are the packaged files with their recorded digests, where the
	// database holds them (rpm); dpkg keeps them in info/NAME.md5sums.
	Files []Digest `json:"-"`
	// Conffiles are dpkg's configuration files with their digests as
	// shipped (a changed one may be the admin's edit, or not).
	Conffiles []Digest `json:"-"`
}

// Digest is a file's path and the digest its package recorded.
type Digest struct {
	Path string
	Algo string // md5, sha1, sha256, ...
	Sum  []byte
	Mode uint16 // rpm: the file's mode, to tell files from links and dirs
}

// ParseDpkgStatus reads /var/lib/dpkg/status: RFC 822-like stanzas. A
// stanza without a Package field is skipped and counted in bad; what can
// be read is returned whatever else the file holds.
func ParseDpkgStatus(b []byte) (pkgs []Package, bad int) {
	for _, stanza := range bytes.Split(b, []byte("\n\n")) {
		if len(bytes.TrimSpace(stanza)) == 0 {
			continue
		}
		var p Package
		p.Manager = "dpkg"
		field := ""
		for _, l := range strings.Split(string(stanza), "\n") {
			if l == "" {
				continue
			}
			if l[0] == ' ' || l[0] == '\t' {
				if field == "Conffiles" {
					if f := strings.Fields(l); len(f) >= 2 {
						if sum, err := hex.DecodeString(f[1]); err == nil && len(sum) == 16 {
							p.Conffiles = append(p.Conffiles, Digest{Path: f[0], Algo: "md5", Sum: sum})
						}
					}
				}
				continue
			}
			k, v, ok := strings.Cut(l, ":")
			if !ok {
				continue
			}
			field, v = k, strings.TrimSpace(v)
			switch k {
			case "Package":
				p.Name = v
			case "Version":
				p.Version = v
			case "Architecture":
				p.Arch = v
			case "Status":
				p.Status = v
			case "Source":
				p.Source = v
			}
		}
		if p.Name == "" {
			bad++
			continue
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, bad
}

// ParseMD5Sums reads an info/NAME.md5sums file: "HEX  path" lines, the
// path relative to /. A line that is not one is counted in bad.
func ParseMD5Sums(b []byte) (ds []Digest, bad int) {
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimRight(l, "\r")
		if l == "" {
			continue
		}
		sum, p, ok := strings.Cut(l, " ")
		raw, err := hex.DecodeString(sum)
		p = strings.TrimLeft(p, " *")
		if !ok || err != nil || len(raw) != 16 || p == "" {
			bad++
			continue
		}
		ds = append(ds, Digest{Path: "/" + strings.TrimPrefix(p, "/"), Algo: "md5", Sum: raw})
	}
	return ds, bad
}
