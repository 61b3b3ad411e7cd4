//go:build !linux

package live

import (
	"context"
	"errors"
	"runtime"
)

// Held is a file a process still holds whose name is gone (Linux only).
type Held struct {
	PID  int32
	Comm string
	FD   int
	Proc string
	Link string
}

// DeletedFiles reads /proc, which only Linux has.
func DeletedFiles(context.Context) ([]Held, error) {
	return nil, errors.New("deleted files held open are found through /proc, which " + runtime.GOOS + " does not have")
}
