package collect

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect/hostfile"
	"github.com/custos-ir/custos/collect/mysqldump"
	"github.com/custos-ir/custos/internal/phpenv"
	"github.com/custos-ir/custos/profiles"
)

// MySQLSource dumps a database in one consistent snapshot.
type MySQLSource struct {
	Name string
	Spec profiles.MySQL
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
	return Description{Name: m.Name, Kind: "mysql", Format: string(m.format()), Sources: []string{src},
		Method: "go-sql-driver/mysql: one REPEATABLE READ consistent snapshot, read only"}
}

// connection finds the credentials: Magento's own files, or the profile's
// fields with the password from CUSTOS_MYSQL_PASSWORD.
func (m *MySQLSource) connection() (phpenv.DB, error) {
	if root := m.Spec.MagentoRoot; root != "" {
		// Through hostfile like any evidence: O_NOATIME (the file's access
		// time is evidence too), links followed only as a walk would
		// (env.php is a link into shared/ in a Capistrano layout).
		var problems []string
		for _, f := range []struct {
			name  string
			parse func([]byte) (phpenv.DB, error)
		}{{"env.php", phpenv.MagentoDB}, {"local.xml", phpenv.MagentoLocalXML}} {
			c, err := hostfile.ReadFile(filepath.Join(root, "app", "etc", f.name), 16<<20)
			if err == nil {
				return f.parse(c.Data)
			}
			if !errors.Is(err, fs.ErrNotExist) {
				problems = append(problems, "app/etc/"+f.name+": "+hostfile.ErrText(err))
			}
		}
		if len(problems) > 0 {
			return phpenv.DB{}, fmt.Errorf("the Magento configuration under %s: %s", root, strings.Join(problems, "; "))
		}
		return phpenv.DB{}, fmt.Errorf("no app/etc/env.php or app/etc/local.xml under %s: pass --set magento_root=DIR", root)
	}
	d := phpenv.DB{Host: m.Spec.Host, Port: m.Spec.Port, Socket: m.Spec.Socket, User: m.Spec.User, Name: m.Spec.Database,
		Password: os.Getenv("CUSTOS_MYSQL_PASSWORD"), TablePrefix: m.Spec.Prefix, Source: "profile"}
	if d.Host == "" && d.Socket == "" {
		d.Host = "localhost"
	}
	if d.Port == 0 {
		d.Port = 3306
	}
	return d, nil
}

func (m *MySQLSource) Collect(ctx context.Context, e *Emitter) error {
	conn, err := m.connection()
	if err != nil {
		return err
	}
	db, err := sql.Open("mysql", conn.DSN())
	if err != nil {
		return err
	}
	defer db.Close()
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	err = db.PingContext(pctx)
	cancel()
	if err != nil {
		return fmt.Errorf("database %s: %v", conn, err)
	}
	var plan mysqldump.Plan
	if m.Spec.MagentoRoot != "" && len(m.Spec.Tables) == 0 {
		plan = mysqldump.MagentoPlan(conn.TablePrefix, m.Spec.Customers)
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
		case t.Error == "no such table":
			e.Warn("table %s does not exist in this database", t.Name)
		case t.Error != "":
			e.Fail("table %s: %s", t.Name, t.Error)
		}
	}
	if logs, err := mysqldump.ServerLogFiles(ctx, db); err == nil && len(logs) > 0 {
		var kinds []string
		for k, v := range logs {
			kinds = append(kinds, k+"="+v)
		}
		sort.Strings(kinds)
		e.Warn("the database server writes its logs to %s (collected when under a collected path; otherwise add --path)", strings.Join(kinds, ", "))
	}
	return nil
}

// magentoPlaces are where shops usually live.
var magentoPlaces = []string{"/var/www/html", "/var/www/magento*", "/var/www/*", "/var/www/*/htdocs", "/var/www/*/public_html",
	"/var/www/*/current", "/srv/www/*", "/srv/*", "/home/*/public_html", "/home/*/www", "/home/*/magento*", "/opt/magento*"}

// DiscoverMagento looks for a Magento root where shops usually live. A
// root reached through a link (current -> releases/N) is named as found, so
// the profile's paths go through the link and record it.
func DiscoverMagento() (root string, others []string) {
	var found []string
	for _, pat := range magentoPlaces {
		var ms []string
		hostfile.Walk(context.Background(), []string{pat}, hostfile.WalkOptions{Links: hostfile.Record, Shallow: true}, func(e *hostfile.Entry) error {
			if e.Err == nil && (e.Kind == hostfile.KindDir || e.Kind == hostfile.KindLink) {
				ms = append(ms, e.Path)
			}
			return nil
		})
		sort.Strings(ms)
		for _, d := range ms {
			for _, f := range []string{"app/etc/env.php", "app/etc/local.xml"} {
				if _, _, err := hostfile.Stat(filepath.Join(d, f)); err == nil && !contains(found, d) {
					found = append(found, d)
				}
			}
		}
	}
	if len(found) == 0 {
		return "", nil
	}
	return found[0], found[1:]
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
