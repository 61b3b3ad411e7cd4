package windows

// A small NTFS reader: enough of the on-disk format to find a file's MFT
// record and its data runs on a volume and read them, for the files no
// open can reach ($MFT, $LogFile, $Extend\$UsnJrnl:$J) and the data of
// locked files that lives in the MFT record itself. Everything it reads
// comes from the volume, which a hostile host controls: every length,
// offset and count is checked, and a bad structure is an error naming what
// was wrong, never a panic or a loop.
//
// Format: the NTFS documentation of the Linux-NTFS project and libyal's
// "New Technologies File System (NTFS)"; cross-checked against volumes
// made by mkntfs and read by ntfscat (testdata/ntfs).

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf16"
)

// Attribute types used here.
const (
	attrStandardInfo  = 0x10
	attrList          = 0x20
	attrFileName      = 0x30
	attrData          = 0x80
	attrIndexRoot     = 0x90
	attrIndexAlloc    = 0xA0
	attrEnd           = 0xFFFFFFFF
	mftRecordRoot     = 5
	maxAttrListLength = 4 << 20 // an attribute list is a few KiB; more is not a list
	maxExtents        = 1 << 20
	maxIndex          = 256 << 20 // of a directory's index read to find one name
	maxListRecords    = 4096      // extension records one attribute list may name
)

// Volume is an NTFS volume read through r (the raw device, or an image).
type Volume struct {
	r           io.ReaderAt
	SectorSize  int64
	ClusterSize int64
	RecordSize  int64 // an MFT record
	IndexSize   int64 // an index block (INDX)
	MFTCluster  int64
	Clusters    int64 // of the volume
	mft         *Stream
}

// OpenNTFS reads the boot sector of r and the $MFT's own record.
func OpenNTFS(r io.ReaderAt) (*Volume, error) {
	b := make([]byte, 512)
	if _, err := r.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("ntfs: reading the boot sector: %w", err)
	}
	v, err := parseBoot(b)
	if err != nil {
		return nil, err
	}
	v.r = r
	// Record 0 is $MFT itself, at the cluster the boot sector names; its
	// $DATA maps the rest of the MFT.
	rec0 := make([]byte, v.RecordSize)
	if _, err := r.ReadAt(rec0, v.MFTCluster*v.ClusterSize); err != nil {
		return nil, fmt.Errorf("ntfs: reading MFT record 0 at cluster %d: %w", v.MFTCluster, err)
	}
	rec, err := parseRecord(rec0, 0)
	if err != nil {
		return nil, fmt.Errorf("ntfs: MFT record 0: %w", err)
	}
	s, err := rec.stream(attrData, "")
	if err != nil {
		return nil, fmt.Errorf("ntfs: $MFT: %w", err)
	}
	v.mft = s
	if rec.list != nil { // a fragmented MFT continues in extension records
		full, err := v.streamOf(rec, attrData, "")
		if err != nil {
			return nil, fmt.Errorf("ntfs: $MFT: %w", err)
		}
		v.mft = full
	}
	return v, nil
}

func parseBoot(b []byte) (*Volume, error) {
	if len(b) < 512 || string(b[3:11]) != "NTFS    " {
		return nil, errors.New("ntfs: not an NTFS boot sector")
	}
	v := &Volume{SectorSize: int64(binary.LittleEndian.Uint16(b[0x0B:]))}
	if v.SectorSize < 256 || v.SectorSize > 4096 || v.SectorSize&(v.SectorSize-1) != 0 {
		return nil, fmt.Errorf("ntfs: %d bytes per sector", v.SectorSize)
	}
	spc := int64(b[0x0D])
	if spc > 0x80 { // a large cluster: 2^(256-n) sectors
		if 256-spc > 12 {
			return nil, fmt.Errorf("ntfs: sectors per cluster code %#x", spc)
		}
		spc = 1 << (256 - spc)
	}
	if spc == 0 || spc&(spc-1) != 0 {
		return nil, fmt.Errorf("ntfs: %d sectors per cluster", spc)
	}
	v.ClusterSize = spc * v.SectorSize
	if v.ClusterSize > 2<<20 {
		return nil, fmt.Errorf("ntfs: cluster size %d", v.ClusterSize)
	}
	v.Clusters = int64(binary.LittleEndian.Uint64(b[0x28:])) / spc
	v.MFTCluster = int64(binary.LittleEndian.Uint64(b[0x30:]))
	if v.MFTCluster <= 0 || v.MFTCluster >= v.Clusters {
		return nil, fmt.Errorf("ntfs: MFT at cluster %d of %d", v.MFTCluster, v.Clusters)
	}
	var err error
	if v.RecordSize, err = unitSize(int8(b[0x40]), v.ClusterSize); err != nil {
		return nil, fmt.Errorf("ntfs: MFT record size: %w", err)
	}
	if v.IndexSize, err = unitSize(int8(b[0x44]), v.ClusterSize); err != nil {
		return nil, fmt.Errorf("ntfs: index block size: %w", err)
	}
	if v.RecordSize < 512 || v.RecordSize > 64<<10 || v.IndexSize < 512 || v.IndexSize > 64<<10 {
		return nil, fmt.Errorf("ntfs: MFT record of %d bytes, index block of %d", v.RecordSize, v.IndexSize)
	}
	return v, nil
}

