package magento

import (
	"os"
	"strings"
	"testing"

	"github.com/custos-ir/custos/collect/mysqldump"
)

func TestEnvDB(t *testing.T) {
	b, err := os.ReadFile("testdata/env-full.php")
	if err != nil {
		t.Fatal(err)
	}
	d, err := EnvDB(b)
	if err != nil {
		t.Fatal(err)
	}
	if d.Host != "127.0.0.1" || d.Port != 3307 || d.Name != "magento" || d.User != "magento" || d.Password != `p@ss'word"$x` || d.TablePrefix != "mg_" {
		t.Fatalf("%+v", d)
	}
	if strings.Contains(d.String(), "p@ss") {
		t.Fatal("String shows the password")
	}
	if !strings.Contains(d.DSN(), "tcp(127.0.0.1:3307)/magento") {
		t.Fatal(d.DSN())
	}
	a, _ := ParseArray(b)
	if a.String("backend", "frontName") != "admin_1x9k2" || a.Get("cache_types", "layout") != int64(1) || a.Get("directories", "document_root_is_pub") != true {
		t.Fatal("values")
	}
}

func env(host, prefix string) []byte {
	return []byte(`<?php
// generated
return array(
  "db" => array("table_prefix" => "` + prefix + `", 'connection' => ['default' => ['host' => '` + host + `', 'dbname' => "shop", 'username' => 'u', 'password' => 'p',],],),
);`)
}

func TestHostForms(t *testing.T) {
	for host, want := range map[string]mysqldump.Conn{
		"localhost":                        {Host: "localhost", Port: 3306},
		"db.internal:3310":                 {Host: "db.internal", Port: 3310},
		"/var/run/mysqld/mysqld.sock":      {Port: 3306, Socket: "/var/run/mysqld/mysqld.sock"},
		"localhost:/var/run/mysqld/x.sock": {Host: "localhost", Port: 3306, Socket: "/var/run/mysqld/x.sock"},
		"[::1]:3306":                       {Host: "::1", Port: 3306},
	} {
		d, err := EnvDB(env(host, ""))
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		if d.Host != want.Host || d.Port != want.Port || d.Socket != want.Socket || d.Name != "shop" {
			t.Errorf("%s: %+v", host, d)
		}
	}
	d, _ := EnvDB(env("/run/mysqld.sock", ""))
	if !strings.Contains(d.DSN(), "unix(/run/mysqld.sock)") {
		t.Error(d.DSN())
	}
}

func TestRejects(t *testing.T) {
	for name, c := range map[string]struct{ src, want string }{
		"call":        {`<?php return ['a' => getenv('X')];`, "line 1:22: not a literal value"},
		"constant":    {`<?php return ['a' => BP . '/x'];`, "not a literal value"},
		"interpolate": {`<?php return ['a' => "$x"];`, "variable in a double-quoted string"},
		"no php":      {`return [];`, "does not start with <?php"},
		"trailing":    {`<?php return []; echo 1;`, "unexpected text"},
		"unclosed":    {"<?php return ['a' => 'b'", "want , or ]"},
		"prefix":      {string(env("localhost", "x; DROP TABLE y")), "not an identifier"},
		"no db":       {`<?php return ['backend' => []];`, "no database connection"},
	} {
		_, err := EnvDB([]byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

func TestLocalXML(t *testing.T) {
	x := `<?xml version="1.0"?><config><global><resources>
  <db><table_prefix><![CDATA[m1_]]></table_prefix></db>
  <default_setup><connection><host><![CDATA[localhost:/tmp/mysql.sock]]></host><username><![CDATA[shop]]></username>
  <password><![CDATA[s3cr&t]]></password><dbname><![CDATA[magento1]]></dbname></connection></default_setup>
</resources></global></config>`
	d, err := LocalXMLDB([]byte(x))
	if err != nil {
		t.Fatal(err)
	}
	if d.Socket != "/tmp/mysql.sock" || d.Name != "magento1" || d.Password != "s3cr&t" || d.TablePrefix != "m1_" {
		t.Fatalf("%+v", d)
	}
	if _, err := LocalXMLDB([]byte("<config>")); err == nil {
		t.Fatal("broken xml accepted")
	}
}

func FuzzParseArray(f *testing.F) {
	b, _ := os.ReadFile("testdata/env-full.php")
	f.Add(b)
	f.Add(env("localhost:/x", "p_"))
	f.Add([]byte(`<?php return [1, 2, "a\x41\n", [true, null, -1.5e3]];`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseArray(b)
		EnvDB(b)
	})
}

func TestRedact(t *testing.T) {
	b, _ := os.ReadFile("testdata/env-full.php")
	out, what, err := Redact(b)
	if err != nil || len(what) == 0 {
		t.Fatal(what, err)
	}
	if strings.Contains(string(out), `p@ss`) {
		t.Fatalf("password left:\n%s", out)
	}
	if _, err := ParseArray(out); err != nil {
		t.Fatalf("the redacted env.php no longer parses: %v", err)
	}
	x := []byte(`<config><global><crypt><key><![CDATA[0123abcd]]></key></crypt><resources><default_setup><connection><password><![CDATA[s3cr&t]]></password></connection></default_setup></resources></global></config>`)
	out, what, _ = Redact(x)
	if strings.Contains(string(out), "s3cr") || strings.Contains(string(out), "0123abcd") || len(what) != 2 {
		t.Fatalf("%s %v", out, what)
	}
}
