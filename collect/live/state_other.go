//go:build !linux

package live

import (
	"context"
	"errors"
	"io"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/custos-ir/custos/collect/hostfile"
)

// Processes lists processes through gopsutil (the OS's own APIs).
func Processes(ctx context.Context, w io.Writer) error {
	ps, err := process.ProcessesWithContext(ctx)
	if err != nil {
		return err
	}
	out := newLines(w)
	sums := map[string]string{}
	for _, pr := range ps {
		p := Process{PID: pr.Pid, Cmdline: []string{}}
		var e errs
		p.PPID, _ = pr.PpidWithContext(ctx)
		p.Name, _ = pr.NameWithContext(ctx)
		p.User, _ = pr.UsernameWithContext(ctx)
		if ct, err := pr.CreateTimeWithContext(ctx); err == nil {
			p.Started = utc(timeMillis(ct))
		}
		if c, err := pr.CmdlineSliceWithContext(ctx); err == nil {
			p.Cmdline = c
		}
		p.Cwd, _ = pr.CwdWithContext(ctx)
		if exe, err := pr.ExeWithContext(ctx); err == nil && exe != "" {
			p.Exe = exe
			if s, ok := sums[exe]; ok {
				p.ExeSHA256 = s
			} else if f, _, err := hostfile.Open(exe); err == nil {
				p.ExeSize = f.Record().Size
				sum, err := hostfile.Hash(ctx, f, 1<<30)
				f.Close()
				e.add("exe hash", err)
				if err == nil {
					p.ExeSHA256 = sum
					sums[exe] = sum
				}
			} else {
				e.add("exe hash", err)
			}
		}
		p.Errors = e
		if err := out.put(p); err != nil {
			return err
		}
	}
	return nil
}

func processNames() map[int32]string {
	out := map[int32]string{}
	ps, _ := process.Processes()
	for _, p := range ps {
		out[p.Pid], _ = p.Name()
	}
	return out
}

// Network, Modules and Mounts read Linux's /proc.
func Network(ctx context.Context, w io.Writer) error { return errors.ErrUnsupported }
func Modules(ctx context.Context, w io.Writer) error { return errors.ErrUnsupported }
func Mounts(ctx context.Context, w io.Writer) error  { return errors.ErrUnsupported }
