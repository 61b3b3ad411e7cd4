//go:build !linux

package hostfile

import (
	"errors"
	"runtime"
)

// OpenProcLink opens what a /proc magic link refers to: Linux only.
func OpenProcLink(path string) (*File, error) {
	return nil, errors.New(path + ": /proc links exist only on Linux, not on " + runtime.GOOS)
}
