package windows

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fixtures(t *testing.T) (FixtureFS, MapRegistry, Env) {
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	fsys := FixtureFS{"C:": abs("testdata/drive_c"), "D:": abs("testdata/drive_d"), "E:": abs("testdata/drive_e")}
	reg := MapRegistry{
		procrun + `\TomcatShop\Parameters\Java`: {"Options": {"-Dcatalina.home=C:\\Program Files\\Apache Software Foundation\\Tomcat 9.0", "-Dcatalina.base=D:\\apps\\tomcat-shop", "-javaagent:C:\\FusionReactor\\instance\\tomcat9\\fusionreactor.jar=address=8088", "-Xmx2g"}},
		procrun + `\Tomcat9\Parameters\Java`:    {"Options9": {"-Dcatalina.base=C:\\Program Files\\Apache Software Foundation\\Tomcat 9.0"}},
		procrun + `\Gone\Parameters\Java`:       {"Options": {"-Dcatalina.base=F:\\old\\tomcat"}},
	}
	env := func(k string) string {
		return map[string]string{"SystemRoot": `C:\Windows`, "SystemDrive": "C:"}[k]
	}
	return fsys, reg, env
}

func TestTomcatDiscovery(t *testing.T) {
	fsys, reg, env := fixtures(t)
	ts, finds := Tomcat(reg, fsys, env)
	if len(ts) != 2 {
		t.Fatalf("instances %+v", ts)
	}
	bases := ts[0].Base + "|" + ts[1].Base
	if !strings.Contains(bases, `D:\apps\tomcat-shop`) || !strings.Contains(bases, `Tomcat 9.0`) {
		t.Fatalf("bases %s", bases)
	}
	for _, inst := range ts {
		if strings.Contains(inst.Base, "Tomcat 9.0") && len(inst.Sources) < 2 {
			t.Errorf("default base found once only: %+v", inst)
		}
	}
	if len(finds) != 1 || !strings.Contains(finds[0].String(), `F:\old\tomcat`) {
		t.Fatalf("findings %v", finds)
	}
	sets := ts[0].FileSets()
	// logs, conf, webapps, work; then bin\setenv.* and lib\*.jar (hashed)
	// of the base (and of a home that is not the base).
	if len(sets) < 6 || sets[1].Redact != "tomcat-conf" || !sets[2].HashOnly || sets[4].Include[0] != "setenv.*" || !sets[5].HashOnly {
		t.Fatalf("file sets %+v", sets)
	}
}

func TestIISDiscovery(t *testing.T) {
	fsys, _, env := fixtures(t)
	sets, finds := IIS(fsys, env)
	if len(finds) != 0 {
		t.Fatal(finds)
	}
	roots := map[string]string{}
	for _, s := range sets {
		roots[s.Name] = s.Root
	}
	if roots["iis-logs-site2"] != `E:\weblogs\W3SVC2` || roots["iis-logs-site1"] != `C:\inetpub\logs\LogFiles\W3SVC1` {
		t.Fatalf("site log folders %v", roots)
	}
	if roots["isapi-redirector"] != `C:\isapi\bin` || roots["iis-config"] == "" || roots["iis-failedreq"] != `C:\inetpub\logs\FailedReqLogFiles` {
		t.Fatalf("%v", roots)
	}
	// The redirector's log and workers are where its .properties says.
	if roots["isapi-log"] != `E:\tomcat-connector\logs` || roots["isapi-worker"] != `E:\tomcat-connector\conf` || roots["isapi-worker_mount"] != `E:\tomcat-connector\conf` {
		t.Fatalf("ISAPI files not found through isapi_redirect.properties: %v", roots)
	}
	if _, err := fsys.Stat(roots["iis-logs-site2"] + `\u_ex261121.log`); err != nil {
		t.Fatal("the site log only applicationHost.config names is not where discovery says")
	}
	// A configuration that does not parse is a finding, not a crash.
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "Windows/System32/inetsrv/config"), 0o755)
	os.WriteFile(filepath.Join(dir, "Windows/System32/inetsrv/config/applicationHost.config"), []byte("<configuration><sites"), 0o644)
	sets, finds = IIS(FixtureFS{"C:": dir}, env)
	if len(finds) != 1 || !strings.Contains(finds[0].What, "does not parse") || len(sets) != 4 {
		t.Fatalf("broken config: %v %v", sets, finds)
	}
}

