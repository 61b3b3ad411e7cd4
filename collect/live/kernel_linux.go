package live

import (
	"context"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The Linux sources beyond the first ones: per-process detail, kernel
// state and eBPF programs, firewall rules.

func init() {
	sources["process-details"] = ProcessDetails
	sources["kernel"] = Kernel
	sources["firewall"] = Firewall
}

// ProcDetail is one line of the "process-details" source.
type ProcDetail struct {
	PID        int32             `json:"pid"`
	Name       string            `json:"name"`
	Environ    []string          `json:"environ,omitempty"`
	Maps       []Mapping         `json:"maps,omitempty"` // files mapped: libraries, deleted ones and memfds flagged
	AnonExec   int               `json:"anon_exec_regions,omitempty"`
	Cgroups    []string          `json:"cgroups,omitempty"`
	Namespaces map[string]string `json:"namespaces,omitempty"`       // ns name -> "net:[4026531840]"
	Container  bool              `json:"other_namespaces,omitempty"` // a namespace differs from pid 1's
	Errors     []string          `json:"errors,omitempty"`
}

var nsNames = []string{"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"}

// ProcessDetails writes, per process, its environment, the files it maps
// (a deleted or memfd library is injected code's usual trace), its
// cgroups and namespaces (a process in a container, or hiding in one).
func ProcessDetails(ctx context.Context, w io.Writer) error {
	pids, err := listPIDs()
	if err != nil {
		return err
	}
	init := map[string]string{}
	for _, n := range nsNames {
		init[n], _ = os.Readlink(filepath.Join(procRoot, "1/ns", n))
	}
	out := newLines(w)
	for _, pid := range pids {
		if err := ctx.Err(); err != nil {
			return err
		}
		dir := filepath.Join(procRoot, strconv.Itoa(int(pid)))
		stat, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			continue // exited
		}
		d := ProcDetail{PID: pid, Namespaces: map[string]string{}}
		if st, err := parseStat(stat); err == nil {
			d.Name = st.comm
		}
		var e errs
		if b, err := os.ReadFile(filepath.Join(dir, "environ")); err == nil {
			d.Environ = parseEnviron(b)
		} else {
			e.add("environ", unwrap(err))
		}
		if b, err := os.ReadFile(filepath.Join(dir, "maps")); err == nil {
			d.Maps, d.AnonExec = parseMaps(b)
		} else {
			e.add("maps", unwrap(err))
		}
		if b, err := os.ReadFile(filepath.Join(dir, "cgroup")); err == nil {
			d.Cgroups = parseCgroup(b)
		}
		for _, n := range nsNames {
			if l, err := os.Readlink(filepath.Join(dir, "ns", n)); err == nil {
				d.Namespaces[n] = l
				if init[n] != "" && l != init[n] {
					d.Container = true
				}
			}
		}
		d.Errors = e
		if err := out.put(d); err != nil {
			return err
		}
	}
	return nil
}

// KernelState is one line of the "kernel" source of kind "state".
type KernelState struct {
	Kind       string            `json:"kind"` // "state"
	Tainted    uint64            `json:"tainted"`
	TaintFlags []string          `json:"taint_flags,omitempty"`
	Cmdline    string            `json:"cmdline,omitempty"`
	Lockdown   string            `json:"lockdown,omitempty"`
	LSMs       string            `json:"lsm,omitempty"`
	Sysctls    map[string]string `json:"sysctls,omitempty"`
	Errors     []string          `json:"errors,omitempty"`
}

// kernelSysctls are settings an intruder relaxes (or a hardened host sets).
var kernelSysctls = []string{
	"kernel/modules_disabled", "kernel/kptr_restrict", "kernel/dmesg_restrict", "kernel/yama/ptrace_scope",
	"kernel/randomize_va_space", "kernel/unprivileged_bpf_disabled", "kernel/kexec_load_disabled",
	"kernel/core_pattern", "kernel/modprobe", "kernel/sysrq", "net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding",
	"fs/protected_symlinks", "fs/protected_hardlinks", "fs/suid_dumpable", "net/core/bpf_jit_enable",
}

// Kernel writes the kernel's taint (decoded), command line, lockdown and
// security modules, the sysctls worth a look, then one line per loaded
// eBPF program where the kernel lets custos list them.
func Kernel(ctx context.Context, w io.Writer) error {
	out := newLines(w)
	k := KernelState{Kind: "state", Sysctls: map[string]string{}}
	var e errs
	if b, err := os.ReadFile(filepath.Join(procRoot, "sys/kernel/tainted")); err == nil {
		k.Tainted, k.TaintFlags = decodeTaint(string(b))
	} else {
		e.add("tainted", unwrap(err))
	}
	if b, err := os.ReadFile(filepath.Join(procRoot, "cmdline")); err == nil {
		k.Cmdline = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/sys/kernel/security/lockdown"); err == nil {
		k.Lockdown = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/sys/kernel/security/lsm"); err == nil {
		k.LSMs = strings.TrimSpace(string(b))
	}
	for _, s := range kernelSysctls {
		if b, err := os.ReadFile(filepath.Join(procRoot, "sys", s)); err == nil {
			k.Sysctls[strings.ReplaceAll(s, "/", ".")] = strings.TrimSpace(string(b))
		}
	}
	progs, err := bpfPrograms(ctx)
	if err != nil {
		e.add("eBPF programs (the kernel refused to list them; pinned ones may be under /sys/fs/bpf)", err)
	}
	k.Errors = e
	if err := out.put(k); err != nil {
		return err
	}
	for _, p := range progs {
		if err := out.put(p); err != nil {
			return err
		}
	}
	return nil
}

