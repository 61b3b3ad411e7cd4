package windows

import (
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/custos-ir/custos/collect/hostfile"
)

// HostFS reads this host's files by Windows path, System32 as it really
// is (see NativePath); configuration files are read whole, up to 16 MiB.
type HostFS struct{}

func (HostFS) Stat(p string) (fs.FileInfo, error)      { return os.Stat(NativePath(p)) }
func (HostFS) ReadDir(p string) ([]fs.DirEntry, error) { return os.ReadDir(NativePath(p)) }

// ReadFile reads a configuration file as evidence is read (hostfile: shared
// read, backup semantics, no reparse point followed unrecorded).
func (HostFS) ReadFile(p string) ([]byte, error) {
	c, err := hostfile.ReadFile(NativePath(p), maxConfig)
	if err != nil {
		return nil, err
	}
	if c.Truncated {
		return nil, fmt.Errorf("%s: larger than %d MiB", p, maxConfig>>20)
	}
	return c.Data, nil
}

// maxConfig bounds a configuration file discovery reads into memory.
const maxConfig = 16 << 20

// SystemRoot is %SystemRoot%, C:\Windows when unset.
func SystemRoot() string {
	if r := os.Getenv("SystemRoot"); r != "" {
		return r
	}
	return `C:\Windows`
}

// NativePath makes a System32 path reach the real System32 from a 32-bit
// build, which WOW64 would otherwise redirect to SysWOW64.
func NativePath(p string) string {
	root := SystemRoot()
	sys32 := strings.ToLower(root + `\System32`)
	lp := strings.ToLower(p)
	if lp != sys32 && !strings.HasPrefix(lp, sys32+`\`) {
		return p
	}
	native := root + `\Sysnative`
	if _, err := os.Stat(native); err != nil {
		return p // not under WOW64
	}
	return native + p[len(sys32):]
}

// IsFailure tells a finding that something could not be read (the record
// is partial) from one that only says what is not there.
func (f Finding) IsFailure() bool {
	return strings.Contains(f.What, "not readable") || strings.Contains(f.What, "does not parse") || strings.Contains(f.What, "denied")
}
