// Package hostfile reads the files of the host as evidence. It is the one
// way custos opens, walks and stats a host file, for every source: files
// artifacts, timelines, live state read from files, discovery, the
// database source's configuration.
//
// What it promises (Linux; elsewhere by path, as close as the OS allows):
//   - a walk goes from directory descriptor to directory descriptor, one
//     name at a time, never following a link implicitly: a directory swapped
//     for a link mid-walk is met as a link, not walked into;
//   - every symlink met is reported as a link, with its text, and followed
//     only explicitly (see Walk), each target taken once;
//   - metadata comes from statx (no automount), before any content is read;
//     an open file's from its descriptor;
//   - only regular files are opened, read-only, with O_NOATIME where the
//     kernel grants it, O_NONBLOCK and O_NOFOLLOW: a FIFO, device or socket is
//     recorded, never opened;
//   - names are the host's bytes; records hold them escaped losslessly
//     (custody.EscapePath).
//
// It never writes to the host, and never runs anything of the host.
package hostfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"time"

	"github.com/custos-ir/custos/custody"
)

// Kind is what an entry is, as far as the walk knows.
type Kind uint8

const (
	KindUnknown Kind = iota
	KindFile         // a regular file
	KindDir
	KindLink // a symlink (on Windows, a reparse point Go reports as one)
	KindOther
)

func kindOf(typ string) Kind {
	switch typ {
	case "file":
		return KindFile
	case "dir":
		return KindDir
	case "symlink":
		return KindLink
	}
	return KindOther
}

//lint:ignore U1000 used by the walk on systems without descriptor-relative listing (dir_other.go)
func kindOfMode(m fs.FileMode) Kind {
	switch {
	case m.IsRegular():
		return KindFile
	case m.IsDir():
		return KindDir
	case m&fs.ModeSymlink != 0:
		return KindLink
	}
	return KindOther
}

// Extent is a range of a file that holds data; what lies between extents
// is a hole.
type Extent struct {
	Offset, Length int64
}

// NotRegularError is an attempt to open what is not a regular file: it is
// recorded (Rec), never read.
type NotRegularError struct {
	Rec custody.File
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("not a regular file (%s): recorded, never opened", e.Rec.Type)
}

// ErrChanged is a file that was not the one stat'ed when opened.
var ErrChanged = errors.New("changed between stat and open")

// modeString gives permission bits (with setuid, setgid, sticky) as octal.
func modeString(m fs.FileMode) string {
	bits := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		bits |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		bits |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		bits |= 0o1000
	}
	return "0" + strconv.FormatUint(uint64(bits), 8)
}

// ParseMode reads a record's octal mode back.
func ParseMode(s string) uint32 {
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil {
		return 0
	}
	return uint32(v)
}

func fileType(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "file"
	case m.IsDir():
		return "dir"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeNamedPipe != 0:
		return "fifo"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	default:
		return "other"
	}
}

func tptr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// ErrText strips the path Go puts in *PathError: a record already names
// the file.
func ErrText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err.Error()
	}
	return err.Error()
}
