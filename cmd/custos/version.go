package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/custos-ir/custos/internal/remote"
)

const versionExample = `  custos version     # compare the sha256 with the release's SHA256SUMS before copying custos to a host`

func runVersionCmd(ctx context.Context, args []string, io stdio) error {
	fs := newFlags("version", "", versionExample, io)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(io.out, "%s %s %s %s/%s\n", buildName, version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if exe, err := os.Executable(); err == nil {
		if sum, err := remote.FileSHA256(exe); err == nil {
			fmt.Fprintf(io.out, "binary %s\nsha256 %s\n", exe, sum)
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "CGO_ENABLED" || s.Key == "-trimpath" || s.Key == "-tags" || s.Key == "GOAMD64" || s.Key == "GOARM64" {
				fmt.Fprintf(io.out, "build %s=%s\n", s.Key, s.Value)
			}
		}
		for _, d := range bi.Deps {
			v := d.Version
			if d.Replace != nil {
				v += " => " + d.Replace.Path + " " + d.Replace.Version
			}
			fmt.Fprintf(io.out, "module %s %s %s\n", d.Path, v, d.Sum)
		}
	}
	return nil
}
