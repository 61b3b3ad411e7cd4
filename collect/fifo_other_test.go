//go:build !unix

package collect

import "errors"

func mkfifo(string) error { return errors.New("no FIFOs here") }
