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

// magentoFiles plans the magento profile's file artifacts for one root.
func magentoFiles(t *testing.T, o PlanOptions, keep func(Planned) bool) []Planned {
	t.Helper()
	p, err := profiles.Load("magento")
	if err != nil {
		t.Fatal(err)
	}
	o.Live, o.GOOS = func(string) (StreamFunc, bool) { return nil, false }, "linux"
	plan, err := Plan(p, o)
	if err != nil {
		t.Fatal(err)
	}
	var mine []Planned
	for _, st := range plan {
		if keep(st) {
			mine = append(mine, st)
		}
	}
	return mine
}

// tarOf decrypts an artifact and returns its tar's entries by name.
func tarOf(t *testing.T, get func(key string) []byte, a custody.Artifact) map[string]string {
	t.Helper()
	out := map[string]string{}
	if a.Key == "" {
		return out
	}
	tr := tar.NewReader(bytes.NewReader(get(a.Key)))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out["/"+h.Name] = string(b)
	}
}

// TestMagentoProfileOnFixture runs the embedded magento profile's file
// artifacts over a fixture store: skimmer-bearing static text copied, a web
// shell behind PNG magic and a file in a hidden folder copied and flagged
// among media that are otherwise only hashed, env.php marked sensitive.
func TestMagentoProfileOnFixture(t *testing.T) {
	root, _ := filepath.Abs("testdata/magento-root")
	mine := magentoFiles(t, PlanOptions{Vars: map[string]string{"magento_root": root}}, func(st Planned) bool {
		if st.Skip != "" && strings.HasPrefix(st.Desc.Name, "magento-") {
			t.Errorf("%s skipped: %s", st.Desc.Name, st.Skip)
		}
		return strings.HasPrefix(st.Desc.Name, "magento-") && st.Source != nil
	})
	if len(mine) != 11 {
		t.Fatalf("%d magento artifacts", len(mine))
	}
	pl, st, id := newPipeline(t)
	m := runCollection(t, pl, mine)
	got := map[string]custody.Artifact{}
	for _, a := range m.Artifacts {
		got[a.Name] = a
	}
	get := func(key string) []byte { return decrypt(t, st, m.Storage.Prefix+key, id) }
	in := func(a string, rel string) (string, bool) {
		s, ok := tarOf(t, get, got[a])[root+"/"+rel]
		return s, ok
	}

	if s, ok := in("magento-secrets", "app/etc/env.php"); !ok || !strings.Contains(s, "fixture-password") {
		t.Error("env.php not stored (it is evidence, encrypted like the rest)")
	}
	for _, f := range got["magento-secrets"].Files {
		if strings.HasSuffix(f.Path, "env.php") && !strings.Contains(f.Note, "sensitive") {
			t.Errorf("env.php not marked sensitive: %+v", f)
		}
	}
	if _, ok := in("magento-config", "pub/index.php"); !ok {
		t.Error("pub/index.php not in magento-config")
	}
	if w := strings.Join(got["magento-htaccess"].Warnings, "\n"); !strings.Contains(w, "auto_prepend_file=/var/www/html/pub/media/wysiwyg/.cache.php") {
		t.Errorf("auto_prepend_file in .user.ini not flagged: %v", w)
	}
	if s, _ := in("magento-logs", "var/log/system.log"); !strings.Contains(s, `Admin user "support_tech" created`) {
		t.Error("magento-logs: system.log")
	}
	if s, _ := in("magento-code", "app/code/Vendor/Checkout/view/frontend/web/js/checkout-mixin.js"); !strings.Contains(s, "SKIMMER-JS") {
		t.Error("magento-code: the custom module's JS")
	}
	if s, _ := in("magento-static", "pub/static/frontend/Magento/luma/en_US/js/theme.js"); !strings.Contains(s, "SKIMMER-STATIC") {
		t.Error("the skimmer appended to pub/static's theme.js is not copied")
	}
	// Media: the web shell behind PNG magic and the hidden folder's file
	// copied and flagged; a real image hashed only.
	media := tarOf(t, get, got["magento-media"])
	if !strings.Contains(media[root+"/pub/media/wysiwyg/logo.png"], "<?php eval") {
		t.Errorf("the PNG web shell is not copied: %v", keys(media))
	}
	if _, ok := media[root+"/pub/media/.thumbs/t.png"]; !ok {
		t.Errorf("the file in a hidden folder is not copied: %v", keys(media))
	}
	if _, ok := media[root+"/pub/media/catalog/product/a/good.jpg"]; ok {
		t.Error("a plain image was copied, not only hashed")
	}
	if _, ok := media[root+"/pub/static/frontend/Magento/luma/en_US/js/theme.js"]; ok {
		t.Error("static text is in the media listing too")
	}
	flags := strings.Join(got["magento-media"].Warnings, "\n")
	if !strings.Contains(flags, "logo.png: copied, not only hashed: holds code (<?php) in a .png file") || !strings.Contains(flags, "hidden file or folder (.thumbs)") {
		t.Errorf("flags: %s", flags)
	}
	for _, f := range got["magento-media"].Files {
		if strings.HasSuffix(f.Path, "good.jpg") && (f.Stored || f.SHA256 == "") {
			t.Errorf("good.jpg: %+v", f)
		}
	}
	gen := got["magento-generated"]
	if names := tarOf(t, get, gen); len(names) != 0 {
		t.Errorf("generated/vendor PHP copied: %v", keys(names))
	}
	if m.Status != "complete" {
		for _, a := range m.Artifacts {
			t.Logf("%s %s %v", a.Name, a.Status, a.Errors)
		}
		t.Fatalf("status %s", m.Status)
	}
	if r := verifyLocal(t, st, m, id); r != "" {
		t.Error(r)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
