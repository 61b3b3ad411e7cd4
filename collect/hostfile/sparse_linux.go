package hostfile

import "golang.org/x/sys/unix"

// DataExtents lists where a file with holes has data, by SEEK_DATA and
// SEEK_HOLE, so the holes are never read. It returns nil for a file
// without holes (as many blocks allocated as its size), or where the file
// system cannot tell: such a file is read whole.
func (f *File) DataExtents() []Extent {
	size := f.rec.Size
	if size == 0 || f.blocks*512 >= size {
		return nil
	}
	out := []Extent{}
	for off := int64(0); off < size; {
		d, err := unix.Seek(f.fd, off, unix.SEEK_DATA)
		if err == unix.ENXIO {
			break // only a hole from off to the end
		}
		if err != nil {
			return nil
		}
		h, err := unix.Seek(f.fd, d, unix.SEEK_HOLE)
		if err != nil || h <= d {
			return nil
		}
		if h > size {
			h = size
		}
		if d >= size {
			break
		}
		out = append(out, Extent{d, h - d})
		off = h
	}
	if _, err := unix.Seek(f.fd, 0, unix.SEEK_SET); err != nil {
		return nil
	}
	return coalesce(out)
}
