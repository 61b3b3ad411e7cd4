package apps

import (
	"strings"
	"testing"
)

func TestParseNginx(t *testing.T) {
	ds, err := parseNginx([]byte("http {\n # comment ; {\n access_log \"/var/log/a b.log\" main;\n server { root /srv/x; location / { alias '/y'; } }\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range ds {
		got = append(got, d.name+"="+strings.Join(d.args, ","))
	}
	if strings.Join(got, " ") != "http= access_log=/var/log/a b.log,main server= root=/srv/x location=/ alias=/y" {
		t.Fatalf("%q", got)
	}
	for _, bad := range []string{"server {", "}", "a \"b;", "x y"} {
		if _, err := parseNginx([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestParseApacheAndINI(t *testing.T) {
	ls := parseApache([]byte("# c\n<VirtualHost *:80>\n CustomLog \"/var/log/a b\" \\\n  combined\nErrorLog   /x\n"))
	if len(ls) != 3 || ls[1].name != "customlog" || ls[1].args[0] != "/var/log/a b" || ls[1].args[1] != "combined" {
		t.Fatalf("%+v", ls)
	}
	if got := logTargets("|/usr/bin/rotatelogs -l /var/log/x.%Y 86400"); len(got) != 1 || got[0] != "/var/log/x.%Y" {
		t.Fatalf("%q", got)
	}
	kv := parseINI([]byte("[www]\n; c\nslowlog = /a ; x\nerror_log=\"/b c\"\nbad line\n"))
	if len(kv) != 2 || kv[0].value != "/a" || kv[1].value != "/b c" || kv[1].section != "www" {
		t.Fatalf("%+v", kv)
	}
	if g := globify("/var/log/${APACHE_LOG_DIR}/$host-%Y.log"); g != "/var/log/*/*-*.log" {
		t.Fatal(g)
	}
	for in, want := range map[string]string{"off": "", "syslog:server=x": "", "logs/a": "/etc/nginx/logs/a", "/dev/stderr": "", "/a/../b": "/b"} {
		if got := abs("/etc/nginx", in); got != want {
			t.Errorf("abs(%q) = %q, want %q", in, got, want)
		}
	}
	wd, out := varnishOpts([]byte("ExecStart=/usr/sbin/varnishd -a :6081 -n shop -f /etc/varnish/default.vcl\nDAEMON_OPTS=\"-a -w /var/log/v.log\"\n"))
	if len(wd) != 1 || wd[0] != "shop" || len(out) != 1 || out[0] != "/var/log/v.log" {
		t.Fatal(wd, out)
	}
	a, bad := parsePasswd([]byte("www-data:x:33:33:www:/var/www:/usr/sbin/nologin\nbroken\n"))
	if len(a) != 1 || bad != 1 || keyPath("/etc/ssh/keys/%u", a[0]) != "/etc/ssh/keys/www-data" || keyPath("%h/.ssh/k", a[0]) != "/var/www/.ssh/k" || keyPath(".ssh/ak", a[0]) != "/var/www/.ssh/ak" {
		t.Fatal(a, bad)
	}
}

// The configuration parsers take anything a breached host holds.
func FuzzConfigParsers(f *testing.F) {
	f.Add([]byte("http { access_log /a; include x/*.conf; }"))
	f.Add([]byte("<VirtualHost>\nCustomLog \"|/bin/x /a\" c \\\n"))
	f.Add([]byte("[www]\nslowlog=\"/a"))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseNginx(b)
		parseApache(b)
		parseINI(b)
		parsePasswd(b)
		varnishOpts(b)
		s := string(b)
		globify(s)
		logTargets(s)
		if p := abs("/etc", s); p != "" && !strings.HasPrefix(p, "/") {
			t.Fatalf("abs(%q) = %q", s, p)
		}
	})
}
