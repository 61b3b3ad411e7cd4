package collect

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// tarWriter writes a POSIX (PAX) tar stream of host files. It replaces
// archive/tar's writer, whose generic PAX path (a map, sorted keys, a
// header built twice) was a sixth of the CPU of a tree of small files;
// archive/tar's reader and GNU tar read what it writes (tested).
//
// Each entry is an 'x' extended header with the times to the nanosecond
// (and the path, link, ids or size when ustar cannot hold them), then the
// ustar header, the content, and zero padding to 512 bytes.
type tarWriter struct {
	w      io.Writer
	left   int64 // content bytes the current entry still expects
	pad    int64
	out    []byte // the headers of one entry, reused
	rec    []byte
	closed bool
}

const blockSize = 512

func newTarWriter(w io.Writer) *tarWriter { return &tarWriter{w: w} }

// errTarShort is an entry given fewer content bytes than its header said.
var errTarShort = errors.New("tar: entry shorter than its header")

// WriteHeader starts an entry. Only the fields custos sets are written:
// Typeflag (regular or symlink), Name, Linkname, Mode, Uid, Gid, Size,
// ModTime, AccessTime, ChangeTime.
func (t *tarWriter) WriteHeader(h *tar.Header) error {
	if t.left > 0 {
		return errTarShort
	}
	if err := t.flushPad(); err != nil {
		return err
	}
	// The extended records, in the sorted order archive/tar uses.
	rec := t.rec[:0]
	rec = paxTime(rec, "atime", h.AccessTime)
	rec = paxTime(rec, "ctime", h.ChangeTime)
	uid, gid := int64(h.Uid), int64(h.Gid)
	if gid < 0 || gid > 07777777 {
		rec = paxRecord(rec, "gid", strconv.FormatInt(gid, 10))
		gid = 0
	}
	link := h.Linkname
	if !ustarSafe(link) {
		rec = paxRecord(rec, "linkpath", link)
		link = ""
	}
	rec = paxTime(rec, "mtime", h.ModTime)
	name := h.Name
	if !ustarSafe(name) {
		rec = paxRecord(rec, "path", name)
		name = ""
	}
	size := h.Size
	if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA {
		size = 0
	}
	if size > 077777777777 {
		rec = paxRecord(rec, "size", strconv.FormatInt(size, 10))
	}
	if uid < 0 || uid > 07777777 {
		rec = paxRecord(rec, "uid", strconv.FormatInt(uid, 10))
		uid = 0
	}
	t.rec = rec

	b := t.out[:0]
	if len(rec) > 0 {
		var xb [blockSize]byte
		copy(xb[0:100], "PaxHeaders.0/entry")
		octal(xb[100:108], 0o644)
		octal(xb[108:116], 0)
		octal(xb[116:124], 0)
		octal(xb[124:136], int64(len(rec)))
		octal(xb[136:148], 0)
		xb[156] = tar.TypeXHeader
		copy(xb[257:265], "ustar\x0000")
		checksum(xb[:])
		b = append(append(b, xb[:]...), rec...)
		if r := len(rec) % blockSize; r != 0 {
			b = append(b, zeroBlock[:blockSize-r]...)
		}
	}
	var hb [blockSize]byte
	copy(hb[0:100], ustarFallback(name, h.Name))
	octal(hb[100:108], h.Mode&07777)
	octal(hb[108:116], uid)
	octal(hb[116:124], gid)
	if size > 077777777777 {
		octal(hb[124:136], 0)
	} else {
		octal(hb[124:136], size)
	}
	mt := h.ModTime.Unix()
	if mt < 0 || mt > 077777777777 {
		mt = 0 // the PAX record has it
	}
	octal(hb[136:148], mt)
	hb[156] = h.Typeflag
	copy(hb[157:257], ustarFallback(link, h.Linkname))
	copy(hb[257:265], "ustar\x0000")
	checksum(hb[:])
	b = append(b, hb[:]...)
	t.out = b
	if _, err := t.w.Write(b); err != nil {
		return err
	}
	t.left = size
	t.pad = (blockSize - size%blockSize) % blockSize
	return nil
}

