package windows

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

const tasksRoot = `C:\Windows\System32\Tasks`

func taskFS(t *testing.T) FixtureFS {
	abs, err := filepath.Abs("testdata/tasks")
	if err != nil {
		t.Fatal(err)
	}
	return FixtureFS{"C:": abs}
}

func TestTasks(t *testing.T) {
	tasks, finds := Tasks(taskFS(t), tasksRoot)
	byPath := map[string]Task{}
	for _, tk := range tasks {
		byPath[tk.Path] = tk
	}
	if len(tasks) != 4 {
		t.Fatalf("tasks %+v", tasks)
	}
	if len(finds) != 1 || !strings.HasSuffix(finds[0].Where, `Tasks\Broken`) || finds[0].What != "task file does not parse" {
		t.Fatalf("findings %v", finds)
	}

	evil := byPath[`\GoogleUpdateTaskMachineQA`]
	if !evil.Enabled || !evil.Hidden || evil.RunAs != "S-1-5-18" || evil.RunLevel != "HighestAvailable" ||
		evil.Author != `WIN-SRV01\Administrator` || evil.RegistrationDate != "2026-11-20T02:14:07.5521033" ||
		evil.File != tasksRoot+`\GoogleUpdateTaskMachineQA` || evil.Mtime == nil || len(evil.SHA256) != 64 {
		t.Errorf("evil task %+v", evil)
	}
	want := []string{"logon", "boot delay PT30S", "time 2026-11-20T02:15:00 every PT5M"}
	if fmt.Sprint(evil.Triggers) != fmt.Sprint(want) {
		t.Errorf("triggers %q, want %q", evil.Triggers, want)
	}
	if len(evil.Actions) != 1 || evil.Actions[0].Kind != "exec" || !strings.HasSuffix(evil.Actions[0].Command, `powershell.exe`) ||
		!strings.HasPrefix(evil.Actions[0].Arguments, "-nop -w hidden -enc SQBFAFgA") {
		t.Errorf("actions %+v", evil.Actions)
	}

	d := byPath[`\Microsoft\Windows\Defrag\ScheduledDefrag`]
	if d.URI != d.Path || !d.Enabled || d.Hidden || d.RunAs != "S-1-5-18" ||
		fmt.Sprint(d.Triggers) != "[calendar 2026-01-01T03:00:00 weekly]" ||
		len(d.Actions) != 1 || d.Actions[0].Command != `%windir%\system32\defrag.exe` || d.Actions[0].Arguments != "-c -h -o -$" {
		t.Errorf("defrag %+v", d)
	}

	c := byPath[`\Microsoft\Windows\Shell\CreateObjectTask`]
	if c.Enabled || c.RunAs != "S-1-5-32-545" || len(c.Triggers) != 0 || len(c.Actions) != 1 ||
		c.Actions[0].Kind != "comhandler" || c.Actions[0].ClassID != "{690B1F5A-0E3D-4B8C-9F6A-1F0C1D2A3B4C}" || c.Actions[0].Data != "per-user" {
		t.Errorf("com task %+v", c)
	}

	u := byPath[`\Contoso\LogRotate`] // UTF-8, no BOM
	if u.Description != "Rotates Tomcat logs — nightly" || u.RunAs != `CONTOSO\svc-tomcat` || u.LogonType != "Password" ||
		len(u.Triggers) != 2 || u.Triggers[0] != "calendar 2026-01-01T01:30:00 daily" || !strings.HasPrefix(u.Triggers[1], `event <QueryList>`) ||
		u.Actions[0].WorkingDirectory != `D:\apps\tomcat-shop\logs` {
		t.Errorf("utf-8 task %+v", u)
	}
}

func TestTasksMissingRoot(t *testing.T) {
	tasks, finds := Tasks(taskFS(t), `C:\Windows\System32\NoTasksHere`)
	if len(tasks) != 0 || len(finds) != 0 {
		t.Fatal(tasks, finds)
	}
}

func utf16File(s string, order binary.AppendByteOrder, bom bool) []byte {
	var b []byte
	if bom {
		b = order.AppendUint16(b, 0xFEFF)
	}
	for _, c := range utf16.Encode([]rune(s)) {
		b = order.AppendUint16(b, c)
	}
	return b
}

