//go:build windows

package live

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"sort"
	"strings"
	"syscall"
	"time"
	"unicode/utf16"
	"unsafe"

	"github.com/custos-ir/custos/collect/hostfile"
	cwin "github.com/custos-ir/custos/collect/windows"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// Windows sources: sessions, services, scheduled tasks, autostarts and
// local accounts, read through the registry, the task files and the
// Win32 APIs (wtsapi32, advapi32, netapi32), never by running query.exe,
// sc.exe, schtasks.exe or net.exe.

func init() {
	sources["users"] = WindowsSessions
	sources["services"] = WindowsServices
	sources["scheduled"] = WindowsTasks
	sources["autostart"] = WindowsAutostarts
	sources["accounts"] = Accounts
	platformHostFacts = ntfsLastAccess
}

// ntfsLastAccess reads whether NTFS updates last-access times
// (HKLM\SYSTEM\CurrentControlSet\Control\FileSystem, NtfsDisableLastAccessUpdate).
func ntfsLastAccess(f *HostFacts, e *errs) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SYSTEM\CurrentControlSet\Control\FileSystem`, registry.QUERY_VALUE|registry.WOW64_64KEY)
	if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
		f.NTFSLastAccess = "not set (the system default)"
		return
	}
	if err != nil {
		e.add("ntfs last access", err)
		return
	}
	defer k.Close()
	v, _, err := k.GetIntegerValue("NtfsDisableLastAccessUpdate")
	if err != nil {
		f.NTFSLastAccess = "not set (the system default)"
		return
	}
	f.NTFSLastAccess = map[uint64]string{
		0: "updated", 1: "not updated",
		0x80000000: "updated (set by the user)", 0x80000001: "not updated (set by the user)",
		0x80000002: "updated (managed by the system)", 0x80000003: "not updated (managed by the system)",
	}[v]
	if f.NTFSLastAccess == "" {
		f.NTFSLastAccess = fmt.Sprintf("unknown value %#x", v)
	}
}

// findingLine carries a discovery Finding that belongs to no item (an
// unreadable registry key, a task file that does not parse).
type findingLine struct {
	Finding string   `json:"finding"`
	Where   string   `json:"where"`
	Errors  []string `json:"errors"`
}

func putFindings(out *lineWriter, finds []cwin.Finding) error {
	for _, f := range finds {
		if err := out.put(findingLine{Finding: f.What, Where: f.Where, Errors: []string{f.Detail}}); err != nil {
			return err
		}
	}
	return nil
}

// winHasher hashes files once each (svchost.exe serves dozens of
// services).
type winHasher map[string]winSum

type winSum struct {
	sum  string
	size int64
	err  error
}

func (h winHasher) file(p string) (string, int64, error) {
	k := strings.ToLower(p)
	if s, ok := h[k]; ok {
		return s.sum, s.size, s.err
	}
	var s winSum
	f, _, err := hostfile.Open(cwin.NativePath(p))
	if err != nil {
		s.err = err
	} else {
		s.size = f.Record().Size
		s.sum, s.err = hostfile.Hash(context.Background(), f, 0)
		f.Close()
	}
	h[k] = s
	return s.sum, s.size, s.err
}

func winExists(p string) bool {
	fi, err := os.Stat(cwin.NativePath(p))
	return err == nil && !fi.IsDir()
}

func filetime(v uint64) *time.Time {
	if v == 0 {
		return nil
	}
	ft := windows.Filetime{LowDateTime: uint32(v), HighDateTime: uint32(v >> 32)}
	return utc(time.Unix(0, ft.Nanoseconds()))
}

func utf16Bytes(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// ---- users: terminal services sessions ----

var (
	modwtsapi32                     = windows.NewLazySystemDLL("wtsapi32.dll")
	procWTSQuerySessionInformationW = modwtsapi32.NewProc("WTSQuerySessionInformationW")
)

// WTS_INFO_CLASS values.
const (
	wtsUserName           = 5
	wtsDomainName         = 7
	wtsClientName         = 10
	wtsClientAddress      = 14
	wtsClientProtocolType = 16
	wtsSessionInfo        = 24
)

// WinSession is one line of the "users" source on Windows: a session of
// the terminal services (console, RDP, the services session 0).
type WinSession struct {
	SessionID      uint32     `json:"session_id"`
	Terminal       string     `json:"terminal"` // the window station: Console, RDP-Tcp#3, Services
	State          string     `json:"state"`
	User           string     `json:"user,omitempty"`
	Domain         string     `json:"domain,omitempty"`
	Host           string     `json:"host,omitempty"`           // where the session came from: client address, else client name
	ClientName     string     `json:"client_name,omitempty"`    // as the RDP client reports it
	ClientAddress  string     `json:"client_address,omitempty"` // as the RDP client reports it (behind NAT: its own address)
	Protocol       string     `json:"protocol,omitempty"`
	Started        *time.Time `json:"started,omitempty"` // logon time
	ConnectTime    *time.Time `json:"connect_time,omitempty"`
	DisconnectTime *time.Time `json:"disconnect_time,omitempty"`
	LastInputTime  *time.Time `json:"last_input_time,omitempty"`
	Errors         []string   `json:"errors,omitempty"`
}

var wtsStates = []string{"active", "connected", "connect-query", "shadow", "disconnected", "idle", "listen", "reset", "down", "init"}

func wtsQuery(session, class uint32) ([]byte, error) {
	if err := procWTSQuerySessionInformationW.Find(); err != nil {
		return nil, err
	}
	var buf *byte
	var n uint32
	r, _, err := procWTSQuerySessionInformationW.Call(0, uintptr(session), uintptr(class), uintptr(unsafe.Pointer(&buf)), uintptr(unsafe.Pointer(&n)))
	if r == 0 {
		return nil, err
	}
	if buf == nil {
		return nil, nil
	}
	defer windows.WTSFreeMemory(uintptr(unsafe.Pointer(buf)))
	return append([]byte(nil), unsafe.Slice(buf, n)...), nil
}

// WindowsSessions lists sessions with their user, client and times.
func WindowsSessions(ctx context.Context, w io.Writer) error {
	// x/sys panics on a missing entry point: check it is there first.
	if err := modwtsapi32.NewProc("WTSEnumerateSessionsW").Find(); err != nil {
		return err
	}
	if err := modwtsapi32.NewProc("WTSFreeMemory").Find(); err != nil {
		return err
	}
	var infos *windows.WTS_SESSION_INFO
	var count uint32
	if err := windows.WTSEnumerateSessions(0, 0, 1, &infos, &count); err != nil {
		return fmt.Errorf("WTSEnumerateSessions: %w", err)
	}
	var sessions []WinSession
	for _, si := range unsafe.Slice(infos, count) {
		s := WinSession{SessionID: si.SessionID, Terminal: windows.UTF16PtrToString(si.WindowStationName), State: fmt.Sprint(si.State)}
		if int(si.State) < len(wtsStates) {
			s.State = wtsStates[si.State]
		}
		sessions = append(sessions, s)
	}
	windows.WTSFreeMemory(uintptr(unsafe.Pointer(infos)))

	out := newLines(w)
	for _, s := range sessions {
		if err := ctx.Err(); err != nil {
			return err
		}
		var e errs
		str := func(class uint32, what string) string {
			b, err := wtsQuery(s.SessionID, class)
			e.add(what, err)
			return utf16Bytes(b)
		}
		s.User = str(wtsUserName, "user name")
		s.Domain = str(wtsDomainName, "domain")
		s.ClientName = str(wtsClientName, "client name")
		if b, err := wtsQuery(s.SessionID, wtsClientAddress); err != nil {
			e.add("client address", err)
		} else {
			s.ClientAddress = wtsAddress(b)
		}
		if b, err := wtsQuery(s.SessionID, wtsClientProtocolType); err != nil {
			e.add("protocol", err)
		} else if len(b) >= 2 {
			s.Protocol = map[uint16]string{0: "console", 1: "ica", 2: "rdp"}[binary.LittleEndian.Uint16(b)]
		}
		// WTSINFOW: 8 DWORDs, WCHAR[32+17+21], then 8-aligned LARGE_INTEGERs
		// Connect, Disconnect, LastInput, Logon, Current (FILETIMEs).
		if b, err := wtsQuery(s.SessionID, wtsSessionInfo); err != nil {
			e.add("session times", err)
		} else if len(b) >= 176+40 {
			t := func(i int) *time.Time { return filetime(binary.LittleEndian.Uint64(b[176+8*i:])) }
			s.ConnectTime, s.DisconnectTime, s.LastInputTime, s.Started = t(0), t(1), t(2), t(3)
		}
		s.Host = s.ClientAddress
		if s.Host == "" {
			s.Host = s.ClientName
		}
		s.Errors = e
		if err := out.put(s); err != nil {
			return err
		}
	}
	return nil
}

// wtsAddress reads a WTS_CLIENT_ADDRESS: an IPv4 address sits two bytes
// into Address, an IPv6 one at its start.
func wtsAddress(b []byte) string {
	if len(b) < 24 {
		return ""
	}
	addr := b[4:24]
	switch binary.LittleEndian.Uint32(b) {
	case 2: // AF_INET
		return net.IP(addr[2:6]).String()
	case 23: // AF_INET6
		return net.IP(addr[:16]).String()
	}
	return ""
}

// ---- services ----

// WinService is one line of the "services" source on Windows: the
// registry configuration with the live state from the service manager and
// the hash of what it runs.
type WinService struct {
	cwin.Service
	State            string   `json:"state,omitempty"` // running, stopped, ...; empty if the service manager does not know it
	PID              uint32   `json:"pid,omitempty"`
	KnownToSCM       bool     `json:"known_to_scm"` // false: a key the service manager did not load (not a service, or added behind its back since boot)
	Binary           string   `json:"binary,omitempty"`
	BinarySize       int64    `json:"binary_size,omitempty"`
	BinarySHA256     string   `json:"binary_sha256,omitempty"`
	ServiceDllPath   string   `json:"service_dll_path,omitempty"`
	ServiceDllSHA256 string   `json:"service_dll_sha256,omitempty"`
	Errors           []string `json:"errors,omitempty"`
}

var scmStates = []string{1: "stopped", 2: "start-pending", 3: "stop-pending", 4: "running", 5: "continue-pending", 6: "pause-pending", 7: "paused"}

type scmEntry struct {
	name   string
	status windows.SERVICE_STATUS_PROCESS
}

// scmList asks the service manager for every service's state and PID with
// only the rights to enumerate (svc/mgr would ask for full access).
func scmList() (map[string]scmEntry, error) {
	h, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT|windows.SC_MANAGER_ENUMERATE_SERVICE)
	if err != nil {
		return nil, fmt.Errorf("OpenSCManager: %w", err)
	}
	defer windows.CloseServiceHandle(h)
	out := map[string]scmEntry{}
	var resume uint32
	buf := make([]byte, 64<<10)
	for {
		var needed, n uint32
		err := windows.EnumServicesStatusEx(h, windows.SC_ENUM_PROCESS_INFO, windows.SERVICE_TYPE_ALL, windows.SERVICE_STATE_ALL,
			&buf[0], uint32(len(buf)), &needed, &n, &resume, nil)
		if err != nil && err != windows.ERROR_MORE_DATA {
			return out, fmt.Errorf("EnumServicesStatusEx: %w", err)
		}
		if n > 0 {
			for _, e := range unsafe.Slice((*windows.ENUM_SERVICE_STATUS_PROCESS)(unsafe.Pointer(&buf[0])), n) {
				name := windows.UTF16PtrToString(e.ServiceName)
				out[strings.ToLower(name)] = scmEntry{name, e.ServiceStatusProcess}
			}
		}
		if err == nil {
			return out, nil
		}
		if n == 0 {
			buf = make([]byte, max(int(needed), 2*len(buf)))
		}
	}
}

// WindowsServices lists every service and driver key with its live state.
func WindowsServices(ctx context.Context, w io.Writer) error {
	svcs, finds := cwin.Services(cwin.HostRegistry{})
	scm, scmErr := scmList()
	if len(svcs) == 0 && scmErr != nil {
		for _, f := range finds {
			scmErr = errors.Join(scmErr, errors.New(f.String()))
		}
		return scmErr
	}
	out := newLines(w)
	env := cwin.Env(os.Getenv)
	h := winHasher{}
	for _, s := range svcs {
		if err := ctx.Err(); err != nil {
			return err
		}
		ws := WinService{Service: s}
		var e errs
		rest := finds[:0]
		for _, f := range finds {
			if strings.EqualFold(f.Where, s.Key) || strings.HasPrefix(strings.ToLower(f.Where), strings.ToLower(s.Key)+`\`) {
				e.add(f.What+" "+f.Where, errors.New(f.Detail))
			} else {
				rest = append(rest, f)
			}
		}
		finds = rest
		if st, ok := scm[strings.ToLower(s.Name)]; ok {
			ws.KnownToSCM, ws.PID = true, st.status.ProcessId
			if int(st.status.CurrentState) < len(scmStates) {
				ws.State = scmStates[st.status.CurrentState]
			}
			delete(scm, strings.ToLower(s.Name))
		}
		if scmErr != nil {
			e.add("service manager", scmErr)
		}
		if s.ImagePath != "" {
			ws.Binary = cwin.ImageBinary(s.ImagePath, env, winExists)
			if ws.Binary != "" {
				var err error
				ws.BinarySHA256, ws.BinarySize, err = h.file(ws.Binary)
				e.add("binary hash", err)
			}
		}
		if s.ServiceDll != "" {
			ws.ServiceDllPath = cwin.ImageBinary(s.ServiceDll, env, winExists)
			if ws.ServiceDllPath != "" {
				var err error
				ws.ServiceDllSHA256, _, err = h.file(ws.ServiceDllPath)
				e.add("service dll hash", err)
			}
		}
		ws.Errors = e
		if err := out.put(ws); err != nil {
			return err
		}
	}
	// Known to the service manager without a registry key: odd enough to
	// show.
	var left []string
	for k := range scm {
		left = append(left, k)
	}
	sort.Strings(left)
	for _, k := range left {
		st := scm[k]
		ws := WinService{Service: cwin.Service{Name: st.name}, KnownToSCM: true, PID: st.status.ProcessId,
			Errors: []string{"no registry key under HKLM\\SYSTEM\\CurrentControlSet\\Services"}}
		if int(st.status.CurrentState) < len(scmStates) {
			ws.State = scmStates[st.status.CurrentState]
		}
		if err := out.put(ws); err != nil {
			return err
		}
	}
	return putFindings(out, finds)
}

// ---- scheduled tasks ----

// WinTask is one line of the "scheduled" source on Windows.
type WinTask struct {
	cwin.Task
	Errors []string `json:"errors,omitempty"`
}

// WindowsTasks lists every scheduled task from its XML file under
// System32\Tasks. A file that does not parse is a line with "finding".
func WindowsTasks(ctx context.Context, w io.Writer) error {
	tasks, finds := cwin.Tasks(cwin.HostFS{}, cwin.SystemRoot()+`\System32\Tasks`)
	out := newLines(w)
	for _, t := range tasks {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := out.put(WinTask{Task: t}); err != nil {
			return err
		}
	}
	return putFindings(out, finds)
}

// ---- autostart ----

// WinAutostart is one line of the "autostart" source on Windows: a
// registry value (kind "registry") or a file in a Startup folder (kind
// "startup-folder").
type WinAutostart struct {
	Kind   string     `json:"kind"`
	Key    string     `json:"key,omitempty"`
	Name   string     `json:"name,omitempty"`
	Value  string     `json:"value,omitempty"`
	Why    string     `json:"why,omitempty"`
	Path   string     `json:"path,omitempty"` // the file: in the Startup folder, or the one the value runs
	Size   int64      `json:"size,omitempty"`
	Mtime  *time.Time `json:"mtime,omitempty"`
	SHA256 string     `json:"sha256,omitempty"`
	Errors []string   `json:"errors,omitempty"`
}

const profileList = `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList`

// WindowsAutostarts lists Run keys and friends (see
// collect/windows.RunKeys), then the Startup folders of all users and of
// every profile.
func WindowsAutostarts(ctx context.Context, w io.Writer) error {
	reg := cwin.HostRegistry{}
	as, finds := cwin.RunKeys(reg)
	out := newLines(w)
	env := cwin.Env(os.Getenv)
	h := winHasher{}
	for _, a := range as {
		if err := ctx.Err(); err != nil {
			return err
		}
		l := WinAutostart{Kind: "registry", Key: a.Key, Name: a.Name, Value: a.Value, Why: a.Why}
		// What the value runs, when it names a file that is there (user
		// values are expanded with the collector's environment).
		if p := cwin.ImageBinary(a.Value, env, winExists); p != "" && winExists(p) {
			var e errs
			var err error
			l.Path = p
			l.SHA256, l.Size, err = h.file(p)
			e.add("hash", err)
			l.Errors = e
		}
		if err := out.put(l); err != nil {
			return err
		}
	}

	programData := os.Getenv("ProgramData")
	if programData == "" {
		programData = `C:\ProgramData`
	}
	folders := []struct{ dir, why string }{{programData + `\Microsoft\Windows\Start Menu\Programs\StartUp`, "Startup folder of all users"}}
	seen := map[string]bool{}
	addProfile := func(p, who string) {
		if p == "" || seen[strings.ToLower(p)] {
			return
		}
		seen[strings.ToLower(p)] = true
		folders = append(folders, struct{ dir, why string }{p + `\AppData\Roaming\Microsoft\Windows\Start Menu\Programs\Startup`, "Startup folder of " + who})
	}
	sids, err := reg.SubKeys(profileList)
	if err != nil {
		finds = append(finds, cwin.Finding{What: "registry key not readable", Where: profileList, Detail: err.Error()})
	}
	sort.Strings(sids)
	for _, sid := range sids {
		p, err := reg.String(profileList+`\`+sid, "ProfileImagePath")
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			finds = append(finds, cwin.Finding{What: "registry value not readable", Where: profileList + `\` + sid + `\ProfileImagePath`, Detail: err.Error()})
		}
		addProfile(p, sid)
	}
	sysDrive := os.Getenv("SystemDrive")
	if sysDrive == "" {
		sysDrive = "C:"
	}
	if ents, err := os.ReadDir(sysDrive + `\Users`); err == nil {
		for _, e := range ents {
			if e.IsDir() {
				addProfile(sysDrive+`\Users\`+e.Name(), e.Name())
			}
		}
	}
	for _, f := range folders {
		ents, err := os.ReadDir(f.dir)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				finds = append(finds, cwin.Finding{What: "Startup folder not readable", Where: f.dir, Detail: err.Error()})
			}
			continue
		}
		for _, e := range ents {
			if err := ctx.Err(); err != nil {
				return err
			}
			if e.IsDir() {
				continue
			}
			p := f.dir + `\` + e.Name()
			l := WinAutostart{Kind: "startup-folder", Path: p, Why: f.why}
			var problems errs
			if fi, err := e.Info(); err == nil {
				l.Size, l.Mtime = fi.Size(), utc(fi.ModTime())
			} else {
				problems.add("stat", err)
			}
			var err error
			l.SHA256, _, err = h.file(p)
			problems.add("hash", err)
			l.Errors = problems
			if err := out.put(l); err != nil {
				return err
			}
		}
	}
	return putFindings(out, finds)
}

// ---- accounts ----

var (
	modnetapi32                 = windows.NewLazySystemDLL("netapi32.dll")
	procNetUserEnum             = modnetapi32.NewProc("NetUserEnum")
	procNetLocalGroupEnum       = modnetapi32.NewProc("NetLocalGroupEnum")
	procNetLocalGroupGetMembers = modnetapi32.NewProc("NetLocalGroupGetMembers")
	procNetApiBufferFree        = modnetapi32.NewProc("NetApiBufferFree")
)

const (
	netMaxPreferred = 0xFFFFFFFF
	netMoreData     = 234 // ERROR_MORE_DATA
	timeqForever    = 0xFFFFFFFF
)

// userInfo3 is USER_INFO_3.
type userInfo3 struct {
	Name, Password                    *uint16
	PasswordAge, Priv                 uint32
	HomeDir, Comment                  *uint16
	Flags                             uint32
	ScriptPath                        *uint16
	AuthFlags                         uint32
	FullName, UsrComment, Parms       *uint16
	Workstations                      *uint16
	LastLogon, LastLogoff, AcctExpire uint32
	MaxStorage, UnitsPerWeek          uint32
	LogonHours                        *byte
	BadPwCount, NumLogons             uint32
	LogonServer                       *uint16
	CountryCode, CodePage             uint32
	UserID, PrimaryGroupID            uint32
	Profile, HomeDirDrive             *uint16
	PasswordExpired                   uint32
}

// localGroupInfo1 is LOCALGROUP_INFO_1.
type localGroupInfo1 struct{ Name, Comment *uint16 }

// localGroupMembersInfo2 is LOCALGROUP_MEMBERS_INFO_2.
type localGroupMembersInfo2 struct {
	Sid           *windows.SID
	SidUsage      uint32
	DomainAndName *uint16
}

var userFlags = []struct {
	bit  uint32
	word string
}{
	{0x1, "script"}, {0x2, "disabled"}, {0x8, "homedir-required"}, {0x10, "locked"}, {0x20, "password-not-required"},
	{0x40, "password-cant-change"}, {0x80, "encrypted-text-password-allowed"}, {0x100, "temp-duplicate-account"},
	{0x200, "normal-account"}, {0x800, "interdomain-trust-account"}, {0x1000, "workstation-trust-account"},
	{0x2000, "server-trust-account"}, {0x10000, "password-never-expires"}, {0x20000, "mns-logon-account"},
	{0x40000, "smartcard-required"}, {0x80000, "trusted-for-delegation"}, {0x100000, "not-delegated"},
	{0x200000, "use-des-key-only"}, {0x400000, "dont-require-preauth"}, {0x800000, "password-expired"},
	{0x1000000, "trusted-to-authenticate-for-delegation"},
}

// LocalUser is a "user" line of the "accounts" source.
type LocalUser struct {
	Kind                 string     `json:"kind"` // user
	Name                 string     `json:"name"`
	SID                  string     `json:"sid,omitempty"`
	RID                  uint32     `json:"rid"`
	FullName             string     `json:"full_name,omitempty"`
	Comment              string     `json:"comment,omitempty"`
	UserComment          string     `json:"user_comment,omitempty"`
	Privilege            string     `json:"privilege"` // guest, user, admin
	Flags                []string   `json:"flags,omitempty"`
	Disabled             bool       `json:"disabled"`
	Locked               bool       `json:"locked"`
	PasswordNeverExpires bool       `json:"password_never_expires"`
	PasswordNotRequired  bool       `json:"password_not_required"`
	PasswordExpired      bool       `json:"password_expired,omitempty"`
	LastLogon            *time.Time `json:"last_logon,omitempty"` // this machine's record; absent: never
	PasswordAgeSeconds   uint32     `json:"password_age_seconds"`
	PasswordLastSet      *time.Time `json:"password_last_set,omitempty"` // now minus the age
	AccountExpires       *time.Time `json:"account_expires,omitempty"`
	BadPasswordCount     uint32     `json:"bad_password_count"`
	LogonCount           uint32     `json:"logon_count"`
	HomeDir              string     `json:"home_dir,omitempty"`
	Profile              string     `json:"profile,omitempty"`
	ScriptPath           string     `json:"script_path,omitempty"`
	Errors               []string   `json:"errors,omitempty"`
}

// LocalGroup is a "group" line of the "accounts" source.
type LocalGroup struct {
	Kind    string        `json:"kind"` // group
	Name    string        `json:"name"`
	SID     string        `json:"sid,omitempty"`
	Comment string        `json:"comment,omitempty"`
	Members []GroupMember `json:"members"`
	Errors  []string      `json:"errors,omitempty"`
}

// GroupMember is a member of a local group.
type GroupMember struct {
	Name string `json:"name"` // DOMAIN\name
	SID  string `json:"sid"`
	Type string `json:"type"` // user, group, alias, well-known-group, deleted-account, ...
}

var sidUses = []string{1: "user", 2: "group", 3: "domain", 4: "alias", 5: "well-known-group", 6: "deleted-account", 7: "invalid", 8: "unknown", 9: "computer", 10: "label", 11: "logon-session"}

func netFree(p *byte) {
	if p != nil {
		procNetApiBufferFree.Call(uintptr(unsafe.Pointer(p)))
	}
}

// netEnum calls a NetXxxEnum-style function until it has everything,
// passing each buffer of n entries to each before freeing it. call gets
// the buffer, entries-read and total pointers.
func netEnum(proc *windows.LazyProc, call func(buf **byte, read, total *uint32) uintptr, each func(buf *byte, n uint32)) error {
	if err := proc.Find(); err != nil {
		return err
	}
	for {
		var buf *byte
		var read, total uint32
		r := call(&buf, &read, &total)
		if r != 0 && r != netMoreData {
			netFree(buf)
			return fmt.Errorf("%s: %w", proc.Name, syscall.Errno(r))
		}
		if buf != nil && read > 0 {
			each(buf, read)
		}
		netFree(buf)
		if r == 0 || read == 0 {
			return nil
		}
	}
}

func sidOf(names ...string) (string, error) {
	var err error
	for _, n := range names {
		var sid *windows.SID
		if sid, _, _, err = windows.LookupSID("", n); err == nil {
			return sid.String(), nil
		}
	}
	return "", err
}

// Accounts lists local users (NetUserEnum level 3: flags, last logon,
// password age, bad password count) and local groups with their members.
func Accounts(ctx context.Context, w io.Writer) error {
	if err := modnetapi32.Load(); err != nil {
		return err
	}
	computer, _ := windows.ComputerName()
	now := time.Now()
	var users []LocalUser
	var resume uint32
	uerr := netEnum(procNetUserEnum, func(buf **byte, read, total *uint32) uintptr {
		r, _, _ := procNetUserEnum.Call(0, 3, 0, uintptr(unsafe.Pointer(buf)), netMaxPreferred,
			uintptr(unsafe.Pointer(read)), uintptr(unsafe.Pointer(total)), uintptr(unsafe.Pointer(&resume)))
		return r
	}, func(buf *byte, n uint32) {
		for _, ui := range unsafe.Slice((*userInfo3)(unsafe.Pointer(buf)), n) {
			u := LocalUser{Kind: "user", Name: windows.UTF16PtrToString(ui.Name), RID: ui.UserID,
				FullName: windows.UTF16PtrToString(ui.FullName), Comment: windows.UTF16PtrToString(ui.Comment),
				UserComment: windows.UTF16PtrToString(ui.UsrComment), Privilege: fmt.Sprint(ui.Priv),
				Disabled: ui.Flags&0x2 != 0, Locked: ui.Flags&0x10 != 0, PasswordNeverExpires: ui.Flags&0x10000 != 0,
				PasswordNotRequired: ui.Flags&0x20 != 0, PasswordExpired: ui.PasswordExpired != 0,
				PasswordAgeSeconds: ui.PasswordAge, BadPasswordCount: ui.BadPwCount, LogonCount: ui.NumLogons,
				HomeDir: windows.UTF16PtrToString(ui.HomeDir), Profile: windows.UTF16PtrToString(ui.Profile),
				ScriptPath: windows.UTF16PtrToString(ui.ScriptPath)}
			if p := []string{"guest", "user", "admin"}; int(ui.Priv) < len(p) {
				u.Privilege = p[ui.Priv]
			}
			for _, f := range userFlags {
				if ui.Flags&f.bit != 0 {
					u.Flags = append(u.Flags, f.word)
				}
			}
			if ui.LastLogon != 0 {
				u.LastLogon = utc(time.Unix(int64(ui.LastLogon), 0))
			}
			if ui.AcctExpire != timeqForever && ui.AcctExpire != 0 {
				u.AccountExpires = utc(time.Unix(int64(ui.AcctExpire), 0))
			}
			u.PasswordLastSet = utc(now.Add(-time.Duration(ui.PasswordAge) * time.Second).Truncate(time.Second))
			users = append(users, u)
		}
	})
	out := newLines(w)
	for _, u := range users {
		if err := ctx.Err(); err != nil {
			return err
		}
		var e errs
		var err error
		u.SID, err = sidOf(computer+`\`+u.Name, u.Name)
		e.add("sid", err)
		u.Errors = e
		if err := out.put(u); err != nil {
			return err
		}
	}

	var groups []LocalGroup
	var gresume uintptr
	gerr := netEnum(procNetLocalGroupEnum, func(buf **byte, read, total *uint32) uintptr {
		r, _, _ := procNetLocalGroupEnum.Call(0, 1, uintptr(unsafe.Pointer(buf)), netMaxPreferred,
			uintptr(unsafe.Pointer(read)), uintptr(unsafe.Pointer(total)), uintptr(unsafe.Pointer(&gresume)))
		return r
	}, func(buf *byte, n uint32) {
		for _, gi := range unsafe.Slice((*localGroupInfo1)(unsafe.Pointer(buf)), n) {
			groups = append(groups, LocalGroup{Kind: "group", Name: windows.UTF16PtrToString(gi.Name), Comment: windows.UTF16PtrToString(gi.Comment)})
		}
	})
	for _, g := range groups {
		if err := ctx.Err(); err != nil {
			return err
		}
		var e errs
		var err error
		g.SID, err = sidOf(g.Name)
		e.add("sid", err)
		g.Members = []GroupMember{}
		name, err := windows.UTF16PtrFromString(g.Name)
		if err != nil {
			e.add("members", err)
		} else {
			var mresume uintptr
			err = netEnum(procNetLocalGroupGetMembers, func(buf **byte, read, total *uint32) uintptr {
				r, _, _ := procNetLocalGroupGetMembers.Call(0, uintptr(unsafe.Pointer(name)), 2, uintptr(unsafe.Pointer(buf)), netMaxPreferred,
					uintptr(unsafe.Pointer(read)), uintptr(unsafe.Pointer(total)), uintptr(unsafe.Pointer(&mresume)))
				return r
			}, func(buf *byte, n uint32) {
				for _, mi := range unsafe.Slice((*localGroupMembersInfo2)(unsafe.Pointer(buf)), n) {
					m := GroupMember{Name: windows.UTF16PtrToString(mi.DomainAndName), Type: fmt.Sprint(mi.SidUsage)}
					if mi.Sid != nil {
						m.SID = mi.Sid.String()
					}
					if int(mi.SidUsage) < len(sidUses) && sidUses[mi.SidUsage] != "" {
						m.Type = sidUses[mi.SidUsage]
					}
					g.Members = append(g.Members, m)
				}
			})
			e.add("members", err)
		}
		g.Errors = e
		if err := out.put(g); err != nil {
			return err
		}
	}
	if uerr != nil && gerr != nil {
		return errors.Join(uerr, gerr)
	}
	if uerr != nil {
		return out.put(findingLine{Finding: "local users not listed", Where: "NetUserEnum", Errors: []string{uerr.Error()}})
	}
	if gerr != nil {
		return out.put(findingLine{Finding: "local groups not listed", Where: "NetLocalGroupEnum", Errors: []string{gerr.Error()}})
	}
	return nil
}
