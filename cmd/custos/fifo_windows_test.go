package main

import "errors"

// mkfifo: Windows has no FIFOs in its file system; the stories that make
// one run on Linux.
func mkfifo(path string) error { return errors.New("no FIFOs on Windows") }
