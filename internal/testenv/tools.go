// Package testenv finds the external tools and services tests talk to. Under
// CI=true a missing one fails the test; elsewhere it skips with the reason.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// CI reports whether missing services must fail tests.
func CI() bool { return os.Getenv("CI") == "true" }

// Missing fails (under CI) or skips the test, naming what is missing and how
// to get it.
func Missing(t testing.TB, what, install string) {
	t.Helper()
	if CI() {
		t.Fatalf("%s is missing (CI=true, so this fails): %s", what, install)
	}
	t.Skipf("%s is missing: %s", what, install)
}

// Tool returns the path of a program on PATH, or fails/skips.
func Tool(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name, install)
	}
	return p
}
