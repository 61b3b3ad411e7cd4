package collect

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/custody"
)

// A source stuck in a read that never returns (like a dead NFS mount) is
// abandoned at its timeout, recorded, and the collection goes on and ends;
// one that stops at the timeout is stored with what it took.
func TestStuckSourceAbandoned(t *testing.T) {
	old := abandonGrace
	abandonGrace = 200 * time.Millisecond
	defer func() { abandonGrace = old }()
	p, st, id := newPipeline(t)
	p.Limits = &Limits{SourceTimeout: 100 * time.Millisecond, Workers: 2}
	block := make(chan struct{})
	defer close(block)
	stuck := &Stream{Desc: Description{Name: "stuck", Kind: "files", Format: "jsonl"}, Fn: func(ctx context.Context, w io.Writer) error {
		io.WriteString(w, "partial\n")
		<-block // ignores ctx: a read in the kernel does not see it
		return nil
	}}
	polite := &Stream{Desc: Description{Name: "polite", Kind: "files", Format: "jsonl"}, Fn: func(ctx context.Context, w io.Writer) error {
		<-ctx.Done()
		return ctx.Err()
	}}
	fine := &Stream{Desc: Description{Name: "fine", Kind: "files", Format: "jsonl"}, Fn: func(ctx context.Context, w io.Writer) error {
		_, err := io.WriteString(w, "{}\n")
		return err
	}}
	start := time.Now()
	m := runCollection(t, p, []Planned{{Source: stuck, Desc: stuck.Describe()}, {Source: polite, Desc: polite.Describe()}, {Source: fine, Desc: fine.Describe()}})
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("took %s", took)
	}
	a := map[string]custody.Artifact{}
	for _, x := range m.Artifacts {
		a[x.Name] = x
	}
	if a["stuck"].Status != custody.StatusFailed || !strings.Contains(a["stuck"].Errors[0], "abandoned") {
		t.Fatalf("stuck: %+v", a["stuck"])
	}
	// A source that stops at its deadline keeps what it wrote.
	if a["polite"].Status != custody.StatusPartial || !strings.Contains(a["polite"].Errors[0], "cut at --source-timeout") {
		t.Fatalf("polite: %+v", a["polite"])
	}
	if a["fine"].Status != custody.StatusOK {
		t.Fatalf("fine: %+v", a["fine"])
	}
	r, err := custody.Verify(context.Background(), st, m.Storage.Prefix, custody.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The abandoned object is never committed; its temporary file may stay
	// until the stuck read returns, and verify names it.
	for _, pr := range r.Problems {
		if !strings.Contains(pr.String(), ".tmp-") {
			t.Errorf("verify: %v", pr)
		}
	}
	_ = id
}

func TestBudgetsAndWindow(t *testing.T) {
	root := fixture(t)
	p, _, _ := newPipeline(t)
	p.Limits = &Limits{MaxTotal: 60 << 10, Since: time.Now().Add(time.Hour)}
	p.Files = &FileReader{Limits: p.Limits}
	logs := &Files{Name: "logs", Patterns: []string{root + "/log"}, Options: FileOptions{Logs: true}}
	other := &Files{Name: "other", Patterns: []string{root + "/log"}}
	m := runCollection(t, p, []Planned{{Source: logs, Desc: logs.Describe()}, {Source: other, Desc: other.Describe()}})
	for _, a := range m.Artifacts {
		for _, f := range a.Files {
			if f.Type != "file" {
				continue
			}
			switch a.Name {
			case "logs":
				if f.Stored || !strings.Contains(f.Note, "modified before --since") {
					t.Errorf("logs: %s %+v", f.Path, f)
				}
			case "other":
				if strings.HasSuffix(f.Path, "syslog") && !f.Stored {
					t.Errorf("other: syslog not read: %+v", f)
				}
			}
		}
		if len(a.Warnings) == 0 && a.Name == "logs" {
			t.Errorf("no warning on %s", a.Name)
		}
	}
	p2, _, _ := newPipeline(t)
	p2.Limits = &Limits{MaxTotal: 10 << 10}
	p2.Files = &FileReader{Limits: p2.Limits}
	m2 := runCollection(t, p2, []Planned{{Source: other, Desc: other.Describe()}})
	skipped := 0
	for _, f := range m2.Artifacts[0].Files {
		if strings.Contains(f.Note, "over --max-total") {
			skipped++
		}
	}
	if skipped == 0 {
		t.Fatal("--max-total skipped nothing")
	}
}