// unitSize decodes the boot sector's record sizes: n clusters, or 2^-n
// bytes when n is negative.
func unitSize(n int8, cluster int64) (int64, error) {
	switch {
	case n > 0:
		return int64(n) * cluster, nil
	case n < 0 && n >= -31:
		return 1 << uint(-n), nil
	}
	return 0, fmt.Errorf("size code %d", n)
}

// fixup applies the update sequence array of a multi-sector record
// ("FILE", "INDX"): the last two bytes of each 512-byte block hold the
// sequence number on disk and are restored from the array.
func fixup(b []byte, magic string) error {
	if len(b) < 8 || string(b[:4]) != magic {
		return fmt.Errorf("not a %s record", magic)
	}
	off := int(binary.LittleEndian.Uint16(b[4:]))
	count := int(binary.LittleEndian.Uint16(b[6:]))
	if count == 0 || off+2*count > len(b) || (count-1)*512 > len(b) {
		return fmt.Errorf("%s record: update sequence of %d at %d in %d bytes", magic, count, off, len(b))
	}
	usn := b[off : off+2]
	for i := 1; i < count; i++ {
		end := i*512 - 2
		if b[end] != usn[0] || b[end+1] != usn[1] {
			return fmt.Errorf("%s record: block %d is torn (its update sequence number does not match)", magic, i)
		}
		b[end], b[end+1] = b[off+2*i], b[off+2*i+1]
	}
	return nil
}

// Record is one parsed MFT record.
type Record struct {
	Num       uint64
	InUse     bool
	Dir       bool
	Base      uint64 // the base record of an extension record, 0 for a base record
	Created   time.Time
	Modified  time.Time
	Changed   time.Time // the MFT record's change time
	Accessed  time.Time
	Names     []FileName
	attrs     []attr
	list      []listEntry // $ATTRIBUTE_LIST, when the attributes span records
	listError error
}

// FileName is a $FILE_NAME attribute.
type FileName struct {
	Parent    uint64
	Name      string
	Namespace uint8 // 0 POSIX, 1 Win32, 2 DOS, 3 Win32 and DOS
}

type attr struct {
	typ       uint32
	name      string
	flags     uint16
	resident  bool
	value     []byte // resident
	lowVCN    int64
	highVCN   int64
	runs      []byte // non-resident
	allocated int64
	size      int64
	init      int64
}

const (
	flagCompressed = 0x0001
	flagEncrypted  = 0x4000
	flagSparse     = 0x8000
)

type listEntry struct {
	typ    uint32
	name   string
	lowVCN int64
	ref    uint64
}

