package mysqldump

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/go-sql-driver/mysql"
)

// BinlogFile is one of the server's binary logs.
type BinlogFile struct {
	Name string
	Size int64
}

// Binlogs lists the server's binary logs (SHOW BINARY LOGS: the server
// must log them, and the user needs BINLOG MONITOR or REPLICATION CLIENT).
func Binlogs(ctx context.Context, db *sql.DB) ([]BinlogFile, error) {
	rows, err := db.QueryContext(ctx, "SHOW BINARY LOGS")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []BinlogFile
	for rows.Next() {
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		size, _ := strconv.ParseInt(string(vals[1]), 10, 64)
		out = append(out, BinlogFile{Name: string(vals[0]), Size: size})
	}
	return out, rows.Err()
}

// binlogMagic starts every binary log file.
var binlogMagic = []byte{0xfe, 'b', 'i', 'n'}

const (
	comBinlogDump    = 0x12
	dumpNonBlock     = 0x01 // end with EOF at the last event instead of waiting for more
	rotateEvent      = 4
	heartbeatEvent   = 27
	artificialFlag   = 0x20
	maxPacket        = 1<<24 - 1
	eventHeaderBytes = 19
)

// ReadBinlog reads one binary log through the replication protocol
// (COM_BINLOG_DUMP, as mysqlbinlog --read-from-remote-server --raw does)
// and writes it, to the writer begin gives once the server has started
// sending (a refusal leaves nothing begun), as the file the server holds:
// the magic number, then its events byte for byte, checksums included, at
// most size bytes. It
// asks as server id 0 and without blocking, so no replica's connection is
// displaced and the read ends at the log's last event. The user needs
// REPLICATION SLAVE; a server that will not give the log says why in the
// error. A connection over TLS is not read this way.
func ReadBinlog(ctx context.Context, c Conn, name string, size int64, begin func() (io.Writer, error)) (int64, error) {
	cfg, err := mysql.ParseDSN(c.DSN()) // as sql.Open reads it: the charset is a connection setting
	if err != nil {
		return 0, err
	}
	if cfg.TLS != nil {
		return 0, errors.New("the connection uses TLS: the binary log is not read over it")
	}
	cfg.Logger = nopLogger{} // the spent connection's close is expected to fail
	var raw net.Conn
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		raw = nc
		return nc, err
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return 0, err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxOpenConns(1)
	sc, err := db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer sc.Close()
	// Events come as the server wrote them, checksums and all; MariaDB's
	// capability 4 (GTID) gets its own events unrewritten.
	for _, q := range []string{"SET @master_binlog_checksum = @@global.binlog_checksum", "SET @mariadb_slave_capability = 4"} {
		if _, err := sc.ExecContext(ctx, q); err != nil {
			return 0, fmt.Errorf("%s: %w", q, err)
		}
	}
	var n int64
	var rerr error
	sc.Raw(func(any) error {
		n, rerr = dumpBinlog(ctx, raw, name, size, begin)
		raw.Close()
		return driver.ErrBadConn // the connection is spent: database/sql drops it
	})
	return n, rerr
}

// dumpBinlog speaks the replication protocol on an authenticated, idle
// connection.
func dumpBinlog(ctx context.Context, nc net.Conn, name string, size int64, begin func() (io.Writer, error)) (int64, error) {
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Now()) })
	defer stop()
	req := make([]byte, 4, 4+11+len(name))
	req = append(req, comBinlogDump)
	req = binary.LittleEndian.AppendUint32(req, 4) // from the first event
	req = binary.LittleEndian.AppendUint16(req, dumpNonBlock)
	req = binary.LittleEndian.AppendUint32(req, 0) // server id 0: displaces no replica
	req = append(req, name...)
	l := len(req) - 4
	req[0], req[1], req[2], req[3] = byte(l), byte(l>>8), byte(l>>16), 0
	if _, err := nc.Write(req); err != nil {
		return 0, err
	}
	out := &capped{left: size}
	for out.left > 0 {
		nc.SetReadDeadline(time.Now().Add(5 * time.Minute))
		p, err := readPacket(nc)
		if err != nil {
			return out.n, err
		}
		switch {
		case len(p) > 0 && p[0] == 0xff:
			return out.n, serverError(p)
		case len(p) > 0 && p[0] == 0xfe && len(p) < 9:
			return out.n, nil // the end of what the server has
		case len(p) < 1+eventHeaderBytes || p[0] != 0:
			return out.n, fmt.Errorf("unexpected packet of %d bytes", len(p))
		}
		if out.w == nil {
			w, err := begin()
			if err != nil {
				return 0, err
			}
			out.w = w
			if _, err := out.Write(binlogMagic); err != nil {
				return out.n, err
			}
		}
		ev := p[1:]
		typ, flags := ev[4], binary.LittleEndian.Uint16(ev[17:19])
		if typ == heartbeatEvent || flags&artificialFlag != 0 {
			continue // made up for the connection, not in the file
		}
		if _, err := out.Write(ev); err != nil {
			return out.n, err
		}
		if typ == rotateEvent {
			return out.n, nil // the file's last event: the next file begins
		}
	}
	return out.n, nil
}

func readPacket(r io.Reader) ([]byte, error) {
	var out []byte
	for {
		var h [4]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return nil, err
		}
		n := int(h[0]) | int(h[1])<<8 | int(h[2])<<16
		start := len(out)
		out = append(out, make([]byte, n)...)
		if _, err := io.ReadFull(r, out[start:]); err != nil {
			return nil, err
		}
		if n < maxPacket {
			return out, nil
		}
	}
}

func serverError(p []byte) error {
	if len(p) < 3 {
		return errors.New("server error")
	}
	code := binary.LittleEndian.Uint16(p[1:3])
	msg := p[3:]
	if len(msg) > 6 && msg[0] == '#' {
		msg = msg[6:]
	}
	return fmt.Errorf("server refused the binary log: error %d: %s", code, msg)
}

// capped writes at most left bytes and counts what it wrote.
type capped struct {
	w    io.Writer
	left int64
	n    int64
}

func (c *capped) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	k, err := c.w.Write(p)
	c.left -= int64(k)
	c.n += int64(k)
	return k, err
}

type nopLogger struct{}

func (nopLogger) Print(...any) {}
