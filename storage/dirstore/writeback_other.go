//go:build !linux

package dirstore

import "os"

// startWriteback is Linux's only (sync_file_range): elsewhere Commit's
// fsync writes the whole object.
func startWriteback(f *os.File, off, n int64) {}
