package custody

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"path"
	"time"

	"github.com/custos-ir/custos/internal/jsonx"
)

// Receiving a collection a host streams home. The host is hostile: the
// receiver, not the stream, decides where the collection goes (a new
// prefix of its own, never an existing collection), binds the stream to
// the request it answers (the case asked for, the session nonce handed
// over), keeps only bounded notes, and accepts only the objects a host may
// send.

// Request is what the responder's side asked a host for.
type Request struct {
	// Case is the case asked for; "" takes the header's.
	Case string
	// Session is the nonce handed to the host with the request; "" when
	// none was (a stream piped by hand).
	Session string
	// Host is the name the responder knows the host by, for the prefix;
	// "" takes the hostname the header claims.
	Host string
}

// ReceiveLimits bound what a receiver takes from one stream; zero fields
// take the defaults.
type ReceiveLimits struct {
	// NoteBytes is how much of the artifact notes is kept whole in memory
	// (default 32 MiB); notes past it are kept without their file lists,
	// their lists of errors and warnings cut short, so a legitimate stream
	// is never refused for its notes and a hostile one holds little more.
	NoteBytes int64
	Notes     int // artifact notes (default 2,000: a plan has a few dozen artifacts)
	Objects   int // objects (default 10,000)
}

// Errors of a Receiver, for callers to test.
var (
	ErrNotAnswer   = errors.New("the stream does not answer this request")
	ErrCollection  = errors.New("a stream is never added to an existing collection")
	ErrStreamLimit = errors.New("the stream exceeds a limit")
)

// Receiver takes one collection arriving as a stream.
type Receiver struct {
	objs      Objects
	req       Request
	lim       ReceiveLimits
	header    *Manifest
	prefix    string
	notes     []Artifact
	noted     map[string]bool
	noteBytes int64
	objects   int
	stored    map[string]Digest // relative key → SHA-256 as it arrived
	sizes     map[string]int64
}

// NewReceiver returns a receiver storing into objs.
func NewReceiver(objs Objects, req Request, lim ReceiveLimits) *Receiver {
	if lim.NoteBytes == 0 {
		lim.NoteBytes = 32 << 20
	}
	if lim.Objects == 0 {
		lim.Objects = 10000
	}
	if lim.Notes == 0 {
		lim.Notes = 2000
	}
	return &Receiver{objs: objs, req: req, lim: lim, noted: map[string]bool{}, stored: map[string]Digest{}, sizes: map[string]int64{}}
}

// Prefix is where the collection goes ("" before the header arrived).
func (r *Receiver) Prefix() string { return r.prefix }

// Header is the manifest header the host sent first, nil before it.
func (r *Receiver) Header() *Manifest { return r.header }

// Note takes one note as it arrives. The header must come first, answer
// the request, and name a collection that does not exist yet.
func (r *Receiver) Note(ctx context.Context, kind string, data []byte) error {
	switch {
	case kind == NoteHeader && r.header != nil:
		return fmt.Errorf("%w: a second manifest header", ErrNotAnswer)
	case kind == NoteHeader:
		return r.takeHeader(ctx, data)
	case r.header == nil:
		return fmt.Errorf("%w: a %q note before the manifest header", ErrNotAnswer, kind)
	case kind != NoteArtifact:
		return fmt.Errorf("a note of unknown kind %q", kind)
	}
	if len(r.notes) >= r.lim.Notes {
		return fmt.Errorf("%w: more than %d artifact notes (a collection sends one per artifact)", ErrStreamLimit, r.lim.Notes)
	}
	var a Artifact
	if err := jsonx.Decode(data, &a, maxRecord); err != nil {
		return fmt.Errorf("artifact note: %v", err)
	}
	if err := checkArtifact(&a); err != nil {
		return fmt.Errorf("artifact note: %v", err)
	}
	if r.noted[a.Name] {
		return fmt.Errorf("artifact note: %q noted twice", a.Name)
	}
	r.noted[a.Name] = true
	if r.noteBytes += int64(len(data)); r.noteBytes > r.lim.NoteBytes {
		a = compact(a, r.lim.NoteBytes)
	}
	r.notes = append(r.notes, a)
	return nil
}

