package pkgdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// A minimal, read-only reader of SQLite 3 table b-trees: enough to list
// the rows of rpm's Packages table (rpmdb.sqlite) without cgo or a SQL
// engine. It follows overflow pages, bounds every walk by the file's page
// count and fails on what it does not understand. A write-ahead log beside
// the file is not applied (the caller says so).

type sqliteDB struct {
	b        []byte
	pageSize int
	usable   int
	pages    int
}

var errSQLite = errors.New("not a SQLite 3 database")

func openSQLite(b []byte) (*sqliteDB, error) {
	if len(b) < 100 || string(b[:16]) != "SQLite format 3\x00" {
		return nil, errSQLite
	}
	ps := int(binary.BigEndian.Uint16(b[16:18]))
	if ps == 1 {
		ps = 65536
	}
	if ps < 512 || ps&(ps-1) != 0 {
		return nil, fmt.Errorf("%w: page size %d", errSQLite, ps)
	}
	db := &sqliteDB{b: b, pageSize: ps, usable: ps - int(b[20]), pages: len(b) / ps}
	if db.usable < 480 {
		return nil, fmt.Errorf("%w: usable size %d", errSQLite, db.usable)
	}
	return db, nil
}

func (db *sqliteDB) page(n int) ([]byte, error) {
	if n < 1 || n > db.pages {
		return nil, fmt.Errorf("page %d out of range (%d pages)", n, db.pages)
	}
	return db.b[(n-1)*db.pageSize : n*db.pageSize], nil
}

// rows calls fn with the payload of every row of the table b-tree rooted
// at root, in rowid order.
func (db *sqliteDB) rows(root int, fn func(rowid int64, payload []byte) error) error {
	visited := 0
	var walk func(n, depth int) error
	walk = func(n, depth int) error {
		if visited++; visited > db.pages || depth > 64 {
			return errors.New("b-tree loops")
		}
		pg, err := db.page(n)
		if err != nil {
			return err
		}
		hdr := 0
		if n == 1 {
			hdr = 100
		}
		if len(pg) < hdr+12 {
			return errors.New("short page")
		}
		typ := pg[hdr]
		cells := int(binary.BigEndian.Uint16(pg[hdr+3:]))
		switch typ {
		case 0x0d: // table leaf
			ptrs := hdr + 8
			for i := 0; i < cells; i++ {
				if ptrs+2*i+2 > len(pg) {
					return errors.New("cell pointers past the page")
				}
				off := int(binary.BigEndian.Uint16(pg[ptrs+2*i:]))
				rowid, payload, err := db.leafCell(pg, off)
				if err != nil {
					return fmt.Errorf("page %d cell %d: %w", n, i, err)
				}
				if err := fn(rowid, payload); err != nil {
					return err
				}
			}
			return nil
		case 0x05: // table interior
			ptrs := hdr + 12
			for i := 0; i < cells; i++ {
				if ptrs+2*i+2 > len(pg) {
					return errors.New("cell pointers past the page")
				}
				off := int(binary.BigEndian.Uint16(pg[ptrs+2*i:]))
				if off+4 > len(pg) {
					return errors.New("cell past the page")
				}
				if err := walk(int(binary.BigEndian.Uint32(pg[off:])), depth+1); err != nil {
					return err
				}
			}
			return walk(int(binary.BigEndian.Uint32(pg[hdr+8:])), depth+1)
		}
		return fmt.Errorf("page %d: type %#x is not a table b-tree page", n, typ)
	}
	return walk(root, 0)
}

