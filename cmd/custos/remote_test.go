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
	args, to, err := remoteArgs([]string{"--case", "X", "--to=/srv/ev", "--profile", "none"})
	if err != nil || to != "/srv/ev" || strings.Join(args, " ") != "--case X --profile none --to -" {
		t.Fatalf("%q %q %v", args, to, err)
	}
	if _, _, err := remoteArgs([]string{"--case", "X", "--to", "-"}); err == nil {
		t.Fatal("--to - accepted")
	}
	if _, _, err := remoteArgs([]string{"--case", "X", "--to"}); err == nil {
		t.Fatal("--to without value accepted")
	}
}

func TestShellQuote(t *testing.T) {
	if got := shellQuote("it's $HOME"); got != `'it'\''s $HOME'` {
		t.Fatal(got)
	}
}
