//go:build integration

package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/testenv"
	"github.com/custos-ir/custos/internal/testkeys"
)

// TestWindowsBuildUnderWine runs the windows/amd64 build end to end under
// Wine on a fixture drive: Tomcat on its default base and on a second base
// only the Procrun registry key names, IIS with a site whose log folder
// only applicationHost.config names, FusionReactor, every event log copied
// byte for byte while one of them is held open with share mode 0 by
// another process (recorded as failed; the rest lands), and the triage
// set planted in the prefix: registry hives and user hives (one of them
// held: its record names every method tried), Amcache, SRUM, prefetch
// contents, legacy tasks, the WMI repository, PowerShell histories and
// transcripts, web-root scripts. The collection is then verified on Linux
// with decryption.
func TestWindowsBuildUnderWine(t *testing.T) {
	w := testenv.Wine(t)
	exe := testenv.BuildWindows(t, "github.com/custos-ir/custos/cmd/custos")
	hold := testenv.BuildWindows(t, "github.com/custos-ir/custos/internal/cmd/holdfile")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// Drives: the fixture C: merged into the prefix's, D: and E: mapped.
	fix := "../../collect/windows/testdata"
	mergeTree(t, filepath.Join(fix, "drive_c"), w.DriveC())
	for _, d := range []string{"d", "e"} {
		dir := t.TempDir()
		mergeTree(t, filepath.Join(fix, "drive_"+d), dir)
		link := filepath.Join(w.Prefix, "dosdevices", d+":")
		os.Remove(link)
		if err := os.Symlink(dir, link); err != nil {
			t.Fatal(err)
		}
	}
	// Event logs: made-up .evtx bytes, checked byte for byte.
	logs := filepath.Join(ciPath(t, w.DriveC(), "windows/system32"), "winevt", "Logs")
	os.MkdirAll(logs, 0o755)
	want := map[string]string{}
	for _, n := range []string{"Security.evtx", "System.evtx", "Application.evtx", "Microsoft-Windows-Sysmon%4Operational.evtx", "Unrelated.evtx"} {
		b := make([]byte, 69632+len(n)*4096)
		rand.Read(b)
		copy(b, "ElfFile\x00")
		if err := os.WriteFile(filepath.Join(logs, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256(b)
		want[n] = hex.EncodeToString(s[:])
	}
	// The second Tomcat, named only by its Procrun service key.
	w.RegImport(t, "Windows Registry Editor Version 5.00\n\n"+
		`[HKEY_LOCAL_MACHINE\SOFTWARE\Apache Software Foundation\Procrun 2.0\TomcatShop\Parameters\Java]`+"\n"+
		`"Options"=`+regMulti(`-Dcatalina.base=D:\apps\tomcat-shop`, `-Dcatalina.home=C:\Program Files\Apache Software Foundation\Tomcat 9.0`,
		`-javaagent:C:\FusionReactor\instance\tomcat9\fusionreactor.jar=address=8088`, "-Xmx2g")+"\n\n"+
		`[HKEY_LOCAL_MACHINE\SOFTWARE\Apache Software Foundation\Procrun 2.0\Gone\Parameters\Java]`+"\n"+
		`"Options"=`+regMulti(`-Dcatalina.base=F:\old\tomcat`)+"\n\n"+
		`[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\FileSystem]`+"\n"+
		`"NtfsDisableLastAccessUpdate"=dword:80000003`+"\n")

	// Security.evtx held with share mode 0, as the event log service would,
	// and alice's NTUSER.DAT, as a logged-on user's loaded hive is.
	for _, held := range []string{`C:\windows\system32\winevt\Logs\Security.evtx`, `C:\users\alice\NTUSER.DAT`} {
		h := w.Command(ctx, hold, held)
		stdin, _ := h.StdinPipe()
		stdout, _ := h.StdoutPipe()
		if err := h.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { stdin.Close(); h.Process.Kill(); h.Wait() }()
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil || !strings.Contains(line, "holding") {
			t.Fatalf("holdfile %s: %q %v", held, line, err)
		}
	}

	id, keyFile := testkeys.Identity(t, t.TempDir(), "team.key")
	out := t.TempDir()
	start := time.Now()
	c := w.Command(ctx, exe, "collect", "--profile", "tomcat-windows", "--case", "WINE-1", "--examiner", "wine test",
		"--recipient", id.Recipient().String(), "--to", testenv.WinePath(out))
	b, err := c.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("custos.exe collect under Wine: exit %d in %s\n%s", code, time.Since(start).Round(time.Millisecond), b)
	if code != exitPartial {
		t.Fatalf("exit %d, want %d (partial: Security.evtx is held)", code, exitPartial)
	}

	cols, _ := filepath.Glob(filepath.Join(out, "WINE-1", "*", "*"))
	if len(cols) != 1 {
		t.Fatalf("collections: %v", cols)
	}
	bin, err := exec.LookPath("custos")
	if err != nil {
		t.Fatal(err)
	}
	if vb, err := exec.Command(bin, "verify", cols[0], "--identity", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("verify on Linux: %v\n%s", err, vb)
	}
	mb, err := os.ReadFile(filepath.Join(cols[0], "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := custody.Parse(mb)
	if err != nil {
		t.Fatal(err)
	}
	arts := map[string]custody.Artifact{}
	for _, a := range m.Artifacts {
		arts[a.Name] = a
		t.Logf("%-12s %-8s %d files %v %v", a.Name, a.Status, len(a.Files), a.Errors, a.Warnings)
	}

	// The host facts say whether NTFS keeps last-access times (read from
	// the registry of the prefix).
	if host := decryptArtifact(t, cols[0], arts["host"].Key, id); !strings.Contains(host, `"ntfs_last_access":"not updated (managed by the system)"`) {
		t.Errorf("host facts without the NTFS last-access setting: %s", host)
	}

	ev := arts["eventlogs"]
	got := map[string]custody.File{}
	for _, f := range ev.Files {
		got[f.Path[strings.LastIndexAny(f.Path, `\/`)+1:]] = f
	}
	for n, sum := range want {
		f, ok := got[n]
		switch {
		case n == "Security.evtx":
			t.Logf("held Security.evtx: error %q note %q", f.Error, f.Note)
			if !ok || f.Stored || !strings.Contains(f.Error, "shared-read") {
				t.Errorf("held Security.evtx: %+v", f)
			}
		case !ok || !f.Stored || f.SHA256 != sum || !strings.HasPrefix(f.Method, "shared-read"):
			t.Errorf("%s: %+v, want sha256 %s by shared-read (every channel, not a list)", n, f, sum)
		}
	}
	if ev.Status != custody.StatusPartial {
		t.Errorf("eventlogs status %s", ev.Status)
	}

	has := func(art, suffix string, stored bool) {
		t.Helper()
		for _, f := range arts[art].Files {
			if strings.HasSuffix(strings.ToLower(f.Path), strings.ToLower(suffix)) && f.Stored == stored {
				return
			}
		}
		t.Errorf("%s: no %s (stored %v) in %d files", art, suffix, stored, len(arts[art].Files))
	}
	has("tomcat", `D:\apps\tomcat-shop\logs\localhost_access_log.2026-11-20.txt`, true)
	has("tomcat", `Tomcat 9.0\logs\catalina.2026-11-09.log`, true)
	has("tomcat", `Tomcat 9.0\webapps\ROOT\cmd.jsp`, false)
	has("tomcat", `Tomcat 9.0\work\Catalina\localhost\ROOT\org\apache\jsp\cmd_jsp.java`, true)
	has("iis", `E:\weblogs\W3SVC2\u_ex261121.log`, true)
	has("iis", `W3SVC1\u_ex261121.log`, true)
	has("iis", `E:\tomcat-connector\logs\isapi_redirect.log`, true)
	has("iis", `E:\tomcat-connector\conf\workers.properties`, true)
	has("fusionreactor", `.log`, true)
	// The triage set, each through the locked-file chain (shared read here).
	for art, files := range map[string][]string{
		"registry":               {`config\SAM`, `config\SYSTEM`, `config\SYSTEM.LOG1`, `config\SOFTWARE`, `config\SECURITY`, `config\DEFAULT`, `systemprofile\NTUSER.DAT`, `alice\AppData\Local\Microsoft\Windows\UsrClass.dat`, `alice\NTUSER.DAT.LOG1`},
		"amcache":                {`Amcache.hve`, `Amcache.hve.LOG1`},
		"srum":                   {`SRU\SRUDB.dat`},
		"prefetch":               {`CMD.EXE-0BD30981.pf`},
		"legacy-tasks":           {`Tasks\At1.job`, `SchedLgU.txt`},
		"wmi-repository":         {`Repository\OBJECTS.DATA`},
		"powershell-history":     {`systemprofile\AppData\Roaming\Microsoft\Windows\PowerShell\PSReadLine\ConsoleHost_history.txt`},
		"powershell-transcripts": {`PowerShell_transcript.WEB01.q1w2e3.20261120101500.txt`},
		"webroot-scripts":        {`aspnet_client\system_web\shell.aspx`, `D:\apps\shop\uploads\img.ashx`},
		"webroots":               {`D:\apps\shop\css\site.css`},
	} {
		for _, f := range files {
			has(art, f, art != "webroots")
		}
	}
	for _, f := range arts["registry"].Files {
		if strings.HasSuffix(f.Path, `alice\NTUSER.DAT`) {
			t.Logf("held NTUSER.DAT: error %q", f.Error)
			if f.Stored || !strings.Contains(f.Error, "shared-read") || !strings.Contains(f.Error, "raw-ntfs") {
				t.Errorf("held NTUSER.DAT: %+v", f)
			}
		} else if f.Stored && !strings.HasPrefix(f.Method, "shared-read") {
			t.Errorf("%s read by %q", f.Path, f.Method)
		}
	}
	// What Wine does not implement is recorded, never a failed collection:
	// the raw volume (the NTFS metadata), and whatever the network, firewall,
	// shares and WMI sources could not list.
	for _, n := range []string{"ntfs", "network", "firewall", "shares", "wmi-persistence"} {
		a := arts[n]
		t.Logf("%s under Wine: %s, %d files, errors %v", n, a.Status, len(a.Files), a.Errors)
		if a.Key == "" {
			t.Errorf("%s: nothing stored: %+v", n, a)
		}
	}
	for _, f := range arts["ntfs"].Files {
		t.Logf("ntfs %s: %s", f.Path, f.Error)
	}
	for _, n := range []string{"network", "firewall", "shares", "wmi-persistence"} {
		got := decryptArtifact(t, cols[0], arts[n].Key, id)
		t.Logf("%s under Wine:\n%s", n, got[:min(len(got), 1500)])
		// Wine implements GetAdaptersAddresses and GetIpForwardTable2.
		if n == "network" && (!strings.Contains(got, `"kind":"interface"`) || !strings.Contains(got, `"kind":"route"`)) {
			t.Errorf("network under Wine without interfaces or routes:\n%s", got)
		}
	}
	if !strings.Contains(strings.Join(arts["tomcat"].Warnings, "\n"), `F:\old\tomcat`) {
		t.Errorf("the Procrun key naming a base that is gone is not recorded: %v", arts["tomcat"].Warnings)
	}
	for _, f := range arts["tomcat"].Files {
		if f.Stored && !strings.HasPrefix(f.Method, "read (shared read/write/delete") {
			t.Errorf("%s read by %q, not the backup-style open", f.Path, f.Method)
		}
		if strings.HasSuffix(f.Path, "tomcat-users.xml") && (len(f.Redacted) == 0 || f.StoredSHA256 == "") {
			t.Errorf("tomcat-users.xml not redacted: %+v", f)
		}
	}
}

// regMulti encodes a REG_MULTI_SZ value for a version 5 .reg file (UTF-16LE
// strings; in a REGEDIT4 file hex(7) would be ANSI bytes).
func regMulti(ss ...string) string {
	var u []uint16
	for _, s := range ss {
		u = append(append(u, utf16.Encode([]rune(s))...), 0)
	}
	u = append(u, 0)
	var b strings.Builder
	b.WriteString("hex(7):")
	for i, c := range u {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%02x,%02x", byte(c), byte(c>>8))
	}
	return b.String()
}

// mergeTree copies src into dst, merging into existing directories whose
// names differ only in case (the prefix has "windows", the fixture
// "Windows"): Wine, like NTFS, would see them as one.
func mergeTree(t *testing.T, src, dst string) {
	t.Helper()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(dst, 0o755)
	for _, e := range ents {
		target := filepath.Join(dst, e.Name())
		if existing, err := os.ReadDir(dst); err == nil {
			for _, x := range existing {
				if strings.EqualFold(x.Name(), e.Name()) {
					target = filepath.Join(dst, x.Name())
				}
			}
		}
		if e.IsDir() {
			mergeTree(t, filepath.Join(src, e.Name()), target)
			continue
		}
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		o, err := os.Create(target)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(o, in)
		in.Close()
		o.Close()
	}
}

// ciPath resolves a slash path below root case-insensitively.
func ciPath(t *testing.T, root, rel string) string {
	cur := root
	for _, seg := range strings.Split(rel, "/") {
		next := filepath.Join(cur, seg)
		ents, _ := os.ReadDir(cur)
		for _, e := range ents {
			if strings.EqualFold(e.Name(), seg) {
				next = filepath.Join(cur, e.Name())
			}
		}
		cur = next
	}
	return cur
}

func decryptArtifact(t *testing.T, col, key string, id age.Identity) string {
	t.Helper()
	f, err := os.Open(filepath.Join(col, filepath.FromSlash(key)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := age.Decrypt(f, id)
	if err != nil {
		t.Fatal(err)
	}
	z, err := zstd.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