// leafCell reads a table leaf cell at off: its rowid and whole payload,
// overflow pages followed.
func (db *sqliteDB) leafCell(pg []byte, off int) (int64, []byte, error) {
	if off >= len(pg) {
		return 0, nil, errors.New("cell past the page")
	}
	size, n := varint(pg[off:])
	if n == 0 || size > int64(len(db.b)) || size < 0 {
		return 0, nil, errors.New("bad payload size")
	}
	off += n
	rowid, n := varint(pg[off:])
	if n == 0 {
		return 0, nil, errors.New("bad rowid")
	}
	off += n
	P, U := int(size), db.usable
	X := U - 35
	local := P
	if P > X {
		M := ((U-12)*32/255 - 23)
		K := M + (P-M)%(U-4)
		local = M
		if K <= X {
			local = K
		}
	}
	if off+local > len(pg) {
		return 0, nil, errors.New("payload past the page")
	}
	out := make([]byte, 0, P)
	out = append(out, pg[off:off+local]...)
	if local == P {
		return rowid, out, nil
	}
	if off+local+4 > len(pg) {
		return 0, nil, errors.New("overflow pointer past the page")
	}
	next := int(binary.BigEndian.Uint32(pg[off+local:]))
	for hops := 0; len(out) < P; hops++ {
		if hops > db.pages {
			return 0, nil, errors.New("overflow chain loops")
		}
		op, err := db.page(next)
		if err != nil {
			return 0, nil, err
		}
		take := min(P-len(out), U-4)
		out = append(out, op[4:4+take]...)
		next = int(binary.BigEndian.Uint32(op))
	}
	return rowid, out, nil
}

// varint reads SQLite's big-endian variable-length integer; n is 0 when b
// is too short.
func varint(b []byte) (v int64, n int) {
	for i := 0; i < 9; i++ {
		if i >= len(b) {
			return 0, 0
		}
		if i == 8 {
			return v<<8 | int64(b[i]), 9
		}
		v = v<<7 | int64(b[i]&0x7f)
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	return v, 9
}

// record decodes a row's columns: nil, int64, or []byte (text and blob).
func record(p []byte) ([]any, error) {
	hl, n := varint(p)
	if n == 0 || hl > int64(len(p)) || hl < int64(n) {
		return nil, errors.New("bad record header")
	}
	var types []int64
	for off := n; off < int(hl); {
		t, k := varint(p[off:])
		if k == 0 {
			return nil, errors.New("bad serial type")
		}
		types = append(types, t)
		off += k
	}
	var out []any
	off := int(hl)
	for _, t := range types {
		var size int
		switch {
		case t == 0 || t == 8 || t == 9:
		case t >= 1 && t <= 4:
			size = int(t)
		case t == 5:
			size = 6
		case t == 6 || t == 7:
			size = 8
		case t >= 12:
			size = int((t - 12) / 2)
		default:
			return nil, fmt.Errorf("serial type %d", t)
		}
		if size < 0 || off+size > len(p) {
			return nil, errors.New("value past the record")
		}
		v := p[off : off+size]
		off += size
		switch {
		case t == 0:
			out = append(out, nil)
		case t == 8 || t == 9:
			out = append(out, t-8)
		case t <= 6:
			var x int64
			for _, c := range v {
				x = x<<8 | int64(c)
			}
			if size > 0 && v[0]&0x80 != 0 {
				x -= 1 << (8 * uint(size))
			}
			out = append(out, x)
		case t == 7:
			out = append(out, int64(binary.BigEndian.Uint64(v)))
		default:
			out = append(out, v)
		}
	}
	return out, nil
}

// tableRoot finds a table's root page in sqlite_master.
func (db *sqliteDB) tableRoot(name string) (int, error) {
	root := 0
	err := db.rows(1, func(_ int64, p []byte) error {
		cols, err := record(p)
		if err != nil || len(cols) < 4 {
			return nil
		}
		typ, _ := cols[0].([]byte)
		nm, _ := cols[1].([]byte)
		if string(typ) == "table" && strings.EqualFold(string(nm), name) {
			if r, ok := cols[3].(int64); ok {
				root = int(r)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if root == 0 {
		return 0, fmt.Errorf("no table %s", name)
	}
	return root, nil
}
