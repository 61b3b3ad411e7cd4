package hostfile

import (
	"io/fs"
	"syscall"
	"time"

	"github.com/custos-ir/custos/custody"
)

func platformStat(fi fs.FileInfo, rec *custody.File) {
	d, ok := fi.Sys().(*syscall.Win32FileAttributeData)
	if !ok {
		return
	}
	rec.Atime = tptr(time.Unix(0, d.LastAccessTime.Nanoseconds()))
	rec.Btime = tptr(time.Unix(0, d.CreationTime.Nanoseconds()))
}
