package testenv

import (
	"bytes"
	"context"
	_ "embed"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

//go:embed wine/prng.c
var winePRNGSource []byte

//go:embed wine/prng.def
var winePRNGDef []byte

// WineEnv is a fresh Wine prefix, for one test, in which windows/amd64 Go
// binaries run: it has the bcryptprimitives.dll stand-in (see wine/prng.c)
// that Debian's Wine 8.0 lacks and Go 1.24+ needs.
type WineEnv struct {
	Prefix     string        // WINEPREFIX
	Setup      time.Duration // how long creating the prefix took
	wine       string
	wineserver string
}

const wineInstall = "apt-get install wine wine64 gcc-mingw-w64-x86-64"

// Wine finds wine and mingw-w64, creates a prefix in a temporary directory
// (without Mono, Gecko or a display) and installs the bcryptprimitives.dll
// stand-in into it. When the test ends it kills the prefix's wineserver and
// everything running in it. Missing tools fail the test under CI=true and
// skip it elsewhere.
func Wine(t testing.TB) *WineEnv {
	t.Helper()
	w := &WineEnv{wine: findWine(), wineserver: findWineserver()}
	if w.wine == "" {
		Missing(t, "wine", wineInstall)
	}
	if w.wineserver == "" {
		Missing(t, "wineserver", wineInstall)
	}
	gcc := Tool(t, "x86_64-w64-mingw32-gcc", wineInstall)

	// Build the DLL first: it needs no prefix, and fails faster.
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "prng.c"), winePRNGSource, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "prng.def"), winePRNGDef, 0o644); err != nil {
		t.Fatal(err)
	}
	dll := filepath.Join(src, "bcryptprimitives.dll")
	cc := exec.Command(gcc, "-O2", "-shared", "-s", "-o", dll, "prng.c", "prng.def", "-ladvapi32")
	cc.Dir = src
	if out, err := cc.CombinedOutput(); err != nil {
		t.Fatalf("build bcryptprimitives.dll: %v\n%s", err, out)
	}

	w.Prefix = filepath.Join(t.TempDir(), "prefix")
	if err := os.Mkdir(w.Prefix, 0o755); err != nil {
		t.Fatal(err)
	}
	// Registered after the TempDirs, so it runs before they are removed.
	t.Cleanup(w.kill)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Debian's wineserver wrapper passes -p0: the server, and with it
	// services.exe and friends, would quit after every command and restart
	// on the next, making each wine run ~3.5s instead of ~0.4s. Keep it for
	// a minute past the last process (a crashed test leaks it no longer).
	// It daemonizes; its stdio must not be a pipe we wait on.
	srv := exec.CommandContext(ctx, w.wineserver, "-p60")
	srv.Env = w.env()
	if err := srv.Run(); err != nil {
		t.Fatalf("wineserver -p60: %v", err)
	}
	// The services wineboot starts inherit its stdout and stderr and live as
	// long as the server does, so a pipe here would never close: use a file.
	bootLog := filepath.Join(src, "wineboot.log")
	logf, err := os.Create(bootLog)
	if err != nil {
		t.Fatal(err)
	}
	boot := w.Command(ctx, "wineboot", "-i")
	boot.Stdout, boot.Stderr = logf, logf
	err = boot.Run()
	logf.Close()
	if err != nil {
		out, _ := os.ReadFile(bootLog)
		t.Fatalf("wineboot -i in %s: %v\n%s", w.Prefix, err, out)
	}
	w.Setup = time.Since(start)
	sys32 := filepath.Join(w.DriveC(), "windows", "system32")
	b, err := os.ReadFile(dll)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sys32, "bcryptprimitives.dll"), b, 0o644); err != nil {
		t.Fatalf("install bcryptprimitives.dll: %v", err)
	}
	t.Logf("wine prefix %s ready in %s", w.Prefix, w.Setup.Round(time.Millisecond))
	return w
}

