package main

import (
	"context"
	"fmt"
	"runtime"
)

func runVersionCmd(ctx context.Context, args []string, io stdio) error {
	fs := newFlags("version", "", "  custos version", io)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(io.out, "custos %s %s %s/%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