// parseRecord decodes an MFT record (fixups applied here, in b).
func parseRecord(b []byte, num uint64) (*Record, error) {
	if err := fixup(b, "FILE"); err != nil {
		return nil, err
	}
	r := &Record{Num: num}
	flags := binary.LittleEndian.Uint16(b[0x16:])
	r.InUse, r.Dir = flags&1 != 0, flags&2 != 0
	r.Base = binary.LittleEndian.Uint64(b[0x20:]) & 0xFFFFFFFFFFFF
	used := int(binary.LittleEndian.Uint32(b[0x18:]))
	if used > len(b) || used < 0x30 {
		used = len(b)
	}
	off := int(binary.LittleEndian.Uint16(b[0x14:]))
	for n := 0; off+8 <= used; n++ {
		if n > 512 {
			return nil, errors.New("more than 512 attributes")
		}
		typ := binary.LittleEndian.Uint32(b[off:])
		if typ == attrEnd {
			break
		}
		length := int(binary.LittleEndian.Uint32(b[off+4:]))
		if length < 0x18 || off+length > used {
			return nil, fmt.Errorf("attribute %#x at %d: length %d overruns the record", typ, off, length)
		}
		a, err := parseAttr(b[off : off+length])
		if err != nil {
			return nil, fmt.Errorf("attribute %#x at %d: %w", typ, off, err)
		}
		r.attrs = append(r.attrs, a)
		off += length
	}
	for _, a := range r.attrs {
		switch {
		case a.typ == attrStandardInfo && a.resident && len(a.value) >= 32:
			r.Created = filetimeUTC(a.value[0:])
			r.Modified = filetimeUTC(a.value[8:])
			r.Changed = filetimeUTC(a.value[16:])
			r.Accessed = filetimeUTC(a.value[24:])
		case a.typ == attrFileName && a.resident:
			if fn, err := parseFileName(a.value); err == nil {
				r.Names = append(r.Names, fn)
			}
		case a.typ == attrList && a.resident:
			r.list, r.listError = parseAttrList(a.value)
		}
	}
	return r, nil
}

func parseAttr(b []byte) (attr, error) {
	a := attr{typ: binary.LittleEndian.Uint32(b), resident: b[8] == 0, flags: binary.LittleEndian.Uint16(b[0x0C:])}
	if nl := int(b[9]); nl > 0 {
		no := int(binary.LittleEndian.Uint16(b[0x0A:]))
		if no+2*nl > len(b) {
			return a, errors.New("name overruns the attribute")
		}
		a.name = utf16le(b[no : no+2*nl])
	}
	if a.resident {
		vl := int(binary.LittleEndian.Uint32(b[0x10:]))
		vo := int(binary.LittleEndian.Uint16(b[0x14:]))
		if vo+vl > len(b) || vl < 0 {
			return a, fmt.Errorf("resident value of %d bytes at %d overruns the attribute", vl, vo)
		}
		a.value = b[vo : vo+vl]
		a.size, a.init, a.allocated = int64(vl), int64(vl), int64(vl)
		return a, nil
	}
	if len(b) < 0x40 {
		return a, errors.New("non-resident header too short")
	}
	a.lowVCN = int64(binary.LittleEndian.Uint64(b[0x10:]))
	a.highVCN = int64(binary.LittleEndian.Uint64(b[0x18:]))
	ro := int(binary.LittleEndian.Uint16(b[0x20:]))
	a.allocated = int64(binary.LittleEndian.Uint64(b[0x28:]))
	a.size = int64(binary.LittleEndian.Uint64(b[0x30:]))
	a.init = int64(binary.LittleEndian.Uint64(b[0x38:]))
	if ro > len(b) || a.lowVCN < 0 || a.highVCN < a.lowVCN-1 || a.size < 0 || a.allocated < 0 || a.init < 0 {
		return a, fmt.Errorf("non-resident header: runs at %d, VCN %d-%d, sizes %d/%d/%d", ro, a.lowVCN, a.highVCN, a.allocated, a.size, a.init)
	}
	a.runs = b[ro:]
	return a, nil
}

func parseFileName(b []byte) (FileName, error) {
	if len(b) < 0x42 {
		return FileName{}, errors.New("$FILE_NAME too short")
	}
	n := int(b[0x40])
	if 0x42+2*n > len(b) {
		return FileName{}, errors.New("$FILE_NAME name overruns it")
	}
	return FileName{Parent: binary.LittleEndian.Uint64(b) & 0xFFFFFFFFFFFF, Namespace: b[0x41], Name: utf16le(b[0x42 : 0x42+2*n])}, nil
}

