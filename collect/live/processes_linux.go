package live

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect/hostfile"
)

// procRoot is /proc; tests point it at a fixture.
var procRoot = "/proc"

// Processes reads every process from /proc. The executable is hashed
// through /proc/PID/exe, which reaches the running binary even after it
// was deleted or replaced on disk.
func Processes(ctx context.Context, w io.Writer) error {
	pids, err := listPIDs()
	if err != nil {
		return err
	}
	boot := bootTime()
	users := passwd()
	var cache exeCache
	out := newLines(w)
	for _, pid := range pids {
		if err := ctx.Err(); err != nil {
			return err
		}
		p, gone := readProcess(ctx, pid, boot, users, &cache)
		if gone {
			continue // exited between listing and reading
		}
		if err := out.put(p); err != nil {
			return err
		}
	}
	return nil
}

func listPIDs() ([]int32, error) {
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, err
	}
	var pids []int32
	for _, e := range ents {
		if n, err := strconv.ParseInt(e.Name(), 10, 32); err == nil && n > 0 {
			pids = append(pids, int32(n))
		}
	}
	sort.Slice(pids, func(i, j int) bool { return pids[i] < pids[j] })
	return pids, nil
}

func readProcess(ctx context.Context, pid int32, boot time.Time, users map[uint32]string, cache *exeCache) (Process, bool) {
	dir := filepath.Join(procRoot, strconv.Itoa(int(pid)))
	p := Process{PID: pid, Cmdline: []string{}}
	var e errs
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return p, true
	}
	st, err := parseStat(stat)
	if err != nil {
		e.add("stat", err)
	} else {
		p.Name, p.State, p.PPID, p.Threads = st.comm, st.state, st.ppid, st.threads
		if !boot.IsZero() {
			p.Started = utc(boot.Add(time.Duration(st.startTicks) * time.Second / 100))
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "status")); err == nil {
		if uid, euid, ok := parseUIDs(b); ok {
			p.UID, p.EUID = &uid, &euid
			p.User = users[uid]
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil {
		p.Cmdline = splitCmdline(b)
	} else {
		e.add("cmdline", err)
	}
	if cwd, err := os.Readlink(filepath.Join(dir, "cwd")); err == nil {
		p.Cwd = cwd
	} else if !isKernelThread(p) {
		e.add("cwd", unwrap(err))
	}
	exe, err := os.Readlink(filepath.Join(dir, "exe"))
	switch {
	case err == nil:
		p.Exe = exe
		p.ExeDeleted = strings.HasSuffix(exe, " (deleted)")
		p.ExeMemfd = strings.HasPrefix(exe, "/memfd:")
		hashExe(ctx, &p, filepath.Join(dir, "exe"), cache, &e)
	case !isKernelThread(p):
		e.add("exe", unwrap(err))
	}
	p.Errors = e
	return p, false
}

// maxExeHash bounds the data read to hash one executable: a binary padded
// to many GiB is recorded (size, and why it was not hashed), and the
// deleted source or a files artifact can take it. Holes are not read.
const maxExeHash = 1 << 30

func hashExe(ctx context.Context, p *Process, link string, cache *exeCache, e *errs) {
	f, err := hostfile.OpenProcLink(link)
	if err != nil {
		e.add("exe hash", err)
		return
	}
	defer f.Close()
	rec := f.Record()
	p.ExeSize = rec.Size
	var mtime int64
	if rec.Mtime != nil {
		mtime = rec.Mtime.UnixNano()
	}
	sum, err := cache.hash(exeKey{rec.Device, rec.Inode, rec.Size, mtime}, func() (string, error) {
		return hostfile.Hash(ctx, f, maxExeHash)
	})
	if err != nil {
		e.add("exe hash", err)
		return
	}
	p.ExeSHA256 = sum
}

func isKernelThread(p Process) bool { return p.PPID == 2 || p.PID == 2 || len(p.Cmdline) == 0 }

func unwrap(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	if le, ok := err.(*os.LinkError); ok {
		return le.Err
	}
	return err
}

// processNames maps pid → name for the socket listing.
func processNames() map[int32]string {
	out := map[int32]string{}
	pids, _ := listPIDs()
	for _, pid := range pids {
		if b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(int(pid)), "stat")); err == nil {
			if st, err := parseStat(b); err == nil {
				out[pid] = st.comm
			}
		}
	}
	return out
}

func bootTime() time.Time {
	b, err := os.ReadFile(filepath.Join(procRoot, "stat"))
	if err != nil {
		return time.Time{}
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "btime" {
			if n, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				return time.Unix(n, 0)
			}
		}
	}
	return time.Time{}
}

func passwd() map[uint32]string {
	out := map[uint32]string{}
	b, err := readHost("/etc/passwd", 64<<20)
	if err != nil {
		return out
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, ":")
		if len(f) >= 3 {
			if uid, err := strconv.ParseUint(f[2], 10, 32); err == nil {
				if _, dup := out[uint32(uid)]; !dup {
					out[uint32(uid)] = f[0]
				}
			}
		}
	}
	return out
}
