package custody

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"

	"github.com/custos-ir/custos/storage"
)

// Problem is one thing that does not hold, named for a person.
type Problem struct {
	Thing string `json:"thing"` // "manifest.json", "artifact logs", "object X"
	What  string `json:"problem"`
}

func (p Problem) String() string { return p.Thing + ": " + p.What }

// Report is the verdict on one collection.
type Report struct {
	Location       string         `json:"location"`
	Prefix         string         `json:"prefix"`
	Manifest       *Manifest      `json:"-"`
	ManifestSHA256 storage.Digest `json:"manifest_sha256"`
	Objects        int            `json:"objects_checked"`
	Bytes          int64          `json:"bytes_checked"`
	Decrypted      int            `json:"artifacts_decrypted"`
	Files          int            `json:"files_checked"`
	Problems       []Problem      `json:"problems"`
	// Log is the custody log as found, in order.
	Log []LogEntry `json:"-"`

	pinned map[string]storage.Digest // other objects the digest file vouches for
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
func FindCollection(ctx context.Context, st storage.Store, prefix string) (string, error) {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	var found []string
	err := st.List(ctx, prefix, func(o storage.ObjectInfo) error {
		if path.Base(o.Key) == ManifestName {
			found = append(found, strings.TrimSuffix(o.Key, ManifestName))
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%s: %w", st, ErrNoCollection)
	case 1:
		return found[0], nil
	}
	sort.Strings(found)
	for i := range found {
		found[i] = strings.TrimSuffix(found[i], "/")
	}
	return "", fmt.Errorf("%w under %s: give one of %s", ErrManyCollections, st, strings.Join(found, ", "))
}

// VerifyOptions choose how deep Verify goes.
type VerifyOptions struct {
	// Identities, when given, decrypt every artifact to check its plaintext
	// SHA-256 and, for tar artifacts, every file's.
	Identities []age.Identity
	// Extra names objects besides artifacts that may sit in the collection
	// (signatures, custody log); see AllowedExtra.
	Extra func(key string) bool
}

// ReadManifest loads and checks a collection's manifest bytes against its
// digest file. It returns the bytes even when the digest does not match,
// with the problem in r.
func ReadManifest(ctx context.Context, st storage.Store, prefix string, r *Report) ([]byte, *Manifest, error) {
	mb, err := readAll(ctx, st, prefix+ManifestName, maxManifest)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", ManifestName, err)
	}
	r.ManifestSHA256 = sha256.Sum256(mb)
	if db, err := readAll(ctx, st, prefix+ManifestDigestName, 64<<10); err != nil {
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
	m, err := Parse(mb)
	if err != nil {
		r.add(ManifestName, "%v", err)
		return mb, nil, nil
	}
	r.Manifest = m
	return mb, m, nil
}

// Verify checks a stored collection against its manifest: the manifest's
// digest, SHA256SUMS, every object's size and SHA-256, objects nobody
// listed, retention where recorded, and with identities every plaintext.
// The error is for a collection that cannot be checked at all.
func Verify(ctx context.Context, st storage.Store, prefix string, o VerifyOptions) (*Report, error) {
	r := &Report{Location: st.String(), Prefix: prefix}
	_, m, err := ReadManifest(ctx, st, prefix, r)
	if err != nil {
		return r, err
	}
	if m == nil {
		return r, nil
	}
	// SHA256SUMS must be the one the manifest vouches for, and agree with it.
	if sb, err := readAll(ctx, st, prefix+SumsName, maxManifest); err != nil {
		r.add(SumsName, "cannot read: %v", err)
	} else if got := storage.Digest(sha256.Sum256(sb)); got != m.Sums {
		r.add(SumsName, "sha256 %s, the manifest records %s", got, m.Sums)
	} else if sums, err := ParseSums(sb); err != nil {
		r.add(SumsName, "damaged: %v", err)
	} else {
		for _, a := range m.Artifacts {
			if !a.IsStored() {
				continue
			}
			if d, ok := sums[a.Key]; !ok {
				r.add(SumsName, "does not list %s", a.Key)
			} else if d != a.Cipher.SHA256 {
				r.add(SumsName, "lists %s with a different sha256", a.Key)
			}
			delete(sums, a.Key)
		}
		for k := range sums {
			r.add(SumsName, "lists %s, which the manifest does not", k)
		}
	}

	listed := map[string]bool{ManifestName: true, ManifestDigestName: true, SumsName: true}
	checkLog(ctx, st, prefix, m, r)
	checkStarted(ctx, st, prefix, m, r)
	for k, want := range m.Journal {
		listed[k] = true
		b, err := readAll(ctx, st, prefix+k, 64<<20)
		switch {
		case errors.Is(err, storage.ErrNotExist):
			r.add("object "+k, "is missing (the manifest records it)")
		case err != nil:
			r.add("object "+k, "cannot read: %v", err)
		case storage.Digest(sha256.Sum256(b)) != want:
			r.add("object "+k, "sha256 %x, the manifest records %s: the object was changed", sha256.Sum256(b), want)
		}
	}

	for i := range m.Artifacts {
		a := &m.Artifacts[i]
		if !a.IsStored() {
			continue
		}
		listed[a.Key] = true
		verifyArtifact(ctx, st, prefix, a, o, r)
	}
	err = st.List(ctx, prefix, func(obj storage.ObjectInfo) error {
		rel := strings.TrimPrefix(obj.Key, prefix)
		if !listed[rel] && !IsLogObject(rel) && !isSignatureObject(rel) && (o.Extra == nil || !o.Extra(rel)) {
			r.add("object "+rel, "is in the collection but not in the manifest")
		}
		return nil
	})
	if err != nil {
		r.add(st.String(), "cannot list: %v", err)
	}
	return r, nil
}

func verifyArtifact(ctx context.Context, st storage.Store, prefix string, a *Artifact, o VerifyOptions, r *Report) {
	thing := "artifact " + a.Name
	info, err := st.Stat(ctx, prefix+a.Key)
	if err != nil {
		if errors.Is(err, storage.ErrNotExist) {
			r.add(thing, "object %s is missing", a.Key)
		} else {
			r.add(thing, "cannot stat %s: %v", a.Key, err)
		}
		return
	}
	if info.Size != a.Cipher.Size {
		r.add(thing, "object %s is %d bytes, the manifest records %d", a.Key, info.Size, a.Cipher.Size)
	}
	// Retention is checked where the store keeps it; a copy fetched to a
	// directory has none, and says nothing about the original's lock.
	if f, ok := st.(storage.Features); ok && f.Supports().Retention {
		checkRetention(thing, a, info, r)
	}
	rc, err := st.Open(ctx, prefix+a.Key)
	if err != nil {
		r.add(thing, "cannot read %s: %v", a.Key, err)
		return
	}
	defer rc.Close()
	r.Objects++
	ch := sha256.New()
	src := io.TeeReader(rc, ch)
	if len(o.Identities) > 0 {
		verifyPlain(a, src, o.Identities, thing, r)
	}
	// Whatever decryption left unread (all of it without identities, or
	// after a decryption error) is hashed here.
	if _, err := io.Copy(io.Discard, src); err != nil {
		r.add(thing, "read %s: %v", a.Key, err)
		return
	}
	var got storage.Digest
	ch.Sum(got[:0])
	r.Bytes += info.Size
	if got != a.Cipher.SHA256 {
		r.add(thing, "ciphertext sha256 %s, the manifest records %s: object %s was changed", got, a.Cipher.SHA256, a.Key)
	}
}

// checkLog reads the custody log and checks its chain, and the records the
// digest file vouches for.
func checkLog(ctx context.Context, st storage.Store, prefix string, m *Manifest, r *Report) {
	var keys []string
	err := st.List(ctx, prefix+LogDir, func(o storage.ObjectInfo) error {
		keys = append(keys, strings.TrimPrefix(o.Key, prefix))
		return nil
	})
	if err != nil {
		r.add("custody log", "cannot list: %v", err)
		return
	}
	have := map[string]bool{}
	for _, k := range keys {
		have[k] = true
	}
	for _, k := range keys {
		if strings.HasSuffix(k, ".sig") {
			if !have[strings.TrimSuffix(k, ".sig")] {
				r.add("custody log "+path.Base(k), "signature of a record that is not there")
			}
			continue
		}
		b, err := readAll(ctx, st, prefix+k, 1<<20)
		if err != nil {
			r.add("custody log "+path.Base(k), "cannot read: %v", err)
			continue
		}
		e := LogEntry{Key: k, Bytes: b}
		if have[k+".sig"] {
			e.Sig, _ = readAll(ctx, st, prefix+k+".sig", 64<<10)
		}
		r.Log = append(r.Log, e)
	}
	for k, want := range r.pinned {
		found := false
		for _, e := range r.Log {
			if e.Key == k {
				found = true
				if got := storage.Digest(sha256.Sum256(e.Bytes)); got != want {
					r.add("custody log "+path.Base(k), "sha256 %s does not match %s: the record was changed", got, ManifestDigestName)
				}
			}
		}
		if !found {
			r.add("custody log "+path.Base(k), "is missing (listed in %s)", ManifestDigestName)
		}
	}
	if len(r.Log) == 0 {
		r.add("custody log", "no records: the collection did not finish writing, or the log was removed")
		return
	}
	r.Problems = append(r.Problems, CheckChain(r.Log, m.CollectionID, r.ManifestSHA256)...)
}

// checkStarted compares started.json with the digest the manifest records.
func checkStarted(ctx context.Context, st storage.Store, prefix string, m *Manifest, r *Report) {
	b, err := readAll(ctx, st, prefix+StartedName, 64<<10)
	switch {
	case errors.Is(err, storage.ErrNotExist):
		if m.StartedSHA256 != nil {
			r.add(StartedName, "is missing (the manifest records its sha256)")
		}
	case err != nil:
		r.add(StartedName, "cannot read: %v", err)
	case m.StartedSHA256 == nil:
		r.add(StartedName, "is not recorded in the manifest")
	case storage.Digest(sha256.Sum256(b)) != *m.StartedSHA256:
		r.add(StartedName, "sha256 %x, the manifest records %s: the object was changed", sha256.Sum256(b), *m.StartedSHA256)
	}
}

func isSignatureObject(rel string) bool {
	return rel == SignatureName || rel == CountersignName || rel == CountersignSigName || rel == StartedName
}

func checkRetention(thing string, a *Artifact, info storage.ObjectInfo, r *Report) {
	if a.Stored == nil || a.Stored.Retention == nil {
		return
	}
	want := a.Stored.Retention
	if info.Retention == nil {
		r.add(thing, "the manifest records %s retention until %s, the store reports none", want.Mode, want.Until.Format("2006-01-02"))
		return
	}
	if info.Retention.Mode != want.Mode {
		r.add(thing, "retention mode %s, the manifest records %s", info.Retention.Mode, want.Mode)
	}
	if info.Retention.Until.Before(want.Until) {
		r.add(thing, "retained until %s, earlier than the %s the manifest records", info.Retention.Until.Format("2006-01-02T15:04:05Z"), want.Until.Format("2006-01-02T15:04:05Z"))
	}
	if a.Stored.VersionID != "" && info.VersionID != "" && info.VersionID != a.Stored.VersionID {
		r.add(thing, "current version %s, the manifest records %s", info.VersionID, a.Stored.VersionID)
	}
}

// verifyPlain decrypts and decompresses src, checks the plaintext SHA-256
// and for tar artifacts each stored file's SHA-256.
func verifyPlain(a *Artifact, src io.Reader, ids []age.Identity, thing string, r *Report) {
	dr, err := age.Decrypt(src, ids...)
	if err != nil {
		r.add(thing, "cannot decrypt: %v", err)
		return
	}
	zr, err := zstd.NewReader(dr, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(64<<20))
	if err != nil {
		r.add(thing, "zstd: %v", err)
		return
	}
	defer zr.Close()
	ph := sha256.New()
	cr := &countReader{r: io.TeeReader(zr, ph)}
	if a.Format == "tar" {
		verifyTar(a, cr, thing, r)
	}
	if _, err := io.Copy(io.Discard, cr); err != nil {
		r.add(thing, "decrypt/decompress: %v", err)
		return
	}
	r.Decrypted++
	var got storage.Digest
	ph.Sum(got[:0])
	if cr.n != a.Plain.Size {
		r.add(thing, "plaintext is %d bytes, the manifest records %d", cr.n, a.Plain.Size)
	}
	if got != a.Plain.SHA256 {
		r.add(thing, "plaintext sha256 %s, the manifest records %s", got, a.Plain.SHA256)
	}
}

func verifyTar(a *Artifact, src io.Reader, thing string, r *Report) {
	want := map[string]*File{}
	for i := range a.Files {
		f := &a.Files[i]
		if f.Stored && f.Type == "file" {
			name := TarName(f.Path)
			if f.StoredAs != "" {
				name = f.StoredAs
			}
			want[name] = f
		}
	}
	tr := tar.NewReader(src)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			r.add(thing, "tar: %v", err)
			return
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		f, ok := want[h.Name]
		if !ok {
			r.add(thing, "tar holds %s, which the manifest does not list", h.Name)
			continue
		}
		delete(want, h.Name)
		// A redacted copy is checked against the copy's digest; the
		// original's is kept for comparison with the host's file.
		size, sum := f.Read, f.SHA256
		if f.StoredSHA256 != "" {
			size, sum = f.StoredSize, f.StoredSHA256
		}
		fh := sha256.New()
		n, err := io.Copy(fh, io.LimitReader(tr, size))
		if err != nil {
			r.add(thing, "tar %s: %v", h.Name, err)
			return
		}
		r.Files++
		if got := hex.EncodeToString(fh.Sum(nil)); n != size || got != sum {
			r.add(thing, "file %s: sha256 %s, the manifest records %s", f.Path, got, sum)
		}
	}
	for name := range want {
		r.add(thing, "file %s is listed as stored but not in the tar", name)
	}
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func readAll(ctx context.Context, st storage.Store, key string, max int64) ([]byte, error) {
	rc, err := st.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	return b, nil
}

// TarName maps a recorded host path to its name inside an artifact's tar:
// a POSIX path (leading "/") is the host's bytes (see EscapePath) without
// the leading slash; in a Windows path a drive letter becomes the first
// directory (C:\Windows\x → C/Windows/x).
func TarName(p string) string {
	if strings.HasPrefix(p, "/") {
		return strings.TrimLeft(UnescapePath(p), "/")
	}
	p = strings.ReplaceAll(p, "\\", "/")
	if len(p) >= 2 && p[1] == ':' {
		p = p[:1] + p[2:]
	}
	return strings.TrimLeft(p, "/")
}
