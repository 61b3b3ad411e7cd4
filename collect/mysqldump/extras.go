package mysqldump

import (
	"context"
	"database/sql"
	"strings"

	"github.com/custos-ir/custos/collect/cardscan"
)

// extraQueries are the server's own state and the database's code, read
// after the tables: where persistence and skimmer loaders hide inside the
// database, who may log in, what ran. No password hash is read (mysql.user
// without its hash columns; grants from information_schema, which holds
// none), and statements are read as digests (literals replaced by ?).
var extraQueries = []struct{ name, q string }{
	{"triggers", "SELECT TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_TIMING, ACTION_STATEMENT, DEFINER, CREATED FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()"},
	{"routines", "SELECT ROUTINE_NAME, ROUTINE_TYPE, DEFINER, CREATED, LAST_ALTERED, ROUTINE_DEFINITION FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()"},
	{"events", "SELECT EVENT_NAME, DEFINER, STATUS, EXECUTE_AT, INTERVAL_VALUE, INTERVAL_FIELD, EVENT_DEFINITION, CREATED, LAST_ALTERED, LAST_EXECUTED FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()"},
	{"server", "SELECT @@version, @@hostname, @@datadir, @@log_error, @@general_log, @@general_log_file, @@slow_query_log, @@slow_query_log_file, @@log_output, @@log_bin, @@log_bin_basename, @@binlog_format, @@secure_file_priv, @@sql_mode, @@system_time_zone, NOW() AS now_utc"},
	{"inventory", "SELECT TABLE_NAME, ENGINE, TABLE_ROWS AS rows_estimate, DATA_LENGTH, INDEX_LENGTH, AUTO_INCREMENT, CREATE_TIME, UPDATE_TIME, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME"},
	{"processlist", "SELECT ID, USER, HOST, DB, COMMAND, TIME, STATE, INFO FROM information_schema.PROCESSLIST"},
	{"users", "-"}, // built from mysql.user's columns, see users
	{"user_privileges", "SELECT GRANTEE, PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.USER_PRIVILEGES"},
	{"schema_privileges", "SELECT GRANTEE, TABLE_SCHEMA, PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.SCHEMA_PRIVILEGES"},
	{"table_privileges", "SELECT GRANTEE, TABLE_SCHEMA, TABLE_NAME, PRIVILEGE_TYPE FROM information_schema.TABLE_PRIVILEGES"},
	{"statement_digests", "SELECT SCHEMA_NAME, DIGEST_TEXT, COUNT_STAR, FIRST_SEEN, LAST_SEEN, SUM_ROWS_AFFECTED FROM performance_schema.events_statements_summary_by_digest ORDER BY LAST_SEEN DESC LIMIT 10000"},
	{"statement_history", "SELECT THREAD_ID, EVENT_ID, CURRENT_SCHEMA, DIGEST_TEXT, ROWS_AFFECTED, TIMER_START FROM performance_schema.events_statements_history_long ORDER BY TIMER_START DESC LIMIT 10000"},
	{"binary_logs", "SHOW BINARY LOGS"},
}

// extras writes the sections of extraQueries; a section the server will
// not give is one problem line and a comment, and the rest goes on.
func extras(ctx context.Context, conn *sql.Conn, out *writer) []string {
	var problems []string
	for _, e := range extraQueries {
		q := e.q
		if e.name == "users" {
			var err error
			if q, err = usersQuery(ctx, conn); err != nil {
				problems = append(problems, "users: "+err.Error())
				out.comment("users: not read: " + err.Error())
				continue
			}
		}
		if err := section(ctx, conn, "custos_"+e.name, q, nil, out); err != nil {
			problems = append(problems, e.name+": "+err.Error())
			out.comment(e.name + ": not read: " + err.Error())
		}
	}
	return problems
}

// usersQuery selects mysql.user without the columns that hold password
// hashes.
func usersQuery(ctx context.Context, conn *sql.Conn) (string, error) {
	rows, err := conn.QueryContext(ctx, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'mysql' AND TABLE_NAME = 'user' ORDER BY ORDINAL_POSITION")
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return "", err
		}
		switch strings.ToLower(c) {
		case "password", "authentication_string":
			continue // the hashes
		}
		if ValidIdent(c) {
			cols = append(cols, quoteIdent(c))
		}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	if len(cols) == 0 {
		return "", sql.ErrNoRows
	}
	return "SELECT " + strings.Join(cols, ", ") + " FROM mysql.user", nil
}

