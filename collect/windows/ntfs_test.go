package windows

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"os"
	"strings"
	"testing"
	"unicode/utf16"
)

// fixtureVolume is testdata/ntfs/volume.img.gz, made by mkntfs and ntfscp
// (its README says how, and what ntfscat reads from it).
func fixtureVolume(t testing.TB) []byte {
	t.Helper()
	f, err := os.Open("testdata/ntfs/volume.img.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func streamSum(t *testing.T, v *Volume, s *Stream) (string, int64) {
	t.Helper()
	h := sha256.New()
	n, err := io.Copy(h, io.NewSectionReader(v.ReaderAt(s), 0, s.Size))
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil)), n
}

// The reader gives what ntfs-3g's ntfscat gives for the metadata files, a
// named stream found through $Extend's index, a file found through the
// root's index blocks (INDX), and a file whose data is resident.
func TestNTFSFixtureVolume(t *testing.T) {
	img := fixtureVolume(t)
	v, err := OpenNTFS(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	if v.ClusterSize != 4096 || v.RecordSize != 1024 || v.IndexSize != 4096 || v.SectorSize != 512 {
		t.Errorf("geometry %+v", v)
	}
	for _, c := range []struct {
		path, sum string
		size      int64
		resident  bool
	}{
		{`\$MFT`, "7f8e07b3378d6092cb12941fe181bbb0c8bc40b2af7c13464e2d9ffee6ffbdb4", 68608, false},
		{`\$LogFile`, "4bda3a28f4ffe603c0ec1258c0034d65a1a0d35ab7bd523a834608adabf03cc5", 2097152, false},
		{`\$Extend\$UsnJrnl:$J`, "fe5ab690773dff9341459a555bb2d0c6e84f7156c122c464e1a855db25480af9", 1058176, false},
		{`\big.txt`, "24c8e0109ba23157f6221f4eeea66a0043d8d9c802bb866b8e220870f05fd364", 44000, false},
		{`\HELLO.TXT`, "01645678158f00236f108c70c74dc8aa90da0f1fd0dafdcd376efd170acbb36b", 15, true},
	} {
		s, rec, err := v.Open(c.path)
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		sum, n := streamSum(t, v, s)
		if c.path == `\$MFT` {
			// ntfscat gives the MFT with each record's update sequence
			// applied; custos keeps the bytes as on disk (what MFTECmd
			// and others expect), so apply them here to compare.
			sum, n = fixedMFTSum(t, v, s)
		}
		if sum != c.sum || n != c.size || s.Size != c.size || (s.Resident != nil) != c.resident {
			t.Errorf("%s: %d bytes %s (resident %v), want %d %s", c.path, n, sum, s.Resident != nil, c.size, c.sum)
		}
		if !strings.HasPrefix(c.path, `\$`) && (rec.Modified.Year() != 2026 || rec.Created.IsZero()) {
			t.Errorf("%s: times %v %v", c.path, rec.Created, rec.Modified)
		}
		if r := v.DataRanges(s); len(r) != 1 || r[0] != [2]int64{0, c.size} {
			t.Errorf("%s: data ranges %v", c.path, r)
		}
	}
	if _, _, err := v.Open(`\$Extend\missing`); err == nil || !strings.Contains(err.Error(), "not in directory 11") {
		t.Errorf("missing name: %v", err)
	}
	if _, _, err := v.Open(`\big.txt:nostream`); err == nil {
		t.Error("a stream that is not there opened")
	}
	// A torn record (a sector written without its neighbour) is refused.
	bad := bytes.Clone(img)
	off := v.MFTCluster*v.ClusterSize + 64*v.RecordSize + 510
	bad[off] ^= 0xFF
	bv, err := OpenNTFS(bytes.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bv.Record(64); err == nil || !strings.Contains(err.Error(), "torn") {
		t.Errorf("torn record: %v", err)
	}
}

func fixedMFTSum(t *testing.T, v *Volume, s *Stream) (string, int64) {
	t.Helper()
	b := make([]byte, s.Size)
	if _, err := v.ReaderAt(s).ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	raw := bytes.Clone(b)
	for off := int64(0); off < s.Size; off += v.RecordSize {
		if string(b[off:off+4]) == "FILE" {
			if err := fixup(b[off:off+v.RecordSize], "FILE"); err != nil {
				t.Fatalf("record %d: %v", off/v.RecordSize, err)
			}
		}
	}
	if bytes.Equal(raw, b) {
		t.Error("the $MFT read has its update sequences applied already: it is not the bytes on disk")
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), int64(len(b))
}

// ---- records built by hand: sparse runs, attribute lists ----

func u16(b []byte, off int, v uint16) { binary.LittleEndian.PutUint16(b[off:], v) }
func u32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }
func u64(b []byte, off int, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }

func utf16bytes(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}

func pad8(b []byte) []byte {
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

func residentAttr(typ uint32, name string, value []byte) []byte {
	nb := utf16bytes(name)
	vo := pad8len(0x18 + len(nb))
	b := make([]byte, vo+len(value))
	u32(b, 0, typ)
	b[9] = byte(len(nb) / 2)
	u16(b, 0x0A, 0x18)
	copy(b[0x18:], nb)
	u32(b, 0x10, uint32(len(value)))
	u16(b, 0x14, uint16(vo))
	copy(b[vo:], value)
	b = pad8(b)
	u32(b, 4, uint32(len(b)))
	return b
}

func pad8len(n int) int { return (n + 7) &^ 7 }

func nonResidentAttr(typ uint32, name string, flags uint16, low, high int64, runs []byte, alloc, size, init int64) []byte {
	nb := utf16bytes(name)
	ro := pad8len(0x40 + len(nb))
	b := make([]byte, ro+len(runs))
	u32(b, 0, typ)
	b[8] = 1
	b[9] = byte(len(nb) / 2)
	u16(b, 0x0A, 0x40)
	u16(b, 0x0C, flags)
	copy(b[0x40:], nb)
	u64(b, 0x10, uint64(low))
	u64(b, 0x18, uint64(high))
	u16(b, 0x20, uint16(ro))
	u64(b, 0x28, uint64(alloc))
	u64(b, 0x30, uint64(size))
	u64(b, 0x38, uint64(init))
	copy(b[ro:], runs)
	b = pad8(b)
	u32(b, 4, uint32(len(b)))
	return b
}

// fileRecord lays out a 1024-byte MFT record with its update sequence
// applied as on disk.
func fileRecord(flags uint16, base uint64, attrs ...[]byte) []byte {
	b := make([]byte, 1024)
	copy(b, "FILE")
	u16(b, 4, 0x30)
	u16(b, 6, 3)
	u16(b, 0x14, 0x38)
	u16(b, 0x16, flags)
	u64(b, 0x20, base)
	off := 0x38
	for _, a := range attrs {
		copy(b[off:], a)
		off += len(a)
	}
	u32(b, off, attrEnd)
	u32(b, 0x18, uint32(off+8))
	u32(b, 0x1C, 1024)
	u16(b, 0x30, 0x0707) // the update sequence number
	for i := 1; i < 3; i++ {
		end := i*512 - 2
		copy(b[0x30+2*i:], b[end:end+2])
		u16(b, end, 0x0707)
	}
	return b
}

func fileNameValue(parent uint64, name string) []byte {
	nb := utf16bytes(name)
	b := make([]byte, 0x42+len(nb))
	u64(b, 0, parent)
	b[0x40] = byte(len(nb) / 2)
	b[0x41] = 1
	copy(b[0x42:], nb)
	return b
}

// indexRoot holds one entry per name, then the last entry.
func indexRoot(names map[string]uint64) []byte {
	var ents []byte
	for name, ref := range names {
		key := fileNameValue(5, name)
		e := make([]byte, pad8len(0x10+len(key)))
		u64(e, 0, ref)
		u16(e, 8, uint16(len(e)))
		u16(e, 10, uint16(len(key)))
		copy(e[0x10:], key)
		ents = append(ents, e...)
	}
	last := make([]byte, 0x10)
	u16(last, 8, 0x10)
	u32(last, 12, 2)
	ents = append(ents, last...)
	v := make([]byte, 0x20+len(ents))
	u32(v, 0, attrFileName)
	u32(v, 8, 4096)
	u32(v, 0x10, 0x10)
	u32(v, 0x14, uint32(0x10+len(ents)))
	u32(v, 0x18, uint32(0x10+len(ents)))
	copy(v[0x20:], ents)
	return v
}

func listEntryBytes(typ uint32, name string, low int64, ref uint64) []byte {
	nb := utf16bytes(name)
	b := make([]byte, pad8len(0x1A+len(nb)))
	u32(b, 0, typ)
	u16(b, 4, uint16(len(b)))
	b[6] = byte(len(nb) / 2)
	b[7] = 0x1A
	u64(b, 8, uint64(low))
	u64(b, 0x10, ref)
	copy(b[0x1A:], nb)
	return b
}

// syntheticVolume: 4096-byte clusters, the MFT at cluster 4 (64 records),
// $Extend\$UsnJrnl (record 30) whose $J is 100 sparse clusters then 2 of
// data at cluster 40, its pieces in records 30 and 31 through an attribute
// list.
func syntheticVolume(t testing.TB) ([]byte, []byte) {
	const cs = 4096
	img := make([]byte, 64*cs)
	boot := img[:512]
	copy(boot[3:], "NTFS    ")
	u16(boot, 0x0B, 512)
	boot[0x0D] = 8
	u64(boot, 0x28, uint64(len(img)/512))
	u64(boot, 0x30, 4)
	boot[0x40] = 0xF6 // 2^10 bytes per record
	boot[0x44] = 1
	boot[0x1FE], boot[0x1FF] = 0x55, 0xAA
	rec := func(n int, b []byte) { copy(img[4*cs+n*1024:], b) }
	// $MFT: 16 clusters at 4 (64 records).
	rec(0, fileRecord(1, 0, nonResidentAttr(attrData, "", 0, 0, 15, []byte{0x11, 16, 4, 0}, 16*cs, 16*cs, 16*cs)))
	rec(5, fileRecord(3, 0, residentAttr(attrIndexRoot, "$I30", indexRoot(map[string]uint64{"$Extend": 11}))))
	rec(11, fileRecord(3, 0, residentAttr(attrIndexRoot, "$I30", indexRoot(map[string]uint64{"$UsnJrnl": 30, "$Quota": 24}))))
	list := append(listEntryBytes(attrData, "$J", 0, 30), listEntryBytes(attrData, "$J", 100, 31)...)
	list = append(list, listEntryBytes(attrData, "$Max", 0, 30)...)
	size := int64(100*cs + cs + 1000) // the second cluster is 1000 bytes in use
	rec(30, fileRecord(1, 0,
		residentAttr(attrStandardInfo, "", make([]byte, 48)),
		residentAttr(attrList, "", list),
		// VCN 0-99: one sparse run (header 0x01: a length byte, no offset).
		nonResidentAttr(attrData, "$J", flagSparse, 0, 99, []byte{0x01, 100, 0}, 102*cs, size, size),
		residentAttr(attrData, "$Max", []byte("max-data-32"))))
	// VCN 100-101 at cluster 40, in the extension record.
	rec(31, fileRecord(1, 30, nonResidentAttr(attrData, "$J", flagSparse, 100, 101, []byte{0x11, 2, 40, 0}, 0, 0, 0)))
	data := make([]byte, cs+1000)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	copy(img[40*cs:], data)
	return img, data
}

func TestNTFSSparseStreamThroughAttributeList(t *testing.T) {
	img, data := syntheticVolume(t)
	v, err := OpenNTFS(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := v.Open(`\$Extend\$UsnJrnl:$J`)
	if err != nil {
		t.Fatal(err)
	}
	const cs = 4096
	if !s.Sparse || s.Size != 100*cs+cs+1000 || len(s.Extents) != 2 {
		t.Fatalf("stream %+v", s)
	}
	r := v.DataRanges(s)
	if len(r) != 1 || r[0] != [2]int64{100 * cs, cs + 1000} {
		t.Errorf("data ranges %v", r)
	}
	got := make([]byte, s.Size)
	if _, err := v.ReaderAt(s).ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[100*cs:], data) || bytes.Count(got[:100*cs], []byte{0}) != 100*cs {
		t.Error("the sparse stream does not read as zeros then its data")
	}
	m, _, err := v.Open(`\$Extend\$UsnJrnl:$Max`)
	if err != nil || string(m.Resident) != "max-data-32" {
		t.Errorf("$Max: %v %+v", err, m)
	}
	// An extension record that claims another base is refused.
	bad := bytes.Clone(img)
	u64(bad[4*cs+31*1024:], 0x20, 29)
	bv, _ := OpenNTFS(bytes.NewReader(bad))
	if _, _, err := bv.Open(`\$Extend\$UsnJrnl:$J`); err == nil || !strings.Contains(err.Error(), "belongs to 29") {
		t.Errorf("foreign extension: %v", err)
	}
}

func TestDecodeRuns(t *testing.T) {
	for _, c := range []struct {
		runs []byte
		want []Extent
		err  string
	}{
		{[]byte{0x11, 4, 10, 0}, []Extent{{0, 10, 4}}, ""},
		// a run, a sparse run, a run going back (negative delta)
		{[]byte{0x21, 2, 0x00, 0x01, 0x01, 3, 0x11, 5, 0xF0, 0}, []Extent{{0, 256, 2}, {2, -1, 3}, {5, 240, 5}}, ""},
		{[]byte{0x11, 4}, nil, "bad run header"},
		{[]byte{0x11, 4, 10}, nil, "no terminator"},
		{[]byte{0x11, 0, 10, 0}, nil, "run of 0 clusters"},
		{[]byte{0x11, 1, 0x80, 0}, nil, "negative cluster"},
		{[]byte{0x91, 1, 1, 0}, nil, "bad run header"},
	} {
		got, err := decodeRuns(c.runs, 0)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%x: %v, want %q", c.runs, err, c.err)
			}
			continue
		}
		if err != nil || len(got) != len(c.want) {
			t.Errorf("%x: %v %v", c.runs, got, err)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%x: run %d %+v, want %+v", c.runs, i, got[i], c.want[i])
			}
		}
	}
}