// compact is an artifact record cut to its hashes and a few words, for a
// stream whose notes went past what the receiver keeps whole.
func compact(a Artifact, budget int64) Artifact {
	cut := func(ss []string) []string {
		if len(ss) > 4 {
			ss = ss[:4]
		}
		for i, s := range ss {
			if len(s) > 256 {
				ss[i] = s[:256] + "..."
			}
		}
		return ss
	}
	a.Files, a.list = nil, nil
	a.Sources = cut(a.Sources)
	a.Errors = cut(a.Errors)
	a.Warnings = append(cut(a.Warnings), fmt.Sprintf("the stream's notes went past the %d bytes the receiver keeps whole: this record lost its file list (the host's manifest, had it arrived, has it)", budget))
	return a
}

func (r *Receiver) takeHeader(ctx context.Context, data []byte) error {
	var m Manifest
	if err := jsonx.Decode(data, &m, maxRecord); err != nil {
		return fmt.Errorf("%w: the manifest header cannot be read: %v", ErrNotAnswer, err)
	}
	switch {
	case m.Format != Format:
		return fmt.Errorf("%w: manifest format %q, this custos reads %q (use the same custos on both sides)", ErrNotAnswer, m.Format, Format)
	case !ValidCollectionID(m.CollectionID) || m.Case.ID == "":
		return fmt.Errorf("%w: the header names no valid collection ID and case", ErrNotAnswer)
	case len(m.Artifacts) > 0:
		return fmt.Errorf("%w: the header already lists artifacts", ErrNotAnswer)
	case r.req.Case != "" && m.Case.ID != r.req.Case:
		return fmt.Errorf("%w: it is a collection of case %q, case %q was asked for", ErrNotAnswer, m.Case.ID, r.req.Case)
	case r.req.Session != "" && m.Session != r.req.Session:
		return fmt.Errorf("%w: it does not echo this request's session (a replay of another run, or another host's stream)", ErrNotAnswer)
	}
	host := r.req.Host
	if host == "" {
		host = m.Host.Hostname
	}
	prefix := Prefix(m.Case.ID, host, m.CollectionID)
	found := false
	err := r.objs.List(ctx, prefix, func(Object) error { found = true; return errStop })
	if err != nil && !errors.Is(err, errStop) {
		return fmt.Errorf("cannot check that %s is new: %w", prefix, err)
	}
	if found {
		return fmt.Errorf("%w: %s already holds objects", ErrCollection, prefix)
	}
	r.header, r.prefix = &m, prefix
	return nil
}

// Key checks the key of an object the stream begins and returns where it
// is stored and the most bytes it may hold (0: no bound of its own).
func (r *Receiver) Key(key string) (string, int64, error) {
	if r.header == nil {
		return "", 0, fmt.Errorf("%w: object %q before the manifest header", ErrNotAnswer, key)
	}
	if path.Clean(key) != key || path.IsAbs(key) {
		return "", 0, fmt.Errorf("refusing object key %q: not a key inside a collection", key)
	}
	max, err := HostKey(key)
	if err != nil {
		return "", 0, fmt.Errorf("refusing object key: %v", err)
	}
	if r.objects++; r.objects > r.lim.Objects {
		return "", 0, fmt.Errorf("%w: more than %d objects", ErrStreamLimit, r.lim.Objects)
	}
	return r.prefix + key, max, nil
}

// Arrived records an object stored whole, by its stored key, size and
// the SHA-256 it arrived with.
func (r *Receiver) Arrived(key string, size int64, sum Digest) {
	if rel, ok := cutPrefix(key, r.prefix); ok {
		r.stored[rel], r.sizes[rel] = sum, size
	}
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || s[:len(prefix)] != prefix {
		return "", false
	}
	return s[len(prefix):], true
}

