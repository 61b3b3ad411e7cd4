package windows

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Persistence on Windows: scheduled tasks, Run keys and friends, services.
// Read from the files and registry keys Windows reads, never through
// schtasks, reg or sc.

// Task is one scheduled task, from its XML file under
// C:\Windows\System32\Tasks (Task Scheduler 1.2+ schema).
type Task struct {
	Path             string       `json:"path"`           // the task's name: its file relative to the Tasks folder, like \Microsoft\Windows\Defrag\ScheduledDefrag
	File             string       `json:"file,omitempty"` // the XML file, when read by Tasks
	URI              string       `json:"uri,omitempty"`  // what the task says its name is; differs from Path when a file was copied or renamed
	Author           string       `json:"author,omitempty"`
	Description      string       `json:"description,omitempty"`
	RegistrationDate string       `json:"registration_date,omitempty"`
	Enabled          bool         `json:"enabled"`
	Hidden           bool         `json:"hidden,omitempty"`
	RunAs            string       `json:"run_as,omitempty"` // a user (name or SID) or a group
	RunLevel         string       `json:"run_level,omitempty"`
	LogonType        string       `json:"logon_type,omitempty"`
	Triggers         []string     `json:"triggers,omitempty"`
	Actions          []TaskAction `json:"actions,omitempty"`
	Mtime            *time.Time   `json:"mtime,omitempty"`
	Size             int64        `json:"size,omitempty"`
	SHA256           string       `json:"sha256,omitempty"`
}

// TaskAction is what a task does: Kind is exec, comhandler, sendemail or
// showmessage.
type TaskAction struct {
	Kind             string `json:"kind"`
	Command          string `json:"command,omitempty"`
	Arguments        string `json:"arguments,omitempty"`
	WorkingDirectory string `json:"working_directory,omitempty"`
	ClassID          string `json:"class_id,omitempty"`
	Data             string `json:"data,omitempty"`
}

type taskXML struct {
	XMLName          xml.Name `xml:"Task"`
	RegistrationInfo struct {
		Date        string `xml:"Date"`
		Author      string `xml:"Author"`
		Description string `xml:"Description"`
		URI         string `xml:"URI"`
	} `xml:"RegistrationInfo"`
	Triggers struct {
		Any []triggerXML `xml:",any"`
	} `xml:"Triggers"`
	Principals struct {
		Principal []struct {
			ID        string `xml:"id,attr"`
			UserID    string `xml:"UserId"`
			GroupID   string `xml:"GroupId"`
			RunLevel  string `xml:"RunLevel"`
			LogonType string `xml:"LogonType"`
		} `xml:"Principal"`
	} `xml:"Principals"`
	Settings struct {
		Enabled *string `xml:"Enabled"`
		Hidden  string  `xml:"Hidden"`
	} `xml:"Settings"`
	Actions struct {
		Context string      `xml:"Context,attr"`
		Any     []actionXML `xml:",any"`
	} `xml:"Actions"`
}

type triggerXML struct {
	XMLName       xml.Name
	Enabled       string `xml:"Enabled"`
	StartBoundary string `xml:"StartBoundary"`
	UserID        string `xml:"UserId"`
	Delay         string `xml:"Delay"`
	Subscription  string `xml:"Subscription"`
	StateChange   string `xml:"StateChange"`
	Repetition    struct {
		Interval string `xml:"Interval"`
	} `xml:"Repetition"`
	ByDay   *struct{} `xml:"ScheduleByDay"`
	ByWeek  *struct{} `xml:"ScheduleByWeek"`
	ByMonth *struct{} `xml:"ScheduleByMonth"`
	ByDOW   *struct{} `xml:"ScheduleByMonthDayOfWeek"`
}

type actionXML struct {
	XMLName          xml.Name
	Command          string `xml:"Command"`
	Arguments        string `xml:"Arguments"`
	WorkingDirectory string `xml:"WorkingDirectory"`
	ClassID          string `xml:"ClassId"`
	Data             string `xml:"Data"`
	Subject          string `xml:"Subject"`
	To               string `xml:"To"`
	Title            string `xml:"Title"`
	Body             string `xml:"Body"`
}

