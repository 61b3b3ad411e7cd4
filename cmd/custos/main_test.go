package main

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"custos": main})
}

// TestScripts runs the CLI stories in testdata/script: each is a readable
// sequence of commands, their exit codes, output and files.
func TestScripts(t *testing.T) {
	testscript.Run(t, scriptParams(t, "testdata/script"))
}

func scriptParams(t *testing.T, dir string) testscript.Params {
	return testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("CI", os.Getenv("CI"))
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				return os.Getuid() == 0, nil
			case "mariadb":
				// Under CI MariaDB must be there: true, and a missing server fails.
				if os.Getenv("CI") == "true" {
					return true, nil
				}
				c := mysql.NewConfig()
				c.User, c.Net, c.Addr, c.Timeout = "root", "tcp", "127.0.0.1:3306", 2*time.Second
				db, err := sql.Open("mysql", c.FormatDSN())
				if err != nil {
					return false, nil
				}
				defer db.Close()
				return db.Ping() == nil, nil
			case "interop":
				// The Debian tools the interop stories run. Under CI they must
				// be there: the condition is true and a missing tool fails.
				if os.Getenv("CI") == "true" {
					return true, nil
				}
				for _, tool := range []string{"age", "zstd", "sha256sum", "ssh-keygen"} {
					if _, err := exec.LookPath(tool); err != nil {
						return false, nil
					}
				}
				return true, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// flipbyte FILE OFFSET: flip the lowest bit of one byte; a
			// negative offset counts from the end.
			"flipbyte": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 && len(args) != 3 {
					ts.Fatalf("usage: flipbyte FILE OFFSET [AFTER]")
				}
				p := ts.MkAbs(args[0])
				b, err := os.ReadFile(p)
				ts.Check(err)
				if len(args) == 3 {
					// flipbyte FILE OFFSET AFTER: OFFSET counts from the first
					// occurrence of the string AFTER.
					i := strings.Index(string(b), args[2])
					if i < 0 {
						ts.Fatalf("%s not in %s", args[2], args[0])
					}
					n, err := strconv.Atoi(args[1])
					ts.Check(err)
					b[i+n] ^= 1
					ts.Check(os.WriteFile(p, b, 0o600))
					return
				}
				off, err := strconv.Atoi(args[1])
				ts.Check(err)
				if off < 0 {
					off += len(b)
				}
				b[off] ^= 1
				ts.Check(os.WriteFile(p, b, 0o600))
			},
			// manyfiles DIR N: write N small files under DIR, 1,000 a directory.
			"manyfiles": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: manyfiles DIR N")
				}
				n, err := strconv.Atoi(args[1])
				ts.Check(err)
				for i := range n {
					d := filepath.Join(ts.MkAbs(args[0]), fmt.Sprintf("d%03d", i/1000))
					if i%1000 == 0 {
						ts.Check(os.MkdirAll(d, 0o755))
					}
					ts.Check(os.WriteFile(filepath.Join(d, fmt.Sprintf("f%06d.php", i)), []byte(fmt.Sprintln("<?php //", i)), 0o644))
				}
			},
			// glob1 VAR PATTERN: set VAR to the one path matching PATTERN.
			"glob1": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: glob1 VAR PATTERN")
				}
				m, err := filepath.Glob(ts.MkAbs(args[1]))
				ts.Check(err)
				if len(m) != 1 {
					ts.Fatalf("%s matches %d paths: %v", args[1], len(m), m)
				}
				ts.Setenv(args[0], m[0])
			},
			// code N PROG ARGS...: run PROG and check its exit code is N;
			// stdout and stderr go to the script's log.
			"code": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) < 2 {
					ts.Fatalf("usage: code N PROG [ARGS...]")
				}
				want, err := strconv.Atoi(args[0])
				ts.Check(err)
				cmd := exec.Command(args[1], args[2:]...)
				cmd.Dir = ts.Getenv("WORK")
				for _, k := range []string{"PATH", "HOME", "TMPDIR", "WORK", "CI"} {
					cmd.Env = append(cmd.Env, k+"="+ts.Getenv(k))
				}
				out, _ := cmd.CombinedOutput()
				ts.Logf("%s", out)
				got := cmd.ProcessState.ExitCode()
				if (got == want) == neg {
					ts.Fatalf("%s exited %d, want %d", args[1], got, want)
				}
			},
			// truncate FILE N: keep the first N bytes; a negative N drops
			// that many from the end.
			"truncate": func(ts *testscript.TestScript, neg bool, args []string) {
				p := ts.MkAbs(args[0])
				b, err := os.ReadFile(p)
				ts.Check(err)
				n, err := strconv.Atoi(args[1])
				ts.Check(err)
				if n < 0 {
					n += len(b)
				}
				ts.Check(os.WriteFile(p, b[:n], 0o600))
			},
			// mysqlfixture VAR PREFIX: a new database on the test MariaDB
			// holding the Magento-shaped fixture; VAR names it.
			"mysqlfixture": func(ts *testscript.TestScript, neg bool, args []string) {
				name := fmt.Sprintf("custos_cli_%d", time.Now().UnixNano()%1e9)
				c := mysql.NewConfig()
				c.User, c.Net, c.Addr, c.MultiStatements = "root", "tcp", "127.0.0.1:3306", true
				db, err := sql.Open("mysql", c.FormatDSN())
				ts.Check(err)
				if err := db.Ping(); err != nil {
					ts.Fatalf("MariaDB is not running on 127.0.0.1:3306 (start it: start-stop-daemon --start --background --exec /usr/sbin/mariadbd)")
				}
				_, err = db.Exec("CREATE DATABASE " + name)
				ts.Check(err)
				ts.Defer(func() { db.Exec("DROP DATABASE " + name); db.Close() })
				b, err := os.ReadFile("../../collect/mysqldump/testdata/magento.sql")
				ts.Check(err)
				_, err = db.Exec("USE " + name + ";" + strings.ReplaceAll(string(b), "PREFIX_", args[1]))
				ts.Check(err)
				ts.Setenv(args[0], name)
			},
			// mkfifo PATH
			"mkfifo": func(ts *testscript.TestScript, neg bool, args []string) {
				ts.Check(mkfifo(ts.MkAbs(args[0])))
			},
		},
	}
}
