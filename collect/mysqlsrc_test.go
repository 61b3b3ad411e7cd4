//go:build linux

package collect

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/custos-ir/custos/internal/testenv"
	"github.com/custos-ir/custos/profiles"
)

// The database source reads env.php as evidence is read: through the
// Capistrano link into shared/, without moving its access time; a FIFO in
// its place is refused, not waited on.
func TestMySQLConnectionFromEnvPHP(t *testing.T) {
	root := t.TempDir()
	env := filepath.Join(root, "shared/app/etc/env.php")
	os.MkdirAll(filepath.Dir(env), 0o755)
	os.WriteFile(env, []byte("<?php return ['db' => ['connection' => ['default' => ['host' => 'db.internal', 'dbname' => 'shop', 'username' => 'magento', 'password' => 'pw']]]];\n"), 0o640)
	os.MkdirAll(filepath.Join(root, "releases/7/app/etc"), 0o755)
	os.Symlink(env, filepath.Join(root, "releases/7/app/etc/env.php"))
	os.Symlink("releases/7", filepath.Join(root, "current"))
	old := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	os.Chtimes(env, old, old.Add(-time.Hour))

	m := &MySQLSource{Name: "db", Spec: profiles.MySQL{MagentoRoot: filepath.Join(root, "current")}}
	db, _, err := m.connection()
	if err != nil || db.Host != "db.internal" || db.Name != "shop" {
		t.Fatalf("%+v %v", db, err)
	}
	var st syscall.Stat_t
	syscall.Stat(env, &st)
	if at := time.Unix(st.Atim.Unix()); !at.Equal(old) {
		t.Errorf("reading env.php moved its atime from %v to %v", old, at)
	}

	os.Remove(env)
	if err := mkfifo(env); err != nil {
		testenv.Missing(t, "a FIFO in the test's directory ("+err.Error()+")", "run the tests on a file system that makes FIFOs")
	}
	done := make(chan error, 1)
	go func() { _, _, err := m.connection(); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a FIFO as env.php was read")
		}
		t.Log(err)
	case <-time.After(10 * time.Second):
		t.Fatal("blocked on a FIFO as env.php")
	}
}
