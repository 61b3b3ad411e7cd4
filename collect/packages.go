package collect

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/custos-ir/custos/collect/hostfile"
	"github.com/custos-ir/custos/collect/pkgdb"
)

// Packages lists what the package managers say is installed, read from
// their own databases, and hashes packaged files against the digests they
// recorded: a modified sshd, PAM module or web-server module is listed as
// changed. By default only what runs (executables, shared libraries, PAM
// and web-server modules, kernel modules) and dpkg's conffiles are
// checked; Full checks every packaged file.
type Packages struct {
	Name string
	Root string // where the host's / is ("" for this host)
	Full bool   // every packaged file, not only what runs
	None bool   // list packages, check nothing
}

func (p *Packages) Describe() Description {
	return Description{Name: p.Name, Kind: "packages", Format: "jsonl",
		Sources: []string{"/var/lib/dpkg/status", "/var/lib/dpkg/info/*.md5sums", "/var/lib/rpm/rpmdb.sqlite"},
		Method:  "package databases parsed natively; packaged files hashed through hostfile"}
}

// maxPkgDB bounds what is read of one package database.
const maxPkgDB = 1 << 30

// pkgLine is one line of the artifact: a package, or a checked file.
type pkgLine struct {
	Kind     string `json:"kind"` // package, file, conffile
	Manager  string `json:"manager"`
	Package  string `json:"package,omitempty"`
	Version  string `json:"version,omitempty"`
	Arch     string `json:"arch,omitempty"`
	State    string `json:"state,omitempty"` // dpkg's "install ok installed"
	Source   string `json:"source_package,omitempty"`
	Files    int    `json:"files,omitempty"` // packaged files with a digest
	Path     string `json:"path,omitempty"`
	Algo     string `json:"algo,omitempty"`
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	Status   string `json:"status,omitempty"` // ok, changed, missing, not-regular, diverted, unreadable
	Note     string `json:"note,omitempty"`
}

type pkgCheck struct {
	pkg, manager string
	conf         bool
	d            pkgdb.Digest
	out          pkgLine
}

func (p *Packages) Collect(ctx context.Context, e *Emitter) error {
	enc := json.NewEncoder(e)
	enc.SetEscapeHTML(false)
	var checks []*pkgCheck
	found := false
	for _, db := range []func(*Emitter) ([]pkgdb.Package, bool){p.dpkg, p.rpm} {
		pkgs, ok := db(e)
		found = found || ok
		for i := range pkgs {
			pk := &pkgs[i]
			if err := enc.Encode(pkgLine{Kind: "package", Manager: pk.Manager, Package: pk.Name, Version: pk.Version,
				Arch: pk.Arch, State: pk.Status, Source: pk.Source, Files: len(pk.Files)}); err != nil {
				return err
			}
			for _, d := range pk.Conffiles {
				checks = append(checks, &pkgCheck{pkg: pk.Name, manager: pk.Manager, conf: true, d: d})
			}
			for _, d := range pk.Files {
				if (p.Full || runs(d.Path)) && (d.Mode == 0 || d.Mode&0o170000 == 0o100000) && d.Sum != nil {
					checks = append(checks, &pkgCheck{pkg: pk.Name, manager: pk.Manager, conf: strings.HasPrefix(d.Path, "/etc/"), d: d})
				}
			}
		}
	}
	if !found {
		e.Warn("no package database (dpkg's /var/lib/dpkg/status, rpm's rpmdb.sqlite): nothing to list")
		return nil
	}
	if p.None {
		return nil
	}
	diverted := p.diversions()
	p.hashAll(ctx, checks, diverted)
	counts := map[string]int{}
	shown := 0
	for _, c := range checks {
		counts[c.out.Status]++
		if c.out.Status == "changed" && shown < 100 {
			e.Warn("CHANGED %s (%s %s): %s, want %s", c.d.Path, c.manager, c.pkg, c.out.Actual, c.out.Expected)
			shown++
		}
		if err := enc.Encode(c.out); err != nil {
			return err
		}
	}
	var parts []string
	for k, v := range counts {
		parts = append(parts, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(parts)
	scope := "executables, libraries, PAM, web-server and kernel modules, conffiles"
	if p.Full {
		scope = "every packaged file"
	}
	e.Warn("%d packaged files checked (%s): %s", len(checks), scope, strings.Join(parts, ", "))
	return ctx.Err()
}

// runs is the default scope of the check: what executes.
func runs(p string) bool {
	for _, pre := range []string{"/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/", "/usr/libexec/", "/lib/systemd/systemd", "/usr/lib/systemd/systemd"} {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	b := path.Base(p)
	return strings.HasSuffix(b, ".so") || strings.Contains(b, ".so.") || strings.Contains(p, "/security/") ||
		strings.HasSuffix(b, ".ko") || strings.Contains(b, ".ko.")
}

func (p *Packages) read(rel string) ([]byte, error) {
	c, err := hostfile.ReadFile(p.Root+rel, maxPkgDB)
	if err != nil {
		return nil, err
	}
	if c.Truncated {
		return nil, fmt.Errorf("%s: larger than %d bytes", rel, maxPkgDB)
	}
	return c.Data, nil
}

// dpkg reads dpkg's status file and each installed package's md5sums.
func (p *Packages) dpkg(e *Emitter) ([]pkgdb.Package, bool) {
	b, err := p.read("/var/lib/dpkg/status")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false
	}
	if err != nil {
		e.Fail("dpkg status: %s", hostfile.ErrText(err))
		return nil, true
	}
	pkgs, bad := pkgdb.ParseDpkgStatus(b)
	if bad > 0 {
		e.Warn("dpkg status: %d stanzas without a package skipped (a damaged database?)", bad)
	}
	var out []pkgdb.Package
	for _, pk := range pkgs {
		if !strings.HasSuffix(pk.Status, " installed") && pk.Status != "" {
			continue
		}
		for _, name := range []string{pk.Name + ":" + pk.Arch, pk.Name} {
			mb, err := p.read("/var/lib/dpkg/info/" + name + ".md5sums")
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				e.Fail("dpkg %s.md5sums: %s", name, hostfile.ErrText(err))
				break
			}
			ds, bad := pkgdb.ParseMD5Sums(mb)
			if bad > 0 {
				e.Warn("dpkg %s.md5sums: %d lines that are not digests", name, bad)
			}
			pk.Files = ds
			break
		}
		out = append(out, pk)
	}
	return out, true
}

// rpm reads rpm's SQLite database (Fedora 33+, RHEL 9, current SUSE).
func (p *Packages) rpm(e *Emitter) ([]pkgdb.Package, bool) {
	for _, dir := range []string{"/var/lib/rpm", "/usr/lib/sysimage/rpm"} {
		b, err := p.read(dir + "/rpmdb.sqlite")
		if errors.Is(err, fs.ErrNotExist) {
			for _, old := range []string{"Packages", "Packages.db"} {
				if _, _, serr := hostfile.Stat(p.Root + dir + "/" + old); serr == nil {
					e.Fail("rpm database %s/%s (BerkeleyDB or ndb) is not read by this version: packages and rpm digests not listed (the file itself is in the collection if a files artifact names it)", dir, old)
					return nil, true
				}
			}
			continue
		}
		if err != nil {
			e.Fail("rpm database %s/rpmdb.sqlite: %s", dir, hostfile.ErrText(err))
			return nil, true
		}
		if rec, _, err := hostfile.Stat(p.Root + dir + "/rpmdb.sqlite-wal"); err == nil && rec.Size > 0 {
			e.Warn("rpm database %s/rpmdb.sqlite-wal holds %d bytes not yet in the database: changes in it (the latest installs) are not read", dir, rec.Size)
		}
		pkgs, bad, err := pkgdb.ParseRPMSQLite(b)
		if err != nil {
			e.Fail("rpm database %s/rpmdb.sqlite: %v (%d packages read before it)", dir, err, len(pkgs))
		}
		if bad > 0 {
			e.Warn("rpm database: %d package headers that do not parse skipped", bad)
		}
		return pkgs, true
	}
	return nil, false
}

// diversions are dpkg's diverted paths (dpkg-divert): the packaged file
// lives elsewhere, and what is at its path is another package's.
func (p *Packages) diversions() map[string]bool {
	out := map[string]bool{}
	b, err := p.read("/var/lib/dpkg/diversions")
	if err != nil {
		return out
	}
	ls := strings.Split(string(b), "\n")
	for i := 0; i+2 < len(ls); i += 3 {
		out[ls[i]] = true
	}
	return out
}

// hashAll hashes the checked files, a worker per CPU.
func (p *Packages) hashAll(ctx context.Context, checks []*pkgCheck, diverted map[string]bool) {
	work := make(chan *pkgCheck)
	var wg sync.WaitGroup
	for i := 0; i < max(1, runtime.NumCPU()); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256<<10)
			for c := range work {
				p.check(ctx, c, diverted, buf)
			}
		}()
	}
	for _, c := range checks {
		if ctx.Err() != nil {
			c.out = pkgLine{Kind: "file", Path: c.d.Path, Status: "not-checked", Note: "the source's time ran out"}
			continue
		}
		work <- c
	}
	close(work)
	wg.Wait()
}