// Whatever a volume holds, the reader ends with data or an error, never a
// panic or an endless loop.
func FuzzNTFS(f *testing.F) {
	img, _ := syntheticVolume(f)
	f.Add(img[:512], img[4*4096:4*4096+32*1024])
	real := fixtureVolume(f)
	f.Add(real[:512], real[4*4096:4*4096+64*1024])
	f.Fuzz(func(t *testing.T, boot, mft []byte) {
		if len(boot) < 512 || len(mft) > 256<<10 {
			return
		}
		vol := make([]byte, 64*4096)
		copy(vol, boot)
		v, err := parseBoot(vol[:512])
		if err != nil {
			return
		}
		if v.MFTCluster*v.ClusterSize+int64(len(mft)) > int64(len(vol)) {
			return
		}
		copy(vol[v.MFTCluster*v.ClusterSize:], mft)
		vv, err := OpenNTFS(bytes.NewReader(vol))
		if err != nil {
			return
		}
		for _, p := range []string{`\$MFT`, `\$Extend\$UsnJrnl:$J`, `\x`} {
			s, _, err := vv.Open(p)
			if err != nil || s.Size > 1<<20 {
				continue
			}
			io.Copy(io.Discard, io.NewSectionReader(vv.ReaderAt(s), 0, s.Size))
			vv.DataRanges(s)
		}
	})
}
