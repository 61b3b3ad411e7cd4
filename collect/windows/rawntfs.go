package windows

// The pure logic of reading a file's clusters from its volume: the extents
// FSCTL_GET_RETRIEVAL_POINTERS gives, and sector-aligned reads of the
// volume device. Tested on any OS; the system calls are in
// evtlog_windows.go.

// Extent is one run of a file's clusters: Clusters clusters from virtual
// cluster VCN of the file stored from logical cluster LCN of the volume.
// LCN -1 is a sparse run (no clusters on the volume; reads as zeros).
import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"unsafe"
)

type Extent struct{ VCN, LCN, Clusters int64 }

// ExtentReader reads a file from its volume through the file's extents:
// exactly fileSize bytes, cluster n of the file being read at byte
// LCN*clusterSize of vol (NTFS numbers clusters from the start of the
// volume), sparse runs as zeros. A part of the file that no extent maps,
// invalid extents, or a short read of the volume is an error (never
// silently zeros). The extents may come in any order.
func ExtentReader(vol io.ReaderAt, extents []Extent, clusterSize, fileSize int64) io.Reader {
	ex := slices.Clone(extents)
	slices.SortFunc(ex, func(a, b Extent) int {
		switch {
		case a.VCN < b.VCN:
			return -1
		case a.VCN > b.VCN:
			return 1
		}
		return 0
	})
	r := &extentReader{vol: vol, ex: ex, cs: clusterSize, size: fileSize}
	r.err = r.check()
	return r
}

type extentReader struct {
	vol      io.ReaderAt
	ex       []Extent
	cs, size int64
	pos      int64
	i        int
	err      error
}

func (r *extentReader) check() error {
	if r.cs <= 0 {
		return fmt.Errorf("invalid cluster size %d", r.cs)
	}
	if r.size < 0 {
		return fmt.Errorf("invalid file size %d", r.size)
	}
	end := int64(0)
	for _, e := range r.ex {
		switch {
		case e.VCN < 0 || e.Clusters <= 0 || e.LCN < -1:
			return fmt.Errorf("invalid extent VCN %d LCN %d clusters %d", e.VCN, e.LCN, e.Clusters)
		case e.VCN < end:
			return fmt.Errorf("extents overlap at VCN %d", e.VCN)
		case e.VCN > math.MaxInt64/r.cs-e.Clusters || e.LCN > math.MaxInt64/r.cs-e.Clusters:
			return fmt.Errorf("extent VCN %d LCN %d clusters %d overflows", e.VCN, e.LCN, e.Clusters)
		}
		end = e.VCN + e.Clusters
	}
	return nil
}

func (r *extentReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.pos >= r.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	vcn := r.pos / r.cs
	for r.i < len(r.ex) && r.ex[r.i].VCN+r.ex[r.i].Clusters <= vcn {
		r.i++
	}
	if r.i == len(r.ex) || r.ex[r.i].VCN > vcn {
		r.err = fmt.Errorf("no extent maps cluster %d (file offset %d of %d)", vcn, r.pos, r.size)
		return 0, r.err
	}
	e := r.ex[r.i]
	end := min((e.VCN+e.Clusters)*r.cs, r.size)
	n := int(min(int64(len(p)), end-r.pos))
	p = p[:n]
	if e.LCN == -1 {
		clear(p)
	} else {
		off := e.LCN*r.cs + (r.pos - e.VCN*r.cs)
		m, err := r.vol.ReadAt(p, off)
		if m < n {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			r.pos += int64(m)
			r.err = fmt.Errorf("reading the volume at byte %d (file offset %d): %w", off+int64(m), r.pos, err)
			return m, r.err
		}
	}
	r.pos += int64(n)
	return n, nil
}

// extentsCover is how many bytes of a file the extents map (sparse runs
// included).
//
//lint:ignore U1000 used by the raw NTFS reader (evtlog_windows.go)
func extentsCover(extents []Extent, clusterSize int64) int64 {
	var n int64
	for _, e := range extents {
		n += e.Clusters
	}
	return n * clusterSize
}

