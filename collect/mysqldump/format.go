package mysqldump

import (
	"bufio"
	"io"
	"strings"
)

// writer renders the dump. SQL: CREATE TABLE statements and one INSERT per
// row, values quoted as MySQL string literals (NULL unquoted). TSV, as
// mysqldump --tab: a "#table<TAB>name" line, a "#create" line, a line of
// column names, then rows with \t, \n, \r, \\ escaped and \N for NULL, and a
// blank line after each table. Comments start with "-- " (SQL) or "# " (TSV).
type writer struct {
	w      io.Writer
	bw     *bufio.Writer
	format Format
	err    error
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
	s = strings.ReplaceAll(s, "\n", " ")
	if o.format == SQL {
		o.write("-- " + s + "\n")
	} else {
		o.write("# " + s + "\n")
	}
	o.flush()
}

func (o *writer) table(name, create string) {
	if o.format == SQL {
		o.write("\n-- table " + name + "\n" + create + ";\n")
	} else {
		o.write("#table\t" + name + "\n#create\t" + tsvEscape(create) + "\n")
	}
}

func (o *writer) columns(table string, cols []string) {
	if o.format == TSV {
		o.write(strings.Join(cols, "\t") + "\n")
	}
}

func (o *writer) row(table string, cols []string, vals []*string) {
	var b strings.Builder
	if o.format == SQL {
		b.WriteString("INSERT INTO `" + table + "` (`" + strings.Join(cols, "`, `") + "`) VALUES (")
		for i, v := range vals {
			if i > 0 {
				b.WriteString(", ")
			}
			if v == nil {
				b.WriteString("NULL")
			} else {
				b.WriteString(sqlQuote(*v))
			}
		}
		b.WriteString(");\n")
	} else {
		for i, v := range vals {
			if i > 0 {
				b.WriteByte('\t')
			}
			if v == nil {
				b.WriteString(`\N`)
			} else {
				b.WriteString(tsvEscape(*v))
			}
		}
		b.WriteByte('\n')
	}
	o.write(b.String())
}

var sqlReplacer = strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`, "\n", `\n`, "\r", `\r`, "\x1a", `\Z`)

// sqlQuote makes a MySQL string literal that reads back byte for byte.
func sqlQuote(s string) string { return "'" + sqlReplacer.Replace(s) + "'" }

var tsvReplacer = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`, "\x00", `\0`)

func tsvEscape(s string) string { return tsvReplacer.Replace(s) }
