package live

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Held is a file a process still holds whose name is gone: the deleted (or
// memfd) executable it runs, or a deleted file it has open. It lives as
// long as the process: the deleted source copies it through Proc.
type Held struct {
	PID  int32
	Comm string
	FD   int    // -1: the executable
	Proc string // /proc/PID/exe or /proc/PID/fd/N
	Link string // what the kernel says of it: the path it had, " (deleted)"
}

// DeletedFiles lists what every process holds of deleted files, from
// /proc/PID/exe and /proc/PID/fd/*, in PID and fd order. Sockets, pipes and
// other anonymous files are left out; memfd files are kept (fileless
// payloads live there).
func DeletedFiles(ctx context.Context) ([]Held, error) {
	pids, err := listPIDs()
	if err != nil {
		return nil, err
	}
	self := int32(os.Getpid())
	var out []Held
	for _, pid := range pids {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		if pid == self {
			continue
		}
		dir := filepath.Join(procRoot, strconv.Itoa(int(pid)))
		comm := ""
		if b, err := os.ReadFile(filepath.Join(dir, "comm")); err == nil {
			comm = strings.TrimSpace(string(b))
		}
		if l, err := os.Readlink(filepath.Join(dir, "exe")); err == nil && gone(l) {
			out = append(out, Held{PID: pid, Comm: comm, FD: -1, Proc: filepath.Join(dir, "exe"), Link: l})
		}
		fds, _ := os.ReadDir(filepath.Join(dir, "fd"))
		var nums []int
		for _, fd := range fds {
			if n, err := strconv.Atoi(fd.Name()); err == nil {
				nums = append(nums, n)
			}
		}
		sort.Ints(nums)
		for _, n := range nums {
			p := filepath.Join(dir, "fd", strconv.Itoa(n))
			if l, err := os.Readlink(p); err == nil && gone(l) && strings.HasPrefix(l, "/") {
				out = append(out, Held{PID: pid, Comm: comm, FD: n, Proc: p, Link: l})
			}
		}
	}
	return out, nil
}

// gone tells a link to a file whose name was removed.
func gone(l string) bool {
	return strings.HasSuffix(l, " (deleted)") || strings.HasPrefix(l, "/memfd:")
}
