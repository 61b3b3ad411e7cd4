package hostfile

import (
	"os"
	"sync"

	"golang.org/x/sys/windows"
)

// openEvidence opens a file for reading the way a backup program does:
// sharing read, write and delete with whoever holds it (a log being
// written or rotated stays open to its writer), not following a final
// reparse point (symlink, junction), and with backup semantics, which let
// an administrator whose SeBackupPrivilege is enabled read a file its ACL
// would refuse. The method says whether the privilege was held.
func openEvidence(path string) (*os.File, string, error) {
	p16, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, "", &os.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p16, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
		windows.OPEN_EXISTING,
		windows.FILE_FLAG_BACKUP_SEMANTICS|windows.FILE_FLAG_OPEN_REPARSE_POINT|windows.FILE_FLAG_SEQUENTIAL_SCAN, 0)
	if err != nil {
		return nil, "", &os.PathError{Op: "open", Path: path, Err: err}
	}
	method := "read (shared read/write/delete)"
	if backupPrivilege() {
		method = "read (shared read/write/delete, backup semantics with SeBackupPrivilege)"
	}
	return os.NewFile(uintptr(h), path), method, nil
}

var backupOnce = sync.OnceValue(enableBackupPrivilege)

func backupPrivilege() bool { return backupOnce() }

// enableBackupPrivilege enables SeBackupPrivilege in the process token,
// which an elevated administrator holds disabled. It changes nothing on
// disk and only this process's token.
func enableBackupPrivilege() bool {
	var tok windows.Token
	if err := windows.OpenProcessToken(windows.CurrentProcess(), windows.TOKEN_ADJUST_PRIVILEGES|windows.TOKEN_QUERY, &tok); err != nil {
		return false
	}
	defer tok.Close()
	var luid windows.LUID
	name, _ := windows.UTF16PtrFromString("SeBackupPrivilege")
	if err := windows.LookupPrivilegeValue(nil, name, &luid); err != nil {
		return false
	}
	tp := windows.Tokenprivileges{PrivilegeCount: 1}
	tp.Privileges[0] = windows.LUIDAndAttributes{Luid: luid, Attributes: windows.SE_PRIVILEGE_ENABLED}
	if err := windows.AdjustTokenPrivileges(tok, false, &tp, 0, nil, nil); err != nil {
		return false
	}
	// AdjustTokenPrivileges succeeds without assigning a privilege the
	// token does not hold; that is ERROR_NOT_ALL_ASSIGNED in GetLastError.
	return windows.GetLastError() == nil
}
