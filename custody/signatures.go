package custody

import (
	"bytes"
	"context"
	"errors"
	"path"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/custos-ir/custos/custody/allowedsigners"
	"github.com/custos-ir/custos/custody/sshsig"
)

// SigOptions say which signers are trusted and how many are needed.
type SigOptions struct {
	AllowedSigners []allowedsigners.Entry
	// Require is how many of the two signatures (collector, countersigner)
	// must be present: 0, 1 or 2.
	Require int
}

// checkLog reads the custody log (each record and signature at the
// version verify chose), checks its chain and the rules of every record,
// and the records the digest file vouches for.
func (r *Report) checkLog(ctx context.Context, objs Objects) {
	var keys []string
	for rel := range r.listing {
		if isLogObject(rel) {
			keys = append(keys, rel)
		}
	}
	sort.Strings(keys)
	have := map[string]bool{}
	for _, k := range keys {
		have[k] = true
	}
	for _, k := range keys {
		if strings.HasSuffix(k, ".sig") {
			if !have[strings.TrimSuffix(k, ".sig")] {
				r.version(k, "")
				r.add("custody log "+path.Base(k), "signature of a record that is not there")
			}
			continue
		}
		thing := "custody log " + path.Base(k)
		b, err := r.readSmall(ctx, objs, k, "", maxRecord)
		if err != nil {
			r.add(thing, "cannot read: %v", err)
			continue
		}
		e := LogEntry{Key: k, Bytes: b}
		if have[k+".sig"] {
			if e.Sig, err = r.readSmall(ctx, objs, k+".sig", "", maxSmall); err != nil {
				r.add(thing+".sig", "cannot read: %v", err)
			}
		}
		r.Log = append(r.Log, e)
	}
	for _, k := range sortedKeys(r.pinned) {
		want, found := r.pinned[k], false
		for _, e := range r.Log {
			if e.Key == k {
				found = true
				if got := sha256Sum(e.Bytes); got != want {
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
	id := ""
	if r.Manifest != nil {
		id = r.Manifest.CollectionID
	}
	r.Problems = append(r.Problems, checkChain(r.Log, id, r.ManifestSHA256)...)
}

// checkSignatures checks the collector's signature over the manifest
// bytes, the countersignature statement and its signature, that the two
// keys differ, that each key is allowed (allowed_signers, namespace and
// validity at the time the signature was made, as signed content says),
// that the signed and countersigned log records are by those same keys,
// and that the log still holds every record the countersigner saw.
func (r *Report) checkSignatures(ctx context.Context, objs Objects, o SigOptions) {
	var first ssh.PublicKey
	sig, ok, err := r.readOptional(ctx, objs, SignatureName)
	switch {
	case err != nil:
		r.add(SignatureName, "cannot read: %v", err)
	case !ok:
		if o.Require >= 1 {
			r.add(SignatureName, "missing: the collection is not signed (custos sign), %d signatures are required", o.Require)
		}
	default:
		r.collectorSig = sig
		s, err := sshsig.VerifyDigests(sig, r.manifest, NamespaceManifest)
		if err != nil {
			r.add(SignatureName, "does not verify over manifest.json: %v", err)
			break
		}
		first = s.PublicKey
		fp := sshsig.Fingerprint(s.PublicKey)
		signer := Signer{Role: "collector", Fingerprint: fp, KeyType: s.PublicKey.Type(), Time: r.signedAt(EventSigned, fp)}
		signer.Principals = allowed(o, s.PublicKey, NamespaceManifest, signer.Time, SignatureName, r)
		r.Signers = append(r.Signers, signer)
	}
	r.checkCountersignature(ctx, objs, o, first)
	// Records that claim a signature event are by the key that made it.
	for i, e := range r.Log {
		if e.Record == nil {
			continue
		}
		thing := "custody log " + path.Base(e.Key)
		switch e.Record.Event {
		case EventSigned:
			if first == nil || e.Record.Actor.Key != sshsig.Fingerprint(first) {
				r.add(thing, "records a signature by %s, but %s is not signed by that key", e.Record.Actor.Key, SignatureName)
			}
		case EventCountersigned:
			if r.Countersignature == nil || e.Record.Actor.Key != r.Countersignature.SignerKey {
				r.add(thing, "records a countersignature by %s, but %s is not signed by that key", e.Record.Actor.Key, CountersignName)
			}
		case EventAnnotated:
			// Whoever took a response action is named as the collector
			// and countersigner are: by allowed_signers.
			if e.Signed && e.key != nil {
				r.Log[i].Principals = allowed(o, e.key, NamespaceLog, e.Record.Time, thing, r)
			}
		}
	}
}

func (r *Report) checkCountersignature(ctx context.Context, objs Objects, o SigOptions, first ssh.PublicKey) {
	stmtBytes, ok, err := r.readOptional(ctx, objs, CountersignName)
	csig, sigThere, sigErr := r.readOptional(ctx, objs, CountersignSigName)
	switch {
	case err != nil:
		r.add(CountersignName, "cannot read: %v", err)
		return
	case !ok:
		if o.Require >= 2 {
			r.add(CountersignName, "missing: the collection is not countersigned (custos countersign), 2 signatures are required")
		}
		if sigThere {
			r.add(CountersignSigName, "present without %s", CountersignName)
		}
		return
	case sigErr != nil || !sigThere:
		r.add(CountersignSigName, "missing: the countersignature statement is not signed")
		return
	}
	stmt, err := ParseCountersignature(stmtBytes)
	if err != nil {
		r.add(CountersignName, "%v", err)
		return
	}
	s, err := sshsig.Verify(csig, bytes.NewReader(stmtBytes), NamespaceCountersign)
	if err != nil {
		r.add(CountersignSigName, "does not verify over %s: %v", CountersignName, err)
		return
	}
	r.Countersignature = stmt
	fp := sshsig.Fingerprint(s.PublicKey)
	if stmt.ManifestSHA256 != r.ManifestSHA256 {
		r.add(CountersignName, "countersigns manifest %s, this manifest is %s", stmt.ManifestSHA256, r.ManifestSHA256)
	}
	if r.collectorSig == nil {
		r.add(CountersignName, "countersigns a collector signature that is not there (%s)", SignatureName)
	} else if stmt.SignatureSHA256 != sha256Sum(r.collectorSig) {
		r.add(CountersignName, "countersigns a different collector signature than %s", SignatureName)
	}
	if stmt.SignerKey != fp {
		r.add(CountersignName, "names signer key %s but is signed by %s", stmt.SignerKey, fp)
	}
	if first != nil && bytes.Equal(first.Marshal(), s.PublicKey.Marshal()) {
		r.add(CountersignSigName, "made with the collector's own key %s: two people must sign", fp)
	}
	signer := Signer{Role: "countersigner", Fingerprint: fp, KeyType: s.PublicKey.Type(), Time: stmt.Time, Note: stmt.Note}
	signer.Principals = allowed(o, s.PublicKey, NamespaceCountersign, stmt.Time, CountersignSigName, r)
	r.Signers = append(r.Signers, signer)
	if stmt.LogHead != nil {
		found := false
		for _, e := range r.Log {
			if sha256Sum(e.Bytes) == *stmt.LogHead {
				found = true
			}
		}
		if !found {
			r.add("custody log", "the record the countersigner saw last (sha256 %s) is gone or changed", *stmt.LogHead)
		}
	}
}

// signedAt is when the key fp made its signature, as its own signed log
// record says; zero when no such record verifies (the check then uses
// the present time). An unsigned record's time counts for nothing.
func (r *Report) signedAt(event, fp string) time.Time {
	for _, e := range r.Log {
		if e.Signed && e.Record != nil && e.Record.Event == event && e.Record.Actor.Key == fp {
			return e.Record.Time
		}
	}
	return time.Time{}
}

// readOptional reads a small signature object, ok=false when it is not
// there.
func (r *Report) readOptional(ctx context.Context, objs Objects, rel string) ([]byte, bool, error) {
	b, err := r.readSmall(ctx, objs, rel, "", maxSmall)
	if errors.Is(err, ErrNotExist) {
		return nil, false, nil
	}
	return b, err == nil, err
}

// allowed checks key against allowed_signers, when given.
func allowed(o SigOptions, key ssh.PublicKey, ns string, at time.Time, thing string, r *Report) []string {
	if o.AllowedSigners == nil {
		return nil
	}
	if at.IsZero() {
		at = time.Now()
	}
	p, err := allowedsigners.Find(o.AllowedSigners, key, ns, at)
	if err != nil {
		r.add(thing, "key %s: %v", sshsig.Fingerprint(key), err)
		return nil
	}
	return p
}
