package collect

import (
	"archive/tar"
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/profiles"
)

// TestMagentoProfileOnFixture runs the embedded magento profile's file
// artifacts over a fixture store and checks each artifact's content.
func TestMagentoProfileOnFixture(t *testing.T) {
	root, _ := filepath.Abs("testdata/magento-root")
	p, err := profiles.Load("magento")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Plan(p, PlanOptions{Vars: map[string]string{"magento_root": root}, Live: func(string) (StreamFunc, bool) { return nil, false }, GOOS: "linux"})
	if err != nil {
		t.Fatal(err)
	}
	var mine []Planned
	for _, st := range plan {
		if strings.HasPrefix(st.Desc.Name, "magento-") {
			mine = append(mine, st)
		}
	}
	if len(mine) != 5 {
		t.Fatalf("%d magento file artifacts", len(mine))
	}
	pl, st, id := newPipeline(t)
	m := runCollection(t, pl, mine)
	got := map[string]custody.Artifact{}
	for _, a := range m.Artifacts {
		got[a.Name] = a
	}
	tarNames := func(a custody.Artifact) (names []string, content string) {
		b := decrypt(t, st, m.Storage.Prefix+a.Key, id)
		tr := tar.NewReader(bytes.NewReader(b))
		var all strings.Builder
		for {
			h, err := tr.Next()
			if err == io.EOF {
				return names, all.String()
			}
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, strings.TrimPrefix("/"+h.Name, root+"/"))
			io.Copy(&all, tr)
		}
	}
	cfg := got["magento-config"]
	names, content := tarNames(cfg)
	for _, want := range []string{"app/etc/env.php", "app/etc/config.php", "composer.json", ".user.ini", "pub/index.php"} {
		if !contains(names, want) {
			t.Errorf("magento-config lacks %s: %v", want, names)
		}
	}
	if !strings.Contains(content, "fixture-password") {
		t.Error("env.php content not stored (it is evidence, encrypted like the rest)")
	}
	if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0], "FLAG") || !strings.Contains(cfg.Warnings[0], "auto_prepend_file=/var/www/html/pub/media/wysiwyg/.cache.php") {
		t.Errorf("auto_prepend_file not flagged: %v", cfg.Warnings)
	}
	names, content = tarNames(got["magento-logs"])
	if !contains(names, "var/log/system.log") || !contains(names, "var/report/1732156800123") || !strings.Contains(content, `Admin user "support_tech" created`) {
		t.Errorf("magento-logs: %v", names)
	}
	names, content = tarNames(got["magento-code"])
	if !strings.Contains(content, "SKIMMER-JS") {
		t.Errorf("magento-code: %v", names)
	}
	// Listings: hashed, not stored.
	for _, name := range []string{"magento-static-listing", "magento-generated-listing"} {
		a := got[name]
		names, _ := tarNames(a)
		if len(names) != 0 {
			t.Errorf("%s stored content: %v", name, names)
		}
		hashed := 0
		for _, f := range a.Files {
			if f.SHA256 != "" && !f.Stored {
				hashed++
			}
		}
		if hashed < 2 {
			t.Errorf("%s hashed %d files: %+v", name, hashed, a.Files)
		}
	}
	for _, f := range got["magento-static-listing"].Files {
		if strings.HasSuffix(f.Path, "logo.png") && f.Size == 0 {
			t.Error("fake image not listed with its size")
		}
	}
	if m.Status != "complete" {
		t.Fatalf("status %s", m.Status)
	}
}
