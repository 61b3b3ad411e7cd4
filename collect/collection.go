package collect

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/storage"
)

// Kinds of notes a collection sends through a stream store.
const (
	NoteHeader   = "manifest-header"
	NoteArtifact = "artifact"
)

// NewCollectionID returns a sortable, unique collection ID:
// UTC time to the second and 6 random hex digits.
func NewCollectionID(t time.Time) string {
	var b [3]byte
	rand.Read(b[:])
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

var unsafeKey = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// KeySegment makes a host or case name safe as one path segment.
func KeySegment(s string) string {
	s = strings.Trim(unsafeKey.ReplaceAllString(s, "_"), "._")
	if s == "" {
		return "unknown"
	}
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// CollectionPrefix is where a collection's objects go in a store:
// <case>/<host>/<collection-id>/.
func CollectionPrefix(caseID, host, id string) string {
	return KeySegment(caseID) + "/" + KeySegment(host) + "/" + id + "/"
}

// Run runs the plan through p and finishes the manifest m (whose header the
// caller filled): artifacts, status, SHA256SUMS, the manifest itself and
// its digest file. Artifacts that fail are recorded and the run goes on.
// If ctx ends early, what is left is recorded as skipped and the manifest
// is still written. The returned error is set only when the manifest could
// not be stored.
func Run(ctx context.Context, p *Pipeline, m *custody.Manifest, plan []Planned) error {
	p.Prefix = m.Storage.Prefix
	total := len(plan)
	// A stream carries the manifest's header and each artifact's record as
	// they are made, so a receiver can still describe a stream cut short.
	noter, _ := p.Store.(storage.Noter)
	note := func(kind string, v any) {
		if noter == nil {
			return
		}
		b, err := json.Marshal(v)
		if a, ok := v.(custody.Artifact); ok && err == nil && len(b) > 900<<10 {
			// Too large for one note: the receiver gets the hashes and
			// sizes; the file list is in the manifest at the stream's end.
			a.Files = nil
			a.Warnings = append(a.Warnings, "file list not carried in the stream note")
			b, err = json.Marshal(a)
		}
		if err == nil {
			noter.Note(ctx, kind, b)
		}
	}
	note(NoteHeader, m)
	prior := map[string]custody.Artifact{}
	for _, a := range m.Artifacts {
		prior[a.Name] = a
	}
	resuming := len(m.Resumes) > 0
	m.Artifacts = nil
	var jmu sync.Mutex
	if m.Journal == nil {
		m.Journal = map[string]storage.Digest{}
	}
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
		note(NoteArtifact, results[i])
		if noter == nil && results[i].IsStored() {
			if k, d, ok := journal(ctx, pl, m, &results[i]); ok {
				jmu.Lock()
				m.Journal[k] = d
				jmu.Unlock()
			}
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
		wp := &Pipeline{Store: p.Store, Prefix: p.Prefix, Recipients: p.Recipients, Options: p.Options,
			Files: p.Files, Report: p.Report, Limits: p.Limits}
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
	m.Status = Status(m)
	// The closing objects are written even after an interrupt: a record of
	// what was taken matters more than stopping at once.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	return Finish(wctx, p.Store, m, p.Options)
}

func skipped(d Description, why string) custody.Artifact {
	now := time.Now().UTC()
	return custody.Artifact{Name: d.Name, Kind: d.Kind, Format: d.Format, Sources: d.Sources,
		Status: custody.StatusSkipped, Started: now, Finished: now, Errors: []string{why}}
}

// Status summarises a collection: complete when every artifact is ok (or
// skipped because it does not apply here), failed when nothing was
// stored, partial otherwise.
func Status(m *custody.Manifest) string {
	stored, bad := 0, false
	for _, a := range m.Artifacts {
		switch a.Status {
		case custody.StatusOK:
			stored++
		case custody.StatusPartial:
			stored++
			bad = true
		case custody.StatusFailed:
			bad = true
		case custody.StatusSkipped:
			if strings.HasPrefix(firstErr(a.Errors), "not collected") {
				bad = true
			}
		}
	}
	switch {
	case stored == 0:
		return "failed"
	case bad || len(m.Errors) > 0:
		return "partial"
	}
	return "complete"
}

// Finish writes SHA256SUMS, the manifest and its digest file, in that
// order: each later object vouches for the earlier ones.
func Finish(ctx context.Context, st storage.Store, m *custody.Manifest, opts func(string) storage.CreateOptions) error {
	sums := custody.Sums(m)
	m.Sums = sha256.Sum256(sums)
	if opts == nil {
		opts = func(string) storage.CreateOptions { return storage.CreateOptions{} }
	}
	if err := PutSmall(ctx, st, m.Storage.Prefix+custody.SumsName, sums, opts("sha256sums")); err != nil {
		// An ingest finishing an interrupted stream may find the host's
		// SHA256SUMS already there: keep it, and say so if it differs.
		if !errors.Is(err, storage.ErrExist) {
			return err
		}
		have, rerr := readSmall(ctx, st, m.Storage.Prefix+custody.SumsName)
		if rerr != nil {
			return err
		}
		if !bytes.Equal(have, sums) {
			m.Sums = sha256.Sum256(have)
			m.Errors = append(m.Errors, "the SHA256SUMS that arrived differs from the artifacts that arrived whole; it is kept as it came")
		}
	}
	msum, err := putManifest(ctx, st, m.Storage.Prefix+custody.ManifestName, m, opts("manifest"))
	if err != nil {
		return err
	}
	// The first custody event. The host holds no key: the chain, the
	// digest file below and the collector's later signature vouch for it.
	rec := custody.NextRecord(nil, nil, custody.EventCollected, m, msum,
		custody.Actor{User: m.Operator.User, Host: m.Host.Hostname},
		map[string]string{"status": m.Status, "location": m.Storage.Location, "ssh_connection": m.Operator.SSHConnection})
	rb, err := rec.Marshal()
	if err != nil {
		return err
	}
	logKey := custody.LogKey(rec.Seq, rec.Event)
	if err := PutSmall(ctx, st, m.Storage.Prefix+logKey, rb, opts("log")); err != nil {
		return err
	}
	dg := append(custody.SumLine(msum, custody.ManifestName), custody.DigestLine(rb, logKey)...)
	return PutSmall(ctx, st, m.Storage.Prefix+custody.ManifestDigestName, dg, opts("manifest-digest"))
}

// putManifest writes the manifest straight into the store, hashing it on
// the way: the manifest of a large tree is never held twice in memory.
func putManifest(ctx context.Context, st storage.Store, key string, m *custody.Manifest, o storage.CreateOptions) (storage.Digest, error) {
	var sum storage.Digest
	w, err := st.Create(ctx, key, o)
	if err != nil {
		return sum, fmt.Errorf("store %s: %w", key, err)
	}
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, h), 256<<10)
	if _, err = m.WriteTo(bw); err == nil {
		err = bw.Flush()
	}
	if err == nil {
		h.Sum(sum[:0])
		_, err = w.Commit(ctx, sum)
	}
	if err != nil {
		w.Abort()
		return sum, fmt.Errorf("store %s: %w", key, err)
	}
	return sum, nil
}

// PutSmall stores a small object from memory.
func PutSmall(ctx context.Context, st storage.Store, key string, data []byte, o storage.CreateOptions) error {
	if _, err := storage.PutBytes(ctx, st, key, data, o); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

func readSmall(ctx context.Context, st storage.Store, key string) ([]byte, error) {
	rc, err := st.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, 64<<20))
}

// JournalDir holds each stored artifact's record as soon as it is stored, so
// an interrupted collection can be resumed without taking it again.
const JournalDir = "journal/"

func journal(ctx context.Context, p *Pipeline, m *custody.Manifest, a *custody.Artifact) (string, storage.Digest, bool) {
	b, err := a.Seal() // the manifest reuses these bytes
	if err != nil {
		return "", storage.Digest{}, false
	}
	rel := JournalKey(a.Key)
	opts := storage.CreateOptions{}
	if p.Options != nil {
		opts = p.Options("journal")
	}
	// A journal that cannot be written costs only the ability to resume.
	if PutSmall(ctx, p.Store, m.Storage.Prefix+rel, b, opts) != nil {
		return "", storage.Digest{}, false
	}
	return rel, sha256.Sum256(b), true
}

// JournalKey is where an artifact's record is journaled.
func JournalKey(artifactKey string) string {
	return JournalDir + strings.TrimSuffix(strings.TrimPrefix(artifactKey, custody.ArtifactDir), ".zst.age") + ".json"
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
