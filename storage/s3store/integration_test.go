//go:build integration

package s3store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/testenv"
	"github.com/custos-ir/custos/storage"
	"github.com/custos-ir/custos/storage/dirstore"
)

// rssKiB reads this process's resident set from /proc.
func rssKiB(field string) int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field+":") {
			n, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return n
		}
	}
	return 0
}

// upload300 streams 300 MiB of random-ish bytes into st, sampling RSS.
func upload300(t *testing.T, st storage.Store, key string) (time.Duration, int64) {
	const size = 300 << 20
	r := rand.New(rand.NewPCG(3, 3))
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	stop := make(chan struct{})
	peak := make(chan int64)
	go func() {
		var max int64
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				peak <- max
				return
			case <-tk.C:
				if v := rssKiB("VmRSS"); v > max {
					max = v
				}
			}
		}
	}()
	start := time.Now()
	w, err := st.Create(context.Background(), key, storage.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	for i := 0; i < size/len(buf); i++ {
		buf[i%len(buf)] ^= byte(i) // vary the content
		w.Write(buf)
		h.Write(buf)
	}
	var want storage.Digest
	h.Sum(want[:0])
	info, err := w.Commit(context.Background(), want)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	close(stop)
	if info.Size != size {
		t.Fatalf("size %d", info.Size)
	}
	return took, <-peak
}

func TestLargeUploadBoundedMemory(t *testing.T) {
	gw := testenv.VersityGW(t)
	st := newStore(t, gw, gw.Endpoint, Config{})
	base := rssKiB("VmRSS")
	took, peak := upload300(t, st, "C/h/id/artifacts/big")
	mib := float64(300) / took.Seconds()
	t.Logf("S3 (versitygw, loopback): 300 MiB in %s = %.0f MiB/s; RSS %d MiB before, peak %d MiB", took.Round(time.Millisecond), mib, base>>10, peak>>10)
	if peak > 100<<10 {
		t.Fatalf("peak RSS %d MiB during a 300 MiB upload, want under 100 MiB", peak>>10)
	}
	ds, _ := dirstore.New(t.TempDir())
	took2, peak2 := upload300(t, ds, "C/h/id/artifacts/big")
	t.Logf("directory store: 300 MiB in %s = %.0f MiB/s; peak RSS %d MiB", took2.Round(time.Millisecond), 300/took2.Seconds(), peak2>>10)
}

// TestFaultyNetwork puts a proxy between custos and versitygw that answers
// some requests with 503 SlowDown and drops the connection in the middle of
// others: the collection still completes, each artifact is stored once,
// and verify passes.
func TestFaultyNetwork(t *testing.T) {
	gw := testenv.VersityGW(t)
	rec, ep := proxy(t, gw)
	faults := 0
	rec.fault = func(r *http.Request, n int) bool {
		if r.Method == http.MethodPut && n%3 == 0 && faults < 12 {
			faults++
			return true
		}
		return false
	}
	st := newStore(t, gw, ep, Config{PartSize: 5 << 20, Prefix: "ev"})
	id, _ := age.GenerateX25519Identity()
	p := &collect.Pipeline{Store: st, Recipients: []age.Recipient{id.Recipient()}}
	m := &custody.Manifest{Format: custody.Format, CollectionID: collect.NewCollectionID(time.Now()), Case: custody.Case{ID: "F"}}
	m.Storage.Prefix = collect.CollectionPrefix("F", "h", m.CollectionID)
	var plan []collect.Planned
	for i := 0; i < 6; i++ {
		size := 1 << 10
		if i%2 == 1 {
			size = 12 << 20 // multipart after compression? random data stays large
		}
		name := fmt.Sprintf("a%d", i)
		s := &collect.Stream{Desc: collect.Description{Name: name, Kind: "live", Format: "jsonl"}, Fn: func(ctx context.Context, w io.Writer) error {
			r := rand.New(rand.NewPCG(uint64(size), 1))
			b := make([]byte, size)
			for j := range b {
				b[j] = byte(r.Uint32())
			}
			_, err := w.Write(b)
			return err
		}}
		plan = append(plan, collect.Planned{Source: s, Desc: s.Describe()})
	}
	if err := collect.Run(context.Background(), p, m, plan); err != nil {
		t.Fatal(err)
	}
	if m.Status != "complete" {
		for _, a := range m.Artifacts {
			t.Logf("%s %s %v", a.Name, a.Status, a.Errors)
		}
		t.Fatalf("status %s with %d faults injected", m.Status, faults)
	}
	t.Logf("%d faults injected (503 and dropped connections); collection complete", faults)
	if faults < 6 {
		t.Fatalf("only %d faults injected", faults)
	}
	r, err := custody.Verify(context.Background(), st, m.Storage.Prefix, custody.VerifyOptions{Identities: []age.Identity{id}})
	if err != nil || !r.OK() {
		t.Fatalf("verify: %v %v", err, r.Problems)
	}
	n := 0
	st.List(context.Background(), m.Storage.Prefix+"artifacts/", func(o storage.ObjectInfo) error { n++; return nil })
	if n != 6 {
		t.Fatalf("%d artifact objects, want 6", n)
	}
	_ = bytes.MinRead
}
