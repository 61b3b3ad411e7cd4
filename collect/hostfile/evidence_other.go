//go:build !linux && !windows

package hostfile

import (
	"os"
	"syscall"
)

// openEvidence opens a file read-only, not following a final link and not
// blocking on a FIFO swapped in; the lstat before it said it is a regular
// file, and the caller's Stat of the open file checks it still is.
func openEvidence(path string) (*os.File, string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, "", err
	}
	return f, "read", nil
}
