package collect

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custos-ir/custos/collect/windows"
	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/profiles"
)

// ntfsImage is the mkntfs volume of collect/windows/testdata/ntfs.
func ntfsImage(t *testing.T) []byte {
	t.Helper()
	f, err := os.Open("windows/testdata/ntfs/volume.img.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// imageVolumes gives C: the fixture NTFS image; any other volume cannot
// be opened.
func imageVolumes(img []byte) windows.VolumeOpener {
	return func(drive string) (io.ReaderAt, func() error, error) {
		if drive != "C:" {
			return nil, nil, fmt.Errorf("opening \\\\.\\%s: The system cannot find the file specified.", drive)
		}
		return bytes.NewReader(img), func() error { return nil }, nil
	}
}

func triageHost(t *testing.T, img []byte) *WindowsHost {
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	drives := windows.FixtureFS{"C:": abs("windows/testdata/drive_c"), "D:": abs("windows/testdata/drive_d"), "E:": abs("windows/testdata/drive_e")}
	const pl = `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList`
	const procrun = `HKLM\SOFTWARE\Apache Software Foundation\Procrun 2.0`
	reg := windows.MapRegistry{
		pl + `\S-1-5-18`:                        {"ProfileImagePath": {`%SystemRoot%\System32\config\systemprofile`}},
		pl + `\S-1-5-21-1-2-3-1001`:             {"ProfileImagePath": {`C:\Users\alice`}},
		pl + `\S-1-5-21-1-2-3-1002`:             {"ProfileImagePath": {`D:\profiles\bob`}},
		pl + `\S-1-5-21-1-2-3-1003`:             {"ProfileImagePath": {`C:\Users\gone`}},
		procrun + `\TomcatShop\Parameters\Java`: {"Options": {`-Dcatalina.base=D:\apps\tomcat-shop`}},
	}
	h := FixtureHost(drives, reg, map[string]string{"SystemRoot": `C:\Windows`, "SystemDrive": "C:"})
	h.NTFS = imageVolumes(img)
	return h
}

// The Windows triage set planned from tomcat-windows against fixture
// drives and registry: every hive with its logs (alice's, bob's whose
// profile only ProfileList names, the system and service profiles'), the
// NTFS metadata of C: through the NTFS reader (D: and E:, where web roots
// live, cannot be opened: one error record each naming the method tried,
// the rest collected), Amcache, SRUM, prefetch contents, legacy tasks, the
// WMI repository, PowerShell histories and transcripts, web roots listed,
// timelined and their scripts copied; all of it verifies.
func TestWindowsTriagePlan(t *testing.T) {
	img := ntfsImage(t)
	host := triageHost(t, img)
	p, err := profiles.Load("tomcat-windows")
	if err != nil {
		t.Fatal(err)
	}
	steps, err := Plan(p, PlanOptions{GOOS: "windows", Windows: host, Live: func(string) (StreamFunc, bool) { return nil, false }})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"registry": true, "ntfs": true, "amcache": true, "srum": true, "wmi-repository": true, "legacy-tasks": true,
		"prefetch": true, "powershell-history": true, "powershell-transcripts": true, "eventlogs": true,
		"webroots": true, "webroot-scripts": true, "webroot-timeline": true, "tomcat": true, "iis": true}
	var plan []Planned
	for _, s := range steps {
		if want[s.Desc.Name] && s.Source != nil {
			plan = append(plan, s)
		}
	}
	if len(plan) != len(want) {
		t.Fatalf("planned %d of %d: %+v", len(plan), len(want), steps)
	}
	pl, st, id := newPipeline(t)
	m := runCollection(t, pl, plan)
	arts := map[string]custody.Artifact{}
	for _, a := range m.Artifacts {
		arts[a.Name] = a
	}
	stored := func(art, suffix string) *custody.File {
		t.Helper()
		for _, f := range arts[art].Files {
			if strings.HasSuffix(strings.ToLower(filepath.ToSlash(f.Path)), strings.ToLower(suffix)) {
				return &f
			}
		}
		t.Errorf("%s: no %s among %d files", art, suffix, len(arts[art].Files))
		return nil
	}
	for _, s := range []string{"config/SAM", "config/SYSTEM", "config/SYSTEM.LOG1", "config/SYSTEM.LOG2", "config/SOFTWARE", "config/SECURITY", "config/DEFAULT",
		"systemprofile/NTUSER.DAT", "NetworkService/NTUSER.DAT", "alice/NTUSER.DAT", "alice/NTUSER.DAT.LOG1", ".TM.blf",
		"alice/AppData/Local/Microsoft/Windows/UsrClass.dat", "UsrClass.dat.LOG1", "profiles/bob/NTUSER.DAT"} {
		if f := stored("registry", s); f != nil && (!f.Stored || !strings.HasPrefix(f.Method, "shared-read") || f.SHA256 == "") {
			t.Errorf("registry %s: %+v", s, *f)
		}
	}
	for _, f := range arts["registry"].Files {
		if strings.HasSuffix(f.Path, "COMPONENTS") {
			t.Error("a hive the profile does not ask for was taken")
		}
	}
	if !strings.Contains(strings.Join(arts["registry"].Warnings, "\n"), `C:\Users\gone`) {
		t.Errorf("a ProfileList entry whose folder is gone is not noted: %v", arts["registry"].Warnings)
	}

	// NTFS metadata: C: read by the NTFS reader, byte for byte what
	// ntfscat reads (the $J too); D: and E: one error each, naming the method.
	ntfs := arts["ntfs"]
	if ntfs.Status != custody.StatusPartial {
		t.Errorf("ntfs: status %s", ntfs.Status)
	}
	sums := map[string]string{`C:\$LogFile`: "4bda3a28f4ffe603c0ec1258c0034d65a1a0d35ab7bd523a834608adabf03cc5",
		`C:\$Extend\$UsnJrnl:$J`: "fe5ab690773dff9341459a555bb2d0c6e84f7156c122c464e1a855db25480af9"}
	var failed int
	for _, f := range ntfs.Files {
		switch {
		case strings.HasPrefix(f.Path, "C:"):
			if !f.Stored || f.Method != "raw-ntfs-mft" || f.Read != f.Size || f.Size == 0 {
				t.Errorf("%s: %+v", f.Path, f)
			}
			if want, ok := sums[f.Path]; ok && f.SHA256 != want {
				t.Errorf("%s: sha256 %s, want %s", f.Path, f.SHA256, want)
			}
		default:
			failed++
			if f.Stored || !strings.Contains(f.Error, "no method could read it: raw-ntfs-mft: opening") {
				t.Errorf("%s: %+v", f.Path, f)
			}
		}
	}
	if failed != 6 || len(ntfs.Files) != 9 {
		t.Errorf("ntfs: %d files, %d failed: %+v", len(ntfs.Files), failed, ntfs.Files)
	}
	tf := tarFiles(t, decrypt(t, st, m.Storage.Prefix+ntfs.Key, id))
	if j := tf["C/$Extend/$UsnJrnl:$J"]; len(j) != 1058176 {
		t.Errorf("$J in the tar: %d bytes", len(j))
	}

	for art, s := range map[string]string{"amcache": "Amcache.hve", "srum": "SRU/SRUDB.dat", "wmi-repository": "Repository/OBJECTS.DATA",
		"legacy-tasks": "Tasks/At1.job", "prefetch": "CMD.EXE-0BD30981.pf", "powershell-history": "systemprofile/AppData/Roaming/Microsoft/Windows/PowerShell/PSReadLine/ConsoleHost_history.txt",
		"powershell-transcripts": "PowerShell_transcript.WEB01.q1w2e3.20261120101500.txt"} {
		if f := stored(art, s); f != nil && (!f.Stored || f.SHA256 == "") {
			t.Errorf("%s %s: %+v", art, s, *f)
		}
	}
	stored("legacy-tasks", "Windows/SchedLgU.txt")
	stored("powershell-history", "LocalService/AppData/Roaming/Microsoft/Windows/PowerShell/PSReadLine/ConsoleHost_history.txt")

	// Web roots: IIS's two sites, the Tomcat appBase and a Context docBase
	// on E:, listed with hashes; scripts copied; a timeline of them all.
	for _, s := range []string{"inetpub/wwwroot/aspnet_client/system_web/shell.aspx", "apps/shop/css/site.css", "payapp/WEB-INF/web.xml", "tomcat-shop/webapps/ROOT/index.jsp"} {
		if f := stored("webroots", s); f != nil && (f.Stored || f.SHA256 == "") {
			t.Errorf("webroots %s: %+v", s, *f)
		}
	}
	for _, s := range []string{"shell.aspx", "uploads/img.ashx", "payapp/index.jsp", "wwwroot/web.config"} {
		if f := stored("webroot-scripts", s); f != nil && !f.Stored {
			t.Errorf("webroot-scripts %s: %+v", s, *f)
		}
	}
	for _, f := range arts["webroot-scripts"].Files {
		if strings.HasSuffix(f.Path, ".css") || strings.HasSuffix(f.Path, ".htm") {
			t.Errorf("not a script, copied: %s", f.Path)
		}
	}
	body := string(decrypt(t, st, m.Storage.Prefix+arts["webroot-timeline"].Key, id))
	for _, s := range []string{"shell.aspx", "site.css", "index.jsp"} {
		if !strings.Contains(body, s) {
			t.Errorf("timeline without %s", s)
		}
	}
	stored("iis", "FailedReqLogFiles/W3SVC1/fr000001.xml")
	if f := stored("tomcat", "lib/evil-filter.jar"); f != nil && (f.Stored || f.SHA256 == "") {
		t.Errorf("tomcat lib jar: %+v", *f)
	}
	if f := stored("tomcat", "bin/setenv.bat"); f != nil && !f.Stored {
		t.Errorf("setenv.bat: %+v", *f)
	}
	if r := verifyLocal(t, st, m, id); r != "" {
		t.Error(r)
	}
}

// A file the shared read cannot open is read by the next method (here
// the NTFS reader, from the fixture volume), and the record says which and
// why the first failed; a file no method reads is one error naming each.
func TestLockedChain(t *testing.T) {
	img := ntfsImage(t)
	held := windows.CopyMethod{Name: "shared-read", Open: func(context.Context, string) (*windows.FileCopy, error) {
		return nil, errors.New("The process cannot access the file because it is being used by another process.")
	}}
	ntfs := windows.NTFSMethod(imageVolumes(img), nil)
	src := &Locked{Name: "hives", Paths: []string{`C:\big.txt`, `C:\hello.txt`, `D:\SYSTEM`},
		Methods: func(string) []windows.CopyMethod { return []windows.CopyMethod{held, ntfs} }}
	pl, st, id := newPipeline(t)
	m := runCollection(t, pl, []Planned{{Source: src, Desc: src.Describe()}})
	a := m.Artifacts[0]
	if a.Status != custody.StatusPartial || len(a.Files) != 3 {
		t.Fatalf("%s, %d files: %+v", a.Status, len(a.Files), a.Files)
	}
	want := map[string]string{`C:\big.txt`: "24c8e0109ba23157f6221f4eeea66a0043d8d9c802bb866b8e220870f05fd364",
		`C:\hello.txt`: "01645678158f00236f108c70c74dc8aa90da0f1fd0dafdcd376efd170acbb36b"}
	tf := tarFiles(t, decrypt(t, st, m.Storage.Prefix+a.Key, id))
	for _, f := range a.Files {
		if sum, ok := want[f.Path]; ok {
			s := sha256.Sum256(tf[custody.TarName(f.Path)])
			if f.Method != "raw-ntfs-mft" || f.SHA256 != sum || hex.EncodeToString(s[:]) != sum || !strings.Contains(f.Note, "tried first: shared-read: The process cannot access") || f.Mtime == nil {
				t.Errorf("%s: %+v", f.Path, f)
			}
			continue
		}
		if f.Stored || !strings.Contains(f.Error, "shared-read: The process cannot access the file") || !strings.Contains(f.Error, "raw-ntfs-mft: opening") {
			t.Errorf("%s: %+v", f.Path, f)
		}
	}
	if r := verifyLocal(t, st, m, id); r != "" {
		t.Error(r)
	}
	_ = tar.TypeReg
}
