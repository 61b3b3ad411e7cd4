package hostfile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
)

// Hash is the SHA-256 of an open file as it reads, holes included (hashed
// as the zeros they are, never read). It reads at most maxData bytes of
// data (0: no limit): a file with more is not hashed, and says so.
func Hash(ctx context.Context, f *File, maxData int64) (string, error) {
	size := f.Record().Size
	ext := f.DataExtents()
	if ext == nil {
		ext = []Extent{{0, size}}
	}
	var data int64
	for _, x := range ext {
		data += x.Length
	}
	if maxData > 0 && data > maxData {
		return "", fmt.Errorf("%d bytes of data, over the %d this hashes: not hashed", data, maxData)
	}
	h := sha256.New()
	buf := make([]byte, 256<<10)
	var pos int64
	for _, x := range append(ext, Extent{Offset: size}) {
		for pos < x.Offset { // a hole
			if err := ctx.Err(); err != nil {
				return "", err
			}
			n := min(int64(len(buf)), x.Offset-pos)
			clear(buf[:n])
			h.Write(buf[:n])
			pos += n
		}
		for end := x.Offset + x.Length; pos < end; {
			if err := ctx.Err(); err != nil {
				return "", err
			}
			n, err := f.ReadAt(buf[:min(int64(len(buf)), end-pos)], pos)
			h.Write(buf[:n])
			pos += int64(n)
			if err == io.EOF && n > 0 {
				continue
			}
			if err != nil {
				return "", fmt.Errorf("read at %d: %w", pos, err)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
