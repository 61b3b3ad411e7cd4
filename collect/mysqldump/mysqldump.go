// Package mysqldump dumps selected MySQL/MariaDB tables in one consistent
// snapshot, streaming rows (no table is held in memory), as SQL or TSV.
//
// It never dumps card data: whatever a plan says, every cc_* column of
// Magento's sales_order_payment and quote_payment is left out and their
// free-form payment fields are masked. Identifiers are validated before they
// reach a query; values are never interpolated into SQL.
package mysqldump

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	_ "github.com/go-sql-driver/mysql" // registers "mysql"
)

// Format is sql or tsv.
type Format string

const (
	SQL Format = "sql"
	TSV Format = "tsv"
)

// Table is one table of a plan.
type Table struct {
	Name           string   // without prefix
	Mode           string   // rows (default), count, schema
	Where          string   // trusted: from the profile author, never from the host
	Limit          int      // 0: all rows
	ExcludeColumns []string // globs, e.g. cc_*
	MaskColumns    []string // globs: value replaced by "***MASKED len=N sha256=8hex***"
}

// Plan is what to dump.
type Plan struct {
	Prefix string
	Tables []Table
	Extras bool // triggers, routines, events, the server's log files and variables
}

// TableReport says what was dumped of one table.
type TableReport struct {
	Name     string   `json:"name"`
	Mode     string   `json:"mode"`
	Rows     int64    `json:"rows"`
	Excluded []string `json:"excluded_columns,omitempty"`
	Masked   []string `json:"masked_columns,omitempty"`
	Error    string   `json:"error,omitempty"`
}

// Report is the whole dump's account.
type Report struct {
	Server   string        `json:"server_version"`
	Snapshot time.Time     `json:"snapshot"`
	Tables   []TableReport `json:"tables"`
}

var identRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

// ValidIdent reports whether s may be used as a table or column name.
func ValidIdent(s string) bool { return identRE.MatchString(s) }

func quoteIdent(s string) string { return "`" + s + "`" }

// cardTables are Magento's payment tables, whatever the prefix.
var cardTables = map[string]bool{"sales_order_payment": true, "quote_payment": true}

// enforced adds the rules no plan can lift.
func enforced(t Table) Table {
	if cardTables[t.Name] {
		t.ExcludeColumns = append(append([]string(nil), t.ExcludeColumns...), "cc_*")
		t.MaskColumns = append(append([]string(nil), t.MaskColumns...), "additional_information", "additional_data", "echeck_*")
	}
	return t
}

func matchAny(globs []string, name string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(strings.ToLower(g), strings.ToLower(name)); ok {
			return true
		}
	}
	return false
}

// Mask hides a value but keeps it comparable: length and a short digest.
func Mask(b []byte) string {
	sum := sha256.Sum256(b)
	return fmt.Sprintf("***MASKED len=%d sha256=%s***", len(b), hex.EncodeToString(sum[:4]))
}

// Dump writes the plan to w in one consistent snapshot. A table that fails
// (missing, denied) is recorded in the report and the dump goes on.
func Dump(ctx context.Context, db *sql.DB, plan Plan, format Format, w io.Writer) (*Report, error) {
	if !ValidIdent(plan.Prefix) && plan.Prefix != "" {
		return nil, fmt.Errorf("table prefix %q is not an identifier", plan.Prefix)
	}
	if format != SQL && format != TSV {
		return nil, fmt.Errorf("format %q: want sql or tsv", format)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	for _, q := range []string{
		"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
		"START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("%s: %w", q, err)
		}
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	rep := &Report{Snapshot: time.Now().UTC()}
	conn.QueryRowContext(ctx, "SELECT VERSION()").Scan(&rep.Server)
	var dbname string
	conn.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&dbname)
	out := &writer{w: w, format: format}
	out.comment(fmt.Sprintf("custos mysqldump: server %s, database %s, snapshot %s (REPEATABLE READ, consistent snapshot, read only)", rep.Server, dbname, rep.Snapshot.Format(time.RFC3339)))
	out.comment("card data is never dumped: cc_* columns of sales_order_payment and quote_payment are left out; their additional_information, additional_data and echeck_* columns are masked")
	for _, t := range plan.Tables {
		t = enforced(t)
		tr := TableReport{Name: plan.Prefix + t.Name, Mode: t.Mode}
		if tr.Mode == "" {
			tr.Mode = "rows"
		}
		if err := dumpTable(ctx, conn, plan.Prefix, t, tr.Mode, out, &tr); err != nil {
			tr.Error = err.Error()
			out.comment("table " + tr.Name + ": not dumped: " + err.Error())
		}
		if out.err != nil {
			return rep, out.err
		}
		rep.Tables = append(rep.Tables, tr)
	}
	if plan.Extras {
		extras(ctx, conn, out)
	}
	out.flush()
	return rep, out.err
}

