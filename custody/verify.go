package custody

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"filippo.io/age"

	"github.com/custos-ir/custos/custody/sshsig"
)

// Problem is one thing that does not hold, named for a person.
type Problem struct {
	Thing string `json:"thing"` // "manifest.json", "artifact logs", "object X"
	What  string `json:"problem"`
}

func (p Problem) String() string { return p.Thing + ": " + p.What }

// Report is the verdict on one collection, and what verify read to reach
// it: later steps (sign, countersign, fetch, append) act on exactly those
// bytes and versions, never on a second read.
type Report struct {
	Location       string    `json:"location"`
	Prefix         string    `json:"prefix"`
	Manifest       *Manifest `json:"-"`
	ManifestSHA256 Digest    `json:"manifest_sha256"`
	Objects        int       `json:"objects_checked"`
	Bytes          int64     `json:"bytes_checked"`
	Decrypted      int       `json:"artifacts_decrypted"`
	Files          int       `json:"files_checked"`
	Problems       []Problem `json:"problems"`
	Signers        []Signer  `json:"signers"`
	// Countersignature is the second responder's statement, if present.
	Countersignature *Countersignature `json:"-"`
	// Log is the custody log as found, in order.
	Log []LogEntry `json:"-"`
	// Read is the version of each object of the collection that verify
	// read ("" where the store keeps no versions), by key relative to the
	// collection.
	Read map[string]string `json:"-"`

	manifest     sshsig.Digests // of the manifest's bytes as verify read them
	collectorSig []byte
	listing      map[string][]Object
	pinned       map[string]Digest // other objects the digest file vouches for
	known        map[string]bool   // objects the record accounts for
	filesRead    map[string]bool   // files objects read to their end and checked
}

// OK reports whether everything held.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) add(thing, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Thing: thing, What: fmt.Sprintf(format, args...)})
}

// ErrNoCollection and ErrManyCollections come from FindCollection.
var (
	ErrNoCollection    = errors.New("no collection (manifest.json) found")
	ErrManyCollections = errors.New("more than one collection found")
)

