package windows

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect/hostfile"
	"github.com/custos-ir/custos/custody"
)

// VolumeOpener opens a volume ("C:") for raw reading: on Windows the
// device \\.\C: (administrator), in tests an image. The closer releases it.
type VolumeOpener func(drive string) (io.ReaderAt, func() error, error)

// RecordOf finds the MFT record number of a file without reading it (on
// Windows from a handle opened for its attributes only, which no lock
// refuses); nil, or an error, and the path is looked up in the volume's
// own directory indexes instead.
type RecordOf func(path string) (uint64, error)

// NTFSMethod reads a file through custos's own NTFS reader (ntfs.go): its
// MFT record, then its runs read from the volume; the only way to the NTFS
// metadata files ($MFT, $LogFile, $Extend\$UsnJrnl:$J, named after a
// colon), and for other files the way to data that lives in the MFT record
// itself. A sparse stream is read by its data alone (FileCopy.Data). What
// the method records of the file comes from its MFT record ($STANDARD_
// INFORMATION), and the MFT record number is the inode.
func NTFSMethod(open VolumeOpener, ref RecordOf) CopyMethod {
	return CopyMethod{Name: "raw-ntfs-mft", Open: func(ctx context.Context, path string) (*FileCopy, error) {
		return openNTFSFile(ctx, path, open, ref)
	}}
}

func openNTFSFile(ctx context.Context, path string, open VolumeOpener, ref RecordOf) (*FileCopy, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if open == nil {
		return nil, errors.New("no volume to read on this system")
	}
	drive, err := driveOf(path)
	if err != nil {
		return nil, err
	}
	rest := path[strings.Index(path, ":")+1:]
	vol, closeVol, err := open(drive)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok && closeVol != nil {
			closeVol()
		}
	}()
	v, err := OpenNTFS(vol)
	if err != nil {
		return nil, err
	}
	var s *Stream
	var rec *Record
	if n, rerr := refOf(ref, path); rerr == nil {
		_, name, _ := strings.Cut(rest[strings.LastIndexAny(rest, `\/`)+1:], ":")
		s, rec, err = v.Stream(n, name)
	} else {
		s, rec, err = v.Open(rest)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case s.Compressed:
		return nil, errors.New("the stream is NTFS-compressed: its clusters are not its contents")
	case s.Encrypted:
		return nil, errors.New("the stream is EFS-encrypted: its clusters are not its contents")
	}
	f := custody.File{Path: path, Type: "file", Size: s.Size, Inode: rec.Num, Method: "raw-ntfs-mft", Nlink: uint64(len(rec.Names))}
	f.Mtime, f.Atime, f.Ctime, f.Btime = tref(rec.Modified), tref(rec.Accessed), tref(rec.Changed), tref(rec.Created)
	at := v.ReaderAt(s)
	c := &FileCopy{Method: "raw-ntfs-mft", Format: "raw", Size: s.Size, At: at, Rec: &f,
		R: newExactReader(io.NewSectionReader(at, 0, s.Size), s.Size, closeVol)}
	if s.Sparse || s.Initialized < s.Size {
		c.Data = []hostfile.Extent{}
		for _, d := range v.DataRanges(s) {
			c.Data = append(c.Data, hostfile.Extent{Offset: d[0], Length: d[1]})
		}
	}
	ok = true
	return c, nil
}

func refOf(ref RecordOf, path string) (uint64, error) {
	if ref == nil {
		return 0, errors.New("no handle")
	}
	n, err := ref(path)
	if err != nil {
		return 0, fmt.Errorf("MFT record of %s: %w", path, err)
	}
	return n, nil
}

func tref(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