// Write writes content of the current entry; more than the header said is
// an error.
func (t *tarWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > t.left {
		return 0, fmt.Errorf("tar: %d bytes written past the entry's size", int64(len(p))-t.left)
	}
	n, err := t.w.Write(p)
	t.left -= int64(n)
	return n, err
}

func (t *tarWriter) flushPad() error {
	if t.pad == 0 {
		return nil
	}
	_, err := t.w.Write(zeroBlock[:t.pad])
	t.pad = 0
	return err
}

// Close ends the archive with two zero blocks.
func (t *tarWriter) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	if t.left > 0 {
		return errTarShort
	}
	if err := t.flushPad(); err != nil {
		return err
	}
	var zero [2 * blockSize]byte
	_, err := t.w.Write(zero[:])
	return err
}

var zeroBlock [blockSize]byte

// ustarFallback is what the ustar field holds when a PAX record has the
// real value: at most 100 bytes, non-ASCII replaced, for old readers.
func ustarFallback(safe, full string) string {
	if safe != "" || full == "" {
		return safe
	}
	b := []byte(full)
	if len(b) > 100 {
		b = b[len(b)-100:]
	}
	for i, c := range b {
		if c == 0 || c >= 0x80 {
			b[i] = '_'
		}
	}
	return string(b)
}

// ustarSafe reports whether s fits a ustar name field as it is.
func ustarSafe(s string) bool {
	if len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 || s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// octal writes n as zero-padded octal digits and a NUL.
func octal(b []byte, n int64) {
	s := strconv.FormatInt(n, 8)
	for i := range b[:len(b)-1] {
		b[i] = '0'
	}
	copy(b[len(b)-1-len(s):], s)
	b[len(b)-1] = 0
}

func checksum(b []byte) {
	copy(b[148:156], "        ")
	var sum int64
	for _, c := range b[:blockSize] {
		sum += int64(c)
	}
	s := strconv.FormatInt(sum, 8)
	for i := 148; i < 154; i++ {
		b[i] = '0'
	}
	copy(b[154-len(s):154], s)
	b[154], b[155] = 0, ' '
}

// paxRecord appends "LEN key=value\n", LEN counting itself.
func paxRecord(b []byte, key, value string) []byte {
	n := len(key) + len(value) + 3 // space, '=', newline
	l := len(strconv.Itoa(n))
	if len(strconv.Itoa(n+l)) > l {
		l++
	}
	b = strconv.AppendInt(b, int64(n+l), 10)
	b = append(b, ' ')
	b = append(b, key...)
	b = append(b, '=')
	b = append(b, value...)
	return append(b, '\n')
}

// paxTime appends a time record as archive/tar writes it: seconds, and the
// nanoseconds without trailing zeros. The zero time is left out.
func paxTime(b []byte, key string, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	sec, nsec := t.Unix(), t.Nanosecond()
	var v []byte
	if nsec == 0 {
		v = strconv.AppendInt(nil, sec, 10)
	} else {
		if sec < 0 { // -1.5 is sec -2 with nsec 5e8 in Go's terms
			sec, nsec = sec+1, 1e9-nsec
			v = append(v, '-')
			if sec == 0 {
				v = append(v, '0')
			} else {
				sec = -sec
				v = strconv.AppendInt(v, sec, 10)
			}
		} else {
			v = strconv.AppendInt(v, sec, 10)
		}
		frac := fmt.Sprintf("%09d", nsec)
		for len(frac) > 0 && frac[len(frac)-1] == '0' {
			frac = frac[:len(frac)-1]
		}
		v = append(append(v, '.'), frac...)
	}
	return paxRecord(b, key, string(v))
}
