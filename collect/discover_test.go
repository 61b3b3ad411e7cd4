package collect

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/custos-ir/custos/collect/windows"
	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/profiles"
	"github.com/custos-ir/custos/storage"
)

// The tomcat-windows profile planned against fixture drives and registry:
// the second Tomcat that only the Procrun key names, the IIS site whose
// log folder only applicationHost.config names, FusionReactor, secrets
// redacted in the stored copies with the originals' digests recorded, and
// a Procrun key naming a base that is gone recorded as a note.
func TestDiscoverTomcatWindows(t *testing.T) {
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	drives := windows.FixtureFS{"C:": abs("windows/testdata/drive_c"), "D:": abs("windows/testdata/drive_d"), "E:": abs("windows/testdata/drive_e")}
	const procrun = `HKLM\SOFTWARE\Apache Software Foundation\Procrun 2.0`
	reg := windows.MapRegistry{
		procrun + `\TomcatShop\Parameters\Java`: {"Options": {"-Dcatalina.base=D:\\apps\\tomcat-shop", "-javaagent:C:\\FusionReactor\\instance\\tomcat9\\fusionreactor.jar"}},
		procrun + `\Gone\Parameters\Java`:       {"Options": {"-Dcatalina.base=F:\\old\\tomcat"}},
	}
	host := FixtureHost(drives, reg, map[string]string{"SystemRoot": `C:\Windows`, "SystemDrive": "C:"})
	p, err := profiles.Load("tomcat-windows")
	if err != nil {
		t.Fatal(err)
	}
	steps, err := Plan(p, PlanOptions{GOOS: "windows", Windows: host, Live: func(string) (StreamFunc, bool) { return nil, false }})
	if err != nil {
		t.Fatal(err)
	}
	var plan []Planned
	for _, s := range steps {
		if n := s.Desc.Name; s.Source != nil && (n == "tomcat" || n == "iis" || n == "fusionreactor") {
			plan = append(plan, s)
		}
	}
	if len(plan) != 3 {
		t.Fatalf("discover steps: %+v", steps)
	}
	pl, st, id := newPipeline(t)
	m := runCollection(t, pl, plan)
	byName := map[string]int{}
	for i, a := range m.Artifacts {
		byName[a.Name] = i
	}

	tom := m.Artifacts[byName["tomcat"]]
	if !strings.Contains(strings.Join(tom.Warnings, "\n"), `F:\old\tomcat`) {
		t.Errorf("the gone CATALINA_BASE is not noted: %v", tom.Warnings)
	}
	content := tarFiles(t, decrypt(t, st, m.Storage.Prefix+tom.Key, id))
	var users, shopLog, jsp bool
	for _, f := range tom.Files {
		switch {
		case strings.HasSuffix(f.Path, "tomcat-users.xml"):
			users = true
			orig, _ := os.ReadFile(f.Path)
			sum := sha256.Sum256(orig)
			if f.SHA256 != hex.EncodeToString(sum[:]) || f.StoredSHA256 == "" || len(f.Redacted) == 0 {
				t.Errorf("redacted record: %+v", f)
			}
			got := content[strings.TrimPrefix(f.Path, "/")]
			if bytes.Contains(got, []byte("S3cr3t")) || bytes.Contains(got, []byte("an0ther")) || !bytes.Contains(got, []byte(`password="REDACTED"`)) {
				t.Errorf("stored tomcat-users.xml:\n%s", got)
			}
			if s := sha256.Sum256(got); hex.EncodeToString(s[:]) != f.StoredSHA256 {
				t.Error("stored_sha256 is not the stored copy's")
			}
		case strings.HasSuffix(f.Path, "localhost_access_log.2026-11-20.txt"):
			shopLog = f.Stored
		case strings.HasSuffix(f.Path, "cmd.jsp"):
			jsp = !f.Stored && f.SHA256 != ""
		}
	}
	if !users || !shopLog || !jsp {
		t.Errorf("tomcat: users %v, second base's log %v, webapps hashed only %v", users, shopLog, jsp)
	}

	iis := m.Artifacts[byName["iis"]]
	var site2 bool
	for _, f := range iis.Files {
		if strings.HasSuffix(f.Path, filepath.Join("W3SVC2", "u_ex261121.log")) && f.Stored {
			site2 = true
		}
	}
	if !site2 {
		t.Errorf("iis: the site log only applicationHost.config names is missing: %+v", iis.Files)
	}
	iisContent := tarFiles(t, decrypt(t, st, m.Storage.Prefix+iis.Key, id))
	var rotated, workers bool
	for _, f := range iis.Files {
		switch {
		case strings.HasSuffix(f.Path, "isapi_redirect.log.1"):
			rotated = f.Stored
		case strings.HasSuffix(f.Path, "workers.properties"):
			got := iisContent[strings.TrimPrefix(f.Path, "/")]
			workers = f.Stored && len(f.Redacted) > 0 && !bytes.Contains(got, []byte("S3cretAjp"))
		}
	}
	if !rotated || !workers {
		t.Errorf("iis: ISAPI log rotation %v, workers.properties redacted %v", rotated, workers)
	}
	fr := m.Artifacts[byName["fusionreactor"]]
	if len(fr.Files) == 0 || fr.Status != "ok" {
		t.Errorf("fusionreactor: %+v", fr)
	}
	if r := verifyLocal(t, st, m, id); r != "" {
		t.Error(r)
	}
}

