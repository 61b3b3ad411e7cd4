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
	"time"

	"github.com/custos-ir/custos/internal/jsonx"
)

// Interrupted is what a killed collection left: its start record and the
// records of the artifacts it finished storing.
type Interrupted struct {
	Prefix  string
	Header  Started
	Kept    []Artifact
	started []byte
	journal map[string]Digest
	objs    Objects
}

// Errors of FindInterrupted, for the caller to word.
var (
	ErrFinished      = errors.New("the collection there is finished (it has a manifest): nothing to resume")
	ErrNoInterrupted = errors.New("holds no interrupted collection (no started.json without a manifest)")
)

// FindInterrupted finds the one interrupted collection in objs: a
// started.json without a manifest.json beside it. Artifacts whose journal
// record and object are both there, of the recorded size, are kept.
func FindInterrupted(ctx context.Context, objs Objects) (*Interrupted, error) {
	started, finished := map[string]bool{}, map[string]bool{}
	err := objs.List(ctx, "", func(o Object) error {
		dir := path.Dir(o.Key) + "/"
		if dir == "./" {
			dir = ""
		}
		switch path.Base(o.Key) {
		case StartedName:
			started[dir] = true
		case ManifestName:
			finished[dir] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var cands []string
	for p := range started {
		if !finished[p] {
			cands = append(cands, p)
		}
	}
	sort.Strings(cands)
	switch {
	case len(cands) == 0 && len(finished) > 0:
		return nil, ErrFinished
	case len(cands) == 0:
		return nil, ErrNoInterrupted
	case len(cands) > 1:
		return nil, fmt.Errorf("%d interrupted collections: give one of %s", len(cands), strings.Join(cands, ", "))
	}
	in := &Interrupted{Prefix: cands[0], journal: map[string]Digest{}, objs: objs}
	if in.started, err = readSmall(ctx, objs, in.Prefix+StartedName, "", maxSmall); err != nil {
		return nil, err
	}
	if err := jsonx.Decode(in.started, &in.Header, maxSmall); err != nil || !ValidCollectionID(in.Header.CollectionID) {
		return nil, fmt.Errorf("%s%s is damaged: %v", in.Prefix, StartedName, err)
	}
	var keys []string
	objs.List(ctx, in.Prefix+JournalDir, func(o Object) error {
		keys = append(keys, o.Key)
		return nil
	})
	for _, k := range keys {
		a, sum, err := readJournal(ctx, objs, k)
		if err != nil || !a.IsStored() || JournalKey(a.Key) != strings.TrimPrefix(k, in.Prefix) {
			continue
		}
		info, err := objs.Stat(ctx, in.Prefix+a.Key, "")
		if err != nil || info.Size != a.Cipher.Size {
			continue
		}
		if f := a.FilesObject; f != nil {
			if info, err := objs.Stat(ctx, in.Prefix+f.Key, ""); err != nil || info.Size != f.Size || f.Key != FilesKey(a.Key) {
				continue
			}
		}
		in.Kept = append(in.Kept, *a)
		in.journal[strings.TrimPrefix(k, in.Prefix)] = sum
	}
	return in, nil
}

// Continue resumes the interrupted collection with m (whose header the
// caller filled for this run): the same collection ID, its first start,
// what the first run stored, and a resume record. Volatile state is the
// caller's to take again.
func (in *Interrupted) Continue(ctx context.Context, m *Manifest) *Collection {
	m.CollectionID = in.Header.CollectionID
	m.Started = in.Header.Started
	m.Storage.Prefix = in.Prefix
	d := sha256Sum(in.started)
	m.StartedSHA256 = &d
	m.Artifacts = in.Kept
	m.Journal = in.journal
	m.Resumes = append(m.Resumes, Resume{At: NewTime(time.Now()), Operator: m.Operator.User,
		CollectionID: in.Header.CollectionID, StartedSHA256: d, Kept: len(in.Kept)})
	c := &Collection{objs: in.objs, prefix: in.Prefix, m: m}
	c.noter, _ = in.objs.(Noter)
	return c
}

// readJournal reads one journal record as a stream, and its SHA-256.
func readJournal(ctx context.Context, objs Objects, key string) (*Artifact, Digest, error) {
	var sum Digest
	rc, err := objs.Open(ctx, key, "")
	if err != nil {
		return nil, sum, err
	}
	defer rc.Close()
	h := sha256.New()
	src := io.TeeReader(rc, h)
	a, err := parseArtifact(src)
	if err != nil {
		return nil, sum, err
	}
	if err := checkArtifact(a); err != nil {
		return nil, sum, err
	}
	h.Sum(sum[:0])
	return a, sum, nil
}
