//go:build windows

package windows

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// LogMethods is the platform's list for event logs, best first: a shared
// read, then the file's clusters read from the volume (administrator;
// byte-exact .evtx) as NTFS maps them, then as custos's own NTFS reader
// finds them, then the events rendered as XML through the Event Log API.
func LogMethods() []CopyMethod {
	return []CopyMethod{sharedReadMethod, rawNTFSMethod, rawNTFSMFTMethod, evtExportXMLMethod}
}

// LockedMethods is the list for other files Windows holds open (hives,
// Amcache, SRUDB.dat, the WMI repository): LogMethods without the export.
func LockedMethods() []CopyMethod {
	return []CopyMethod{sharedReadMethod, rawNTFSMethod, rawNTFSMFTMethod}
}

// MetadataMethods is the list for the NTFS metadata files, which only the
// NTFS reader reaches.
func MetadataMethods() []CopyMethod { return []CopyMethod{rawNTFSMFTMethod} }

var (
	rawNTFSMethod      = CopyMethod{Name: "raw-ntfs", Open: openRawNTFS}
	rawNTFSMFTMethod   = NTFSMethod(openVolume, recordOf)
	evtExportXMLMethod = CopyMethod{Name: "evt-export-xml", Open: openEvtExportXML}
)

// openVolume opens \\.\C: for reading (administrator), in aligned blocks.
func openVolume(drive string) (io.ReaderAt, func() error, error) {
	root := drive + `\`
	if fsName, err := fileSystemName(root); err != nil {
		return nil, nil, fmt.Errorf("GetVolumeInformation(%s): %w", root, err)
	} else if fsName != "NTFS" {
		return nil, nil, fmt.Errorf("%s is %s, not NTFS", drive, fsName)
	}
	_, sectorSize, err := diskGeometry(root)
	if err != nil {
		return nil, nil, err
	}
	volName := `\\.\` + drive
	v16, err := windows.UTF16PtrFromString(volName)
	if err != nil {
		return nil, nil, err
	}
	vh, err := windows.CreateFile(v16, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil, windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
			return nil, nil, fmt.Errorf("opening %s needs administrator rights: %w", volName, err)
		}
		return nil, nil, fmt.Errorf("opening %s: %w", volName, err)
	}
	return newSectorReaderAt(volumeReader(vh), volumeBlock, sectorSize), func() error { return windows.CloseHandle(vh) }, nil
}

// recordOf reads a file's MFT record number from a handle opened for its
// attributes only (the low 48 bits of the file index are the record).
func recordOf(path string) (uint64, error) {
	if strings.Contains(path[2:], ":") {
		return 0, errors.New("a named stream: looked up by name")
	}
	p16, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return 0, err
	}
	fh, err := windows.CreateFile(p16, windows.FILE_READ_ATTRIBUTES,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_FLAG_BACKUP_SEMANTICS|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return 0, err
	}
	defer windows.CloseHandle(fh)
	var bhi windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(fh, &bhi); err != nil {
		return 0, err
	}
	return (uint64(bhi.FileIndexHigh)<<32 | uint64(bhi.FileIndexLow)) & 0xFFFFFFFFFFFF, nil
}

var (
	evtKernel32           = windows.NewLazySystemDLL("kernel32.dll")
	procGetDiskFreeSpaceW = evtKernel32.NewProc("GetDiskFreeSpaceW")
	evtWevtapi            = windows.NewLazySystemDLL("wevtapi.dll")
	procEvtQuery          = evtWevtapi.NewProc("EvtQuery")
	procEvtNext           = evtWevtapi.NewProc("EvtNext")
	procEvtRender         = evtWevtapi.NewProc("EvtRender")
	procEvtClose          = evtWevtapi.NewProc("EvtClose")
)

// volumeBlock is the size of one aligned read of the volume.
const volumeBlock = 1 << 20

// fileStandardInfo is FILE_STANDARD_INFO (GetFileInformationByHandleEx,
// FileStandardInfo).
type fileStandardInfo struct {
	AllocationSize int64
	EndOfFile      int64
	NumberOfLinks  uint32
	DeletePending  uint8
	Directory      uint8
	_              [2]byte
}

// openRawNTFS reads the file's clusters straight from the volume. Opening
// a file for FILE_READ_ATTRIBUTES only is not subject to share modes, so it
// succeeds even on a log the EventLog service opened without sharing; that
// handle is enough for the cluster map (FSCTL_GET_RETRIEVAL_POINTERS is
// FILE_ANY_ACCESS). Reading the volume needs administrator rights.
//
// What is read is what is on disk: writes the service still holds in the
// cache are not there yet, and the copy may lag the live log by a few
// seconds (the .evtx header and chunk checksums say what is consistent).
func openRawNTFS(ctx context.Context, path string) (*FileCopy, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	drive, err := driveOf(path)
	if err != nil {
		return nil, err
	}
	p16, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, err
	}
	fh, err := windows.CreateFile(p16, windows.FILE_READ_ATTRIBUTES,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("opening the file for its attributes: %w", err)
	}
	defer windows.CloseHandle(fh)

	var bhi windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(fh, &bhi); err != nil {
		return nil, fmt.Errorf("GetFileInformationByHandle: %w", err)
	}
	switch {
	case bhi.FileAttributes&windows.FILE_ATTRIBUTE_COMPRESSED != 0:
		return nil, errors.New("the file is NTFS-compressed: its clusters on the volume are not its contents")
	case bhi.FileAttributes&windows.FILE_ATTRIBUTE_ENCRYPTED != 0:
		return nil, errors.New("the file is EFS-encrypted: its clusters on the volume are not its contents")
	}
	var std fileStandardInfo
	if err := windows.GetFileInformationByHandleEx(fh, windows.FileStandardInfo,
		(*byte)(unsafe.Pointer(&std)), uint32(unsafe.Sizeof(std))); err != nil {
		return nil, fmt.Errorf("GetFileInformationByHandleEx(FileStandardInfo): %w", err)
	}
	size := std.EndOfFile
	if size == 0 {
		return &FileCopy{Method: "raw-ntfs", Format: "raw", Size: 0, R: io.NopCloser(strings.NewReader(""))}, nil
	}

	extents, err := retrievalPointers(fh)
	if err != nil {
		return nil, err
	}
	if len(extents) == 0 {
		return nil, errors.New("the file's data is resident in its MFT record: no extents to read from the volume")
	}

	root := drive + `\`
	if fsName, err := fileSystemName(root); err != nil {
		return nil, fmt.Errorf("GetVolumeInformation(%s): %w", root, err)
	} else if fsName != "NTFS" {
		return nil, fmt.Errorf("%s is %s, not NTFS", drive, fsName)
	}
	clusterSize, sectorSize, err := diskGeometry(root)
	if err != nil {
		return nil, err
	}
	if cover := extentsCover(extents, clusterSize); cover < size {
		return nil, fmt.Errorf("the extents map %d bytes of a %d-byte file", cover, size)
	}

	volName := `\\.\` + drive
	v16, err := windows.UTF16PtrFromString(volName)
	if err != nil {
		return nil, err
	}
	vh, err := windows.CreateFile(v16, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil, windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
			return nil, fmt.Errorf("opening %s needs administrator rights: %w", volName, err)
		}
		return nil, fmt.Errorf("opening %s: %w", volName, err)
	}
	vol := newSectorReaderAt(volumeReader(vh), volumeBlock, sectorSize)
	r := ExtentReader(vol, extents, clusterSize, size)
	return &FileCopy{Method: "raw-ntfs", Format: "raw", Size: size,
		R: newExactReader(r, size, func() error { return windows.CloseHandle(vh) })}, nil
}

// retrievalPointers asks NTFS for the file's cluster map, as many calls as
// it takes (ERROR_MORE_DATA), each starting where the last one stopped. A
// file whose data is resident in the MFT has none (ERROR_HANDLE_EOF).
func retrievalPointers(fh windows.Handle) ([]Extent, error) {
	out := make([]uint64, 64<<10/8) // 8-byte aligned for the LARGE_INTEGERs
	outBytes := unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), len(out)*8)
	var extents []Extent
	var next int64
	for {
		start := next
		var ret uint32
		err := windows.DeviceIoControl(fh, windows.FSCTL_GET_RETRIEVAL_POINTERS,
			(*byte)(unsafe.Pointer(&start)), uint32(unsafe.Sizeof(start)),
			&outBytes[0], uint32(len(outBytes)), &ret, nil)
		more := errors.Is(err, windows.ERROR_MORE_DATA)
		switch {
		case err == nil, more:
		case errors.Is(err, windows.ERROR_HANDLE_EOF):
			return extents, nil // resident data, or nothing beyond start
		default:
			return nil, fmt.Errorf("FSCTL_GET_RETRIEVAL_POINTERS: %w", err)
		}
		buf := outBytes
		if ret >= 16 && int(ret) <= len(outBytes) {
			buf = outBytes[:ret]
		}
		_, ex, perr := ParseRetrievalPointers(buf)
		if perr != nil {
			return nil, perr
		}
		extents = append(extents, ex...)
		if !more {
			return extents, nil
		}
		if len(ex) == 0 {
			return nil, errors.New("FSCTL_GET_RETRIEVAL_POINTERS: more data but no extent returned")
		}
		last := ex[len(ex)-1]
		if next = last.VCN + last.Clusters; next <= start {
			return nil, fmt.Errorf("FSCTL_GET_RETRIEVAL_POINTERS: no progress past VCN %d", start)
		}
	}
}

// diskGeometry returns the cluster and sector sizes of a volume root
// (C:\).
func diskGeometry(root string) (clusterSize, sectorSize int64, err error) {
	if err := procGetDiskFreeSpaceW.Find(); err != nil {
		return 0, 0, err
	}
	r16, err := windows.UTF16PtrFromString(root)
	if err != nil {
		return 0, 0, err
	}
	var spc, bps, free, total uint32
	r1, _, e := procGetDiskFreeSpaceW.Call(uintptr(unsafe.Pointer(r16)),
		uintptr(unsafe.Pointer(&spc)), uintptr(unsafe.Pointer(&bps)),
		uintptr(unsafe.Pointer(&free)), uintptr(unsafe.Pointer(&total)))
	if r1 == 0 {
		return 0, 0, fmt.Errorf("GetDiskFreeSpace(%s): %w", root, e)
	}
	if spc == 0 || bps == 0 {
		return 0, 0, fmt.Errorf("GetDiskFreeSpace(%s): %d sectors per cluster of %d bytes", root, spc, bps)
	}
	return int64(spc) * int64(bps), int64(bps), nil
}

func fileSystemName(root string) (string, error) {
	r16, err := windows.UTF16PtrFromString(root)
	if err != nil {
		return "", err
	}
	var name [windows.MAX_PATH + 1]uint16
	if err := windows.GetVolumeInformation(r16, nil, 0, nil, nil, nil, &name[0], uint32(len(name))); err != nil {
		return "", err
	}
	return windows.UTF16ToString(name[:]), nil
}

// volumeReader reads a volume handle at an offset (the handle is
// synchronous: ReadFile with an OVERLAPPED only carries the offset).
// Offsets and lengths must be sector-aligned: see sectorReaderAt.
type volumeReader windows.Handle

func (v volumeReader) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		chunk := p[n:]
		if len(chunk) > 1<<30 {
			chunk = chunk[:1<<30]
		}
		ov := windows.Overlapped{Offset: uint32(pos), OffsetHigh: uint32(pos >> 32)}
		var done uint32
		err := windows.ReadFile(windows.Handle(v), chunk, &done, &ov)
		n += int(done)
		if errors.Is(err, windows.ERROR_HANDLE_EOF) || (err == nil && done == 0) {
			return n, io.EOF
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Event Log API (winevt.h).
const (
	evtQueryChannelPath      = 0x1
	evtQueryFilePath         = 0x2
	evtQueryForwardDirection = 0x100
	evtRenderEventXml        = 1
	evtBatch                 = 64
)

// openEvtExportXML renders the log's events as XML (see openTwoPass). It
// queries the file; a live log whose file the API cannot open is queried
// by its channel instead (which is the same events, read through the
// EventLog service).
func openEvtExportXML(ctx context.Context, path string) (*FileCopy, error) {
	for _, p := range []*windows.LazyProc{procEvtQuery, procEvtNext, procEvtRender, procEvtClose} {
		if err := p.Find(); err != nil {
			return nil, err
		}
	}
	channel := channelName(path)
	c, err := openTwoPass(ctx, channel, evtQueryFunc(path, evtQueryFilePath))
	if err == nil {
		return c, nil
	}
	if ctx.Err() != nil {
		return nil, err
	}
	c, cerr := openTwoPass(ctx, channel, evtQueryFunc(channel, evtQueryChannelPath))
	if cerr != nil {
		return nil, fmt.Errorf("querying the file: %v; querying channel %q: %w", err, channel, cerr)
	}
	return c, nil
}

// evtQueryFunc queries a log file or a channel (kind: evtQueryFilePath or
// evtQueryChannelPath), oldest event first.
func evtQueryFunc(path string, kind uintptr) eventQuery {
	return func(ctx context.Context, maxID uint64, yield func(string) bool) error {
		p16, err := windows.UTF16PtrFromString(path)
		if err != nil {
			return err
		}
		var q16 *uint16
		if maxID > 0 {
			if q16, err = windows.UTF16PtrFromString(fmt.Sprintf("*[System[EventRecordID<=%d]]", maxID)); err != nil {
				return err
			}
		}
		rs, _, e := procEvtQuery.Call(0, uintptr(unsafe.Pointer(p16)), uintptr(unsafe.Pointer(q16)),
			kind|evtQueryForwardDirection)
		if rs == 0 {
			return fmt.Errorf("EvtQuery(%s): %w", path, callErr(e))
		}
		defer evtClose(rs)
		var batch [evtBatch]uintptr
		buf := make([]uint16, 4096)
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			var got uint32
			r1, _, e := procEvtNext.Call(rs, evtBatch, uintptr(unsafe.Pointer(&batch[0])),
				windows.INFINITE, 0, uintptr(unsafe.Pointer(&got)))
			if r1 == 0 {
				if errors.Is(e, windows.ERROR_NO_MORE_ITEMS) {
					return nil
				}
				return fmt.Errorf("EvtNext: %w", e)
			}
			var rerr error
			stop := false
			for i := range int(min(got, evtBatch)) {
				if rerr == nil && !stop {
					var s string
					if s, rerr = evtRenderXML(batch[i], &buf); rerr == nil {
						stop = !yield(s)
					}
				}
				evtClose(batch[i])
			}
			if rerr != nil {
				return rerr
			}
			if stop {
				return nil
			}
		}
	}
}

// evtRenderXML renders one event as XML (UTF-16 from the API, UTF-8 here),
// growing *buf as needed.
func evtRenderXML(ev uintptr, buf *[]uint16) (string, error) {
	for range 3 {
		var used, props uint32
		r1, _, e := procEvtRender.Call(0, ev, evtRenderEventXml,
			uintptr(len(*buf)*2), uintptr(unsafe.Pointer(&(*buf)[0])),
			uintptr(unsafe.Pointer(&used)), uintptr(unsafe.Pointer(&props)))
		if r1 != 0 {
			n := min(int(used/2), len(*buf))
			return windows.UTF16ToString((*buf)[:n]), nil
		}
		if !errors.Is(e, windows.ERROR_INSUFFICIENT_BUFFER) {
			return "", fmt.Errorf("EvtRender: %w", e)
		}
		*buf = make([]uint16, used/2+1)
	}
	return "", errors.New("EvtRender: the buffer it asked for was still too small")
}

func evtClose(h uintptr) { procEvtClose.Call(h) }

// callErr makes a failed call's error readable when the system gave none
// (a stub API answers "The operation completed successfully").
func callErr(e error) error {
	if errno, ok := e.(windows.Errno); !ok || errno == 0 {
		return errors.New("failed without saying why (not implemented on this system?)")
	}
	return e
}
