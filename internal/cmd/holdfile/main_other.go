//go:build !windows

// Command holdfile is Windows-only; see main.go.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "holdfile: Windows only (build with GOOS=windows)")
	os.Exit(1)
}
