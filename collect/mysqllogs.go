package collect

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect/mysqldump"
	"github.com/custos-ir/custos/collect/paxtar"
	"github.com/custos-ir/custos/custody"
)

// collectLogs takes the logs the server says it writes: on this host as
// files, through hostfile like any evidence (binary logs, their index, the
// error, general and slow query logs); binary logs of a server elsewhere,
// or whose files are not readable here, through the replication protocol.
func (m *MySQLSource) collectLogs(ctx context.Context, e *Emitter, db *sql.DB, conn mysqldump.Conn) error {
	logs, err := mysqldump.AskServerLogs(ctx, db)
	if err != nil {
		return fmt.Errorf("where the server %s writes its logs: %v", conn.Addr(), err)
	}
	if logs.Error == "" {
		e.Warn("the server's error log goes to its standard error (the journal or syslog), not to a file it names")
	}
	if !logs.Binlog {
		e.Warn("the server keeps no binary log (log_bin is off): no statement history beyond the general log")
	}
	local := conn.Local() && m.binlogVia != "protocol"
	if local {
		f := &Files{Name: m.Name, Patterns: logs.Paths(), Options: FileOptions{Logs: true}}
		if err := f.Collect(ctx, e); err != nil {
			return err
		}
	} else if p := strings.Join(nonEmpty(logs.Error, logs.General, logs.Slow), ", "); p != "" && m.binlogVia == "" {
		e.Warn("the server runs on %s: its logs (%s) are files there; collect that host", conn.Addr(), p)
	}
	if logs.Binlog && !m.tookBinlogs(e, logs.BinlogBase) {
		m.binlogsByProtocol(ctx, e, db, conn)
	}
	return nil
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// tookBinlogs reports whether a binary log was stored as a file.
func (m *MySQLSource) tookBinlogs(e *Emitter, base string) bool {
	if base == "" {
		return false
	}
	took := false
	e.eachRecord(func(f *custody.File) {
		if f.Stored && strings.HasPrefix(f.Path, custody.EscapePath(base)+".") && !strings.HasSuffix(f.Path, ".index") {
			took = true
		}
	})
	return took
}

// binlogsByProtocol reads each binary log the server lists. A server that
// will not list or give them is one warning, and the rest stands.
func (m *MySQLSource) binlogsByProtocol(ctx context.Context, e *Emitter, db *sql.DB, conn mysqldump.Conn) {
	files, err := mysqldump.Binlogs(ctx, db)
	if err != nil {
		e.Warn("binary logs: the server will not list them (%v): not taken", err)
		return
	}
	dir := "mysql-binlog/" + strings.NewReplacer("/", "_", ":", "_", "[", "", "]", "").Replace(strings.TrimPrefix(conn.Addr(), "/"))
	for _, bf := range files {
		rec := custody.File{Path: "mysql://" + conn.Addr() + "/" + bf.Name, Type: "file", Size: bf.Size, Mode: "0640",
			StoredAs: dir + "/" + bf.Name, Method: "COM_BINLOG_DUMP (replication protocol, server id 0, non-blocking)"}
		if why := e.files.limit(rec, bf.Size, FileOptions{}, &e.budget); why != "" {
			rec.Note = why
			e.addRecord(rec)
			continue
		}
		tw := e.tarWriter()
		h := sha256.New()
		begun := false
		n, rerr := mysqldump.ReadBinlog(ctx, conn, bf.Name, bf.Size, func() (io.Writer, error) {
			begun = true
			hdr := &paxtar.Header{Typeflag: paxtar.TypeReg, Name: rec.StoredAs, Mode: 0o640, Size: bf.Size, ModTime: time.Now().UTC()}
			if err := tw.WriteHeader(hdr); err != nil {
				return nil, err
			}
			return io.MultiWriter(tw, h), nil
		})
		if !begun {
			e.Warn("binary logs: the server will not give %s (%v): not taken", bf.Name, rerr)
			return // it will not give the others either
		}
		rec.Stored, rec.Read, rec.SHA256 = true, n, hex.EncodeToString(h.Sum(nil))
		if n < bf.Size {
			rec.Error = fmt.Sprintf("got %d of %d bytes (%v); sha256 covers those; padded with zeros in the tar", n, bf.Size, orEOF(rerr))
			if err := writeZeros(tw, tw.Remaining()); err != nil {
				e.Fail("binary log %s: %v", bf.Name, err)
				return
			}
		}
		e.addRecord(rec)
	}
}

// eachRecord calls fn with each file record taken so far.
func (e *Emitter) eachRecord(fn func(*custody.File)) {
	e.art.EachFile(func(f *custody.File) error {
		fn(f)
		return nil
	})
}