func tarFiles(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name], _ = io.ReadAll(tr)
	}
}

// verifyLocal runs custody.Verify with decryption and returns its problems.
func verifyLocal(t *testing.T, st storage.Store, m *custody.Manifest, id age.Identity) string {
	t.Helper()
	r, err := custody.Verify(context.Background(), testObjects(st), m.Storage.Prefix, custody.VerifyOptions{Identities: []age.Identity{id}})
	if err != nil {
		return err.Error()
	}
	if !r.OK() {
		return fmt.Sprint(r.Problems)
	}
	if r.Files == 0 {
		return "verify checked no file"
	}
	return ""
}

// deniedRegistry answers every read with access denied.
type deniedRegistry struct{ windows.MapRegistry }

func (deniedRegistry) SubKeys(string) ([]string, error) { return nil, fs.ErrPermission }

// A registry key without access and an applicationHost.config that does
// not parse are recorded with their reasons; what can be found still lands.
func TestDiscoverBadInput(t *testing.T) {
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	c := t.TempDir()
	os.MkdirAll(filepath.Join(c, "Windows/System32/inetsrv/config"), 0o755)
	os.WriteFile(filepath.Join(c, "Windows/System32/inetsrv/config/applicationHost.config"), []byte("<configuration><sites><site"), 0o644)
	os.MkdirAll(filepath.Join(c, "inetpub/logs/LogFiles/W3SVC1"), 0o755)
	os.WriteFile(filepath.Join(c, "inetpub/logs/LogFiles/W3SVC1/u_ex261130.log"), []byte("GET /shell.aspx 200\n"), 0o644)
	drives := windows.FixtureFS{"C:": c, "D:": abs("windows/testdata/drive_d")}
	host := FixtureHost(drives, deniedRegistry{}, map[string]string{"SystemRoot": `C:\Windows`, "SystemDrive": "C:", "CATALINA_BASE": `D:\apps\tomcat-shop`})
	p, err := profiles.Parse([]byte("name: t\nplatform: windows\nartifacts:\n  - {name: tomcat, discover: tomcat}\n  - {name: iis, discover: iis}\n"))
	if err != nil {
		t.Fatal(err)
	}
	steps, err := Plan(p, PlanOptions{GOOS: "windows", Windows: host})
	if err != nil {
		t.Fatal(err)
	}
	pl, _, _ := newPipeline(t)
	m := runCollection(t, pl, steps)
	for _, a := range m.Artifacts {
		if a.Status != "partial" || len(a.Files) == 0 {
			t.Errorf("%s: %s with %d files, errors %v", a.Name, a.Status, len(a.Files), a.Errors)
		}
		want := map[string]string{"tomcat": "registry key not readable", "iis": "does not parse"}[a.Name]
		if !strings.Contains(strings.Join(a.Errors, "\n"), want) {
			t.Errorf("%s: errors %v, want %q", a.Name, a.Errors, want)
		}
	}
}

// --dry-run counts what discovery found, from metadata alone.
func TestDryRunDiscover(t *testing.T) {
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	drives := windows.FixtureFS{"C:": abs("windows/testdata/drive_c"), "D:": abs("windows/testdata/drive_d"), "E:": abs("windows/testdata/drive_e")}
	host := FixtureHost(drives, windows.MapRegistry{}, map[string]string{"SystemRoot": `C:\Windows`, "SystemDrive": "C:"})
	p, _ := profiles.Parse([]byte("name: t\nplatform: windows\nartifacts:\n  - {name: iis, discover: iis}\n"))
	steps, err := Plan(p, PlanOptions{GOOS: "windows", Windows: host})
	if err != nil {
		t.Fatal(err)
	}
	e := DryRun(context.Background(), steps[0])
	if e.Files < 4 || e.Bytes == 0 || !strings.Contains(e.Note, "places found") {
		t.Fatalf("%+v", e)
	}
}