func parseAttrList(b []byte) ([]listEntry, error) {
	var out []listEntry
	for off := 0; off+0x1A <= len(b); {
		l := int(binary.LittleEndian.Uint16(b[off+4:]))
		if l < 0x1A || off+l > len(b) {
			return out, fmt.Errorf("attribute list entry at %d: length %d", off, l)
		}
		e := listEntry{typ: binary.LittleEndian.Uint32(b[off:]), lowVCN: int64(binary.LittleEndian.Uint64(b[off+8:])),
			ref: binary.LittleEndian.Uint64(b[off+0x10:]) & 0xFFFFFFFFFFFF}
		if nl, no := int(b[off+6]), int(b[off+7]); nl > 0 {
			if no+2*nl > l {
				return out, fmt.Errorf("attribute list entry at %d: name overruns it", off)
			}
			e.name = utf16le(b[off+no : off+no+2*nl])
		}
		out = append(out, e)
		off += l
	}
	return out, nil
}

func utf16le(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// filetimeUTC reads a FILETIME (100 ns since 1601); zero is the zero time.
func filetimeUTC(b []byte) time.Time {
	ft := int64(binary.LittleEndian.Uint64(b))
	if ft <= 0 {
		return time.Time{}
	}
	const epochDiff = 116444736000000000 // 1601 to 1970 in 100 ns
	return time.Unix(0, 0).Add(time.Duration(ft-epochDiff) * 100).UTC()
}

// decodeRuns decodes a runlist starting at VCN low: each run is a header
// byte (low nibble: size of the length field, high: of the offset), the
// length in clusters, and the LCN as a signed delta from the previous run's
// (no offset field: a sparse run).
func decodeRuns(b []byte, low int64) ([]Extent, error) {
	var out []Extent
	vcn, lcn := low, int64(0)
	for i := 0; i < len(b); {
		h := b[i]
		if h == 0 {
			return out, nil
		}
		ls, os := int(h&0x0F), int(h>>4)
		if ls == 0 || ls > 8 || os > 8 || i+1+ls+os > len(b) {
			return nil, fmt.Errorf("runlist: bad run header %#x at %d", h, i)
		}
		length := int64(leUint(b[i+1 : i+1+ls]))
		if length <= 0 || ls == 8 && b[i+ls] >= 0x80 {
			return nil, fmt.Errorf("runlist: run of %d clusters at %d", length, i)
		}
		e := Extent{VCN: vcn, Clusters: length, LCN: -1}
		if os > 0 {
			delta := leInt(b[i+1+ls : i+1+ls+os])
			lcn += delta
			if lcn < 0 {
				return nil, fmt.Errorf("runlist: run at VCN %d starts at negative cluster %d", vcn, lcn)
			}
			e.LCN = lcn
		}
		if vcn > 1<<62-length {
			return nil, errors.New("runlist: VCN overflows")
		}
		out = append(out, e)
		if len(out) > maxExtents {
			return nil, fmt.Errorf("runlist: more than %d runs", maxExtents)
		}
		vcn += length
		i += 1 + ls + os
	}
	return nil, errors.New("runlist: no terminator")
}

func leUint(b []byte) uint64 {
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

func leInt(b []byte) int64 {
	v := leUint(b)
	if n := uint(len(b)) * 8; n < 64 && b[len(b)-1]&0x80 != 0 {
		v |= ^uint64(0) << n
	}
	return int64(v)
}

// Stream is one data attribute of a file: its bytes are Resident, or lie
// in Extents of the volume. Size is what the file holds; past Initialized
// it reads as zeros.
type Stream struct {
	Name        string
	Resident    []byte
	Extents     []Extent
	Size        int64
	Initialized int64
	Allocated   int64
	Sparse      bool
	Compressed  bool
	Encrypted   bool
}

// stream finds the attribute typ/name held in this record alone.
func (r *Record) stream(typ uint32, name string) (*Stream, error) {
	var s *Stream
	for _, a := range r.attrs {
		if a.typ != typ || !strings.EqualFold(a.name, name) {
			continue
		}
		if s == nil {
			s = &Stream{Name: a.name}
		}
		if err := s.add(a); err != nil {
			return nil, err
		}
	}
	if s == nil {
		return nil, fmt.Errorf("no %s attribute in MFT record %d", attrName(typ, name), r.Num)
	}
	return s, s.check()
}

func attrName(typ uint32, name string) string {
	n := map[uint32]string{attrData: "$DATA", attrIndexRoot: "$INDEX_ROOT", attrIndexAlloc: "$INDEX_ALLOCATION"}[typ]
	if n == "" {
		n = fmt.Sprintf("type %#x", typ)
	}
	if name != "" {
		n += " " + name
	}
	return n
}

// add adds one attribute extent (a piece of a non-resident attribute that
// spans records) to the stream.
func (s *Stream) add(a attr) error {
	s.Compressed = s.Compressed || a.flags&flagCompressed != 0
	s.Encrypted = s.Encrypted || a.flags&flagEncrypted != 0
	s.Sparse = s.Sparse || a.flags&flagSparse != 0
	if a.resident {
		if s.Resident != nil || s.Extents != nil {
			return errors.New("a resident attribute in several pieces")
		}
		s.Resident = append([]byte{}, a.value...)
		s.Size, s.Initialized, s.Allocated = a.size, a.init, a.allocated
		return nil
	}
	if s.Resident != nil {
		return errors.New("a resident and a non-resident piece of one attribute")
	}
	ex, err := decodeRuns(a.runs, a.lowVCN)
	if err != nil {
		return err
	}
	if a.lowVCN == 0 {
		s.Size, s.Initialized, s.Allocated = a.size, a.init, a.allocated
	}
	if len(s.Extents)+len(ex) > maxExtents {
		return fmt.Errorf("more than %d runs", maxExtents)
	}
	s.Extents = append(s.Extents, ex...)
	return nil
}

// check orders the extents and checks they map the stream without
// overlap (the pieces may come in any order from an attribute list).
func (s *Stream) check() error {
	if s.Resident != nil {
		return nil
	}
	sortExtents(s.Extents)
	end := int64(0)
	for _, e := range s.Extents {
		if e.VCN < end {
			return fmt.Errorf("runs overlap at VCN %d", e.VCN)
		}
		end = e.VCN + e.Clusters
	}
	if s.Initialized > s.Size {
		s.Initialized = s.Size
	}
	return nil
}

func sortExtents(ex []Extent) {
	for i := 1; i < len(ex); i++ { // insertion sort: the pieces are nearly in order
		for j := i; j > 0 && ex[j].VCN < ex[j-1].VCN; j-- {
			ex[j], ex[j-1] = ex[j-1], ex[j]
		}
	}
}

// Record reads MFT record n.
func (v *Volume) Record(n uint64) (*Record, error) {
	if n > 1<<40 {
		return nil, fmt.Errorf("ntfs: MFT record %d", n)
	}
	off := int64(n) * v.RecordSize
	if off+v.RecordSize > v.mft.Size {
		return nil, fmt.Errorf("ntfs: MFT record %d is past the end of the MFT (%d bytes)", n, v.mft.Size)
	}
	b := make([]byte, v.RecordSize)
	if _, err := v.ReaderAt(v.mft).ReadAt(b, off); err != nil {
		return nil, fmt.Errorf("ntfs: reading MFT record %d: %w", n, err)
	}
	r, err := parseRecord(b, n)
	if err != nil {
		return nil, fmt.Errorf("ntfs: MFT record %d: %w", n, err)
	}
	return r, nil
}

// streamOf finds an attribute of a base record, following its attribute
// list into extension records.
func (v *Volume) streamOf(r *Record, typ uint32, name string) (*Stream, error) {
	if r.list == nil {
		if r.listError != nil {
			return nil, fmt.Errorf("MFT record %d: attribute list: %w", r.Num, r.listError)
		}
		if l, err := r.stream(attrList, ""); err == nil && l.Resident == nil {
			// A non-resident attribute list: read it from the volume.
			if l.Size > maxAttrListLength {
				return nil, fmt.Errorf("MFT record %d: attribute list of %d bytes", r.Num, l.Size)
			}
			b := make([]byte, l.Size)
			if _, err := io.ReadFull(io.NewSectionReader(v.ReaderAt(l), 0, l.Size), b); err != nil {
				return nil, fmt.Errorf("MFT record %d: reading its attribute list: %w", r.Num, err)
			}
			if r.list, err = parseAttrList(b); err != nil {
				return nil, fmt.Errorf("MFT record %d: attribute list: %w", r.Num, err)
			}
		}
	}
	if r.list == nil {
		return r.stream(typ, name)
	}
	var s *Stream
	seen := map[uint64]bool{}
	for _, e := range r.list {
		if e.typ != typ || !strings.EqualFold(e.name, name) || seen[e.ref] {
			continue
		}
		seen[e.ref] = true
		if len(seen) > maxListRecords {
			return nil, fmt.Errorf("MFT record %d: attribute list names more than %d records", r.Num, maxListRecords)
		}
		rec := r
		if e.ref != r.Num {
			var err error
			if rec, err = v.Record(e.ref); err != nil {
				return nil, err
			}
			if rec.Base != r.Num {
				return nil, fmt.Errorf("MFT record %d listed as an extension of %d belongs to %d", e.ref, r.Num, rec.Base)
			}
		}
		for _, a := range rec.attrs {
			if a.typ == typ && strings.EqualFold(a.name, name) {
				if s == nil {
					s = &Stream{Name: a.name}
				}
				if err := s.add(a); err != nil {
					return nil, fmt.Errorf("MFT record %d: %w", rec.Num, err)
				}
			}
		}
	}
	if s == nil {
		return nil, fmt.Errorf("no %s attribute in MFT record %d or its extensions", attrName(typ, name), r.Num)
	}
	return s, s.check()
}

// Stream finds the data stream name ("" for the unnamed one) of MFT
// record n.
func (v *Volume) Stream(n uint64, name string) (*Stream, *Record, error) {
	r, err := v.Record(n)
	if err != nil {
		return nil, nil, err
	}
	if !r.InUse {
		return nil, r, fmt.Errorf("ntfs: MFT record %d is not in use", n)
	}
	s, err := v.streamOf(r, attrData, name)
	if err != nil {
		return nil, r, fmt.Errorf("ntfs: %w", err)
	}
	return s, r, nil
}

// Lookup finds name in directory dir (an MFT record number) through the
// directory's $I30 index: every entry of its root and of its index blocks
// (a directory's index is small; its B-tree order is not relied on).
func (v *Volume) Lookup(dir uint64, name string) (uint64, error) {
	r, err := v.Record(dir)
	if err != nil {
		return 0, err
	}
	if !r.Dir {
		return 0, fmt.Errorf("ntfs: MFT record %d is not a directory", dir)
	}
	root, err := v.streamOf(r, attrIndexRoot, "$I30")
	if err != nil || root.Resident == nil || len(root.Resident) < 0x20 {
		return 0, fmt.Errorf("ntfs: directory %d has no index root: %v", dir, err)
	}
	if ref, ok := findEntry(root.Resident[0x10:], name); ok {
		return ref, nil
	}
	alloc, err := v.streamOf(r, attrIndexAlloc, "$I30")
	if err != nil {
		return 0, fmt.Errorf("ntfs: %q not in directory %d", name, dir)
	}
	ra := v.ReaderAt(alloc)
	blk := make([]byte, v.IndexSize)
	end := min(alloc.Initialized, maxIndex)
	for off := int64(0); off+v.IndexSize <= end; off += v.IndexSize {
		if _, err := ra.ReadAt(blk, off); err != nil {
			return 0, fmt.Errorf("ntfs: directory %d: index block at %d: %w", dir, off, err)
		}
		if string(blk[:4]) != "INDX" {
			continue // an unused block
		}
		if err := fixup(blk, "INDX"); err != nil {
			return 0, fmt.Errorf("ntfs: directory %d: index block at %d: %w", dir, off, err)
		}
		if ref, ok := findEntry(blk[0x18:], name); ok {
			return ref, nil
		}
	}
	return 0, fmt.Errorf("ntfs: %q not in directory %d", name, dir)
}

// findEntry scans the entries of an INDEX_HEADER for a file name.
func findEntry(h []byte, name string) (uint64, bool) {
	if len(h) < 16 {
		return 0, false
	}
	off := int(binary.LittleEndian.Uint32(h))
	end := int(binary.LittleEndian.Uint32(h[4:]))
	if end > len(h) {
		end = len(h)
	}
	for n := 0; off+0x10 <= end && n < 4096; n++ {
		l := int(binary.LittleEndian.Uint16(h[off+8:]))
		kl := int(binary.LittleEndian.Uint16(h[off+10:]))
		flags := binary.LittleEndian.Uint32(h[off+12:])
		if l < 0x10 || off+l > end {
			return 0, false
		}
		if flags&2 != 0 { // the last entry holds no key
			return 0, false
		}
		if 0x10+kl <= l {
			if fn, err := parseFileName(h[off+0x10 : off+0x10+kl]); err == nil && strings.EqualFold(fn.Name, name) {
				return binary.LittleEndian.Uint64(h[off:]) & 0xFFFFFFFFFFFF, true
			}
		}
		off += l
	}
	return 0, false
}

// Open finds a path on the volume (`\$Extend\$UsnJrnl:$J`, `\$MFT`: from
// the root, a named stream after a colon) and returns its stream and the
// record that holds it.
func (v *Volume) Open(path string) (*Stream, *Record, error) {
	p, stream, _ := strings.Cut(strings.TrimLeft(strings.ReplaceAll(path, "/", `\`), `\`), ":")
	ref := uint64(mftRecordRoot)
	switch strings.ToLower(p) {
	case "$mft": // the system files have fixed records
		ref = 0
	case "$logfile":
		ref = 2
	default:
		for _, seg := range strings.Split(p, `\`) {
			if seg == "" {
				continue
			}
			next, err := v.Lookup(ref, seg)
			if err != nil {
				return nil, nil, err
			}
			ref = next
		}
	}
	return v.Stream(ref, stream)
}

// ReaderAt reads a stream's bytes: resident data, or its extents of the
// volume, sparse runs and what lies past the initialized size as zeros.
func (v *Volume) ReaderAt(s *Stream) io.ReaderAt {
	if s.Resident != nil {
		return &residentReader{b: s.Resident, size: s.Size}
	}
	return &extentReaderAt{vol: v.r, ex: s.Extents, cs: v.ClusterSize, size: s.Size, init: s.Initialized}
}

type residentReader struct {
	b    []byte
	size int64
}

func (r *residentReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(r.b)) {
		return 0, io.EOF
	}
	n := copy(p, r.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// extentReaderAt maps file offsets to volume offsets through the extents.
type extentReaderAt struct {
	vol        io.ReaderAt
	ex         []Extent // sorted by VCN, not overlapping
	cs         int64
	size, init int64
}

func (r *extentReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset %d", off)
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= r.size {
			return n, io.EOF
		}
		want := min(int64(len(p)-n), r.size-pos)
		q := p[n : n+int(want)]
		if pos >= r.init { // never written: zeros
			clear(q)
			n += len(q)
			continue
		}
		q = q[:min(int64(len(q)), r.init-pos)]
		vcn := pos / r.cs
		i := searchExtent(r.ex, vcn)
		if i < 0 {
			return n, fmt.Errorf("no run maps cluster %d (offset %d of %d)", vcn, pos, r.size)
		}
		e := r.ex[i]
		q = q[:min(int64(len(q)), (e.VCN+e.Clusters)*r.cs-pos)]
		if e.LCN < 0 {
			clear(q)
		} else {
			m, err := r.vol.ReadAt(q, e.LCN*r.cs+pos-e.VCN*r.cs)
			if m < len(q) {
				if err == nil || err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return n + m, fmt.Errorf("reading the volume at cluster %d: %w", e.LCN, err)
			}
		}
		n += len(q)
	}
	return n, nil
}

func searchExtent(ex []Extent, vcn int64) int {
	lo, hi := 0, len(ex)
	for lo < hi {
		m := (lo + hi) / 2
		if ex[m].VCN+ex[m].Clusters <= vcn {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(ex) && ex[lo].VCN <= vcn {
		return lo
	}
	return -1
}

// DataRanges are the byte ranges of a stream that hold data (offset,
// length), in order: sparse runs and what lies past the initialized size
// are holes. A dense stream is one range.
func (v *Volume) DataRanges(s *Stream) [][2]int64 {
	if s.Resident != nil || !s.Sparse && s.Initialized == s.Size {
		if s.Size == 0 {
			return nil
		}
		return [][2]int64{{0, s.Size}}
	}
	var out [][2]int64
	for _, e := range s.Extents {
		if e.LCN < 0 {
			continue
		}
		start, end := e.VCN*v.ClusterSize, min((e.VCN+e.Clusters)*v.ClusterSize, s.Initialized)
		if start >= end {
			continue
		}
		if k := len(out); k > 0 && out[k-1][0]+out[k-1][1] == start {
			out[k-1][1] += end - start
			continue
		}
		out = append(out, [2]int64{start, end - start})
	}
	return out
}
