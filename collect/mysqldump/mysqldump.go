// Package mysqldump dumps selected MySQL/MariaDB tables in one consistent
// snapshot, streaming rows (no table is held in memory), as SQL or TSV,
// with the server's own state beside them.
//
// It never dumps card data: whatever a plan says, the rule in rules.go
// leaves card columns out of every table and masks the free-form fields of
// payment tables. Identifiers are validated before they reach a query;
// values are never interpolated into SQL.
package mysqldump

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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
	Mode           string   // rows (default), count, schema, scan
	Where          string   // trusted: from the profile author, never from the host
	Limit          int      // 0: all rows
	ExcludeColumns []string // globs, e.g. cc_*
	MaskColumns    []string // globs: value replaced by "***MASKED len=N sha256=8hex***"
	// Needles (mode scan): only rows whose text columns hold one of them
	// (LIKE, the column's collation) are dumped, and of those rows only the
	// text columns that hold one, keys and times; every other column masked.
	Needles []string
}

// Query is a read-only question a plan asks, built by the plan's code
// (never from a profile or the host) with quoted, validated names.
type Query struct {
	Name   string   // the section: custos_<name>
	SQL    string   // a SELECT
	Tables []string // full names it reads: a missing one skips it with a warning
}

// Plan is what to dump.
type Plan struct {
	Prefix  string
	Tables  []Table
	Queries []Query
	Extras  bool // triggers, routines, events, the server's state, an inventory of every table
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
	// Problems are sections that could not be read (a query denied, a
	// missing table a query needs): one line each.
	Problems []string `json:"problems,omitempty"`
}

// ErrNoTable is a table's error when it does not exist.
const ErrNoTable = "no such table"

var identRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

// ValidIdent reports whether s may be used as a table or column name.
func ValidIdent(s string) bool { return identRE.MatchString(s) }

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
		"SET SESSION time_zone = '+00:00'", // TIMESTAMP columns in UTC, as the header says
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
	out.comment(fmt.Sprintf("custos mysqldump: server %s, database %s, snapshot %s (REPEATABLE READ, consistent snapshot, read only); TIMESTAMP columns in UTC", rep.Server, dbname, rep.Snapshot.Format(time.RFC3339)))
	out.comment(RuleText)
	out.header()
	created := map[string]bool{}
	for _, t := range plan.Tables {
		tr := TableReport{Name: plan.Prefix + t.Name, Mode: t.Mode}
		if tr.Mode == "" {
			tr.Mode = "rows"
		}
		if err := dumpTable(ctx, conn, plan.Prefix, t, out, &tr, created); err != nil {
			tr.Error = err.Error()
			out.comment("table " + tr.Name + ": not dumped: " + err.Error())
		}
		if out.err != nil {
			return rep, out.err
		}
		rep.Tables = append(rep.Tables, tr)
	}
	for _, q := range plan.Queries {
		if p := runQuery(ctx, conn, q, out); p != "" {
			rep.Problems = append(rep.Problems, p)
		}
	}
	if plan.Extras {
		rep.Problems = append(rep.Problems, extras(ctx, conn, out)...)
	}
	out.flush()
	return rep, out.err
}

// tableExists asks information_schema, so a missing table is a clean
// answer and not an error text to parse.
func tableExists(ctx context.Context, conn *sql.Conn, full string) (bool, error) {
	var n int
	err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", full).Scan(&n)
	return n > 0, err
}

