package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/storage"
	"github.com/custos-ir/custos/storage/dirstore"
	"github.com/custos-ir/custos/storage/s3store"
)

// interrupted is what a killed collection left: its start record and the
// records of the artifacts it finished storing.
type interrupted struct {
	store   storage.Store
	prefix  string
	started []byte
	header  struct {
		CollectionID string       `json:"collection_id"`
		Case         string       `json:"case"`
		Host         string       `json:"host"`
		Started      custody.Time `json:"started"`
	}
	kept    []custody.Artifact
	journal map[string]storage.Digest
}

// openInterrupted finds the one interrupted collection at loc: a
// started.json without a manifest.json beside it.
func openInterrupted(ctx context.Context, loc string, s3o *s3Options, tags map[string]string) (*interrupted, error) {
	in := &interrupted{journal: map[string]storage.Digest{}}
	if isS3(loc) {
		c, err := s3o.config(loc)
		if err != nil {
			return nil, err
		}
		c.Tags = tags
		st, err := s3store.New(ctx, c)
		if err != nil {
			return nil, err
		}
		in.store = st
	} else {
		st, err := dirstore.Open(loc)
		if err != nil {
			return nil, usageErr("--resume %s: %v", loc, unwrapPath(err))
		}
		in.store = st
	}
	started, finished := map[string]bool{}, map[string]bool{}
	err := in.store.List(ctx, "", func(o storage.ObjectInfo) error {
		dir := path.Dir(o.Key) + "/"
		if dir == "./" {
			dir = ""
		}
		switch path.Base(o.Key) {
		case custody.StartedName:
			started[dir] = true
		case custody.ManifestName:
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
		return nil, usageErr("--resume %s: the collection there is finished (it has a manifest): nothing to resume", loc)
	case len(cands) == 0:
		return nil, usageErr("--resume %s holds no interrupted collection (no started.json without a manifest)", loc)
	case len(cands) > 1:
		return nil, usageErr("--resume %s holds %d interrupted collections: give one of %s", loc, len(cands), strings.Join(cands, ", "))
	}
	in.prefix = cands[0]
	if in.started, err = readObject(ctx, in.store, in.prefix+custody.StartedName); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(in.started, &in.header); err != nil || in.header.CollectionID == "" {
		return nil, fmt.Errorf("--resume: %s%s is damaged: %v", in.prefix, custody.StartedName, err)
	}
	// Artifacts whose record and object are both there are kept.
	var keys []string
	in.store.List(ctx, in.prefix+collect.JournalDir, func(o storage.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	})
	for _, k := range keys {
		b, err := readObject(ctx, in.store, k)
		if err != nil {
			continue
		}
		var a custody.Artifact
		if json.Unmarshal(b, &a) != nil || !a.IsStored() || collect.JournalKey(a.Key) != strings.TrimPrefix(k, in.prefix) {
			continue
		}
		info, err := in.store.Stat(ctx, in.prefix+a.Key)
		if err != nil || info.Size != a.Cipher.Size {
			continue
		}
		in.kept = append(in.kept, a)
		in.journal[strings.TrimPrefix(k, in.prefix)] = sha256.Sum256(b)
	}
	return in, nil
}

// resumeManifest makes the manifest of the resumed collection: the same
// collection, its first start, and what the first run stored.
func (in *interrupted) resumeManifest(m *custody.Manifest) {
	m.CollectionID = in.header.CollectionID
	m.Started = in.header.Started
	m.Storage.Prefix = in.prefix
	d := storage.Digest(sha256.Sum256(in.started))
	m.StartedSHA256 = &d
	m.Artifacts = in.kept
	m.Journal = in.journal
	m.Resumes = append(m.Resumes, custody.Resume{At: custody.NewTime(time.Now()), Operator: m.Operator.User,
		CollectionID: in.header.CollectionID, StartedSHA256: d, Kept: len(in.kept)})
}