func TestFusionReactor(t *testing.T) {
	fsys, reg, env := fixtures(t)
	ts, _ := Tomcat(reg, fsys, env)
	sets, _ := FusionReactor(reg, fsys, env, ts)
	if len(sets) != 1 || sets[0].Root != `C:\FusionReactor\instance\tomcat9` {
		t.Fatalf("%+v", sets)
	}
}

func TestRedact(t *testing.T) {
	b, _ := os.ReadFile("testdata/drive_c/Program Files/Apache Software Foundation/Tomcat 9.0/conf/server.xml")
	out, what, err := Redact("tomcat-conf", b)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"KeyStorePw1", "TrustPw2", "AjpSecret3", "DbPw4"} {
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("%s left in", secret)
		}
	}
	if len(out) == len(b) || !bytes.Contains(out, []byte(`keystoreFile="conf/keystore.jks"`)) || !bytes.Contains(out, []byte(`secretRequired="true"`)) {
		t.Errorf("other bytes changed:\n%s", out)
	}
	if strings.Join(what, ",") != "keystorePass×1,password×1,secret×1,truststorePass×1" {
		t.Errorf("report %v", what)
	}
	u, _ := os.ReadFile("testdata/drive_c/Program Files/Apache Software Foundation/Tomcat 9.0/conf/tomcat-users.xml")
	out, _, _ = Redact("tomcat-conf", u)
	if bytes.Contains(out, []byte("S3cr3t")) || bytes.Contains(out, []byte("an0ther")) || !bytes.Contains(out, []byte(`password=""`)) {
		t.Errorf("tomcat-users:\n%s", out)
	}
	p, _ := os.ReadFile("testdata/drive_c/Program Files/Apache Software Foundation/Tomcat 9.0/conf/catalina.properties")
	out, _, _ = Redact("tomcat-conf", p)
	if bytes.Contains(out, []byte("PropPw5")) || !bytes.Contains(out, []byte("# a comment with password in it")) {
		t.Errorf("properties:\n%s", out)
	}
	a, _ := os.ReadFile("testdata/drive_c/Windows/System32/inetsrv/config/applicationHost.config")
	out, _, _ = Redact("iis-config", a)
	if bytes.Contains(out, []byte("PoolPw6")) || !bytes.Contains(out, []byte(`userName="svc_shop"`)) {
		t.Errorf("iis:\n%s", out)
	}
	if _, _, err := Redact("nope", nil); err == nil {
		t.Error("unknown kind accepted")
	}
}

func TestMapRegistryMissing(t *testing.T) {
	if _, err := (MapRegistry{}).SubKeys(`HKLM\X`); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
}

func FuzzRedact(f *testing.F) {
	f.Add([]byte(`<user password="x" keystorePass='y'/>` + "\na.password=z\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		in := append(append([]byte("<r "), b...), ` db_password="x1y2" />`...)
		out, _, err := Redact("tomcat-conf", in)
		if err == nil && bytes.Contains(out, []byte(`db_password="x1y2"`)) {
			t.Fatal("not redacted")
		}
	})
}

func FuzzApplicationHost(f *testing.F) {
	b, _ := os.ReadFile("testdata/drive_c/Windows/System32/inetsrv/config/applicationHost.config")
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "Windows/System32/inetsrv/config"), 0o755)
		os.WriteFile(filepath.Join(dir, "Windows/System32/inetsrv/config/applicationHost.config"), b, 0o644)
		IIS(FixtureFS{"C:": dir}, func(string) string { return "" })
	})
}