// taskText turns a task file into UTF-8: UTF-16 (little or big endian)
// with a byte order mark, UTF-16LE without one, or UTF-8.
func taskText(b []byte) ([]byte, error) {
	var order binary.ByteOrder
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		order, b = binary.LittleEndian, b[2:]
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		order, b = binary.BigEndian, b[2:]
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		b = b[3:]
	case len(b) >= 2 && b[0] == '<' && b[1] == 0:
		order = binary.LittleEndian
	}
	if order == nil {
		if !utf8.Valid(b) {
			return nil, errors.New("neither UTF-16 with a byte order mark nor UTF-8")
		}
		return b, nil
	}
	if len(b)%2 != 0 {
		return nil, errors.New("UTF-16 text with an odd number of bytes")
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = order.Uint16(b[2*i:])
	}
	return []byte(string(utf16.Decode(u))), nil
}

// ParseTask reads one task file; path is the task's name (see Task.Path).
func ParseTask(path string, xmlBytes []byte) (Task, error) {
	t := Task{Path: path, Enabled: true, Size: int64(len(xmlBytes))}
	sum := sha256.Sum256(xmlBytes)
	t.SHA256 = hex.EncodeToString(sum[:])
	text, err := taskText(xmlBytes)
	if err != nil {
		return t, err
	}
	dec := xml.NewDecoder(bytes.NewReader(text))
	dec.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-16", "utf-16le", "utf-16be", "unicode", "utf-8", "utf8", "us-ascii", "ascii":
			return in, nil // already converted by taskText
		}
		return nil, fmt.Errorf("unsupported encoding %q", label)
	}
	var x taskXML
	if err := dec.Decode(&x); err != nil {
		return t, fmt.Errorf("not a task: %w", err)
	}
	ri := x.RegistrationInfo
	t.URI, t.Author, t.Description, t.RegistrationDate = ri.URI, ri.Author, strings.TrimSpace(ri.Description), ri.Date
	if x.Settings.Enabled != nil {
		t.Enabled = xmlBool(*x.Settings.Enabled, true)
	}
	t.Hidden = xmlBool(x.Settings.Hidden, false)
	for i, p := range x.Principals.Principal {
		if i == 0 || (x.Actions.Context != "" && p.ID == x.Actions.Context) {
			t.RunAs, t.RunLevel, t.LogonType = p.UserID, p.RunLevel, p.LogonType
			if t.RunAs == "" {
				t.RunAs = p.GroupID
			}
		}
	}
	for _, tr := range x.Triggers.Any {
		t.Triggers = append(t.Triggers, tr.String())
	}
	for _, a := range x.Actions.Any {
		act := TaskAction{Kind: strings.ToLower(a.XMLName.Local), Command: a.Command, Arguments: a.Arguments,
			WorkingDirectory: a.WorkingDirectory, ClassID: a.ClassID, Data: strings.TrimSpace(a.Data)}
		switch act.Kind {
		case "sendemail":
			act.Arguments = strings.TrimSpace("to=" + a.To + " subject=" + a.Subject)
		case "showmessage":
			act.Arguments = strings.TrimSpace(a.Title + ": " + a.Body)
		}
		t.Actions = append(t.Actions, act)
	}
	return t, nil
}

func xmlBool(s string, def bool) bool {
	switch strings.TrimSpace(strings.ToLower(s)) {
	case "true", "1":
		return true
	case "false", "0":
		return false
	}
	return def
}

// String is a short form of a trigger: "logon", "boot", "calendar
// 2026-01-01T03:00:00 daily", "time 2026-01-01T03:00:00 every PT5M", ...
func (tr triggerXML) String() string {
	s := strings.TrimSuffix(strings.ToLower(tr.XMLName.Local), "trigger")
	add := func(v string) {
		if v = strings.Join(strings.Fields(v), " "); v != "" {
			s += " " + v
		}
	}
	add(tr.StartBoundary)
	switch {
	case tr.ByDay != nil:
		add("daily")
	case tr.ByWeek != nil:
		add("weekly")
	case tr.ByMonth != nil, tr.ByDOW != nil:
		add("monthly")
	}
	if tr.Repetition.Interval != "" {
		add("every " + tr.Repetition.Interval)
	}
	if tr.UserID != "" {
		add("user=" + tr.UserID)
	}
	if tr.StateChange != "" {
		add(tr.StateChange)
	}
	if tr.Delay != "" {
		add("delay " + tr.Delay)
	}
	add(tr.Subscription)
	if !xmlBool(tr.Enabled, true) {
		add("(disabled)")
	}
	return s
}

