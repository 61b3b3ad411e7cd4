//go:build !linux && !windows

package prio

import "syscall"

func lower() (string, error) {
	if err := syscall.Setpriority(syscall.PRIO_PROCESS, 0, 10); err != nil {
		return "", err
	}
	return "nice 10", nil
}
