package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/custos-ir/custos/internal/remote"
)

func TestRemoteArgs(t *testing.T) {
	args, to, c, err := remoteArgs([]string{"--case", "X", "--to=/srv/ev", "--profile", "none"}, "abc")
	if err != nil || to != "/srv/ev" || c != "X" || strings.Join(args, " ") != "--case X --profile none --session abc --to -" {
		t.Fatalf("%q %q %q %v", args, to, c, err)
	}
	for _, bad := range [][]string{{"--case", "X", "--to", "-"}, {"--case", "X", "--to"}, {"--to", "/srv"}, {"--case", "X", "--session", "x", "--to", "/srv"}} {
		if _, _, _, err := remoteArgs(bad, "abc"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// One host is one stream: one P; --hosts, one for each stream at once;
// GOMAXPROCS set by the responder wins.
func TestStreamProcs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	t.Setenv("GOMAXPROCS", "")
	os.Unsetenv("GOMAXPROCS")
	streamProcs(remoteOptions{target: "web01", parallel: 4})
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("one host: GOMAXPROCS %d, want 1", got)
	}
	streamProcs(remoteOptions{hostsFile: "hosts", parallel: 64})
	if got := runtime.GOMAXPROCS(0); got != runtime.NumCPU() {
		t.Errorf("--hosts --parallel 64: GOMAXPROCS %d, want %d", got, runtime.NumCPU())
	}
	t.Setenv("GOMAXPROCS", "3")
	runtime.GOMAXPROCS(3)
	streamProcs(remoteOptions{target: "web01"})
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Errorf("GOMAXPROCS=3 in the environment: %d", got)
	}
}

// A host's lines arrive from two goroutines at once (its stderr and
// custos's own lines about it): each line comes out whole, once.
func TestHostLinesConcurrent(t *testing.T) {
	var out syncBuffer
	rep := newFleetReporter(&out, false, []remote.Target{{Name: "web1"}})
	w := rep.output(remote.Target{Name: "web1"})
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5000 {
				fmt.Fprintf(w, "writer %d line %d of a host's output\n", g, i)
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 10000 {
		t.Fatalf("%d lines, want 10000", len(lines))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "web1| writer ") || !strings.HasSuffix(l, " of a host's output") {
			t.Fatalf("line %q", l)
		}
	}
}

// A host that never ends a line is shown in pieces, not kept whole.
func TestHostLinesBounded(t *testing.T) {
	var out syncBuffer
	rep := newFleetReporter(&out, false, []remote.Target{{Name: "web1"}})
	w := rep.output(remote.Target{Name: "web1"}).(*hostLines)
	chunk := []byte(strings.Repeat("A", 4096))
	for range 1024 { // 4 MiB without a newline
		w.Write(chunk)
	}
	if len(w.buf) > 64<<10+4096 || !strings.HasPrefix(out.String(), "web1| AAAA") {
		t.Fatalf("%d bytes held, %d shown", len(w.buf), len(out.String()))
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
