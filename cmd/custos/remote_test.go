package main

import (
	"strings"
	"testing"
)

func TestRemoteArgs(t *testing.T) {
	args, to, c, err := remoteArgs([]string{"--case", "X", "--to=/srv/ev", "--profile", "none"}, "abc")
	if err != nil || to != "/srv/ev" || c != "X" || strings.Join(args, " ") != "--case X --profile none --session abc --to -" {
		t.Fatalf("%q %q %q %v", args, to, c, err)
	}
	for _, bad := range [][]string{{"--case", "X", "--to", "-"}, {"--case", "X", "--to"}, {"--to", "/srv"}, {"--case", "X", "--session", "x", "--to", "/srv"}} {
		if _, _, _, err := remoteArgs(bad, "abc"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
