package custody

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// StartedFormat is the format of started.json.
const StartedFormat = "custos-started/1"

// Started is started.json: who began which collection when, written before
// any evidence is read. It proves the destination takes writes and marks
// where a collection began even if it never finishes.
type Started struct {
	Format       string `json:"format"`
	CollectionID string `json:"collection_id"`
	Case         string `json:"case"`
	Host         string `json:"host"`
	Started      Time   `json:"started"`
	Operator     string `json:"operator"`
	ToolVersion  string `json:"tool_version"`
}

// Kinds of notes a collection sends through a place that carries notes.
const (
	NoteHeader   = "manifest-header"
	NoteArtifact = "artifact"
)

// maxNote is the largest note a collection sends; an artifact record
// larger than this travels without its file list (the manifest at the
// stream's end has it).
const maxNote = 900 << 10

// Collection is one collection being written: its place, its prefix and
// its manifest, which the caller fills as artifacts are stored.
type Collection struct {
	objs   Objects
	prefix string
	m      *Manifest
	noter  Noter
	mu     sync.Mutex
}

// Begin starts a new collection of m (whose header the caller filled: ID,
// case, host, operator, ...): it sets the prefix, sends the header note
// where the place carries notes, and writes started.json.
//
// A place that carries notes (the stream home) gets keys relative to the
// collection: the receiving side, not the host, decides where it goes.
func Begin(ctx context.Context, objs Objects, m *Manifest) (*Collection, error) {
	c := &Collection{objs: objs, m: m}
	c.noter, _ = objs.(Noter)
	if c.noter == nil {
		c.prefix = Prefix(m.Case.ID, m.Host.Hostname, m.CollectionID)
	}
	m.Storage.Prefix = c.prefix
	c.note(ctx, NoteHeader, m)
	st := Started{Format: StartedFormat, CollectionID: m.CollectionID, Case: m.Case.ID, Host: m.Host.Hostname,
		Started: m.Started, Operator: m.Operator.User, ToolVersion: m.Tool.Version}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, err
	}
	b = append(b, '\n')
	o, err := put(ctx, objs, c.prefix+StartedName, "started", b)
	if err != nil {
		return nil, fmt.Errorf("cannot write to %s, nothing was collected: %w", objs, err)
	}
	d := sha256Sum(b)
	m.StartedSHA256 = &d
	c.version(StartedName, o)
	return c, nil
}

// Prefix is the collection's key prefix in its place ("" in a stream).
func (c *Collection) Prefix() string { return c.prefix }

// Stored records an artifact as soon as it is stored: as a note where the
// place carries notes, else as a journal object, so an interrupted
// collection can be described (stream) or resumed (store). The record is
// sealed: the manifest reuses its bytes.
func (c *Collection) Stored(ctx context.Context, a *Artifact) {
	if c.noter != nil {
		c.note(ctx, NoteArtifact, *a)
		return
	}
	if !a.IsStored() {
		return
	}
	rel := JournalKey(a.Key)
	var o Object
	var sum Digest
	b, err := a.Seal()
	switch {
	case errors.Is(err, errLarge):
		o, sum, err = putStream(ctx, c.objs, c.prefix+rel, "journal", a.writeJSON)
	case err == nil:
		o, err = put(ctx, c.objs, c.prefix+rel, "journal", b)
		sum = sha256Sum(b)
	}
	// A journal that cannot be written costs only the ability to resume.
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m.Journal == nil {
		c.m.Journal = map[string]Digest{}
	}
	c.m.Journal[rel] = sum
	c.versionLocked(rel, o)
}

func (c *Collection) note(ctx context.Context, kind string, v any) {
	if c.noter == nil {
		return
	}
	var b []byte
	var err error
	if a, ok := v.(Artifact); ok {
		b, err = a.noteJSON(maxNote)
	} else {
		b, err = json.Marshal(v)
	}
	if a, ok := v.(Artifact); ok && err == nil && len(b) > maxNote {
		a.Files, a.list = nil, nil
		a.Warnings = append(a.Warnings, "file list not carried in the stream note")
		b, err = json.Marshal(a)
	}
	if m, ok := v.(*Manifest); ok && err == nil && len(b) > maxNote && m.Indicators != nil {
		// A long indicator list travels in the manifest at the stream's
		// end; the header names it by its SHA-256.
		h := *m
		ind := *m.Indicators
		ind.Entries = nil
		h.Indicators = &ind
		b, err = json.Marshal(&h)
	}
	if err == nil {
		c.noter.Note(ctx, kind, b)
	}
}

func (c *Collection) version(rel string, o Object) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.versionLocked(rel, o)
}

func (c *Collection) versionLocked(rel string, o Object) {
	if o.VersionID == "" {
		return
	}
	if c.m.Versions == nil {
		c.m.Versions = map[string]string{}
	}
	c.m.Versions[rel] = o.VersionID
}

