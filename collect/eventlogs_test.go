package collect

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custos-ir/custos/collect/windows"
)

// Event logs: a log the first method cannot read is taken by the next and
// the record says which and why; rendered XML is stored under its own name
// and verifies; a log no method can read is a file error and the rest
// lands.
func TestEventLogMethodChain(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"Security.evtx", "System.evtx", "Application.evtx", "Other.evtx"} {
		os.WriteFile(filepath.Join(dir, n), []byte("ElfFile\x00"+n), 0o644)
	}
	locked := windows.CopyMethod{Name: "shared-read", Open: func(ctx context.Context, p string) (*windows.FileCopy, error) {
		if !strings.HasSuffix(p, "System.evtx") {
			return nil, errors.New("Sharing violation.")
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		fi, _ := f.Stat()
		return &windows.FileCopy{Format: "raw", Size: fi.Size(), R: f}, nil
	}}
	export := windows.CopyMethod{Name: "evt-export-xml", Open: func(ctx context.Context, p string) (*windows.FileCopy, error) {
		if strings.HasSuffix(p, "Application.evtx") {
			return nil, errors.New("EvtQuery: Access is denied.")
		}
		x := "<Events log=\"Security\">\n<Event/>\n</Events>\n"
		return &windows.FileCopy{Format: "xml", Size: int64(len(x)), R: io.NopCloser(strings.NewReader(x))}, nil
	}}
	src := &Locked{Name: "eventlogs", Kind: "eventlogs", Patterns: []string{filepath.Join(dir, "[SA]*.evtx")},
		Methods: func(string) []windows.CopyMethod { return []windows.CopyMethod{locked, export} }}
	pl, st, id := newPipeline(t)
	m := runCollection(t, pl, []Planned{{Source: src, Desc: src.Describe()}})
	a := m.Artifacts[0]
	if a.Status != "partial" || len(a.Files) != 3 {
		t.Fatalf("status %s, %d files", a.Status, len(a.Files))
	}
	for _, f := range a.Files {
		switch filepath.Base(f.Path) {
		case "Security.evtx":
			if f.Method != "evt-export-xml" || !strings.HasSuffix(f.StoredAs, "Security.evtx.xml") || !strings.Contains(f.Note, "shared-read: Sharing violation.") {
				t.Errorf("security: %+v", f)
			}
		case "System.evtx":
			if f.Method != "shared-read" || f.StoredAs != "" || f.Note != "" || !f.Stored {
				t.Errorf("system: %+v", f)
			}
		case "Application.evtx":
			if f.Stored || !strings.Contains(f.Error, "shared-read: Sharing violation.; evt-export-xml: EvtQuery: Access is denied.") {
				t.Errorf("application: %+v", f)
			}
		}
	}
	if r := verifyLocal(t, st, m, id); r != "" {
		t.Error(r)
	}
}
