package main

import (
	"os"
	"runtime"
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

// One host is one stream: one P; --hosts, one for each stream at once;
// GOMAXPROCS set by the responder wins.
func TestStreamProcs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	t.Setenv("GOMAXPROCS", "")
	os.Unsetenv("GOMAXPROCS")
	streamProcs(remoteOptions{target: "web01", parallel: 4})
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("one host: GOMAXPROCS %d, want 1", got)
	}
	streamProcs(remoteOptions{hostsFile: "hosts", parallel: 64})
	if got := runtime.GOMAXPROCS(0); got != runtime.NumCPU() {
		t.Errorf("--hosts --parallel 64: GOMAXPROCS %d, want %d", got, runtime.NumCPU())
	}
	t.Setenv("GOMAXPROCS", "3")
	runtime.GOMAXPROCS(3)
	streamProcs(remoteOptions{target: "web01"})
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Errorf("GOMAXPROCS=3 in the environment: %d", got)
	}
}
