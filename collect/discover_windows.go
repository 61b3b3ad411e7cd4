package collect

import (
	"os"

	"github.com/custos-ir/custos/collect/windows"
)

func init() {
	hostWindows = func() *WindowsHost {
		return &WindowsHost{Registry: windows.HostRegistry{}, FS: windows.HostFS{}, Env: os.Getenv, Local: func(p string) string { return p }}
	}
}
