//go:build linux

package collect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A web root with a set-uid copy of a shell and an immutable, append-only
// web shell: the bodyfile shows the set-uid bit as ls does, and each of
// them has its own record in the manifest, saying why.
func TestTimelineMarksSetuidAndImmutable(t *testing.T) {
	root := t.TempDir()
	www := filepath.Join(root, "var/www/shop/pub")
	os.MkdirAll(www, 0o755)
	shell := filepath.Join(www, ".sh")
	os.WriteFile(shell, []byte("#!/bin/sh\n"), 0o755)
	os.Chmod(shell, 0o755|os.ModeSetuid)
	web := filepath.Join(www, "cache.php")
	os.WriteFile(web, []byte("<?php eval($_POST['x']);"), 0o644)
	os.WriteFile(filepath.Join(www, "index.php"), []byte("<?php\n"), 0o644)
	immutable := setFlags(t, web, 0x10|0x20) // FS_IMMUTABLE_FL, FS_APPEND_FL
	p, st, id := newPipeline(t)
	src := &Bodyfile{Name: "timeline-web", Roots: []string{filepath.Join(root, "var/www")}}
	m := runCollection(t, p, []Planned{{Source: src, Desc: src.Describe()}})
	body := string(decrypt(t, st, m.Storage.Prefix+m.Artifacts[0].Key, id))
	if !strings.Contains(body, "|"+shell+"|") || !strings.Contains(body, "|r/rrwsr-xr-x|") {
		t.Errorf("set-uid bit not in the bodyfile:\n%s", body)
	}
	recs := map[string]string{}
	for _, f := range m.Artifacts[0].Files {
		recs[f.Path] = f.Note + " " + strings.Join(f.Attrs, ",")
	}
	if !strings.Contains(recs[shell], "set-uid") {
		t.Errorf("set-uid shell not recorded: %v", recs)
	}
	if immutable && (!strings.Contains(recs[web], "immutable") || !strings.Contains(recs[web], "append")) {
		t.Errorf("immutable web shell not recorded: %v", recs)
	}
	if _, ok := recs[filepath.Join(www, "index.php")]; ok || len(m.Artifacts[0].Warnings) != 1 {
		t.Errorf("records %v, warnings %v", recs, m.Artifacts[0].Warnings)
	}
}

// setFlags sets inode flags (chattr) and clears them when the test ends;
// false when this file system or user cannot.
func setFlags(t *testing.T, p string, flags int) bool {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, flags); err != nil {
		if os.Getenv("CI") == "true" && os.Getuid() == 0 {
			t.Fatalf("chattr on %s: %v", p, err)
		}
		t.Logf("chattr: %v: immutable flag not tested", err)
		return false
	}
	t.Cleanup(func() {
		if f, err := os.Open(p); err == nil {
			unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, 0)
			f.Close()
		}
	})
	return true
}
