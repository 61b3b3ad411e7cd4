package dirstore

// syncDir is a no-op on Windows, where directories cannot be opened for sync.
func syncDir(dir string) {}
