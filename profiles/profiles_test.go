package profiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEmbeddedProfilesLoad(t *testing.T) {
	for _, name := range Names() {
		p, err := Load(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p.SHA256 == [32]byte{} || p.Source != "embedded:"+name {
			t.Errorf("%s: digest or source not set", name)
		}
	}
	p, _ := Load("linux-base")
	if p.Artifacts[0].Live != "processes" {
		t.Errorf("linux-base does not start with processes: %+v", p.Artifacts[0])
	}
}

func TestLoadRejects(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct{ yaml, want string }{
		"unknown key":   {"name: x\nplatform: linux\nartifacts:\n  - name: a\n    live: processes\n    colour: red\n", `line 6: unknown key "colour"`},
		"escape root":   {"name: x\nplatform: linux\nartifacts:\n  - name: a\n    files: {paths: [/var/www/../../etc/shadow]}\n", `escapes its root`},
		"relative":      {"name: x\nplatform: linux\nartifacts:\n  - name: a\n    files: {paths: [etc/passwd]}\n", `not an absolute path`},
		"duplicate":     {"name: x\nplatform: linux\nartifacts:\n  - {name: a, live: processes}\n  - {name: a, live: sockets}\n", `duplicate artifact name`},
		"two kinds":     {"name: x\nplatform: linux\nartifacts:\n  - name: a\n    live: processes\n    files: {paths: [/x]}\n", `exactly one of`},
		"no kind":       {"name: x\nplatform: linux\nartifacts:\n  - name: a\n", `exactly one of`},
		"bad name":      {"name: x\nplatform: linux\nartifacts:\n  - {name: 'A B', live: processes}\n", `name must be lowercase`},
		"platform":      {"name: x\nplatform: beos\nartifacts: []\n", `platform "beos"`},
		"undefined var": {"name: x\nplatform: linux\nartifacts:\n  - name: a\n    files: {paths: ['${root}/x']}\n", `undefined variable ${root}`},
		"include loop":  {"name: x\nplatform: linux\ninclude: [LOOP]\nartifacts: []\n", `includes itself`},
		"bad size":      {"name: x\nplatform: linux\nartifacts:\n  - name: a\n    files: {paths: [/x], max_size: lots}\n", `size "lots"`},
		"links":         {"name: x\nplatform: linux\nartifacts:\n  - name: a\n    files: {paths: [/x], links: sometimes}\n", `links "sometimes": want follow or record`},
		"body links":    {"name: x\nplatform: linux\nartifacts:\n  - name: a\n    bodyfile: {roots: [/x], links: never}\n", `links "never": want follow or record`},
		"empty":         {"", "empty profile"},
		"no name":       {"platform: linux\n", "name is required"},
	}
	for name, c := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".yaml")
		os.WriteFile(p, []byte(strings.ReplaceAll(c.yaml, "LOOP", p)), 0o644)
		_, err := Load(p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", name, err, c.want)
		}
	}
	if _, err := Load("nosuch"); err == nil || !strings.Contains(err.Error(), "embedded profiles are") {
		t.Errorf("unknown name: %v", err)
	}
}

func TestIncludeAndVariables(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.yaml")
	os.WriteFile(base, []byte("name: base\nplatform: linux\nartifacts:\n  - {name: processes, live: processes}\n"), 0o644)
	top := filepath.Join(dir, "shop.yaml")
	os.WriteFile(top, []byte("name: shop\nplatform: linux\ninclude: ["+base+"]\nvariables:\n  root: {default: /var/www/html, description: docroot}\nartifacts:\n  - name: code\n    files: {paths: ['${root}/pub/*.php'], max_size: 1MiB}\n"), 0o644)
	p, err := Load(top)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Artifacts) != 2 || p.Artifacts[0].Name != "processes" || p.Artifacts[1].Files.MaxSize != 1<<20 {
		t.Fatalf("artifacts %+v", p.Artifacts)
	}
	vals, err := p.Values(map[string]string{"root": "/srv/shop"})
	if err != nil {
		t.Fatal(err)
	}
	if got := Expand(p.Artifacts[1].Files.Paths[0], vals); got != "/srv/shop/pub/*.php" {
		t.Fatalf("expanded %q", got)
	}
	if _, err := p.Values(map[string]string{"nope": "x"}); err == nil {
		t.Fatal("unknown --set accepted")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]Size{"0": 0, "512": 512, "4KiB": 4096, "20MiB": 20 << 20, "2GiB": 2 << 30, "1 TiB": 1 << 40, "3MB": 3 << 20} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "fast", "-1", "1.5GiB", "99999999999TiB"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, n := range Names() {
		b, _ := embedded.ReadFile("embedded/" + n + ".yaml")
		f.Add(b)
	}
	f.Add([]byte("name: x\nartifacts: [{name: a, files: {paths: [/x], max_size: 1KiB}}]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		_ = p.validate() // must not panic
	})
}