// ParseRetrievalPointers decodes the RETRIEVAL_POINTERS_BUFFER that
// FSCTL_GET_RETRIEVAL_POINTERS returns (winioctl.h; MS-FSCC 2.3.32):
//
//	DWORD         ExtentCount;   // offset 0
//	(4 bytes of padding: LARGE_INTEGER is 8-byte aligned)
//	LARGE_INTEGER StartingVcn;   // offset 8
//	struct { LARGE_INTEGER NextVcn; LARGE_INTEGER Lcn; } Extents[ExtentCount]; // offset 16, 16 bytes each
//
// all little-endian. An extent runs from the previous NextVcn (StartingVcn
// for the first) to its own NextVcn; Lcn -1 is a sparse run or the
// unallocated part of a compression unit.
func ParseRetrievalPointers(buf []byte) (startVCN int64, extents []Extent, err error) {
	if len(buf) < 16 {
		return 0, nil, fmt.Errorf("retrieval pointers: %d bytes, need at least 16", len(buf))
	}
	count := int64(binary.LittleEndian.Uint32(buf[0:4]))
	startVCN = int64(binary.LittleEndian.Uint64(buf[8:16]))
	if need := 16 + 16*count; int64(len(buf)) < need {
		return 0, nil, fmt.Errorf("retrieval pointers: %d extents need %d bytes, have %d", count, need, len(buf))
	}
	if startVCN < 0 {
		return 0, nil, fmt.Errorf("retrieval pointers: negative starting VCN %d", startVCN)
	}
	extents = make([]Extent, 0, count)
	prev := startVCN
	for i := range count {
		b := buf[16+16*i:]
		next := int64(binary.LittleEndian.Uint64(b[0:8]))
		lcn := int64(binary.LittleEndian.Uint64(b[8:16]))
		if next <= prev {
			return 0, nil, fmt.Errorf("retrieval pointers: extent %d ends at VCN %d, not after %d", i, next, prev)
		}
		if lcn < -1 {
			return 0, nil, fmt.Errorf("retrieval pointers: extent %d has LCN %d", i, lcn)
		}
		extents = append(extents, Extent{VCN: prev, LCN: lcn, Clusters: next - prev})
		prev = next
	}
	return startVCN, extents, nil
}

// sectorReaderAt reads a device that only takes sector-aligned reads (a
// Windows volume handle): it reads whole aligned blocks into a buffer
// aligned in memory too, and copies out the range asked for. A block that
// cannot be read whole (the end of the volume) is retried one sector at a
// time. Not safe for concurrent use.
type sectorReaderAt struct {
	r             io.ReaderAt
	block, sector int64
	buf           []byte
	bufOff        int64
	bufLen        int64
}

// newSectorReaderAt: block must be a multiple of sector, sector > 0.
func newSectorReaderAt(r io.ReaderAt, block, sector int64) *sectorReaderAt {
	if sector <= 0 {
		sector = 512
	}
	if block < sector || block%sector != 0 {
		block = sector * max(1, block/sector)
	}
	return &sectorReaderAt{r: r, block: block, sector: sector, buf: alignedBuffer(int(block), 4096)}
}

// alignedBuffer returns n bytes whose address is a multiple of align (Go's
// heap does not move objects).
func alignedBuffer(n, align int) []byte {
	b := make([]byte, n+align)
	off := 0
	if rem := int(uintptr(unsafe.Pointer(&b[0])) % uintptr(align)); rem != 0 {
		off = align - rem
	}
	return b[off : off+n : off+n]
}

func (s *sectorReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset %d", off)
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if s.bufLen == 0 || pos < s.bufOff || pos >= s.bufOff+s.bufLen {
			if err := s.fill(pos); err != nil {
				return n, err
			}
		}
		n += copy(p[n:], s.buf[pos-s.bufOff:s.bufLen])
	}
	return n, nil
}

func (s *sectorReaderAt) fill(pos int64) error {
	s.bufLen = 0
	start := pos - pos%s.block
	m, err := s.r.ReadAt(s.buf[:s.block], start)
	if int64(m) > pos-start {
		s.bufOff, s.bufLen = start, int64(m)
		return nil
	}
	start = pos - pos%s.sector
	m, err2 := s.r.ReadAt(s.buf[:s.sector], start)
	if int64(m) > pos-start {
		s.bufOff, s.bufLen = start, int64(m)
		return nil
	}
	if err2 == nil || err2 == io.EOF {
		err2 = io.ErrUnexpectedEOF
	}
	if err == nil || err == io.EOF {
		return err2
	}
	return fmt.Errorf("%w (reading the whole block: %v)", err2, err)
}
