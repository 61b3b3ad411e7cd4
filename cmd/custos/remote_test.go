package main

import (
	"strings"
	"testing"
)

func TestPlatform(t *testing.T) {
	for in, want := range map[string]string{"Linux x86_64": "linux/amd64", "Linux aarch64": "linux/arm64", "Darwin arm64": "darwin/arm64"} {
		if got, err := platform(in); err != nil || got != want {
			t.Errorf("%s: %s %v", in, got, err)
		}
	}
	if _, err := platform("Linux mips"); err == nil || !strings.Contains(err.Error(), "no custos build") {
		t.Errorf("mips: %v", err)
	}
	if _, err := platform("MINGW64_NT-10.0"); err == nil {
		t.Error("odd uname accepted")
	}
}

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
	for target, want := range map[string]string{"root@web01": "web01", "web01": "web01", "admin@10.0.0.5": "10.0.0.5", "shop": "shop"} {
		if got := hostOf(target); got != want {
			t.Errorf("hostOf(%q) = %q", target, got)
		}
	}
}

func TestShellQuote(t *testing.T) {
	if got := shellQuote("it's $HOME"); got != `'it'\''s $HOME'` {
		t.Fatal(got)
	}
}
