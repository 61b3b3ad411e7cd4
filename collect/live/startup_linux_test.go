package live

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// onRoot runs fn with the live sources reading below root.
func onRoot(t *testing.T, root string) {
	old := fsRoot
	fsRoot = root
	t.Cleanup(func() { fsRoot = old })
}

// runLive runs a source, failing (not hanging) if it does not return.
func runLive(t *testing.T, fn Func) []map[string]any {
	t.Helper()
	var buf bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- fn(context.Background(), &buf) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the source did not return: blocked on a FIFO?")
	}
	var out []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var v map[string]any
		if err := json.Unmarshal(l, &v); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		out = append(out, v)
	}
	return out
}

func plant(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A login script turned into a FIFO does not block autostart, one turned
// into a link to /etc/shadow by its user is recorded and not read, and
// reading the others leaves their access times alone.
func TestAutostartOnHostileHome(t *testing.T) {
	root := t.TempDir()
	onRoot(t, root)
	plant(t, root+"/etc/shadow", "root:$6$secret-hash:20000::::::\n")
	plant(t, root+"/etc/profile.d/proxy.sh", "# proxy\nexport http_proxy=http://203.0.113.9:3128\n")
	plant(t, root+"/root/.bashrc", "alias ls='ls --color'\n")
	plant(t, root+"/home/eve/.bash_history", "")
	if err := syscall.Mkfifo(root+"/home/eve/.bashrc", 0o644); err != nil {
		t.Fatal(err)
	}
	target := root + "/etc/shadow"
	if os.Getuid() != 0 {
		target = "/etc/shadow" // root's: the test's own user cannot give a link away
	}
	if err := os.Symlink(target, root+"/home/eve/.profile"); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		os.Lchown(root+"/home/eve/.profile", 1001, 1001)
		os.Chown(root+"/home/eve", 1001, 1001)
	}
	old := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	os.Chtimes(root+"/root/.bashrc", old, old.Add(-24*time.Hour))

	lines := runLive(t, Autostarts)
	byPath := map[string]map[string]any{}
	for _, l := range lines {
		byPath[l["path"].(string)] = l
	}
	if l := byPath[root+"/home/eve/.bashrc"]; l["type"] != "fifo" || !strings.Contains(l["note"].(string), "never opened") {
		t.Errorf("FIFO: %v", l)
	}
	if l := byPath[root+"/home/eve/.profile"]; l["type"] != "symlink" || l["link"] != target || l["target"] != nil ||
		!strings.Contains(l["note"].(string), "not followed") {
		t.Errorf("link to shadow: %v", l)
	}
	for _, l := range lines {
		if strings.Contains(strings.Join(toStrings(l["lines"]), "\n"), "secret-hash") {
			t.Errorf("shadow read into autostart: %v", l)
		}
	}
	if l := byPath[root+"/etc/profile.d/proxy.sh"]; l["sha256"] == nil || len(toStrings(l["lines"])) != 1 {
		t.Errorf("profile.d script: %v", l)
	}
	var st syscall.Stat_t
	syscall.Stat(root+"/root/.bashrc", &st)
	if at := time.Unix(st.Atim.Unix()); !at.Equal(old) {
		t.Errorf("reading .bashrc moved its atime from %v to %v", old, at)
	}
	if byPath[root+"/root/.bashrc"] == nil {
		t.Error("root's .bashrc not listed")
	}
}

// Units and crontabs behind links: an alias is a link line and its
// target's line; a masked unit (a link to /dev/null) is listed as such.
func TestServicesAndCronThroughLinks(t *testing.T) {
	root := t.TempDir()
	onRoot(t, root)
	plant(t, root+"/lib/systemd/system/real.service", "[Service]\nExecStart=/usr/bin/real\n")
	plant(t, root+"/etc/systemd/system/evil.service", "[Service]\nExecStart=/tmp/.x/kworker\n")
	os.MkdirAll(root+"/etc/systemd/system/multi-user.target.wants", 0o755)
	os.Symlink("../evil.service", root+"/etc/systemd/system/multi-user.target.wants/evil.service")
	os.Symlink(root+"/lib/systemd/system/real.service", root+"/etc/systemd/system/alias.service")
	os.Symlink("/dev/null", root+"/etc/systemd/system/masked.service")
	plant(t, root+"/etc/cron.d/job", "* * * * * root /tmp/.x/kworker\n")
	if err := syscall.Mkfifo(root+"/etc/cron.d/trap", 0o644); err != nil {
		t.Fatal(err)
	}
	units := map[string]map[string]any{}
	for _, l := range runLive(t, Services) {
		units[l["path"].(string)] = l
	}
	if u := units[root+"/etc/systemd/system/evil.service"]; u == nil || toStrings(u["enabled_by"])[0] != "multi-user.target.wants" ||
		toStrings(u["exec_start"])[0] != "ExecStart=/tmp/.x/kworker" {
		t.Errorf("evil.service: %v", u)
	}
	if u := units[root+"/etc/systemd/system/alias.service"]; u == nil || u["target"] != root+"/lib/systemd/system/real.service" {
		t.Errorf("alias: %v", u)
	}
	if u := units[root+"/etc/systemd/system/masked.service"]; u == nil || u["link"] != "/dev/null" {
		t.Errorf("masked: %v", u)
	}
	cron := runLive(t, Scheduled)
	if len(cron) != 1 || cron[0]["command"] != "/tmp/.x/kworker" {
		t.Errorf("cron: %v", cron)
	}
}

func toStrings(v any) []string {
	var out []string
	if a, ok := v.([]any); ok {
		for _, x := range a {
			out = append(out, x.(string))
		}
	}
	return out
}
