//go:build !windows

package dirstore

import "os"

// syncDir makes a new directory entry durable; errors are ignored because
// the object's own data is already synced.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