func TestParseTaskEncodings(t *testing.T) {
	x := `<?xml version="1.0" encoding="UTF-16"?><Task xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task"><RegistrationInfo><Author>Ünïcødé ☃</Author></RegistrationInfo><Triggers><IdleTrigger/><SessionStateChangeTrigger><Enabled>false</Enabled><StateChange>RemoteConnect</StateChange><UserId>bob</UserId></SessionStateChangeTrigger></Triggers><Actions><Exec><Command>a.exe</Command></Exec></Actions></Task>`
	for name, b := range map[string][]byte{
		"utf16le-bom": utf16File(x, binary.LittleEndian, true),
		"utf16be-bom": utf16File(x, binary.BigEndian, true),
		"utf16le":     utf16File(x, binary.LittleEndian, false),
		"utf8-bom":    append([]byte{0xEF, 0xBB, 0xBF}, strings.Replace(x, "UTF-16", "UTF-8", 1)...),
	} {
		tk, err := ParseTask(`\T`, b)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if tk.Author != "Ünïcødé ☃" || fmt.Sprint(tk.Triggers) != "[idle sessionstatechange user=bob RemoteConnect (disabled)]" {
			t.Errorf("%s: %+v", name, tk)
		}
	}
	for name, b := range map[string][]byte{
		"odd":      append(utf16File(x, binary.LittleEndian, true), 'x'),
		"not-task": []byte(`<?xml version="1.0"?><Other/>`),
		"binary":   {0x00, 0x01, 0xC3, 0x28},
		"empty":    {},
		"charset":  []byte(`<?xml version="1.0" encoding="EBCDIC"?><Task/>`),
	} {
		if _, err := ParseTask(`\T`, b); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

// denied is a registry whose listed keys are not readable.
type denied struct {
	MapRegistry
	keys []string
}

func (d denied) check(path string) error {
	for _, k := range d.keys {
		if strings.EqualFold(k, path) {
			return fmt.Errorf("%s: %w", path, fs.ErrPermission)
		}
	}
	return nil
}

func (d denied) SubKeys(path string) ([]string, error) {
	if err := d.check(path); err != nil {
		return nil, err
	}
	return d.MapRegistry.SubKeys(path)
}

func (d denied) Values(path string) ([]Value, error) {
	if err := d.check(path); err != nil {
		return nil, err
	}
	return d.MapRegistry.Values(path)
}

func TestRunKeys(t *testing.T) {
	const sid = `S-1-5-21-1111-2222-3333-1001`
	reg := MapRegistry{
		hklmCV + `\Run`:                                                         {"SecurityHealth": {`%windir%\system32\SecurityHealthSystray.exe`}, "Updater": {`C:\ProgramData\upd\upd.exe /silent`}},
		wow(hklmCV) + `\Run`:                                                    {"Legacy32": {`"C:\Program Files (x86)\Legacy\l.exe"`}},
		hklmCV + `\RunOnceEx\0001`:                                              {"1": {`C:\Temp\stage2.dll|DllMain`}},
		hklmNTCV + `\Winlogon`:                                                  {"Shell": {"explorer.exe"}, "Userinit": {`C:\Windows\system32\userinit.exe,C:\Windows\evil.exe`}, "AutoAdminLogon": {"0"}},
		hklmNTCV + `\Windows`:                                                   {"AppInit_DLLs": {""}, "LoadAppInit_DLLs": {"0"}},
		wow(hklmNTCV) + `\Windows`:                                              {"AppInit_DLLs": {`C:\ProgramData\hook32.dll`}},
		hklmNTCV + `\Image File Execution Options\sethc.exe`:                    {"Debugger": {`C:\Windows\System32\cmd.exe`}},
		hklmNTCV + `\Image File Execution Options\notepad.exe`:                  {"UseFilter": {"0"}},
		hklmNTCV + `\SilentProcessExit\lsass.exe`:                               {"MonitorProcess": {`C:\Temp\dump.exe`}},
		`HKU\` + sid + `\SOFTWARE\Microsoft\Windows\CurrentVersion\Run`:         {"OneDrive": {`"C:\Users\bob\AppData\Local\Microsoft\OneDrive\OneDrive.exe" /background`}},
		`HKU\` + sid + `\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Windows`:  {"Load": {`C:\Users\bob\AppData\Roaming\x.exe`}, "Device": {"printer"}},
		`HKU\` + sid + `_Classes\SOFTWARE\Microsoft\Windows\CurrentVersion\Run`: {"Ignored": {"x"}},
		`HKU\S-1-5-18\SOFTWARE\Microsoft\Windows\CurrentVersion\RunOnce`:        {"SysOnce": {`cmd /c C:\Windows\Temp\a.bat`}},
	}
	as, finds := RunKeys(denied{reg, []string{`HKU\S-1-5-18\SOFTWARE\Microsoft\Windows\CurrentVersion\Run`}})
	got := map[string]Autostart{}
	for _, a := range as {
		got[a.Key+`\`+a.Name] = a
	}
	for _, k := range []string{
		hklmCV + `\Run\SecurityHealth`, hklmCV + `\Run\Updater`, wow(hklmCV) + `\Run\Legacy32`, hklmCV + `\RunOnceEx\0001\1`,
		hklmNTCV + `\Winlogon\Shell`, hklmNTCV + `\Winlogon\Userinit`, wow(hklmNTCV) + `\Windows\AppInit_DLLs`,
		hklmNTCV + `\Image File Execution Options\sethc.exe\Debugger`, hklmNTCV + `\SilentProcessExit\lsass.exe\MonitorProcess`,
		`HKU\` + sid + `\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\OneDrive`,
		`HKU\` + sid + `\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Windows\Load`,
		`HKU\S-1-5-18\SOFTWARE\Microsoft\Windows\CurrentVersion\RunOnce\SysOnce`,
	} {
		if a, ok := got[k]; !ok || a.Why == "" || a.Value == "" {
			t.Errorf("missing %s (%+v)", k, a)
		}
	}
	if len(as) != 12 {
		for _, a := range as {
			t.Logf("%+v", a)
		}
		t.Errorf("%d autostarts, want 12", len(as))
	}
	if !strings.Contains(got[`HKU\`+sid+`\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\OneDrive`].Why, "logon") {
		t.Error("why")
	}
	if len(finds) != 1 || !strings.HasSuffix(finds[0].Where, `S-1-5-18\SOFTWARE\Microsoft\Windows\CurrentVersion\Run`) ||
		!strings.Contains(finds[0].Detail, "permission denied") {
		t.Errorf("findings %v", finds)
	}
	if as, finds := RunKeys(MapRegistry{}); len(as) != 0 || len(finds) != 0 {
		t.Errorf("empty registry: %v %v", as, finds)
	}
}

func TestServices(t *testing.T) {
	reg := MapRegistry{
		servicesKey + `\Tomcat9`: {"DisplayName": {"Apache Tomcat 9.0 Tomcat9"}, "ImagePath": {`"C:\Program Files\Apache Software Foundation\Tomcat 9.0\bin\Tomcat9.exe" //RS//Tomcat9`},
			"Start": {"2"}, "Type": {"16"}, "ObjectName": {`NT Authority\LocalService`}},
		servicesKey + `\Schedule`:            {"ImagePath": {`%systemroot%\system32\svchost.exe -k netsvcs -p`}, "Start": {"2"}, "DelayedAutostart": {"1"}, "Type": {"32"}, "ObjectName": {"LocalSystem"}},
		servicesKey + `\Schedule\Parameters`: {"ServiceDll": {`%systemroot%\system32\schedsvc.dll`}},
		servicesKey + `\evildrv`:             {"ImagePath": {`\??\C:\Windows\Temp\evildrv.sys`}, "Start": {"1"}, "Type": {"1"}},
		servicesKey + `\OneSyncSvc_4f2a1`:    {"Start": {"4"}, "Type": {"224"}, "FailureCommand": {`C:\Temp\x.exe`}},
		servicesKey + `\Locked\Enum`:         {"Count": {"0"}},
	}
	svcs, finds := Services(denied{reg, []string{servicesKey + `\Locked\Parameters`}})
	if len(svcs) != 5 {
		t.Fatalf("services %+v", svcs)
	}
	by := map[string]Service{}
	for _, s := range svcs {
		by[s.Name] = s
	}
	if s := by["Tomcat9"]; s.Start != "auto" || s.Type != "own-process" || s.ObjectName != `NT Authority\LocalService` || s.DisplayName == "" || s.Key != servicesKey+`\Tomcat9` {
		t.Errorf("tomcat %+v", s)
	}
	if s := by["Schedule"]; !s.DelayedAutoStart || s.Type != "share-process" || s.ServiceDll != `%systemroot%\system32\schedsvc.dll` {
		t.Errorf("schedule %+v", s)
	}
	if s := by["evildrv"]; s.Start != "system" || s.Type != "kernel-driver" {
		t.Errorf("driver %+v", s)
	}
	if s := by["OneSyncSvc_4f2a1"]; s.Start != "disabled" || s.Type != "share-process,user-service,user-service-instance" || s.FailureCommand == "" {
		t.Errorf("user service %+v", s)
	}
	if len(finds) != 1 || !strings.HasSuffix(finds[0].Where, `Locked\Parameters`) {
		t.Errorf("findings %v", finds)
	}
	if _, finds := Services(MapRegistry{}); len(finds) != 1 {
		t.Errorf("no services key: %v", finds)
	}
	if ServiceStart(9) != "9" || ServiceType(0x110) != "own-process,interactive" || ServiceType(0x10000) != "0x10000" {
		t.Error("words")
	}
}

func TestImageBinary(t *testing.T) {
	env := func(k string) string {
		return map[string]string{"SystemRoot": `C:\Windows`, "systemroot": `C:\Windows`, "windir": `C:\Windows`}[k]
	}
	files := map[string]bool{
		`c:\program files\contoso agent\agent.exe`: true,
		`c:\windows\system32\svchost.exe`:          true,
		`c:\program.exe`:                           true, // the unquoted-path trap
	}
	exists := func(p string) bool { return files[strings.ToLower(p)] }
	for in, want := range map[string]string{
		`"C:\Program Files\Apache\Tomcat9.exe" //RS//Tomcat9`: `C:\Program Files\Apache\Tomcat9.exe`,
		`%systemroot%\system32\svchost.exe -k netsvcs -p`:     `C:\Windows\system32\svchost.exe`,
		`C:\Program Files\Contoso Agent\agent.exe -service`:   `C:\Program.exe`, // what Windows would run
		`\SystemRoot\System32\drivers\tcpip.sys`:              `C:\Windows\System32\drivers\tcpip.sys`,
		`System32\drivers\ntfs.sys`:                           `C:\Windows\System32\drivers\ntfs.sys`,
		`\??\C:\Windows\Temp\evildrv.sys`:                     `C:\Windows\Temp\evildrv.sys`,
		`D:\missing\svc.exe -x`:                               `D:\missing\svc.exe`,
		``:                                                    ``,
	} {
		if got := ImageBinary(in, env, exists); got != want {
			t.Errorf("ImageBinary(%q) = %q, want %q", in, got, want)
		}
	}
	delete(files, `c:\program.exe`)
	if got := ImageBinary(`C:\Program Files\Contoso Agent\agent.exe -service`, env, exists); got != `C:\Program Files\Contoso Agent\agent.exe` {
		t.Errorf("unquoted path: %q", got)
	}
}

func TestMapRegistryValues(t *testing.T) {
	reg := MapRegistry{`HKLM\A\B`: {"x": {"1"}, "M": {"a", "b"}}}
	vs, err := reg.Values(`hklm\a\b`)
	if err != nil || len(vs) != 2 || vs[0].Name != "M" || vs[0].Type != "REG_MULTI_SZ" || vs[1].Type != "REG_SZ" || vs[0].String() != "a\nb" {
		t.Fatalf("%+v %v", vs, err)
	}
	if vs, err := reg.Values(`HKLM\A`); err != nil || len(vs) != 0 {
		t.Fatalf("parent key: %v %v", vs, err)
	}
	if _, err := reg.Values(`HKLM\C`); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	var _ ValueLister = reg
}
