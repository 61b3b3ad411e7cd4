//go:build !windows

package main

import (
	"os/signal"
	"syscall"
)

// ignoreBrokenPipes keeps a collection going when the SSH session that
// started it goes away: writes to a dead stderr fail instead of killing the
// process, and the hang-up is ignored, so the manifest still gets written.
func ignoreBrokenPipes() {
	signal.Ignore(syscall.SIGPIPE, syscall.SIGHUP)
}
