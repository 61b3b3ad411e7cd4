package collect

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/storage/dirstore"
)

// BenchmarkSmallFiles measures the per-file cost of a files artifact: 2,000
// files of 0.5–8.5 KiB, the shape of a config tree or a web root.
func BenchmarkSmallFiles(b *testing.B) {
	root := b.TempDir()
	rng := rand.New(rand.NewSource(1))
	var total int64
	for i := 0; i < 2000; i++ {
		dir := filepath.Join(root, fmt.Sprintf("d%02d", i%40))
		os.MkdirAll(dir, 0o755)
		buf := make([]byte, 512+rng.Intn(8192))
		for j := range buf {
			buf[j] = "abcdefghij klmnop\n"[rng.Intn(18)]
		}
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d.log", i)), buf, 0o644)
		total += int64(len(buf))
	}
	id, _ := age.GenerateX25519Identity()
	b.SetBytes(total)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := dirstore.New(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		p := &Pipeline{Store: st, Recipients: []age.Recipient{id.Recipient()}}
		m := &custody.Manifest{Format: custody.Format, CollectionID: custody.NewCollectionID(time.Now()),
			Case: custody.Case{ID: "B"}, Started: custody.NewTime(time.Now())}
		m.Storage.Prefix = custody.Prefix("B", "h", m.CollectionID)
		f := &Files{Name: "tree", Patterns: []string{root}}
		Run(context.Background(), p, m, []Planned{{Source: f, Desc: f.Describe()}}, nil)
		if false {
			b.Fatal(err)
		}
		if n := len(m.Artifacts[0].Files); n < 2000 {
			b.Fatalf("%d files", n)
		}
	}
}
