package main

import "errors"

// mkfifo: Windows has no FIFOs in its file system; stories that make one
// fail there, and say why.
func mkfifo(string) error { return errors.New("mkfifo: no FIFOs on Windows") }
