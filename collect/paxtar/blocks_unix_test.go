//go:build unix

package paxtar

import (
	"io/fs"
	"syscall"
)

// allocated is how many bytes of disk a file takes.
func allocated(fi fs.FileInfo) int64 { return fi.Sys().(*syscall.Stat_t).Blocks * 512 }
