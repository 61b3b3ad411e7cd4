package hostfile

// maxExtents bounds a sparse file's map (a tar reader refuses maps over
// 1 MiB): past it, neighbouring extents are merged and the small holes
// between them read as the zeros they hold.
const maxExtents = 8192

func coalesce(ext []Extent) []Extent {
	for len(ext) > maxExtents {
		out := ext[:0]
		for i := 0; i < len(ext); i += 2 {
			e := ext[i]
			if i+1 < len(ext) {
				n := ext[i+1]
				e.Length = n.Offset + n.Length - e.Offset
			}
			out = append(out, e)
		}
		ext = out
	}
	return ext
}

// Holes is how many bytes of a file of size lie outside ext.
func Holes(size int64, ext []Extent) int64 {
	if ext == nil {
		return 0
	}
	h := size
	for _, e := range ext {
		h -= e.Length
	}
	return h
}