func findWine() string {
	for _, name := range []string{"wine", "wine64"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	// Debian's wine64 package keeps the loader off PATH.
	if p := "/usr/lib/wine/wine64"; isExec(p) {
		return p
	}
	return ""
}

func findWineserver() string {
	if p, err := exec.LookPath("wineserver"); err == nil {
		return p
	}
	if p := "/usr/lib/wine/wineserver64"; isExec(p) {
		return p
	}
	return ""
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// env is the environment for any wine program in this prefix: no display,
// so nothing opens windows; no Mono or Gecko installer; no debug chatter
// (WINEDEBUG=-all also keeps Debian's wrapper from printing its wine32 hint).
func (w *WineEnv) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "DISPLAY", "WAYLAND_DISPLAY", "WINEPREFIX", "WINEDEBUG", "WINEDLLOVERRIDES", "WINEARCH":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "WINEPREFIX="+w.Prefix, "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=")
}

// Command returns a command that runs exe (a Unix path to a .exe, or a
// program Wine knows, such as cmd or reg) under wine in this prefix. A
// Windows program's exit code is the command's exit status.
func (w *WineEnv) Command(ctx context.Context, exe string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, w.wine, append([]string{exe}, args...)...)
	cmd.Env = w.env()
	// Should a command (re)start Wine's services, they inherit its stdout
	// and stderr; don't wait for them to close those.
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// DriveC is the Unix path of the prefix's C:\.
func (w *WineEnv) DriveC() string { return filepath.Join(w.Prefix, "drive_c") }

// RegImport imports a .reg file (REGEDIT4, or "Windows Registry Editor
// Version 5.00") into the prefix's registry with regedit /S. Check the
// result with Command(ctx, "reg", "query", ...): regedit /S says nothing,
// even when it imports nothing.
func (w *WineEnv) RegImport(t testing.TB, regFileContent string) {
	t.Helper()
	content := strings.ReplaceAll(strings.ReplaceAll(regFileContent, "\r\n", "\n"), "\n", "\r\n")
	if !strings.HasSuffix(content, "\r\n") {
		content += "\r\n"
	}
	var data []byte
	if strings.HasPrefix(content, "REGEDIT4") {
		data = []byte(content)
	} else { // version 5 files are UTF-16LE with a BOM
		u := utf16.Encode([]rune("\ufeff" + content))
		data = make([]byte, 0, 2*len(u))
		for _, c := range u {
			data = append(data, byte(c), byte(c>>8))
		}
	}
	f, err := os.CreateTemp(t.TempDir(), "import-*.reg")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// regedit takes a Windows path; Z: is the Unix root.
	if out, err := w.Command(ctx, "regedit", "/S", WinePath(f.Name())).CombinedOutput(); err != nil {
		t.Fatalf("regedit /S %s: %v\n%s", f.Name(), err, out)
	}
}

// WinePath is the Windows path (on drive Z:) of a Unix path.
func WinePath(unix string) string {
	return `Z:` + strings.ReplaceAll(unix, "/", `\`)
}

// kill stops the prefix's wineserver and every process in the prefix, then
// removes the socket directory that Debian's Wine makes under $TMPDIR and
// names in $WINEPREFIX/wineserver.
func (w *WineEnv) kill() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	k := exec.CommandContext(ctx, w.wineserver, "-k")
	k.Env = w.env()
	k.Run() // fails when no server runs, which is fine
	w2 := exec.CommandContext(ctx, w.wineserver, "-w")
	w2.Env = w.env()
	w2.Run()
	if b, err := os.ReadFile(filepath.Join(w.Prefix, "wineserver")); err == nil {
		name := string(bytes.TrimSpace(b))
		if strings.HasPrefix(name, "wine-") && !strings.ContainsAny(name, `/\`) {
			os.RemoveAll(filepath.Join(os.TempDir(), name))
		}
	}
}

// BuildWindows cross-compiles the Go package pkg (an import path, or a
// path like ./cmd/custos relative to the module root) for windows/amd64
// without cgo and returns the .exe's path in a temporary directory.
func BuildWindows(t testing.TB, pkg string) string {
	t.Helper()
	goBin := Tool(t, "go", "install Go from https://go.dev/dl/")
	root, err := exec.Command(goBin, "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	dir := filepath.Dir(strings.TrimSpace(string(root)))
	exe := filepath.Join(t.TempDir(), filepath.Base(pkg)+".exe")
	cmd := exec.Command(goBin, "build", "-o", exe, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=windows go build %s: %v\n%s", pkg, err, out)
	}
	return exe
}
