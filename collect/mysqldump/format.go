package mysqldump

import (
	"bufio"
	"encoding/hex"
	"io"
	"strings"
	"unicode/utf8"
)

// writer renders the dump. SQL: a header that sets the session so the
// file loads the same under any sql_mode, CREATE TABLE statements and one
// INSERT per row; text as MySQL string literals, bytes (binary columns,
// text that is not UTF-8) as hex literals, NULL bare. TSV, as mysqldump
// --tab: a "#table<TAB>name" line, a "#create" line, a line of column
// names, then rows with \t, \n, \r, \\ escaped and \N for NULL. Comments
// start with "-- " (SQL) or "# " (TSV).
type writer struct {
	w      io.Writer
	bw     *bufio.Writer
	format Format
	err    error
	line   []byte
}

// cell is one value of a row.
type cell struct {
	v    []byte
	null bool
	hex  bool // bytes, not text
}

func (o *writer) write(s string) {
	if o.err != nil {
		return
	}
	if o.bw == nil {
		o.bw = bufio.NewWriterSize(o.w, 64<<10)
	}
	_, o.err = o.bw.WriteString(s)
}

func (o *writer) flush() {
	if o.bw != nil && o.err == nil {
		o.err = o.bw.Flush()
	}
}

func (o *writer) comment(s string) {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r", " "), "\n", " ")
	if o.format == SQL {
		o.write("-- " + s + "\n")
	} else {
		o.write("# " + s + "\n")
	}
}

// header makes an SQL dump load the same whatever the importing session
// had set: no NO_BACKSLASH_ESCAPES or ANSI_QUOTES to misread the literals,
// UTC for TIMESTAMP columns (they were read in UTC), no foreign-key checks
// between tables dumped out of order.
func (o *writer) header() {
	if o.format != SQL {
		return
	}
	o.write("SET NAMES utf8mb4;\nSET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO';\nSET SESSION time_zone = '+00:00';\nSET SESSION foreign_key_checks = 0;\nSET SESSION unique_checks = 0;\n")
}

func (o *writer) table(name, create string) {
	if o.format == SQL {
		o.write("\n-- table " + name + "\n" + create + ";\n")
	} else {
		o.write("#table\t" + name + "\n#create\t" + tsvEscape(create) + "\n")
	}
}

// section starts one of custos's own tables (the server's state, an
// inventory, counts): in SQL with a CREATE TABLE of text columns, so the
// whole file imports.
func (o *writer) section(name string, cols []string) {
	if o.format == SQL {
		q := make([]string, len(cols))
		for i, c := range cols {
			q[i] = quoteIdent(c) + " longtext"
		}
		o.write("\n-- table " + name + "\nCREATE TABLE " + quoteIdent(name) + " (" + strings.Join(q, ", ") + ");\n")
		return
	}
	o.write("#table\t" + name + "\n")
	o.columns(cols)
}

func (o *writer) columns(cols []string) {
	if o.format == TSV {
		o.write(strings.Join(cols, "\t") + "\n")
	}
}

func (o *writer) row(table string, cols []string, vals []cell) {
	b := o.line[:0]
	if o.format == SQL {
		b = append(b, "INSERT INTO "+quoteIdent(table)+" ("...)
		for i, c := range cols {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, quoteIdent(c)...)
		}
		b = append(b, ") VALUES ("...)
		for i, v := range vals {
			if i > 0 {
				b = append(b, ", "...)
			}
			switch {
			case v.null:
				b = append(b, "NULL"...)
			case (v.hex || !utf8.Valid(v.v)) && len(v.v) > 0:
				b = append(b, "0x"...)
				b = hex.AppendEncode(b, v.v)
			default:
				b = sqlQuote(b, v.v)
			}
		}
		b = append(b, ");\n"...)
	} else {
		for i, v := range vals {
			if i > 0 {
				b = append(b, '\t')
			}
			if v.null {
				b = append(b, `\N`...)
			} else {
				b = append(b, tsvEscape(string(v.v))...)
			}
		}
		b = append(b, '\n')
	}
	o.line = b
	if o.err == nil {
		if o.bw == nil {
			o.bw = bufio.NewWriterSize(o.w, 64<<10)
		}
		_, o.err = o.bw.Write(b)
	}
}

// sqlQuote appends a MySQL string literal that reads back byte for byte
// (under the header's sql_mode).
func sqlQuote(b, s []byte) []byte {
	b = append(b, '\'')
	for _, c := range s {
		switch c {
		case '\\':
			b = append(b, `\\`...)
		case '\'':
			b = append(b, `\'`...)
		case 0:
			b = append(b, `\0`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case 0x1a:
			b = append(b, `\Z`...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '\'')
}

var tsvReplacer = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`, "\x00", `\0`)

func tsvEscape(s string) string { return tsvReplacer.Replace(s) }