// runQuery answers one of the plan's questions; a table it needs that is
// missing, or a query that fails, is a problem line.
func runQuery(ctx context.Context, conn *sql.Conn, q Query, out *writer) string {
	for _, t := range q.Tables {
		ok, err := tableExists(ctx, conn, t)
		if err != nil {
			return q.Name + ": " + err.Error()
		}
		if !ok {
			out.comment(q.Name + ": not asked: table " + t + " does not exist")
			return q.Name + ": table " + t + " does not exist"
		}
	}
	if err := section(ctx, conn, "custos_"+q.Name, q.SQL, nil, out); err != nil {
		out.comment(q.Name + ": not read: " + err.Error())
		return q.Name + ": " + err.Error()
	}
	return ""
}

// section writes one query's answer as a table of text. Every value goes
// through cardscan.Mask: what the server says it is running or has run may
// hold a card number in a literal, and the dump never does.
func section(ctx context.Context, conn *sql.Conn, name, q string, args []any, out *writer) error {
	rows, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	out.section(name, cols)
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	cells := make([]cell, len(cols))
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		for i, v := range vals {
			if v == nil {
				cells[i] = cell{null: true}
				continue
			}
			m, _ := cardscan.Mask(string(v))
			cells[i] = cell{v: []byte(m)}
		}
		out.row(name, cols, cells)
		if out.err != nil {
			return out.err
		}
	}
	return rows.Err()
}

// ServerLogs is where the server says it writes its logs.
type ServerLogs struct {
	Error, General, Slow string // absolute paths; "" when not written to a file
	BinlogBase           string // @@log_bin_basename: the binary logs are BinlogBase.NNNNNN
	BinlogIndex          string
	Binlog               bool // @@log_bin
}

// Paths are the files to take: the three logs and the binary logs with
// their index.
func (l ServerLogs) Paths() []string {
	var out []string
	for _, p := range []string{l.Error, l.General, l.Slow} {
		if p != "" {
			out = append(out, p)
		}
	}
	if l.BinlogBase != "" {
		out = append(out, l.BinlogBase+".[0-9]*", l.BinlogBase+".index")
	}
	if l.BinlogIndex != "" && l.BinlogIndex != l.BinlogBase+".index" {
		out = append(out, l.BinlogIndex)
	}
	return out
}

// AskServerLogs asks the server where it writes its logs. Relative paths
// are the server's datadir's.
func AskServerLogs(ctx context.Context, db *sql.DB) (ServerLogs, error) {
	var errLog, general, slow, datadir, base, index, output sql.NullString
	var logBin sql.NullInt64
	err := db.QueryRowContext(ctx, "SELECT @@log_error, @@general_log_file, @@slow_query_log_file, @@datadir, @@log_bin_basename, @@log_bin_index, @@log_bin, @@log_output").
		Scan(&errLog, &general, &slow, &datadir, &base, &index, &logBin, &output)
	if err != nil {
		return ServerLogs{}, err
	}
	abs := func(v sql.NullString) string {
		p := strings.TrimSpace(v.String)
		if !v.Valid || p == "" {
			return ""
		}
		if !strings.HasPrefix(p, "/") && datadir.Valid {
			p = strings.TrimSuffix(datadir.String, "/") + "/" + strings.TrimPrefix(p, "./")
		}
		return p
	}
	l := ServerLogs{Error: abs(errLog), General: abs(general), Slow: abs(slow), BinlogBase: abs(base), BinlogIndex: abs(index), Binlog: logBin.Int64 == 1}
	return l, nil
}

// ServerLogFiles asks the server where it writes its logs, by kind.
func ServerLogFiles(ctx context.Context, db *sql.DB) (map[string]string, error) {
	l, err := AskServerLogs(ctx, db)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range map[string]string{"error": l.Error, "general": l.General, "slow": l.Slow, "binlog": l.BinlogBase} {
		if v != "" {
			out[k] = v
		}
	}
	return out, nil
}