// Seal closes the record: SHA256SUMS, the manifest, the first custody-log
// record and the digest file, in that order, each vouching for the ones
// before. It returns the manifest's SHA-256.
func (c *Collection) Seal(ctx context.Context) (Digest, error) {
	return seal(ctx, c.objs, c.prefix, c.m, nil)
}

// seal writes what of the closing objects is not there yet (have: the
// keys already stored, from a stream that was cut short).
func seal(ctx context.Context, objs Objects, prefix string, m *Manifest, have map[string]Object) (Digest, error) {
	sums := Sums(m)
	m.Sums = sha256Sum(sums)
	if o, ok := have[SumsName]; ok {
		// Keep what arrived, and say so if it differs from what arrived
		// whole.
		if o.SHA256 != m.Sums {
			m.Sums = o.SHA256
			m.Errors = append(m.Errors, "the SHA256SUMS that arrived differs from the artifacts that arrived whole; it is kept as it came")
		}
		if o.VersionID != "" {
			setVersion(m, SumsName, o.VersionID)
		}
	} else {
		o, err := put(ctx, objs, prefix+SumsName, "sha256sums", sums)
		if err != nil {
			return Digest{}, err
		}
		setVersion(m, SumsName, o.VersionID)
	}
	msum, err := putManifest(ctx, objs, prefix+ManifestName, m)
	if err != nil {
		return Digest{}, err
	}
	return msum, sealTail(ctx, objs, prefix, m, msum, "")
}

// sealTail writes the first custody-log record and the digest file of a
// manifest already stored. note, when set, says who wrote them if not the
// host.
func sealTail(ctx context.Context, objs Objects, prefix string, m *Manifest, msum Digest, note string) error {
	// The first custody event. The host holds no key: the chain, the
	// digest file below and the collector's later signature vouch for it.
	details := map[string]string{"status": m.Status, "location": m.Storage.Location, "ssh_connection": m.Operator.SSHConnection}
	if note != "" {
		details["note"] = note
	}
	rec := &Record{Format: LogFormat, Seq: 1, Event: EventCollected, Time: time.Now().UTC(), CollectionID: m.CollectionID,
		ManifestSHA256: msum, Actor: Actor{User: m.Operator.User, Host: m.Host.Hostname}, Details: details}
	rb, err := rec.Marshal()
	if err != nil {
		return err
	}
	logKey := LogKey(1, EventCollected)
	if _, err := put(ctx, objs, prefix+logKey, "log", rb); err != nil {
		return err
	}
	dg := append(sumLine(msum, ManifestName), sumLine(sha256Sum(rb), logKey)...)
	_, err = put(ctx, objs, prefix+ManifestDigestName, "manifest-digest", dg)
	return err
}

func setVersion(m *Manifest, rel, v string) {
	if v == "" {
		return
	}
	if m.Versions == nil {
		m.Versions = map[string]string{}
	}
	m.Versions[rel] = v
}

// putManifest writes the manifest straight into the place, hashing it on
// the way: the manifest of a large tree is never held in memory.
func putManifest(ctx context.Context, objs Objects, key string, m *Manifest) (Digest, error) {
	_, sum, err := putStream(ctx, objs, key, "manifest", func(w io.Writer) error {
		_, err := m.WriteTo(w)
		return err
	})
	return sum, err
}

// putStream stores what write writes, hashing it on the way.
func putStream(ctx context.Context, objs Objects, key, kind string, write func(io.Writer) error) (Object, Digest, error) {
	var sum Digest
	w, err := objs.Create(ctx, key, kind)
	if err != nil {
		return Object{}, sum, fmt.Errorf("store %s: %w", key, err)
	}
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, h), 256<<10)
	if err = write(bw); err == nil {
		err = bw.Flush()
	}
	var o Object
	if err == nil {
		h.Sum(sum[:0])
		o, err = w.Commit(ctx, sum)
	}
	if err != nil {
		w.Abort()
		return Object{}, sum, fmt.Errorf("store %s: %w", key, err)
	}
	return o, sum, nil
}

// Status summarises a collection: complete when every artifact is ok (or
// skipped because it does not apply here), failed when nothing was
// stored, partial otherwise.
func Status(m *Manifest) string {
	stored, bad := 0, false
	for _, a := range m.Artifacts {
		switch a.Status {
		case StatusOK:
			stored++
		case StatusPartial:
			stored++
			bad = true
		case StatusFailed:
			bad = true
		case StatusSkipped:
			if len(a.Errors) > 0 && strings.HasPrefix(a.Errors[0], "not collected") {
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

// errStop is returned by List callbacks to stop early.
var errStop = errors.New("stop")
