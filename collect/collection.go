package collect

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/storage"
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
	for i, st := range plan {
		seq := i + 1
		if st.Skip != "" || st.Source == nil {
			m.Artifacts = append(m.Artifacts, skipped(st.Desc, st.Skip))
			p.report(Event{Type: EventDone, Artifact: st.Desc.Name, Seq: seq, Total: total, Status: custody.StatusSkipped, Err: st.Skip})
			continue
		}
		if ctx.Err() != nil {
			m.Artifacts = append(m.Artifacts, skipped(st.Desc, "not collected: collection interrupted"))
			continue
		}
		m.Artifacts = append(m.Artifacts, p.Run(ctx, seq, st.Source))
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
		return err
	}
	mb, err := m.Marshal()
	if err != nil {
		return err
	}
	if err := PutSmall(ctx, st, m.Storage.Prefix+custody.ManifestName, mb, opts("manifest")); err != nil {
		return err
	}
	// The first custody event. The host holds no key: the chain, the
	// digest file below and the collector's later signature vouch for it.
	rec := custody.NextRecord(nil, nil, custody.EventCollected, m, sha256.Sum256(mb),
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
	dg := append(custody.DigestLine(mb, custody.ManifestName), custody.DigestLine(rb, logKey)...)
	return PutSmall(ctx, st, m.Storage.Prefix+custody.ManifestDigestName, dg, opts("manifest-digest"))
}

// PutSmall stores a small object from memory.
func PutSmall(ctx context.Context, st storage.Store, key string, data []byte, o storage.CreateOptions) error {
	if _, err := storage.PutBytes(ctx, st, key, data, o); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}
