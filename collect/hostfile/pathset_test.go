package hostfile

import (
	"fmt"
	"hash/maphash"
	"runtime"
	"testing"
)

func newPathSet() *pathSet {
	return &pathSet{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
}

// Each path is new once, however many others are added between.
func TestPathSet(t *testing.T) {
	s := newPathSet()
	const n = 200000
	for i := range n {
		if !s.add(fmt.Sprintf("/srv/www/%d/index.php", i)) {
			t.Fatalf("path %d taken as seen", i)
		}
		if i%3 == 0 && s.add(fmt.Sprintf("/srv/www/%d/index.php", i/2)) {
			t.Fatalf("path %d taken as new again", i/2)
		}
	}
	for i := range n {
		if s.add(fmt.Sprintf("/srv/www/%d/index.php", i)) {
			t.Fatalf("path %d new the second time", i)
		}
	}
	total := 0
	for _, g := range s.segs {
		total += g.n
		if g.n > len(g.slots)/8*7 {
			t.Errorf("segment %d of %d slots holds %d", len(g.slots), g.n, g.n)
		}
	}
	if total != n || !s.add("") || s.add("") {
		t.Errorf("%d keys held, want %d; the empty path as any other", total, n)
	}
}

// BenchmarkPathSet reports the bytes a path costs the walk.
func BenchmarkPathSet(b *testing.B) {
	paths := make([]string, 1000000)
	for i := range paths {
		paths[i] = fmt.Sprintf("/srv/www/d%03d/f%06d.php", i/1000, i)
	}
	var before, after runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := newPathSet()
		for _, p := range paths {
			s.add(p)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(len(paths)), "B/path")
		runtime.KeepAlive(s)
	}
}

func BenchmarkPathSetAdd(b *testing.B) {
	paths := make([]string, 1000000)
	for i := range paths {
		paths[i] = fmt.Sprintf("/srv/www/d%03d/f%06d.php", i/1000, i)
	}
	b.Run("set", func(b *testing.B) {
		for b.Loop() {
			s := newPathSet()
			for _, p := range paths {
				s.add(p)
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		for b.Loop() {
			s := newPathSet()
			m := map[[2]uint64]struct{}{}
			for _, p := range paths {
				m[s.key(p)] = struct{}{}
			}
		}
	})
}
