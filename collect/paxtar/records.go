package paxtar

import (
	"fmt"
	"path"
	"strconv"
	"time"
)

// MaxExtents bounds a sparse map: archive/tar's reader refuses maps over
// 1 MiB, which about 40,000 extents fill. Callers merge extents beyond it.
const MaxExtents = 10000

// encodeMap checks a sparse file's data extents and encodes the GNU 1.0
// map that leads its content: the count, then offset and length of each,
// one decimal number a line, padded to a block. It returns the map and the
// data bytes that follow it.
func encodeMap(ext []Extent, size int64) ([]byte, int64, error) {
	if n := len(ext); n == 0 || ext[n-1].Offset+ext[n-1].Length < size {
		// A file ending in a hole: GNU tar extends the file it extracts
		// only to the end of the last extent, so an empty one marks the end.
		ext = append(ext[:n:n], Extent{Offset: size})
	}
	if len(ext) > MaxExtents+1 {
		return nil, 0, fmt.Errorf("tar: %d sparse extents, at most %d", len(ext), MaxExtents)
	}
	var data, end int64
	b := strconv.AppendInt(nil, int64(len(ext)), 10)
	b = append(b, '\n')
	for _, e := range ext {
		if e.Offset < end || e.Length < 0 || e.Offset > size-e.Length {
			return nil, 0, fmt.Errorf("tar: sparse extent %d+%d out of order or past the size %d", e.Offset, e.Length, size)
		}
		end = e.Offset + e.Length
		data += e.Length
		b = strconv.AppendInt(b, e.Offset, 10)
		b = append(b, '\n')
		b = strconv.AppendInt(b, e.Length, 10)
		b = append(b, '\n')
	}
	if r := len(b) % blockSize; r != 0 {
		b = append(b, zeroBlock[:blockSize-r]...)
	}
	return b, data, nil
}

// sparseName is the ustar name GNU tar gives a sparse entry, which a reader
// that does not know the format extracts as an ordinary file (map and data).
func sparseName(name string) string {
	dir, base := path.Split(name)
	return dir + "GNUSparseFile.0/" + base
}

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
