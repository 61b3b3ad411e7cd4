package hostfile

import (
	"io/fs"
	"syscall"
	"time"

	"github.com/custos-ir/custos/custody"
)

func platformStat(fi fs.FileInfo, rec *custody.File) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	rec.UID, rec.GID, rec.Inode, rec.Nlink = st.Uid, st.Gid, st.Ino, uint64(st.Nlink)
	rec.Device = uint64(st.Dev)
	rec.Atime = tptr(time.Unix(st.Atimespec.Unix()))
	rec.Ctime = tptr(time.Unix(st.Ctimespec.Unix()))
	rec.Btime = tptr(time.Unix(st.Birthtimespec.Unix()))
}