// Finish closes what arrived: when the stream ended before the manifest,
// a manifest of what did arrive (status incomplete) and its tail are
// written; when it ended after the manifest but before its tail, the tail.
// Then the collection is verified, checked to be the one the header
// announced, and a stored record appended (unsigned: ingest holds no
// key). cut is why the stream was not whole (nil: it was).
func (r *Receiver) Finish(ctx context.Context, cut error, who Actor, details map[string]string) (*Report, error) {
	if r.header == nil {
		return nil, fmt.Errorf("nothing arrived: %v", cut)
	}
	if details == nil {
		details = map[string]string{}
	}
	if _, ok := r.stored[ManifestName]; !ok {
		m := r.rebuild(ctx, cut)
		if _, err := seal(ctx, r.objs, r.prefix, m, r.have()); err != nil {
			return nil, fmt.Errorf("write the manifest of what arrived: %w", err)
		}
		details["note"] = "stream incomplete: manifest written by ingest from the stream's notes"
	} else if err := r.finishTail(ctx); err != nil {
		return nil, err
	}
	// What arrived was hashed as it was stored: verify holds the record to
	// those sums rather than read every artifact back.
	rep, err := Verify(ctx, r.objs, r.prefix, VerifyOptions{Arrived: r.stored})
	if err != nil {
		return rep, err
	}
	if rep.Manifest == nil {
		return rep, fmt.Errorf("the manifest that arrived cannot be read: %v", rep.Problems)
	}
	r.checkAnswer(rep)
	if r.req.Session != "" {
		details["session"] = r.req.Session
	}
	if cut != nil {
		details["error"] = cut.Error()
	}
	if _, err := Append(ctx, r.objs, rep, EventStored, who, details, nil); err != nil {
		return rep, fmt.Errorf("stored, but the custody log record was not: %w", err)
	}
	return rep, nil
}

func (r *Receiver) have() map[string]Object {
	out := map[string]Object{}
	for rel, sum := range r.stored {
		out[rel] = Object{Key: r.prefix + rel, SHA256: sum}
	}
	return out
}

// finishTail writes the first log record and the digest file when the
// manifest arrived without them.
func (r *Receiver) finishTail(ctx context.Context) error {
	logKey := LogKey(1, EventCollected)
	_, haveLog := r.stored[logKey]
	if _, ok := r.stored[ManifestDigestName]; ok {
		return nil
	}
	rc, err := r.objs.Open(ctx, r.prefix+ManifestName, "")
	if err != nil {
		return err
	}
	defer rc.Close()
	h := sha256.New()
	src := &capReader{r: io.TeeReader(rc, h), n: maxManifest}
	m, perr := ParseReader(src)
	if _, err := io.Copy(io.Discard, src); err != nil {
		return err
	}
	var msum Digest
	h.Sum(msum[:0])
	if haveLog {
		// The host's record arrived, its digest file did not: it says
		// what the two objects that arrived are.
		rb, err := readSmall(ctx, r.objs, r.prefix+logKey, "", maxRecord)
		if err != nil {
			return err
		}
		dg := append(sumLine(msum, ManifestName), sumLine(sha256Sum(rb), logKey)...)
		_, err = put(ctx, r.objs, r.prefix+ManifestDigestName, "manifest-digest", dg)
		return err
	}
	if perr != nil {
		return nil // verify names it
	}
	return sealTail(ctx, r.objs, r.prefix, m, msum, "written by ingest: the stream ended after the manifest, before the host's first record")
}