func dumpTable(ctx context.Context, conn *sql.Conn, prefix string, t Table, out *writer, tr *TableReport, created map[string]bool) error {
	if !ValidIdent(t.Name) || !ValidIdent(prefix+t.Name) {
		return fmt.Errorf("table name %q is not an identifier", t.Name)
	}
	full := prefix + t.Name
	if ok, err := tableExists(ctx, conn, full); err != nil {
		return err
	} else if !ok {
		return errors.New(ErrNoTable)
	}
	var name, create string
	if err := conn.QueryRowContext(ctx, "SHOW CREATE TABLE "+quoteIdent(full)).Scan(&name, &create); err != nil {
		return err
	}
	if !created[full] { // a table in two sections (a count and a scan) is created once
		out.table(full, create)
		created[full] = true
	} else if out.format == TSV {
		out.write("#table\t" + full + "\n")
	}
	mode, why := enforceMode(full, tr.Mode)
	if why != "" {
		out.comment("table " + full + ": " + why)
		tr.Mode = mode
	}
	switch mode {
	case "schema":
		return nil
	case "count":
		var rows int64
		if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quoteIdent(full)).Scan(&rows); err != nil {
			return err
		}
		tr.Rows = rows
		out.comment(fmt.Sprintf("table %s: %d rows (count only: rows are dumped only when the responder asks)", full, rows))
		return nil
	case "rows", "scan":
	default:
		return fmt.Errorf("mode %q: want rows, count, schema or scan", mode)
	}
	cols, err := columns(ctx, conn, full)
	if err != nil {
		return err
	}
	sel := choose(full, cols, t)
	tr.Excluded, tr.Masked = sel.excluded, sel.maskedBy
	if len(sel.keep) == 0 {
		return fmt.Errorf("every column is excluded")
	}
	if len(tr.Excluded) > 0 {
		out.comment(fmt.Sprintf("table %s: columns left out: %s", full, strings.Join(tr.Excluded, ", ")))
	}
	if len(tr.Masked) > 0 {
		out.comment(fmt.Sprintf("table %s: columns masked: %s", full, strings.Join(tr.Masked, ", ")))
	}
	q, args := selectSQL(full, sel, t, mode)
	if mode == "scan" && q == "" {
		out.comment("table " + full + ": no text column to scan")
		return nil
	}
	if mode == "scan" {
		out.comment(fmt.Sprintf("table %s: only rows holding %s; of them the matching text, keys and times, the rest masked", full, strings.Join(t.Needles, ", ")))
	}
	return streamRows(ctx, conn, full, sel, t, mode, q, args, out, tr)
}

// selectSQL builds the SELECT for the chosen columns. Scans put their
// needles in as parameters, never as text.
func selectSQL(full string, sel selection, t Table, mode string) (string, []any) {
	names := make([]string, len(sel.keep))
	for i, c := range sel.keep {
		names[i] = quoteIdent(c.Name)
	}
	q := "SELECT " + strings.Join(names, ", ") + " FROM " + quoteIdent(full)
	var conds []string
	var args []any
	if mode == "scan" {
		for _, c := range sel.keep {
			if !c.text() {
				continue
			}
			for _, n := range t.Needles {
				conds = append(conds, quoteIdent(c.Name)+" LIKE ? ESCAPE '!'")
				args = append(args, "%"+likeEscape(n)+"%")
			}
		}
		if len(conds) == 0 {
			return "", nil
		}
	}
	var where []string
	if t.Where != "" {
		where = append(where, "("+t.Where+")")
	}
	if len(conds) > 0 {
		where = append(where, "("+strings.Join(conds, " OR ")+")")
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if t.Limit > 0 {
		q += " LIMIT " + strconv.Itoa(t.Limit)
	}
	return q, args
}

var likeReplacer = strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")

func likeEscape(s string) string { return likeReplacer.Replace(s) }

// plainInScan are the columns a scan shows unmasked besides the matching
// text: keys and times, which tie a row to the rest of the evidence.
var plainInScan = []string{"*_id", "id", "*_at", "created*", "updated*", "*_time", "*_date"}

func streamRows(ctx context.Context, conn *sql.Conn, full string, sel selection, t Table, mode, q string, args []any, out *writer, tr *TableReport) error {
	rows, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	names := make([]string, len(sel.keep))
	for i, c := range sel.keep {
		names[i] = c.Name
	}
	out.columns(names)
	vals := make([]sql.RawBytes, len(sel.keep))
	ptrs := make([]any, len(sel.keep))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	cells := make([]cell, len(sel.keep))
	needles := make([][]byte, len(t.Needles))
	for i, n := range t.Needles {
		needles[i] = bytes.ToLower([]byte(n))
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		for i, v := range vals {
			c := sel.keep[i]
			hide := sel.masked[i]
			if mode == "scan" && !hide {
				hide = !(c.Key || matchAny(plainInScan, c.Name) || (c.text() && holdsAny(v, needles)))
			}
			switch {
			case v == nil:
				cells[i] = cell{null: true}
			case hide:
				cells[i] = cell{v: []byte(Mask(v))}
			default:
				cells[i] = cell{v: v, hex: c.binary()}
			}
		}
		out.row(full, names, cells)
		tr.Rows++
		if out.err != nil {
			return out.err
		}
	}
	return rows.Err()
}

func holdsAny(v []byte, needles [][]byte) bool {
	l := bytes.ToLower(v)
	for _, n := range needles {
		if bytes.Contains(l, n) {
			return true
		}
	}
	return false
}

func columns(ctx context.Context, conn *sql.Conn, table string) ([]Column, error) {
	rows, err := conn.QueryContext(ctx, "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_KEY FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Column
	for rows.Next() {
		var c Column
		var key string
		if err := rows.Scan(&c.Name, &c.Type, &key); err != nil {
			return nil, err
		}
		c.Type, c.Key = strings.ToLower(c.Type), key == "PRI"
		out = append(out, c)
	}
	return out, rows.Err()
}
