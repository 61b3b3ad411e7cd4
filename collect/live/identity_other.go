//go:build !linux

package live

import (
	"context"
	"time"

	"github.com/shirou/gopsutil/v4/host"
)

// platformIdentity asks the OS's APIs through gopsutil.
func platformIdentity(ctx context.Context) (Identity, error) {
	var id Identity
	info, err := host.InfoWithContext(ctx)
	if info != nil {
		id = Identity{Hostname: info.Hostname, OS: info.OS, Platform: info.Platform, PlatformVersion: info.PlatformVersion,
			KernelVersion: info.KernelVersion, MachineID: info.HostID}
		if info.BootTime > 0 {
			id.BootTime = time.Unix(int64(info.BootTime), 0).UTC()
		}
	}
	return id, err
}