// rebuild describes what arrived from the header and the artifact notes.
// An artifact whose object did not arrive whole, or arrived other than its
// note describes, is listed failed.
func (r *Receiver) rebuild(ctx context.Context, cut error) *Manifest {
	m := *r.header
	m.Artifacts = nil
	m.Journal, m.Versions, m.Resumes = nil, nil, nil
	for _, a := range r.notes {
		if a.IsStored() {
			got, ok := r.stored[a.Key]
			why := ""
			switch {
			case !ok:
				why = "the object did not arrive whole over the stream: not stored"
			case got != a.Cipher.SHA256:
				why = "the object that arrived is not the one its note describes (sha256 " + got.String() + "): kept, not counted"
			}
			if why != "" {
				a.Errors = append(a.Errors, why)
				a.Status, a.Key, a.Stored = StatusFailed, "", nil
				a.Plain, a.Cipher = Digested{}, Digested{}
			}
		}
		if f := a.FilesObject; f != nil {
			if got, ok := r.stored[f.Key]; !ok || got != f.SHA256 {
				a.Errors = append(a.Errors, fmt.Sprintf("its %d file records (%s) did not arrive whole over the stream: unknown", f.Records, f.Key))
				a.FilesObject = nil
				if a.Status == StatusOK {
					a.Status = StatusPartial
				}
			}
		}
		m.Artifacts = append(m.Artifacts, a)
	}
	m.Artifacts = append(m.Artifacts, r.unrecorded(ctx)...)
	m.StartedSHA256 = nil
	if d, ok := r.stored[StartedName]; ok {
		m.StartedSHA256 = &d
	}
	m.Storage = Storage{Location: r.objs.String(), Prefix: r.prefix}
	m.Finished = NewTime(time.Now())
	m.Status = "incomplete"
	why := "the stream ended"
	if cut != nil {
		why = cut.Error()
	}
	m.Errors = append(m.Errors, "the stream from the host ended before the collection finished: "+why+"; later artifacts, if any, are unknown")
	return &m
}

// unrecorded lists artifacts whose object arrived whole but whose note did
// not (the stream was cut between the two): stored, partial, their
// plaintext digest unknown.
func (r *Receiver) unrecorded(ctx context.Context) []Artifact {
	noted := map[string]bool{}
	for _, a := range r.notes {
		noted[a.Key] = true
		if a.FilesObject != nil {
			noted[a.FilesObject.Key] = true
		}
	}
	var out []Artifact
	for _, rel := range sortedKeys(r.stored) {
		if noted[rel] || !artifactKeyRE.MatchString(rel) {
			continue
		}
		name, format := artifactName(rel)
		if noted[name] {
			continue
		}
		now := time.Now().UTC()
		a := Artifact{Name: name, Kind: "unknown", Format: format, Key: rel, Status: StatusPartial,
			Started: now, Finished: now, Cipher: Digested{Size: r.sizes[rel], SHA256: r.stored[rel]},
			Errors: []string{"arrived whole, but the host's record of it did not: its plaintext digest and file list are unknown"}}
		if f := r.arrivedFiles(ctx, rel); f != nil {
			a.FilesObject = f
			a.Errors[0] = "arrived whole, but the host's record of it did not: its plaintext digest is unknown; its file records arrived in " + f.Key + " and are counted as they arrived"
		}
		out = append(out, a)
	}
	// File records whose artifact arrived neither whole nor noted (the
	// stream was cut between the two).
	for _, rel := range sortedKeys(r.stored) {
		if !filesKeyRE.MatchString(rel) {
			continue
		}
		ak := filesArtifact(rel)
		if _, ok := r.stored[ak]; ok || noted[ak] || noted[rel] {
			continue
		}
		f := r.arrivedFiles(ctx, ak)
		if f == nil {
			continue
		}
		name, format := artifactName(ak)
		now := time.Now().UTC()
		out = append(out, Artifact{Name: name, Kind: "unknown", Format: format, Status: StatusFailed, Started: now, Finished: now,
			FilesObject: f, Errors: []string{"its file records arrived in " + rel + ", counted as they arrived; the artifact itself and the host's record of it did not"}})
	}
	return out
}

// checkAnswer holds the manifest that arrived to the header the stream
// began with: the host may not announce one collection and deliver
// another's record.
func (r *Receiver) checkAnswer(rep *Report) {
	h, m := r.header, rep.Manifest
	if m.CollectionID != h.CollectionID || m.Case.ID != h.Case.ID || m.Session != h.Session || m.Host.Hostname != h.Host.Hostname {
		rep.add(ManifestName, "is of collection %s, case %s, host %s, session %q; the stream began as collection %s, case %s, host %s, session %q: %v",
			m.CollectionID, m.Case.ID, m.Host.Hostname, m.Session, h.CollectionID, h.Case.ID, h.Host.Hostname, h.Session, ErrNotAnswer)
	}
}
