//go:build !linux

package live

import (
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/shirou/gopsutil/v4/host"
)

// Users lists logged-in sessions (utmpx through gopsutil).
func Users(ctx context.Context, w io.Writer) error {
	if runtime.GOOS == "windows" {
		return errors.ErrUnsupported
	}
	us, err := host.UsersWithContext(ctx)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // no utmp: nobody logged in through login(1)
		}
		return err
	}
	out := newLines(w)
	for _, u := range us {
		if err := out.put(Session{User: u.User, Terminal: u.Terminal, Host: u.Host, Started: utc(time.Unix(int64(u.Started), 0)), Source: "utmpx"}); err != nil {
			return err
		}
	}
	return nil
}
