package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custos-ir/custos/custody"
)

// Issue 18: one indicator list, looked for while collecting: the hash of
// a running process's executable in processes, the peer of a socket in
// sockets, a string in a collected log; each hit recorded where it was
// seen, in the manifest and the report.
func TestIndicatorsSeenWhileCollecting(t *testing.T) {
	r := newRig(t)
	exe, _ := os.Executable()
	fh, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	io.Copy(h, fh)
	fh.Close()
	// A socket whose peer is 127.0.0.77: a listener there and a client.
	ln, err := net.Listen("tcp", "127.0.0.77:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	os.WriteFile(filepath.Join(r.src, "access.log"), []byte("203.0.113.9 - - \"GET /pub/media/x.php?c=eval(base64_decode( HTTP/1.1\" 200\n"), 0o644)
	list := filepath.Join(r.dir, "case.ioc")
	os.WriteFile(list, []byte("# INC-42\nsha256:"+hex.EncodeToString(h.Sum(nil))+"\nip:127.0.0.77\nstring:eval(base64_decode(\n"), 0o600)
	prof := filepath.Join(r.dir, "p.yaml")
	os.WriteFile(prof, []byte("name: ioc-test\ndescription: test\nplatform: linux\nartifacts:\n  - name: processes\n    description: p\n    live: processes\n  - name: sockets\n    description: s\n    live: sockets\n  - name: logs\n    description: l\n    files:\n      paths: ["+r.src+"]\n"), 0o600)
	home := filepath.Join(r.dir, "home")
	out, code := custos(t, "collect", "--case", "IOC", "-R", r.pub, "--profile", prof, "--ioc", list, "--priority", "normal", "--to", home)
	if code != 0 && code != exitPartial {
		t.Fatalf("collect exit %d: %s", code, out)
	}
	col := onlyCollection(t, home)
	mb, _ := os.ReadFile(filepath.Join(col, custody.ManifestName))
	m, err := custody.Parse(mb)
	if err != nil {
		t.Fatal(err)
	}
	if m.Indicators == nil || len(m.Indicators.Entries) != 3 || m.Indicators.Entries[1].Line != 3 {
		t.Fatalf("indicators recorded: %+v", m.Indicators)
	}
	seen := map[string]string{}
	for _, a := range m.Artifacts {
		for _, h := range a.Hits {
			seen[h.Indicator] = a.Name + " " + h.Where + " " + strings.Join(h.Lines, " | ")
		}
	}
	for ind, want := range map[string]string{"sha256:" + hex.EncodeToString(h.Sum(nil)): "processes", "ip:127.0.0.77": "sockets", "string:eval(base64_decode(": "logs " + filepath.Join(r.src, "access.log")} {
		if !strings.HasPrefix(seen[ind], want) {
			t.Errorf("%s seen in %q, want %q", ind, seen[ind], want)
		}
	}
	if len(m.Hits) != 3 {
		t.Errorf("hits summary: %+v", m.Hits)
	}
	rep, _ := custos(t, "report", home)
	for _, want := range []string{"## Indicators of compromise", "3 indicators looked for", "ip:127.0.0.77 | sockets"} {
		if !strings.Contains(rep, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// A list with a bad line is refused, naming the line, before anything
	// is read.
	os.WriteFile(list, []byte("# INC-42\n203.0.113.9\nsha256:1234\n"), 0o600)
	out, code = custos(t, "collect", "--case", "IOC", "-R", r.pub, "--profile", prof, "--ioc", list, "--to", filepath.Join(r.dir, "bad"))
	if code != exitUsage || !strings.Contains(out, "line 3: \"sha256:1234\": a sha256 is 64 hex digits") {
		t.Errorf("bad list (exit %d): %s", code, out)
	}
	if _, err := os.Stat(filepath.Join(r.dir, "bad")); err == nil {
		t.Error("something was written for a bad list")
	}
}