// Tasks reads every task under tasksRoot (C:\Windows\System32\Tasks). A
// file that does not parse is a Finding; the walk goes on. A missing
// tasksRoot is no task.
func Tasks(fsys FS, tasksRoot string) ([]Task, []Finding) {
	var out []Task
	var finds []Finding
	var walk func(dir, name string)
	walk = func(dir, name string) {
		ents, err := fsys.ReadDir(dir)
		if err != nil {
			if !(name == "" && errors.Is(err, fs.ErrNotExist)) {
				finds = append(finds, Finding{"task folder not readable", dir, err.Error()})
			}
			return
		}
		sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
		for _, e := range ents {
			p, n := winJoin(dir, e.Name()), name+`\`+e.Name()
			if e.IsDir() {
				walk(p, n)
				continue
			}
			b, err := fsys.ReadFile(p)
			if err != nil {
				finds = append(finds, Finding{"task file not readable", p, err.Error()})
				continue
			}
			t, err := ParseTask(n, b)
			if err != nil {
				finds = append(finds, Finding{"task file does not parse", p, err.Error() + " (sha256 " + t.SHA256 + ")"})
				continue
			}
			t.File = p
			if fi, err := e.Info(); err == nil {
				mt := fi.ModTime().UTC()
				t.Mtime = &mt
			}
			out = append(out, t)
		}
	}
	walk(tasksRoot, "")
	return out, finds
}

// Autostart is a registry value that makes something run by itself.
type Autostart struct {
	Key   string `json:"key"`
	Name  string `json:"name"`
	Value string `json:"value"`
	Why   string `json:"why"`
}

const (
	hklmCV   = `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion`
	hklmNTCV = `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion`
)

var runKeys = []struct{ sub, why string }{
	{"Run", "runs at every logon"},
	{"RunOnce", "runs at the next logon, then is deleted"},
	{"RunOnceEx", "runs at the next logon, then is deleted"},
	{"RunServices", "runs at boot (legacy)"},
	{"RunServicesOnce", "runs at the next boot (legacy)"},
	{`Policies\Explorer\Run`, "runs at every logon (policy)"},
}

// wow is the 32-bit view of a HKLM\SOFTWARE key.
func wow(key string) string { return strings.Replace(key, `\SOFTWARE\`, `\SOFTWARE\WOW6432Node\`, 1) }

// RunKeys lists the registry values that start programs: Run, RunOnce,
// RunOnceEx and RunServices(Once) of the machine (both views) and of every
// loaded user hive, Winlogon Shell and Userinit, AppInit_DLLs, the user
// Load and Run values, Image File Execution Options debuggers and
// SilentProcessExit monitors. Missing keys are no finding; unreadable ones
// are.
func RunKeys(reg ValueLister) ([]Autostart, []Finding) {
	var out []Autostart
	var finds []Finding
	bad := func(key string, err error) bool {
		if err == nil {
			return false
		}
		if !errors.Is(err, fs.ErrNotExist) {
			finds = append(finds, Finding{"registry key not readable", key, err.Error()})
		}
		return true
	}
	// values adds the values of key (all, or only those named).
	values := func(key, why string, names ...string) {
		vals, err := reg.Values(key)
		if bad(key, err) {
			return
		}
		for _, v := range vals {
			if len(names) > 0 && !containsFold(names, v.Name) {
				continue
			}
			if len(names) > 0 && v.String() == "" && !strings.EqualFold(v.Name, "Shell") && !strings.EqualFold(v.Name, "Userinit") {
				continue // an empty AppInit_DLLs, Load, Run: nothing starts
			}
			out = append(out, Autostart{Key: key, Name: v.Name, Value: v.String(), Why: why})
		}
	}
	runs := func(cv string) {
		for _, r := range runKeys {
			key := cv + `\` + r.sub
			values(key, r.why)
			if r.sub == "RunOnceEx" { // entries sit in numbered subkeys
				subs, err := reg.SubKeys(key)
				if bad(key, err) {
					continue
				}
				sort.Strings(subs)
				for _, s := range subs {
					values(key+`\`+s, r.why)
				}
			}
		}
	}
	runs(hklmCV)
	runs(wow(hklmCV))
	values(hklmNTCV+`\Winlogon`, "Winlogon starts these at logon (defaults: explorer.exe; C:\\Windows\\system32\\userinit.exe,)", "Shell", "Userinit")
	for _, k := range []string{hklmNTCV + `\Windows`, wow(hklmNTCV) + `\Windows`} {
		values(k, "DLLs loaded into every process that loads user32.dll (if LoadAppInit_DLLs is 1)", "AppInit_DLLs")
	}
	for _, root := range []string{hklmNTCV, wow(hklmNTCV)} {
		ifeo := root + `\Image File Execution Options`
		exes, err := reg.SubKeys(ifeo)
		if !bad(ifeo, err) {
			sort.Strings(exes)
			for _, exe := range exes {
				values(ifeo+`\`+exe, "runs instead of "+exe+" (debugger)", "Debugger")
			}
		}
		spe := root + `\SilentProcessExit`
		exes, err = reg.SubKeys(spe)
		if !bad(spe, err) {
			sort.Strings(exes)
			for _, exe := range exes {
				values(spe+`\`+exe, "runs when "+exe+" exits (if its IFEO GlobalFlag has 0x200)", "MonitorProcess")
			}
		}
	}
	users, err := reg.SubKeys(`HKU`)
	if !bad(`HKU`, err) {
		sort.Strings(users)
		for _, sid := range users {
			if strings.HasSuffix(strings.ToLower(sid), "_classes") {
				continue
			}
			u := `HKU\` + sid + `\SOFTWARE\Microsoft`
			runs(u + `\Windows\CurrentVersion`)
			values(u+`\Windows NT\CurrentVersion\Windows`, "runs at logon of this user (legacy Load/Run)", "Load", "Run")
			values(u+`\Windows NT\CurrentVersion\Winlogon`, "the shell of this user, instead of the machine's", "Shell")
		}
	}
	return out, finds
}

func containsFold(list []string, s string) bool {
	for _, l := range list {
		if strings.EqualFold(l, s) {
			return true
		}
	}
	return false
}

// Service is a service or driver as the registry configures it; the live
// state (running, PID) is filled by the live collector.
type Service struct {
	Name             string `json:"name"`
	Key              string `json:"key"`
	DisplayName      string `json:"display_name,omitempty"`
	ImagePath        string `json:"image_path,omitempty"` // as stored, %variables% not expanded
	Start            string `json:"start,omitempty"`      // boot, system, auto, demand, disabled
	DelayedAutoStart bool   `json:"delayed_auto_start,omitempty"`
	Type             string `json:"type,omitempty"`        // kernel-driver, own-process, share-process, ...
	ObjectName       string `json:"object_name,omitempty"` // the account it runs as (drivers: the driver object)
	ServiceDll       string `json:"service_dll,omitempty"` // Parameters\ServiceDll, the code a svchost service runs
	FailureCommand   string `json:"failure_command,omitempty"`
}

const servicesKey = `HKLM\SYSTEM\CurrentControlSet\Services`

var startWords = []string{"boot", "system", "auto", "demand", "disabled"}

var typeBits = []struct {
	bit  uint64
	word string
}{
	{0x1, "kernel-driver"}, {0x2, "fs-driver"}, {0x4, "adapter"}, {0x8, "recognizer-driver"},
	{0x10, "own-process"}, {0x20, "share-process"}, {0x40, "user-service"}, {0x80, "user-service-instance"},
	{0x100, "interactive"}, {0x200, "pkg-service"},
}

// ServiceType turns a service Type number into words joined by commas.
func ServiceType(n uint64) string {
	var w []string
	for _, b := range typeBits {
		if n&b.bit != 0 {
			w = append(w, b.word)
			n &^= b.bit
		}
	}
	if n != 0 {
		w = append(w, "0x"+strconv.FormatUint(n, 16))
	}
	return strings.Join(w, ",")
}

// ServiceStart turns a Start number into its word.
func ServiceStart(n uint64) string {
	if n < uint64(len(startWords)) {
		return startWords[n]
	}
	return strconv.FormatUint(n, 10)
}

// Services lists every subkey of HKLM\SYSTEM\CurrentControlSet\Services:
// services and drivers.
func Services(reg ValueLister) ([]Service, []Finding) {
	names, err := reg.SubKeys(servicesKey)
	if err != nil {
		return nil, []Finding{{"registry key not readable", servicesKey, err.Error()}}
	}
	sort.Slice(names, func(i, j int) bool { return strings.ToLower(names[i]) < strings.ToLower(names[j]) })
	var out []Service
	var finds []Finding
	for _, n := range names {
		key := servicesKey + `\` + n
		s := Service{Name: n, Key: key}
		vals, err := reg.Values(key)
		if err != nil {
			finds = append(finds, Finding{"registry key not readable", key, err.Error()})
		}
		for _, v := range vals {
			num := func() (uint64, bool) {
				if len(v.Data) == 0 {
					return 0, false
				}
				x, err := strconv.ParseUint(strings.TrimSpace(v.Data[0]), 0, 64)
				return x, err == nil
			}
			switch strings.ToLower(v.Name) {
			case "displayname":
				s.DisplayName = v.String()
			case "imagepath":
				s.ImagePath = v.String()
			case "objectname":
				s.ObjectName = v.String()
			case "failurecommand":
				s.FailureCommand = v.String()
			case "start":
				if x, ok := num(); ok {
					s.Start = ServiceStart(x)
				}
			case "type":
				if x, ok := num(); ok {
					s.Type = ServiceType(x)
				}
			case "delayedautostart":
				x, ok := num()
				s.DelayedAutoStart = ok && x != 0
			}
		}
		pk := key + `\Parameters`
		if vals, err := reg.Values(pk); err == nil {
			for _, v := range vals {
				if strings.EqualFold(v.Name, "ServiceDll") {
					s.ServiceDll = v.String()
				}
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			finds = append(finds, Finding{"registry key not readable", pk, err.Error()})
		}
		out = append(out, s)
	}
	return out, finds
}

// ImageBinary finds the file an ImagePath (or ServiceDll) runs: it expands
// %variables%, resolves the kernel's \SystemRoot\ and \??\ forms and
// System32\ relative to SystemRoot, and for an unquoted path with spaces
// tries each prefix as CreateProcess does (exists says whether a file is
// there). It returns "" when it cannot tell.
func ImageBinary(imagePath string, env Env, exists func(string) bool) string {
	p := strings.TrimSpace(expand(imagePath, env))
	if p == "" {
		return ""
	}
	sysroot := env("SystemRoot")
	if sysroot == "" {
		sysroot = `C:\Windows`
	}
	if strings.HasPrefix(p, `"`) {
		if end := strings.IndexByte(p[1:], '"'); end >= 0 {
			return fixPath(p[1:1+end], sysroot)
		}
		return fixPath(strings.Trim(p, `"`), sysroot)
	}
	fields := strings.Split(p, " ")
	for i := 1; i <= len(fields); i++ {
		c := fixPath(strings.Join(fields[:i], " "), sysroot)
		if exists(c) {
			return c
		}
		if !strings.Contains(strings.ToLower(c[max(strings.LastIndex(c, `\`), 0):]), ".") && exists(c+".exe") {
			return c + ".exe"
		}
	}
	return fixPath(fields[0], sysroot)
}

func fixPath(p, sysroot string) string {
	lp := strings.ToLower(p)
	switch {
	case strings.HasPrefix(lp, `\??\`):
		return p[4:]
	case strings.HasPrefix(lp, `\systemroot\`):
		return winJoin(sysroot, p[len(`\systemroot\`):])
	case strings.HasPrefix(lp, `system32\`), strings.HasPrefix(lp, `syswow64\`):
		return winJoin(sysroot, p)
	}
	return p
}