// BPFProg is one line of the "kernel" source of kind "ebpf-program".
type BPFProg struct {
	Kind     string   `json:"kind"` // "ebpf-program"
	ID       uint32   `json:"id"`
	Type     uint32   `json:"type"`
	TypeName string   `json:"type_name,omitempty"`
	Name     string   `json:"name,omitempty"`
	Tag      string   `json:"tag"`
	LoadTime uint64   `json:"load_time_ns_since_boot,omitempty"`
	UID      uint32   `json:"uid"`
	MapIDs   int      `json:"maps,omitempty"`
	Errors   []string `json:"errors,omitempty"`
}

var bpfTypes = map[uint32]string{1: "socket_filter", 2: "kprobe", 3: "sched_cls", 4: "sched_act", 5: "tracepoint", 6: "xdp",
	7: "perf_event", 8: "cgroup_skb", 9: "cgroup_sock", 10: "lwt_in", 13: "sock_ops", 14: "sk_skb", 15: "cgroup_device",
	16: "sk_msg", 17: "raw_tracepoint", 18: "cgroup_sock_addr", 21: "lirc_mode2", 22: "sk_reuseport", 23: "flow_dissector",
	24: "cgroup_sysctl", 25: "raw_tracepoint_writable", 26: "cgroup_sockopt", 27: "tracing", 28: "struct_ops", 29: "ext", 30: "lsm",
	31: "sk_lookup", 32: "syscall", 33: "netfilter"}

// bpfProgInfo is the start of the kernel's struct bpf_prog_info.
type bpfProgInfo struct {
	Type         uint32
	ID           uint32
	Tag          [8]byte
	JitedLen     uint32
	XlatedLen    uint32
	JitedInsns   uint64
	XlatedInsns  uint64
	LoadTime     uint64
	CreatedByUID uint32
	NrMapIDs     uint32
	MapIDs       uint64
	Name         [16]byte
}

// bpfPrograms lists loaded eBPF programs through the bpf(2) system call
// (BPF_PROG_GET_NEXT_ID, BPF_PROG_GET_FD_BY_ID, BPF_OBJ_GET_INFO_BY_FD),
// as bpftool prog does. It needs CAP_SYS_ADMIN; refused, it says so.
func bpfPrograms(ctx context.Context) ([]BPFProg, error) {
	var out []BPFProg
	var id uint32
	for ctx.Err() == nil {
		attr := [3]uint32{id, 0, 0}
		if _, _, errno := unix.Syscall(unix.SYS_BPF, 11, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr)); errno != 0 {
			if errno == unix.ENOENT {
				return out, nil
			}
			return out, errno
		}
		id = attr[1]
		p := BPFProg{Kind: "ebpf-program", ID: id}
		fdAttr := [3]uint32{id, 0, 0}
		fd, _, errno := unix.Syscall(unix.SYS_BPF, 13, uintptr(unsafe.Pointer(&fdAttr)), unsafe.Sizeof(fdAttr))
		if errno != 0 {
			p.Errors = append(p.Errors, "open: "+errno.Error())
			out = append(out, p)
			continue
		}
		info := new(bpfProgInfo) // on the heap: the kernel writes to it through an address it does not see as a pointer
		infoAttr := struct {
			FD      uint32
			InfoLen uint32
			Info    uint64
		}{uint32(fd), uint32(unsafe.Sizeof(*info)), uint64(uintptr(unsafe.Pointer(info)))}
		_, _, errno = unix.Syscall(unix.SYS_BPF, 15, uintptr(unsafe.Pointer(&infoAttr)), unsafe.Sizeof(infoAttr))
		unix.Close(int(fd))
		if errno != 0 {
			p.Errors = append(p.Errors, "info: "+errno.Error())
		} else {
			p.Type, p.TypeName, p.UID, p.LoadTime, p.MapIDs = info.Type, bpfTypes[info.Type], info.CreatedByUID, info.LoadTime, int(info.NrMapIDs)
			p.Tag = hex.EncodeToString(info.Tag[:])
			p.Name = strings.TrimRight(string(info.Name[:]), "\x00")
		}
		out = append(out, p)
	}
	return out, ctx.Err()
}
