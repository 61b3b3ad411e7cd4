package collect

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect/apps/magento"
	"github.com/custos-ir/custos/collect/mysqldump"
	"github.com/custos-ir/custos/profiles"
)

// MySQLSource dumps a database in one consistent snapshot, or, with
// Spec.Logs, takes the server's logs (binary, error, general, slow).
type MySQLSource struct {
	Name string
	Spec profiles.MySQL
	// binlogVia is "protocol" to read binary logs through the replication
	// protocol even from a local server (tests); "" chooses.
	binlogVia string
}

func (m *MySQLSource) format() mysqldump.Format {
	if m.Spec.Format == "tsv" {
		return mysqldump.TSV
	}
	return mysqldump.SQL
}

func (m *MySQLSource) Describe() Description {
	src := m.Spec.Database
	if m.Spec.MagentoRoot != "" {
		src = "Magento at " + m.Spec.MagentoRoot
	}
	if m.Spec.Logs {
		return Description{Name: m.Name, Kind: "mysql", Format: "tar", Sources: []string{"the logs of the server of " + src},
			Method: "paths from the server (@@log_error, @@general_log_file, @@slow_query_log_file, @@log_bin_basename), read as files (statx+read) on this host, binary logs through the replication protocol otherwise"}
	}
	return Description{Name: m.Name, Kind: "mysql", Format: string(m.format()), Sources: []string{src},
		Method: "go-sql-driver/mysql: one REPEATABLE READ consistent snapshot, read only"}
}

// connection finds the credentials: Magento's own files (and which
// Magento), or the profile's fields with the password from
// CUSTOS_MYSQL_PASSWORD.
func (m *MySQLSource) connection() (mysqldump.Conn, int, error) {
	if root := m.Spec.MagentoRoot; root != "" {
		return magento.ReadConn(root)
	}
	d := mysqldump.Conn{Host: m.Spec.Host, Port: m.Spec.Port, Socket: m.Spec.Socket, User: m.Spec.User, Name: m.Spec.Database,
		Password: os.Getenv("CUSTOS_MYSQL_PASSWORD"), TablePrefix: m.Spec.Prefix, Source: "profile"}
	if d.Host == "" && d.Socket == "" {
		d.Host = "localhost"
	}
	if d.Port == 0 {
		d.Port = 3306
	}
	return d, 0, nil
}

// open connects and checks the server answers.
func (m *MySQLSource) open(ctx context.Context) (*sql.DB, mysqldump.Conn, int, error) {
	conn, version, err := m.connection()
	if err != nil {
		return nil, conn, 0, err
	}
	db, err := sql.Open("mysql", conn.DSN())
	if err != nil {
		return nil, conn, 0, err
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	err = db.PingContext(pctx)
	cancel()
	if err != nil {
		db.Close()
		return nil, conn, 0, fmt.Errorf("database %s: %v", conn, err)
	}
	return db, conn, version, nil
}

func (m *MySQLSource) Collect(ctx context.Context, e *Emitter) error {
	db, conn, version, err := m.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if m.Spec.Logs {
		return m.collectLogs(ctx, e, db, conn)
	}
	var plan mysqldump.Plan
	if m.Spec.MagentoRoot != "" && len(m.Spec.Tables) == 0 {
		plan = magento.Plan(version, conn.TablePrefix, m.Spec.Customers)
		e.Warn("Magento %d store: its plan of tables (docs/database.md)", version)
	} else {
		plan = mysqldump.Plan{Prefix: conn.TablePrefix, Extras: true}
		for _, t := range m.Spec.Tables {
			plan.Tables = append(plan.Tables, mysqldump.Table{Name: t.Name, Mode: t.Mode, Where: t.Where, Limit: t.Limit, ExcludeColumns: t.Exclude, MaskColumns: t.Mask})
		}
	}
	rep, err := mysqldump.Dump(ctx, db, plan, m.format(), e)
	if err != nil {
		return err
	}
	for _, t := range rep.Tables {
		switch {
		case t.Error == mysqldump.ErrNoTable:
			e.Warn("table %s does not exist in this database", t.Name)
		case t.Error != "":
			e.Fail("table %s: %s", t.Name, t.Error)
		}
	}
	for _, p := range rep.Problems {
		e.Warn("not in the dump: %s", p)
	}
	if logs, err := mysqldump.ServerLogFiles(ctx, db); err == nil && len(logs) > 0 {
		var kinds []string
		for k, v := range logs {
			kinds = append(kinds, k+"="+v)
		}
		sort.Strings(kinds)
		e.Warn("the database server writes its logs to %s (a mysql artifact with logs: true takes them)", strings.Join(kinds, ", "))
	}
	return nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
