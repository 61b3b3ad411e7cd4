package testenv

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules holds the layout's rules (../shared LAYOUT.md): storage
// is a leaf in imports, custody reaches objects only through its own
// interface, and internal/ holds no domain. A new import that breaks one
// fails here, naming the package and what it pulls in.
func TestImportRules(t *testing.T) {
	const mod = "github.com/custos-ir/custos/"
	rules := []struct {
		pkgs      string
		forbidden []string
	}{
		{"./storage/...", []string{"collect", "custody", "profiles", "cmd"}},
		{"./custody/...", []string{"storage", "collect", "cmd", "profiles"}},
		{"./internal/...", []string{"storage", "collect", "custody", "profiles", "cmd"}},
	}
	for _, r := range rules {
		out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Deps " "}}`, "../../"+strings.TrimPrefix(r.pkgs, "./")).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", r.pkgs, err, out)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			pkg, deps, _ := strings.Cut(line, ":")
			for _, d := range strings.Fields(deps) {
				for _, f := range r.forbidden {
					if d == mod+f || strings.HasPrefix(d, mod+f+"/") {
						t.Errorf("%s imports %s: %s must not depend on %s", pkg, d, r.pkgs, f)
					}
				}
			}
		}
	}
}
