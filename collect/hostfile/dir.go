package hostfile

import (
	"sort"

	"github.com/custos-ir/custos/custody"
)

// Dir is a directory of the host held open (on Linux, a descriptor):
// what is below it is reached from it, one name at a time, so a directory
// renamed or swapped for a link after it was opened does not redirect the
// walk.
type Dir struct {
	path   string // raw, as walked
	parent *Dir   // nil for a root
	id     fileID
	uid    uint32
	rec    custody.File // as it was when opened
	h      dirHandle
}

// fileID tells directories apart (device and inode; on Windows the path).
type fileID struct {
	dev, ino uint64
	//lint:ignore U1000 set where the file system has no inodes (stat_other.go)
	path string
}

// dirent is one name of a directory listing with the type the listing
// gives (KindUnknown where the file system gives none).
type dirent struct {
	name string
	kind Kind
}

func sortDirents(ents []dirent) {
	sort.Slice(ents, func(i, j int) bool { return ents[i].name < ents[j].name })
}

// root is the top of d's chain.
func (d *Dir) root() *Dir {
	for d.parent != nil {
		d = d.parent
	}
	return d
}

// owners are the uids of d and every directory above it.
func (d *Dir) owners() []uint32 {
	var out []uint32
	for ; d != nil; d = d.parent {
		out = append(out, d.uid)
	}
	return out
}
