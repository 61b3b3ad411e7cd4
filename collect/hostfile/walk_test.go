//go:build unix

package hostfile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

func mustDo(t *testing.T, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// walkAll walks patterns (relative to root) and returns each entry as
// "path" for files, "path -> target" for followed links, "path -| why" for
// links not followed, "path !err" for errors, paths relative to root.
func walkAll(t *testing.T, root string, opt WalkOptions, pats ...string) []string {
	t.Helper()
	var abs []string
	for _, p := range pats {
		abs = append(abs, root+p)
	}
	for i, x := range opt.Excludes {
		opt.Excludes[i] = root + x
	}
	var got []string
	rel := func(p string) string {
		if r, ok := strings.CutPrefix(p, root); ok {
			return r
		}
		return "!" + p // outside the test root
	}
	err := Walk(context.Background(), abs, opt, func(e *Entry) error {
		switch {
		case e.Err != nil:
			got = append(got, rel(e.Path)+" !"+ErrText(e.Err))
		case e.Link != nil && e.Link.Target != "":
			got = append(got, rel(e.Path)+" -> "+rel(e.Link.Target))
		case e.Link != nil:
			got = append(got, rel(e.Path)+" -| "+e.Link.Why)
		case e.Kind == KindDir:
			got = append(got, rel(e.Path)+"/")
		default:
			got = append(got, rel(e.Path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	mustDo(t, os.MkdirAll(filepath.Dir(p), 0o755), os.WriteFile(p, []byte(s), 0o644))
}

func TestWalkPatterns(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root+"/home/alice/.ssh/authorized_keys", "k")
	writeFile(t, root+"/home/alice/.bash_history", "ls")
	writeFile(t, root+"/home/bob/.bash_history", "ls")
	writeFile(t, root+"/log/nginx/access.log", "GET /")
	mustDo(t, syscall.Mkfifo(root+"/log/fifo", 0o600))
	for _, c := range []struct {
		pats, excl []string
		want       string
	}{
		{[]string{"/home/*/.ssh/authorized_keys"}, nil, "[/home/alice/.ssh/authorized_keys]"},
		{[]string{"/home/*/.*_history"}, nil, "[/home/alice/.bash_history /home/bob/.bash_history]"},
		{[]string{"/home/**/.bash_history"}, nil, "[/home/alice/.bash_history /home/bob/.bash_history]"},
		{[]string{"/home"}, []string{"/home/alice/.ssh"}, "[/home/alice/.bash_history /home/bob/.bash_history]"},
		{[]string{"/log/nginx", "/log/nginx/access.log"}, nil, "[/log/nginx/access.log]"},
		{[]string{"/log"}, nil, "[/log/fifo /log/nginx/access.log]"},
		{[]string{"/nonexistent/*", "/nonexistent"}, nil, "[]"},
	} {
		got := walkAll(t, root, WalkOptions{Excludes: c.excl}, c.pats...)
		if fmt.Sprint(got) != c.want {
			t.Errorf("%v - %v: got %v want %v", c.pats, c.excl, got, c.want)
		}
	}
	if err := ValidatePattern("/var/www/../../etc/passwd"); err == nil {
		t.Error("pattern with .. accepted")
	}
}

// A Capistrano / Deployer layout: current -> releases/N, and app/etc/env.php,
// var/log and pub/media links into shared/. Every link is recorded and
// what it leads to is taken, at its own path, once.
func TestWalkFollowsDeployLinks(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root+"/shop/shared/app/etc/env.php", "<?php return [];")
	writeFile(t, root+"/shop/shared/var/log/system.log", "log")
	writeFile(t, root+"/shop/shared/pub/media/x.jpg", "jpg")
	writeFile(t, root+"/shop/releases/5/index.php", "<?php")
	mustDo(t, os.MkdirAll(root+"/shop/releases/5/app/etc", 0o755), os.MkdirAll(root+"/shop/releases/5/var", 0o755),
		os.MkdirAll(root+"/shop/releases/5/pub", 0o755),
		os.Symlink("releases/5", root+"/shop/current"),
		os.Symlink("../../../../shared/app/etc/env.php", root+"/shop/releases/5/app/etc/env.php"),
		os.Symlink(root+"/shop/shared/var/log", root+"/shop/releases/5/var/log"),
		os.Symlink("../../../shared/pub/media", root+"/shop/releases/5/pub/media"))
	got := walkAll(t, root, WalkOptions{}, "/shop/current/app/etc/env.php", "/shop/current/var/log", "/shop/current")
	want := []string{
		"/shop/current -> /shop/releases/5",
		"/shop/releases/5/app/etc/env.php -> /shop/shared/app/etc/env.php",
		"/shop/shared/app/etc/env.php",
		"/shop/releases/5/var/log -> /shop/shared/var/log",
		"/shop/shared/var/log/system.log",
		"/shop/releases/5/index.php",
		"/shop/releases/5/pub/media -> /shop/shared/pub/media",
		"/shop/shared/pub/media/x.jpg",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// links: record keeps the links and follows none.
	got = walkAll(t, root, WalkOptions{Links: Record}, "/shop/current/app/etc/env.php", "/shop/current")
	if fmt.Sprint(got) != "[/shop/current -| ]" {
		t.Errorf("links: record: %v", got)
	}
}

// Loops, dangling links, links to links, a link to an ancestor: each is
// recorded, the walk ends, nothing is taken twice.
func TestWalkLinkLoops(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root+"/a/f", "f")
	mustDo(t, os.Symlink("loop-b", root+"/a/loop-a"), os.Symlink("loop-a", root+"/a/loop-b"),
		os.Symlink(root+"/nonexistent", root+"/a/dangling"),
		os.Symlink("..", root+"/a/up"), os.Symlink("up", root+"/a/up2"),
		os.Symlink("f", root+"/a/same"))
	got := walkAll(t, root, WalkOptions{}, "/a", "/a/**/f")
	want := []string{
		"/a/dangling -| dangling: its target does not exist",
		"/a/f",
		"/a/loop-a -| not followed: more than 40 links on the way (a loop)",
		"/a/loop-b -| not followed: more than 40 links on the way (a loop)",
		"/a/same -> /a/f",
		"/a/up -> ",
		"/a/up2 -> ",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// An unprivileged user's link leads only into what that user owns: a web
// shell's var/log -> /etc is recorded, not followed.
func TestWalkRefusesLinksIntoOthersFiles(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give files to other users")
	}
	root := t.TempDir()
	writeFile(t, root+"/www/shop/index.php", "<?php")
	writeFile(t, root+"/etc/shadow", "root:$6$secret")
	writeFile(t, root+"/www/upload/x.php", "<?php evil")
	mustDo(t, os.Chown(root+"/www", 33, 33), os.Chown(root+"/www/shop", 33, 33), os.Chown(root+"/www/upload", 33, 33),
		os.Chown(root+"/www/upload/x.php", 33, 33),
		os.Symlink(root+"/etc", root+"/www/shop/log"), os.Lchown(root+"/www/shop/log", 33, 33),
		os.Symlink(root+"/etc/shadow", root+"/www/shop/.profile"), os.Lchown(root+"/www/shop/.profile", 33, 33),
		os.Symlink("../upload/x.php", root+"/www/shop/ok.php"), os.Lchown(root+"/www/shop/ok.php", 33, 33),
		os.Symlink(root+"/etc/shadow", root+"/www/shop/rootmade"))
	got := walkAll(t, root, WalkOptions{}, "/www/shop")
	for i, g := range got {
		got[i], _, _ = strings.Cut(g, " (an unprivileged")
	}
	want := []string{
		"/www/shop/.profile -| not followed: the link " + root + "/www/shop/.profile belongs to uid 33 and its target " + root + "/etc/shadow to uid 0, with no directory above it of uid 33",
		"/www/shop/index.php",
		"/www/shop/log -| not followed: the link " + root + "/www/shop/log belongs to uid 33 and its target " + root + "/etc to uid 0, with no directory above it of uid 33",
		"/www/shop/ok.php -> /www/upload/x.php",
		"/www/upload/x.php",
		"/www/shop/rootmade -> /etc/shadow",
		"/etc/shadow",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A directory swapped for a link to /etc while the walk runs is met as a
// link (recorded, not followed into another owner's files), never walked
// into under its in-scope name.
func TestWalkSwapRace(t *testing.T) {
	if runtime.GOOS != "linux" || os.Getuid() != 0 {
		t.Skip("the swap is caught by descriptors on Linux; needs root to own the link as another user")
	}
	root := t.TempDir()
	secret := root + "/etc/shadow"
	writeFile(t, secret, "root:$6$secret")
	for i := 0; i < 200; i++ {
		writeFile(t, fmt.Sprintf("%s/www/d/sub/f%03d", root, i), "x")
	}
	// The attacker's link, made as uid 33, waits beside the tree.
	mustDo(t, os.Chown(root+"/www", 33, 33), os.Mkdir(root+"/stage", 0o755),
		os.Symlink(root+"/etc", root+"/stage/sub"), os.Lchown(root+"/stage/sub", 33, 33))
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // swap sub for the link and back, as fast as it can
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			os.Rename(root+"/www/d/sub", root+"/www/d/held")
			os.Rename(root+"/stage/sub", root+"/www/d/sub")
			os.Rename(root+"/www/d/sub", root+"/stage/sub")
			os.Rename(root+"/www/d/held", root+"/www/d/sub")
		}
	}()
	defer func() { close(stop); <-done }()
	links, files := 0, 0
	defer func() { t.Logf("met the link %d times, read %d files", links, files) }()
	for run := 0; run < 300; run++ {
		err := Walk(context.Background(), []string{root + "/www"}, WalkOptions{}, func(e *Entry) error {
			if e.Link != nil {
				links++
			}
			if e.Err != nil || e.Link != nil {
				if e.Link != nil && e.Link.Target != "" {
					t.Errorf("run %d: followed %s -> %s", run, e.Path, e.Link.Target)
				}
				return nil
			}
			f, err := e.Open()
			if err != nil {
				return nil
			}
			defer f.Close()
			files++
			b := make([]byte, 64)
			n, _ := f.Read(b)
			if strings.Contains(string(b[:n]), "secret") || strings.HasPrefix(f.Record().Path, root+"/etc") {
				t.Errorf("run %d: read %s as %s", run, f.Record().Path, e.Path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadFile(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root+"/etc/real.conf", "nameserver 1.1.1.1\n")
	mustDo(t, os.Symlink("real.conf", root+"/etc/resolv.conf"), syscall.Mkfifo(root+"/etc/fifo", 0o600),
		os.Symlink("etc", root+"/etclink"))
	c, err := ReadFile(root+"/etclink/resolv.conf", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.Data) != "nameserver 1.1.1.1\n" || c.Rec.Path != root+"/etc/real.conf" || len(c.Via) != 2 ||
		c.Via[0].Path != root+"/etclink" || c.Via[1].Target != root+"/etc/real.conf" {
		t.Errorf("read %q as %s via %+v", c.Data, c.Rec.Path, c.Via)
	}
	if c, err := ReadFile(root+"/etc/real.conf", 4); err != nil || string(c.Data) != "name" || !c.Truncated {
		t.Errorf("limited read: %+v %v", c, err)
	}
	// A FIFO is never opened: no writer needed, nothing blocks.
	if _, err := ReadFile(root+"/etc/fifo", 1<<20); err == nil || !strings.Contains(err.Error(), "not a regular file (fifo)") {
		t.Errorf("fifo: %v", err)
	}
}

func TestMatchPattern(t *testing.T) {
	for _, c := range []struct {
		p, n string
		ok   bool
	}{
		{"/var/log/journal/**", "/var/log/journal/x/y.journal", true},
		{"/var/log/journal/**", "/var/log/syslog", false},
		{"/home/*/.ssh/id_*", "/home/a/.ssh/id_rsa", true},
		{"/home/*/.ssh/id_*", "/home/a/.ssh/authorized_keys", false},
		{"/tmp", "/tmp/x", true},
	} {
		if got := MatchPattern(c.p, c.n); got != c.ok {
			t.Errorf("MatchPattern(%q, %q) = %v", c.p, c.n, got)
		}
	}
}

// FuzzWalkLinkText: whatever a link's text (an attacker writes it), the
// walk ends, reports the link once, and what it reports is there. The link
// and the tree belong to one user, so the walk may follow the link inside
// the tree and nowhere else.
func FuzzWalkLinkText(f *testing.F) {
	for _, s := range []string{"..", "../..", "/", "a/../../b", "x/y/z", "././.", "\xff/..", strings.Repeat("../", 50), "l", "l/l", "f", "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if text == "" || strings.IndexByte(text, 0) >= 0 || len(text) > 4000 {
			return
		}
		root := t.TempDir()
		writeFile(t, root+"/d/f", "f")
		if err := os.Symlink(text, root+"/d/l"); err != nil {
			return
		}
		if os.Getuid() == 0 {
			for _, p := range []string{"/d", "/d/f", "/d/l"} {
				os.Lchown(root+p, 12345, 12345)
			}
		}
		links := 0
		err := Walk(context.Background(), []string{root + "/d"}, WalkOptions{}, func(e *Entry) error {
			if e.Path == root+"/d/l" {
				links++
			}
			if !strings.HasPrefix(e.Path, root+"/d") {
				t.Errorf("link %q led the walk out of its tree, to %q", text, e.Path)
			}
			if _, err := os.Lstat(e.Path); e.Err == nil && err != nil {
				t.Errorf("reported %q, which is not there: %v", e.Path, err)
			}
			return nil
		})
		if err != nil || links != 1 {
			t.Fatalf("link %q: reported %d times, err %v", text, links, err)
		}
	})
}
