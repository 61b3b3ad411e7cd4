//go:build !linux && !windows

package collect

import "os"

func openEvidence(path string) (fileHandle, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "read", err
	}
	return f, "read", nil
}