// FindCollection returns the collection prefix under prefix: prefix itself
// when it holds a manifest, or the one collection below it. With several,
// the error lists them so the responder can pick one.
func FindCollection(ctx context.Context, objs Objects, prefix string) (string, error) {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	seen := map[string]bool{}
	var found []string
	err := objs.List(ctx, prefix, func(o Object) error {
		if path.Base(o.Key) == ManifestName {
			p := strings.TrimSuffix(o.Key, ManifestName)
			if !seen[p] {
				seen[p] = true
				found = append(found, p)
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%s: %w", objs, ErrNoCollection)
	case 1:
		return found[0], nil
	}
	sort.Strings(found)
	for i := range found {
		found[i] = strings.TrimSuffix(found[i], "/")
	}
	return "", fmt.Errorf("%w under %s: give one of %s", ErrManyCollections, objs, strings.Join(found, ", "))
}

// VerifyOptions choose how deep Verify goes.
type VerifyOptions struct {
	// Identities, when given, decrypt every artifact to check its plaintext
	// SHA-256 and, for tar artifacts, every file's.
	Identities []age.Identity
	// Signatures says who may sign and how many signatures are required;
	// the signatures present are checked whatever it says.
	Signatures SigOptions
	// Arrived are the SHA-256 sums the caller computed of objects as it
	// stored them a moment ago (ingest), by key relative to the
	// collection: without identities, an artifact among them is checked
	// against that sum instead of being read back whole.
	Arrived map[string]Digest
}

// Verify checks a stored collection against its manifest: every key
// written once (one version, no delete marker), the manifest's digest,
// SHA256SUMS, started.json, the journal, the custody log and the rules of
// each record, the signatures, every artifact's size, lock and SHA-256
// (with identities, its plaintext and files), and objects nobody listed.
// The manifest is read once. The error is for a collection that cannot be
// checked at all.
func Verify(ctx context.Context, objs Objects, prefix string, o VerifyOptions) (*Report, error) {
	r := &Report{Location: objs.String(), Prefix: prefix, Read: map[string]string{}, known: map[string]bool{}, filesRead: map[string]bool{}}
	if err := r.list(ctx, objs); err != nil {
		return r, err
	}
	if err := r.readManifest(ctx, objs); err != nil {
		return r, err
	}
	r.checkLog(ctx, objs)
	r.checkSignatures(ctx, objs, o.Signatures)
	m := r.Manifest
	if m == nil {
		return r, nil
	}
	r.checkSums(ctx, objs)
	r.checkStarted(ctx, objs)
	r.checkJournal(ctx, objs)
	r.checkSession()
	for i := range m.Artifacts {
		a := &m.Artifacts[i]
		files := a.FilesObject != nil && r.placeFiles(ctx, objs, a)
		if a.IsStored() {
			r.verifyArtifact(ctx, objs, a, o)
		}
		// With identities the tar was checked against the records, which
		// read and checked the files object on the way; else it is read here.
		if files && !r.filesRead[a.FilesObject.Key] {
			r.readFiles(ctx, objs, a)
		}
	}
	var stray []string
	for rel := range r.listing {
		if !r.known[rel] {
			stray = append(stray, rel)
		}
	}
	sort.Strings(stray)
	for _, rel := range stray {
		r.add("object "+rel, "is in the collection but not in the manifest")
	}
	return r, nil
}

// list reads the collection's listing once, every version of every key.
// A collection's objects are each written once: a key that holds more
// than one version, or a delete marker, was written to afterwards. The
// version checked is the first one written (the one Object Lock protects;
// whoever adds a version can only add a later one).
func (r *Report) list(ctx context.Context, objs Objects) error {
	r.listing = map[string][]Object{}
	err := objs.List(ctx, r.Prefix, func(o Object) error {
		rel := strings.TrimPrefix(o.Key, r.Prefix)
		r.listing[rel] = append(r.listing[rel], o)
		return nil
	})
	if err != nil {
		return fmt.Errorf("list %s: %w", r.Prefix, err)
	}
	keys := make([]string, 0, len(r.listing))
	for k := range r.listing {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, rel := range keys {
		vs := r.listing[rel]
		sort.SliceStable(vs, func(i, j int) bool { return vs[i].Modified.Before(vs[j].Modified) })
		var live []Object
		markers := 0
		for _, v := range vs {
			if v.DeleteMarker {
				markers++
			} else {
				live = append(live, v)
			}
		}
		r.listing[rel] = live
		switch {
		case len(live) > 1:
			r.add("object "+rel, "has %d versions in the store: an object of a collection is written once, so %d were put after it; the first (version %s) is the one checked", len(live), len(live)-1, live[0].VersionID)
		case markers > 0 && len(live) == 1:
			r.add("object "+rel, "has a delete marker over it: someone tried to remove it; the version under it (%s) is the one checked", live[0].VersionID)
		}
		if len(live) == 0 {
			delete(r.listing, rel)
			r.add("object "+rel, "was deleted (only a delete marker is left)")
			continue
		}
		r.Read[rel] = live[0].VersionID
	}
	return nil
}

// version is the version of rel to read: the one the record names when it
// names one that is there, else the first written. ok is false when the
// object is not in the collection.
func (r *Report) version(rel, recorded string) (string, bool) {
	vs, ok := r.listing[rel]
	if !ok {
		return "", false
	}
	r.known[rel] = true
	// A place without versions (a directory, a copy fetched into one)
	// lists none: the recorded version then says nothing about it.
	if recorded != "" && vs[0].VersionID != "" && recorded != vs[0].VersionID {
		for _, v := range vs {
			if v.VersionID == recorded {
				r.Read[rel] = recorded
				return recorded, true
			}
		}
		r.add("object "+rel, "the store holds version %s, not version %s the manifest records", vs[0].VersionID, recorded)
	}
	return r.Read[rel], true
}

// readSmall reads rel at the version verify chose; a missing object wraps
// ErrNotExist.
func (r *Report) readSmall(ctx context.Context, objs Objects, rel, recorded string, max int64) ([]byte, error) {
	v, ok := r.version(rel, recorded)
	if !ok {
		return nil, fmt.Errorf("%s%s: %w", r.Prefix, rel, ErrNotExist)
	}
	return readSmall(ctx, objs, r.Prefix+rel, v, max)
}

// hashObject is the SHA-256 of rel at the version verify chose, read as
// a stream of at most max bytes.
func (r *Report) hashObject(ctx context.Context, objs Objects, rel, recorded string, max int64) (Digest, error) {
	var sum Digest
	v, ok := r.version(rel, recorded)
	if !ok {
		return sum, fmt.Errorf("%s%s: %w", r.Prefix, rel, ErrNotExist)
	}
	rc, err := objs.Open(ctx, r.Prefix+rel, v)
	if err != nil {
		return sum, err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, &capReader{r: rc, n: max}); err != nil {
		return sum, err
	}
	h.Sum(sum[:0])
	return sum, nil
}

// readManifest reads the manifest, once, as it hashes it (a manifest of a
// million files is never held whole), and its digest file.
func (r *Report) readManifest(ctx context.Context, objs Objects) error {
	v, ok := r.version(ManifestName, "")
	if !ok {
		return fmt.Errorf("%s: %s%s: %w", ManifestName, r.Prefix, ManifestName, ErrNotExist)
	}
	rc, err := objs.Open(ctx, r.Prefix+ManifestName, v)
	if err != nil {
		return fmt.Errorf("%s: %w", ManifestName, err)
	}
	defer rc.Close()
	h := sshsig.NewHasher()
	src := &capReader{r: io.TeeReader(rc, h), n: maxManifest}
	m, perr := ParseReader(src)
	// What the decoder left unread is hashed too: the digest is of the
	// whole object.
	if _, err := io.Copy(io.Discard, src); err != nil {
		return fmt.Errorf("%s: %w", ManifestName, err)
	}
	r.manifest = h.Digests()
	copy(r.ManifestSHA256[:], r.manifest.SHA256)
	if db, err := r.readSmall(ctx, objs, ManifestDigestName, "", maxSmall); err != nil {
		r.add(ManifestDigestName, "cannot read: %v", err)
	} else if sums, err := ParseSums(db); err != nil {
		r.add(ManifestDigestName, "damaged: %v", err)
	} else if want, ok := sums[ManifestName]; !ok {
		r.add(ManifestDigestName, "damaged: no line for %s", ManifestName)
	} else {
		if want != r.ManifestSHA256 {
			r.add(ManifestName, "sha256 %s does not match %s (%s): the manifest or its digest file was changed", r.ManifestSHA256, want, ManifestDigestName)
		}
		delete(sums, ManifestName)
		r.pinned = sums
	}
	if perr != nil {
		r.add(ManifestName, "%v", perr)
		return nil
	}
	r.Manifest = m
	return nil
}

// checkSums holds SHA256SUMS to the manifest's digest of it, and to the
// artifacts it lists.
func (r *Report) checkSums(ctx context.Context, objs Objects) {
	m := r.Manifest
	sb, err := r.readSmall(ctx, objs, SumsName, m.Versions[SumsName], maxSums)
	if err != nil {
		r.add(SumsName, "cannot read: %v", err)
		return
	}
	if got := sha256Sum(sb); got != m.Sums {
		r.add(SumsName, "sha256 %s, the manifest records %s", got, m.Sums)
		return
	}
	sums, err := ParseSums(sb)
	if err != nil {
		r.add(SumsName, "damaged: %v", err)
		return
	}
	listed := func(key string, sum Digest) {
		if d, ok := sums[key]; !ok {
			r.add(SumsName, "does not list %s", key)
		} else if d != sum {
			r.add(SumsName, "lists %s with a different sha256", key)
		}
		delete(sums, key)
	}
	for _, a := range m.Artifacts {
		if a.IsStored() {
			listed(a.Key, a.Cipher.SHA256)
		}
		if f := a.FilesObject; f != nil {
			listed(f.Key, f.SHA256)
		}
	}
	for _, k := range sortedKeys(sums) {
		r.add(SumsName, "lists %s, which the manifest does not", k)
	}
}

// checkStarted compares started.json with the digest the manifest records.
func (r *Report) checkStarted(ctx context.Context, objs Objects) {
	m := r.Manifest
	b, err := r.readSmall(ctx, objs, StartedName, m.Versions[StartedName], maxSmall)
	switch {
	case errors.Is(err, ErrNotExist):
		if m.StartedSHA256 != nil {
			r.add(StartedName, "is missing (the manifest records its sha256)")
		}
	case err != nil:
		r.add(StartedName, "cannot read: %v", err)
	case m.StartedSHA256 == nil:
		r.add(StartedName, "is not recorded in the manifest")
	case sha256Sum(b) != *m.StartedSHA256:
		r.add(StartedName, "sha256 %s, the manifest records %s: the object was changed", sha256Sum(b), *m.StartedSHA256)
	}
}

// checkJournal compares each journal record with the digest the manifest
// records for it.
func (r *Report) checkJournal(ctx context.Context, objs Objects) {
	m := r.Manifest
	for _, k := range sortedKeys(m.Journal) {
		want := m.Journal[k]
		if !strings.HasPrefix(k, JournalDir) || path.Clean(k) != k {
			r.add("object "+k, "is not a journal key")
			continue
		}
		got, err := r.hashObject(ctx, objs, k, m.Versions[k], maxJournal)
		switch {
		case errors.Is(err, ErrNotExist):
			r.add("object "+k, "is missing (the manifest records it)")
		case err != nil:
			r.add("object "+k, "cannot read: %v", err)
		case got != want:
			r.add("object "+k, "sha256 %s, the manifest records %s: the object was changed", got, want)
		}
	}
}

// checkSession holds the host's echo of the responder's session to the
// record ingest made when the stream arrived: a collection stored as the
// answer to one request is not another's.
func (r *Report) checkSession() {
	for _, e := range r.Log {
		if e.Record == nil || e.Record.Event != EventStored {
			continue
		}
		if s, ok := e.Record.Details["session"]; ok && s != r.Manifest.Session {
			r.add("custody log "+path.Base(e.Key), "the stream was stored as the answer to session %s, the manifest echoes %q", s, r.Manifest.Session)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
