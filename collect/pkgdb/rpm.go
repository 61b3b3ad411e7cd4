package pkgdb

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
)

// rpm header tags read here (rpmtag.h).
const (
	tagName        = 1000
	tagVersion     = 1001
	tagRelease     = 1002
	tagEpoch       = 1003
	tagArch        = 1022
	tagFileModes   = 1030
	tagFileDigests = 1035
	tagSourceRPM   = 1044
	tagDirIndexes  = 1116
	tagBasenames   = 1117
	tagDirnames    = 1118
	tagDigestAlgo  = 5011
)

// digestAlgos are rpm's PGPHASHALGO values.
var digestAlgos = map[int32]string{1: "md5", 2: "sha1", 8: "sha256", 9: "sha384", 10: "sha512", 11: "sha224"}

type rpmEntry struct {
	typ, off, count uint32
}

// ParseRPMHeader reads one package header as rpmdb stores it (index
// count, data length, index entries, data store).
func ParseRPMHeader(b []byte) (Package, error) {
	p := Package{Manager: "rpm"}
	if len(b) < 8 {
		return p, errors.New("short header")
	}
	il, dl := binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:])
	if il > 1<<16 || uint64(8+16*uint64(il)+uint64(dl)) > uint64(len(b)) {
		return p, fmt.Errorf("header claims %d entries, %d data bytes in %d", il, dl, len(b))
	}
	data := b[8+16*il : 8+16*il+dl]
	ents := map[uint32]rpmEntry{}
	for i := uint32(0); i < il; i++ {
		e := b[8+16*i:]
		ents[binary.BigEndian.Uint32(e)] = rpmEntry{binary.BigEndian.Uint32(e[4:]), binary.BigEndian.Uint32(e[8:]), binary.BigEndian.Uint32(e[12:])}
	}
	strs := func(tag uint32) []string {
		e, ok := ents[tag]
		if !ok || (e.typ != 6 && e.typ != 8 && e.typ != 9) || e.off >= uint32(len(data)) {
			return nil
		}
		var out []string
		rest := data[e.off:]
		for i := uint32(0); i < e.count && len(rest) > 0; i++ {
			end := bytes.IndexByte(rest, 0)
			if end < 0 {
				break
			}
			out = append(out, string(rest[:end]))
			rest = rest[end+1:]
			if e.typ == 6 {
				break
			}
		}
		return out
	}
	ints := func(tag uint32, width uint32) []int64 {
		e, ok := ents[tag]
		if !ok || uint64(e.off)+uint64(e.count)*uint64(width) > uint64(len(data)) {
			return nil
		}
		out := make([]int64, 0, e.count)
		for i := uint32(0); i < e.count; i++ {
			v := data[e.off+i*width:]
			switch width {
			case 2:
				out = append(out, int64(binary.BigEndian.Uint16(v)))
			case 4:
				out = append(out, int64(int32(binary.BigEndian.Uint32(v))))
			}
		}
		return out
	}
	first := func(ss []string) string {
		if len(ss) == 0 {
			return ""
		}
		return ss[0]
	}
	p.Name = first(strs(tagName))
	if p.Name == "" {
		return p, errors.New("header has no name")
	}
	p.Version = first(strs(tagVersion)) + "-" + first(strs(tagRelease))
	if ep := ints(tagEpoch, 4); len(ep) == 1 && ep[0] != 0 {
		p.Version = strconv.FormatInt(ep[0], 10) + ":" + p.Version
	}
	p.Arch = first(strs(tagArch))
	p.Source = first(strs(tagSourceRPM))
	algo := "md5"
	if a := ints(tagDigestAlgo, 4); len(a) == 1 {
		if n, ok := digestAlgos[int32(a[0])]; ok {
			algo = n
		} else {
			algo = "unknown"
		}
	}
	base, dirs, idx := strs(tagBasenames), strs(tagDirnames), ints(tagDirIndexes, 4)
	sums, modes := strs(tagFileDigests), ints(tagFileModes, 2)
	for i, bn := range base {
		if i >= len(idx) || idx[i] < 0 || int(idx[i]) >= len(dirs) {
			break
		}
		d := Digest{Path: dirs[idx[i]] + bn, Algo: algo}
		if i < len(modes) {
			d.Mode = uint16(modes[i])
		}
		if i < len(sums) && sums[i] != "" {
			d.Sum, _ = hex.DecodeString(sums[i])
		}
		p.Files = append(p.Files, d)
	}
	return p, nil
}

// ParseRPMSQLite reads every package of an rpmdb.sqlite. A header that
// does not parse is counted in bad and the others are returned.
func ParseRPMSQLite(b []byte) (pkgs []Package, bad int, err error) {
	db, err := openSQLite(b)
	if err != nil {
		return nil, 0, err
	}
	root, err := db.tableRoot("Packages")
	if err != nil {
		return nil, 0, err
	}
	err = db.rows(root, func(_ int64, payload []byte) error {
		cols, rerr := record(payload)
		if rerr != nil || len(cols) < 2 {
			bad++
			return nil
		}
		blob, ok := cols[1].([]byte)
		if !ok {
			bad++
			return nil
		}
		p, perr := ParseRPMHeader(blob)
		if perr != nil {
			bad++
			return nil
		}
		pkgs = append(pkgs, p)
		return nil
	})
	return pkgs, bad, err
}
