package prio

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

const (
	ioprioClassBE    = 2
	ioprioClassShift = 13
	ioprioWhoProcess = 1
)

// Linux priorities are per thread: set them on every thread there is; threads
// made later inherit from the thread that makes them.
func lower() (string, error) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return "", err
	}
	var firstErr error
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.Setpriority(unix.PRIO_PROCESS, tid, 10); err != nil && firstErr == nil {
			firstErr = err
		}
		_, _, errno := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(tid), ioprioClassBE<<ioprioClassShift|7)
		if errno != 0 && firstErr == nil {
			firstErr = errno
		}
	}
	if firstErr != nil {
		return "", fmt.Errorf("lower priority: %w", firstErr)
	}
	return "nice 10, I/O best-effort 7", nil
}