func dumpTable(ctx context.Context, conn *sql.Conn, prefix string, t Table, mode string, out *writer, tr *TableReport) error {
	if !ValidIdent(t.Name) || !ValidIdent(prefix+t.Name) {
		return fmt.Errorf("table name %q is not an identifier", t.Name)
	}
	full := prefix + t.Name
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", full).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("no such table")
	}
	var name, create string
	if err := conn.QueryRowContext(ctx, "SHOW CREATE TABLE "+quoteIdent(full)).Scan(&name, &create); err != nil {
		return err
	}
	out.table(full, create)
	if mode == "schema" {
		return nil
	}
	if mode == "count" {
		var rows int64
		if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quoteIdent(full)).Scan(&rows); err != nil {
			return err
		}
		tr.Rows = rows
		out.comment(fmt.Sprintf("table %s: %d rows (count only: rows are dumped only when the responder asks)", full, rows))
		return nil
	}
	if mode != "rows" {
		return fmt.Errorf("mode %q: want rows, count or schema", mode)
	}
	cols, err := columns(ctx, conn, full)
	if err != nil {
		return err
	}
	var keep []string
	var masked []bool
	for _, c := range cols {
		switch {
		case !ValidIdent(c):
			tr.Excluded = append(tr.Excluded, c)
		case matchAny(t.ExcludeColumns, c):
			tr.Excluded = append(tr.Excluded, c)
		default:
			keep = append(keep, c)
			m := matchAny(t.MaskColumns, c)
			masked = append(masked, m)
			if m {
				tr.Masked = append(tr.Masked, c)
			}
		}
	}
	if len(keep) == 0 {
		return fmt.Errorf("every column is excluded")
	}
	if len(tr.Excluded) > 0 {
		out.comment(fmt.Sprintf("table %s: columns left out: %s", full, strings.Join(tr.Excluded, ", ")))
	}
	if len(tr.Masked) > 0 {
		out.comment(fmt.Sprintf("table %s: columns masked: %s", full, strings.Join(tr.Masked, ", ")))
	}
	q := "SELECT "
	for i, c := range keep {
		if i > 0 {
			q += ", "
		}
		q += quoteIdent(c)
	}
	q += " FROM " + quoteIdent(full)
	if t.Where != "" {
		q += " WHERE " + t.Where
	}
	if t.Limit > 0 {
		q += " LIMIT " + strconv.Itoa(t.Limit)
	}
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	out.columns(full, keep)
	vals := make([]sql.RawBytes, len(keep))
	ptrs := make([]any, len(keep))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	cell := make([]*string, len(keep))
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		for i, v := range vals {
			switch {
			case v == nil:
				cell[i] = nil
			case masked[i]:
				s := Mask(v)
				cell[i] = &s
			default:
				s := string(v)
				cell[i] = &s
			}
		}
		out.row(full, keep, cell)
		tr.Rows++
		if out.err != nil {
			return out.err
		}
	}
	return rows.Err()
}

func columns(ctx context.Context, conn *sql.Conn, table string) ([]string, error) {
	rows, err := conn.QueryContext(ctx, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// extras writes triggers, stored routines, events and the server's own log
// files: where persistence and skimmer loaders hide inside the database.
func extras(ctx context.Context, conn *sql.Conn, out *writer) {
	queries := []struct{ name, q string }{
		{"triggers", "SELECT TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_TIMING, ACTION_STATEMENT, DEFINER, CREATED FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()"},
		{"routines", "SELECT ROUTINE_NAME, ROUTINE_TYPE, DEFINER, CREATED, LAST_ALTERED, ROUTINE_DEFINITION FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()"},
		{"events", "SELECT EVENT_NAME, DEFINER, STATUS, EXECUTE_AT, INTERVAL_VALUE, INTERVAL_FIELD, EVENT_DEFINITION, CREATED, LAST_ALTERED FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()"},
		{"server", "SELECT @@version, @@datadir, @@log_error, @@general_log, @@general_log_file, @@slow_query_log, @@slow_query_log_file, @@log_bin_basename, @@secure_file_priv"},
	}
	for _, e := range queries {
		rows, err := conn.QueryContext(ctx, e.q)
		if err != nil {
			out.comment(e.name + ": not read: " + err.Error())
			continue
		}
		cols, _ := rows.Columns()
		name := "custos_" + e.name
		out.columns(name, cols)
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		cell := make([]*string, len(cols))
		for rows.Next() {
			if rows.Scan(ptrs...) != nil {
				break
			}
			for i, v := range vals {
				cell[i] = nil
				if v != nil {
					s := string(v)
					cell[i] = &s
				}
			}
			out.row(name, cols, cell)
		}
		rows.Close()
	}
}

// ServerLogFiles asks the server where it writes its logs, for a profile
// to collect them as files.
func ServerLogFiles(ctx context.Context, db *sql.DB) (map[string]string, error) {
	var errLog, general, slow, datadir sql.NullString
	err := db.QueryRowContext(ctx, "SELECT @@log_error, @@general_log_file, @@slow_query_log_file, @@datadir").Scan(&errLog, &general, &slow, &datadir)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range map[string]sql.NullString{"error": errLog, "general": general, "slow": slow} {
		if v.Valid && v.String != "" {
			p := v.String
			if !strings.HasPrefix(p, "/") && datadir.Valid {
				p = strings.TrimSuffix(datadir.String, "/") + "/" + strings.TrimPrefix(p, "./")
			}
			out[k] = p
		}
	}
	return out, nil
}
