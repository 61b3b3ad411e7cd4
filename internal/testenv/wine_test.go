//go:build integration

package testenv

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestWine checks that the Wine harness runs our windows/amd64 build, that
// RegImport lands values, and that holdfile's share-mode-0 handle keeps
// other Wine processes out until it dies.
func TestWine(t *testing.T) {
	w := Wine(t)
	custos := BuildWindows(t, "./cmd/custos")
	hold := BuildWindows(t, "./internal/cmd/holdfile")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	t.Run("version", func(t *testing.T) {
		start := time.Now()
		out, err := w.Command(ctx, custos, "version").Output()
		t.Logf("custos.exe version: %s in %s", strings.TrimSpace(string(out)), time.Since(start).Round(time.Millisecond))
		if err != nil {
			// WINEDEBUG=-all hides the loader's own errors; show them.
			again := w.Command(ctx, custos, "version")
			again.Env = append(again.Env, "WINEDEBUG=err+all")
			diag, _ := again.CombinedOutput()
			t.Fatalf("custos.exe version: %v %s\nwith WINEDEBUG=err+all:\n%s", err, stderrOf(err), diag)
		}
		if !regexp.MustCompile(`^custos \S+ go1\.\S+ windows/amd64\r?\nbinary .*custos.exe\r?\nsha256 [0-9a-f]{64}\r?\n`).Match(out) {
			t.Fatalf("custos.exe version printed %q", out)
		}
	})

	t.Run("registry", func(t *testing.T) {
		w.RegImport(t, "REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\CustosTest]\n\"Name\"=\"wine-value\"\n\"Count\"=dword:0000002a\n")
		out, err := w.Command(ctx, "reg", "query", `HKLM\SOFTWARE\CustosTest`).CombinedOutput()
		if err != nil {
			t.Fatalf("reg query: %v\n%s", err, out)
		}
		for _, want := range []string{"wine-value", "0x2a"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("reg query output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("holdfile", func(t *testing.T) {
		if err := os.WriteFile(w.DriveC()+"/held.txt", []byte("held-content\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		typeHeld := func() (string, error) {
			out, err := w.Command(ctx, "cmd", "/c", "type", `C:\held.txt`).CombinedOutput()
			return string(out), err
		}
		if out, err := typeHeld(); err != nil || !strings.Contains(out, "held-content") {
			t.Fatalf("type before holding: %v %q", err, out)
		}

		holder := w.Command(ctx, hold, `C:\held.txt`)
		stdin, err := holder.StdinPipe() // holdfile lets go when stdin closes
		if err != nil {
			t.Fatal(err)
		}
		defer stdin.Close()
		stdout, err := holder.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		holder.Stderr = &stderr
		if err := holder.Start(); err != nil {
			t.Fatal(err)
		}
		defer holder.Process.Kill()
		line := make(chan string, 1)
		go func() {
			s, _ := bufio.NewReader(stdout).ReadString('\n')
			line <- s
		}()
		select {
		case s := <-line:
			if strings.TrimSpace(s) != "holding" {
				holder.Wait()
				t.Fatalf("holdfile said %q, stderr %q", s, stderr.String())
			}
		case <-time.After(time.Minute):
			t.Fatalf("holdfile did not say holding; stderr %q", stderr.String())
		}

		out, err := typeHeld()
		if err == nil || strings.Contains(out, "held-content") {
			t.Fatalf("type while held: err %v, output %q; want a sharing violation", err, out)
		}
		t.Logf("type while held: %v, %q", err, strings.TrimSpace(out))
		if !strings.Contains(out, "Sharing violation") {
			t.Errorf("type while held said %q, want a sharing violation", out)
		}

		if err := holder.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		holder.Wait()
		// wineserver closes the dead process's handles asynchronously.
		deadline := time.Now().Add(10 * time.Second)
		for {
			out, err = typeHeld()
			if err == nil && strings.Contains(out, "held-content") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("type after killing holdfile: %v %q", err, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}
