package remote

import (
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	for in, want := range map[string]Target{
		"web01":               {Dest: "web01", Name: "web01"},
		"root@web01":          {Dest: "root@web01", Name: "web01"},
		"admin@10.0.0.5:2222": {Dest: "admin@10.0.0.5", Port: "2222", Name: "10.0.0.5:2222"},
		"10.0.0.5:22":         {Dest: "10.0.0.5", Port: "22", Name: "10.0.0.5"},
		"[::1]:2200":          {Dest: "::1", Port: "2200", Name: "::1:2200"},
		"root@[fe80::1]":      {Dest: "root@fe80::1", Name: "fe80::1"},
	} {
		got, err := ParseTarget(in)
		if err != nil || got != want {
			t.Errorf("%s: %+v %v, want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "@web", "us er@web", "web:", "web:99999", "web:0", "-oProxyCommand=x", "web/x", "[::1", "[::1]x", "a:b:c"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseHosts(t *testing.T) {
	got, errs := ParseHosts(strings.NewReader("# the shop\nweb01\nroot@web02:2222   # behind the LB\n\nweb 03\nweb01\n-oProxyCommand=evil\ndb01\n"))
	var names []string
	for _, t := range got {
		names = append(names, t.Name)
	}
	if strings.Join(names, " ") != "web01 web02:2222 db01" {
		t.Errorf("hosts %v", names)
	}
	want := []string{"line 5", "line 6: web01 is listed on line 2 already", "line 7"}
	if len(errs) != len(want) {
		t.Fatalf("errors %v", errs)
	}
	for i, w := range want {
		if !strings.Contains(errs[i].Error(), w) {
			t.Errorf("error %d: %v, want %q", i, errs[i], w)
		}
	}
}

func TestPlatform(t *testing.T) {
	for in, want := range map[string]string{"Linux x86_64": "linux/amd64", "Linux aarch64": "linux/arm64", "Darwin arm64": "darwin/arm64"} {
		if got, err := Platform(in); err != nil || got != want {
			t.Errorf("%s: %s %v", in, got, err)
		}
	}
	if _, err := Platform("Linux mips"); err == nil || !strings.Contains(err.Error(), "no custos build") {
		t.Errorf("mips: %v", err)
	}
	if _, err := Platform("MINGW64_NT-10.0"); err == nil {
		t.Error("odd uname accepted")
	}
}

func TestQuote(t *testing.T) {
	if got := Quote("it's $HOME"); got != `'it'\''s $HOME'` {
		t.Fatal(got)
	}
}