func newHash(algo string) hash.Hash {
	switch algo {
	case "md5":
		return md5.New()
	case "sha1":
		return sha1.New()
	case "sha256":
		return sha256.New()
	case "sha384":
		return sha512.New384()
	case "sha512":
		return sha512.New()
	case "sha224":
		return sha256.New224()
	}
	return nil
}

func (p *Packages) check(ctx context.Context, c *pkgCheck, diverted map[string]bool, buf []byte) {
	kind := "file"
	if c.conf {
		kind = "conffile"
	}
	o := pkgLine{Kind: kind, Manager: c.manager, Package: c.pkg, Path: c.d.Path, Algo: c.d.Algo, Expected: hex.EncodeToString(c.d.Sum)}
	defer func() { c.out = o }()
	if diverted[c.d.Path] {
		o.Status, o.Note = "diverted", "dpkg-divert moved the packaged file: what is here is another package's"
		return
	}
	h := newHash(c.d.Algo)
	if h == nil {
		o.Status = "not-checked"
		o.Note = "digest algorithm " + c.d.Algo + " unknown"
		return
	}
	f, via, err := hostfile.Open(p.Root + c.d.Path)
	if err != nil {
		var nr *hostfile.NotRegularError
		switch {
		case errors.Is(err, fs.ErrNotExist):
			o.Status = "missing"
		case errors.As(err, &nr):
			o.Status, o.Note = "not-regular", "now a "+nr.Rec.Type
		default:
			o.Status, o.Note = "unreadable", hostfile.ErrText(err)
		}
		return
	}
	defer f.Close()
	if len(via) > 0 {
		o.Note = "reached through the link " + via[0].Path + " -> " + via[0].Text
	}
	if _, err := io.CopyBuffer(h, ctxReader{ctx, f}, buf); err != nil {
		o.Status, o.Note = "unreadable", hostfile.ErrText(err)
		return
	}
	o.Actual = hex.EncodeToString(h.Sum(nil))
	o.Status = "ok"
	if !bytes.Equal(h.Sum(nil), c.d.Sum) {
		o.Status = "changed"
	}
}

// ctxReader stops a long read when the source's time runs out.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}
