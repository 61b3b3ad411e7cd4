package collect

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/custos-ir/custos/custody"
)

// Recorder is told of each artifact as soon as it is stored (the
// collection record's journal, or a note on a stream).
type Recorder interface {
	Stored(ctx context.Context, a *custody.Artifact)
}

// Run runs the plan through p into the manifest m (whose header the caller
// filled, and m.Storage.Prefix the collection's prefix): artifacts, the
// finish time and the status. Each stored artifact is told to rec (nil:
// nobody). Artifacts that fail are recorded and the run goes on. If ctx
// ends early, what is left is recorded as skipped. Sealing the record is
// the caller's.
func Run(ctx context.Context, p *Pipeline, m *custody.Manifest, plan []Planned, rec Recorder) {
	p.Prefix = m.Storage.Prefix
	total := len(plan)
	prior := map[string]custody.Artifact{}
	for _, a := range m.Artifacts {
		prior[a.Name] = a
	}
	resuming := len(m.Resumes) > 0
	m.Artifacts = nil
	results := make([]custody.Artifact, total)
	one := func(pl *Pipeline, i int) {
		st, seq := plan[i], i+1
		switch {
		case st.Skip != "" || st.Source == nil:
			results[i] = skipped(st.Desc, st.Skip)
			pl.report(Event{Type: EventDone, Artifact: st.Desc.Name, Seq: seq, Total: total, Status: custody.StatusSkipped, Err: st.Skip})
			return
		case ctx.Err() != nil:
			results[i] = skipped(st.Desc, "not collected: collection interrupted")
			return
		}
		if r, ok := prior[st.Desc.Name]; ok && st.Desc.Kind != "live" {
			// Stored by the interrupted run: kept as it was, not taken again.
			r.Warnings = append(r.Warnings, "stored by the interrupted run this collection resumes")
			results[i] = r
			pl.report(Event{Type: EventDone, Artifact: st.Desc.Name, Seq: seq, Total: total, Status: r.Status, Bytes: r.Plain.Size, Stored: r.Cipher.Size, Err: "kept from the interrupted run"})
			return
		}
		src := st.Source
		if resuming && st.Desc.Kind == "live" {
			// Volatile state is taken again, under a name that says so.
			src = relabel{src, ".resume" + fmt.Sprint(len(m.Resumes))}
		}
		results[i] = pl.Run(ctx, seq, src)
		if rec != nil {
			rec.Stored(ctx, &results[i])
		}
	}
	// Live state first, one at a time and in order: it changes while we
	// look. Then the rest, Workers at a time, each worker with its own
	// encoder and buffers (memory: Workers × about 8 MiB).
	i := 0
	for ; i < total && plan[i].Desc.Kind == "live"; i++ {
		one(p, i)
	}
	workers := 1
	if p.Limits != nil && p.Limits.Workers > 1 {
		workers = p.Limits.Workers
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		// Each worker a copy of the pipeline with its own encoder.
		c := *p
		c.enc = nil
		wp := &c
		if w == 0 {
			wp = p
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				one(wp, j)
			}
		}()
	}
	for ; i < total; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	m.Artifacts = append(m.Artifacts, results...)
	// Volatile state of the interrupted run stays in the record beside the
	// new capture.
	inPlan := map[string]bool{}
	for _, st := range plan {
		inPlan[st.Desc.Name] = true
		if r, ok := prior[st.Desc.Name]; ok && st.Desc.Kind == "live" {
			r.Warnings = append(r.Warnings, "volatile state taken by the interrupted run; taken again on resume")
			m.Artifacts = append(m.Artifacts, r)
		}
	}
	for _, r := range sortedPrior(prior) {
		if !inPlan[r.Name] {
			r.Warnings = append(r.Warnings, "stored by the interrupted run; not in the resumed plan")
			m.Artifacts = append(m.Artifacts, r)
		}
	}
	if ctx.Err() != nil {
		m.Errors = append(m.Errors, "collection interrupted before the end: "+context.Cause(ctx).Error())
	}
	m.Finished = custody.NewTime(time.Now())
	m.Status = custody.Status(m)
	m.Hits = custody.HitSummary(m)
}

func skipped(d Description, why string) custody.Artifact {
	now := time.Now().UTC()
	return custody.Artifact{Name: d.Name, Kind: d.Kind, Format: d.Format, Sources: d.Sources,
		Status: custody.StatusSkipped, Started: now, Finished: now, Errors: []string{why}}
}

// relabel gives a source another artifact name (volatile state taken again
// on resume).
type relabel struct {
	Source
	suffix string
}

func (r relabel) Describe() Description {
	d := r.Source.Describe()
	d.Name += r.suffix
	return d
}

func sortedPrior(prior map[string]custody.Artifact) []custody.Artifact {
	var out []custody.Artifact
	for _, a := range prior {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
