package windows

import (
	"io/fs"
	"os"
	"strings"
)

// HostFS reads this host's files by Windows path (on Windows: as they
// are).
type HostFS struct{}

func (HostFS) Stat(p string) (fs.FileInfo, error)      { return os.Stat(p) }
func (HostFS) ReadFile(p string) ([]byte, error)       { return os.ReadFile(p) }
func (HostFS) ReadDir(p string) ([]fs.DirEntry, error) { return os.ReadDir(p) }

// IsFailure tells a finding that something could not be read (the record
// is partial) from one that only says what is not there.
func (f Finding) IsFailure() bool {
	return strings.Contains(f.What, "not readable") || strings.Contains(f.What, "does not parse") || strings.Contains(f.What, "denied")
}
