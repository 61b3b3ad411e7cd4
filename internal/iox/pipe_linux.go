package iox

import (
	"os"

	"golang.org/x/sys/unix"
)

// GrowPipe makes the pipe f is an end of hold up to 1 MiB (Linux's
// default is 64 KiB, and 1 MiB is what an unprivileged process may ask
// for): a stream through it then moves in fewer, larger reads and writes,
// with fewer switches between the processes at its two ends, which share
// the cores. Anything that is not a pipe is left alone; so is a pipe the
// kernel will not grow.
func GrowPipe(f *os.File) {
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		return
	}
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { unix.FcntlInt(fd, unix.F_SETPIPE_SZ, 1<<20) })
	}
}
