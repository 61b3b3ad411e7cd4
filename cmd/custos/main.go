// Command custos collects forensic evidence with a chain of custody.
//
// This package only wires flags to the packages that do the work; see
// collect, custody, storage and profiles.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/custos-ir/custos/internal/term"
)

// Exit codes, documented in README.md and `custos --help`.
const (
	exitOK      = 0 // complete
	exitFatal   = 1 // nothing usable, or verification failed
	exitUsage   = 2 // bad flags or arguments
	exitPartial = 3 // some artifacts failed; all failures are in the manifest
)

// version is stamped at build time (-ldflags "-X main.version=...").
var version = "dev"

// hostBuilds lists the custos-host builds made with this one, as
// OS/ARCH=SHA256 pairs split by commas (set by make build and make dist
// with -X): custos remote sends one of them, never another file of that
// name.
var hostBuilds string

func hostBuildSums() map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(hostBuilds, ",") {
		if plat, sum, ok := strings.Cut(kv, "="); ok {
			m[plat] = sum
		}
	}
	return m
}

type stdio struct {
	in       io.Reader
	out, err io.Writer
}

type command struct {
	summary string
	run     func(ctx context.Context, args []string, io stdio) error
}

// commands are those of every build; the full build adds the
// responder's (build_full.go).
var commands = map[string]command{
	"collect":  {"collect evidence from this host", runCollectCmd},
	"profiles": {"list, show or validate collection profiles", runProfilesCmd},
	"version":  {"print the version", runVersionCmd},
}

const usageText = `custos collects forensic evidence with a chain of custody.

Usage:
  custos <command> [flags]

Commands:
%s
Exit codes:
  0  complete
  1  fatal: nothing usable was collected, or verification failed
  2  usage error
  3  partial: some artifacts failed; every failure is in the manifest

Example:
  custos keygen -o team.key            # on the response team's workstation
  custos collect --case INC-42 --recipient age1... --to /mnt/usb/evidence
  custos verify /mnt/usb/evidence --identity team.key

Run 'custos <command> --help' for a command's flags.
`

func usage() string {
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "  %-10s %s\n", n, commands[n].summary)
	}
	return fmt.Sprintf(usageText, b.String())
}

func main() {
	// A soft ceiling: the collector runs beside a live shop. The garbage
	// collector works harder near it rather than let the heap double.
	debug.SetMemoryLimit(64 << 20)
	ignoreBrokenPipes()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// For make bench and developers: a CPU profile of the whole run, or
	// the heap at its end.
	if p := os.Getenv("CUSTOS_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil && pprof.StartCPUProfile(f) == nil {
			code := run(ctx, os.Args[1:], stdio{os.Stdin, os.Stdout, os.Stderr})
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(code)
		}
	}
	if p := os.Getenv("CUSTOS_MEMPROFILE"); p != "" {
		// The heap as the run ends (the manifest's records still held).
		code := run(ctx, os.Args[1:], stdio{os.Stdin, os.Stdout, os.Stderr})
		if f, err := os.Create(p); err == nil {
			pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
		os.Exit(code)
	}
	os.Exit(run(ctx, os.Args[1:], stdio{os.Stdin, os.Stdout, os.Stderr}))
}

func run(ctx context.Context, args []string, io stdio) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) == 0 {
			fmt.Fprint(io.err, usage())
			return exitUsage
		}
		fmt.Fprint(io.out, usage())
		return exitOK
	}
	if args[0] == "--version" {
		args[0] = "version"
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(io.err, "custos: error: %s\n", unknownCommand(term.Clean(args[0])))
		return exitUsage
	}
	if args[0] != "collect" {
		// Everything but collect runs on the responder's side and prints
		// what a host or a store sent (names, keys, paths, the host's own
		// stderr): never an escape sequence. collect's live line needs its
		// own, and prints only what it read itself.
		io.err = term.NewWriter(io.err)
	}
	err := cmd.run(ctx, args[1:], io)
	if err == nil {
		return exitOK
	}
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK
	}
	var ex *exitError
	if errors.As(err, &ex) {
		if ex.err != nil {
			fmt.Fprintf(io.err, "custos: error: %s\n", oneLine(ex.err.Error()))
		}
		return ex.code
	}
	fmt.Fprintf(io.err, "custos: error: %s\n", oneLine(err.Error()))
	return exitFatal
}

// exitError carries an exit code; err may be nil when the command already
// said what happened.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

func exitWith(code int) error { return &exitError{code: code} }

// oneLine is an error message as one line, without escape sequences.
func oneLine(s string) string {
	return term.Clean(strings.ReplaceAll(strings.TrimSpace(s), "\n", "; "))
}

// newFlags makes a flag set that prints usage with an example to stderr
// and returns errors instead of exiting.
func newFlags(name, synopsis, example string, io stdio) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(io.err)
	fs.Usage = func() {
		fmt.Fprintf(io.err, "Usage:\n  custos %s %s\n\nFlags:\n%s\nExample:\n%s\n", name, synopsis, fs.FlagUsages(), example)
	}
	return fs
}

// parseFlags parses args, turning flag errors into usage errors.
func parseFlags(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return usageErr("%v (see 'custos %s --help')", err, fs.Name())
	}
	return nil
}
