//go:build !linux

package iox

import "os"

// GrowPipe is Linux's only (F_SETPIPE_SZ); elsewhere pipes keep their size.
func GrowPipe(f *os.File) {}
