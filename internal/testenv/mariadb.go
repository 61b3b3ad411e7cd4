package testenv

import (
	"database/sql"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MariaDBAddr is the test server: root without a password on loopback.
const MariaDBAddr = "127.0.0.1:3306"

var dbSeq atomic.Int64

// MariaDB creates a fresh database on the test MariaDB, dropped when the
// test ends, and returns a handle on it (multi-statement) and its name. A
// server that is not there fails the test under CI, skips it elsewhere.
func MariaDB(t testing.TB) (*sql.DB, string) {
	t.Helper()
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr, c.Timeout = "root", "tcp", MariaDBAddr, 5*time.Second
	c.MultiStatements = true
	admin, err := sql.Open("mysql", c.FormatDSN())
	if err == nil {
		err = admin.Ping()
	}
	if err != nil {
		Missing(t, "MariaDB on "+MariaDBAddr+" (root, no password)", "apt-get install mariadb-server; start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd")
	}
	name := fmt.Sprintf("custos_t%d_%d", time.Now().UnixNano()%1e9, dbSeq.Add(1))
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec("DROP DATABASE " + name); admin.Close() })
	c.DBName = name
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, name
}
