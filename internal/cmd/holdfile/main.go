//go:build windows

// Command holdfile opens a file with share mode 0 (no FILE_SHARE_READ,
// _WRITE or _DELETE) and keeps it open, so any other open of the file fails
// with ERROR_SHARING_VIOLATION: the stand-in, under Wine or on Windows, for
// a locked registry hive, pagefile or database that a collector must handle.
// It prints "holding" once the handle is open and holds it until stdin closes
// or it is killed.
//
//	holdfile C:\held.txt
package main

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/windows"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: holdfile FILE")
		os.Exit(2)
	}
	name, err := windows.UTF16PtrFromString(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "holdfile:", err)
		os.Exit(2)
	}
	h, err := windows.CreateFile(name, windows.GENERIC_READ, 0, nil,
		windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		fmt.Fprintf(os.Stderr, "holdfile: open %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	defer windows.CloseHandle(h)
	fmt.Println("holding")
	io.Copy(io.Discard, os.Stdin) // returns when stdin closes
}
