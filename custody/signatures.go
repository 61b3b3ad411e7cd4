package custody

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/custos-ir/custos/internal/allowedsigners"
	"github.com/custos-ir/custos/internal/sshsig"
	"github.com/custos-ir/custos/storage"
)

// SigOptions say which signers are trusted and how many are needed.
type SigOptions struct {
	AllowedSigners []allowedsigners.Entry
	// Require is how many of the two signatures (collector, countersigner)
	// must be present: 0, 1 or 2.
	Require int
}

// Signatures holds what VerifySignatures found.
type Signatures struct {
	Signers []Signer
	// Countersignature is the second responder's statement, if present.
	Countersignature *Countersignature
}

// ReadOptional reads a small object, with ok=false when it does not exist.
func readOptional(ctx context.Context, st storage.Store, key string, max int64) ([]byte, bool, error) {
	b, err := readAll(ctx, st, key, max)
	if errors.Is(err, storage.ErrNotExist) {
		return nil, false, nil
	}
	return b, err == nil, err
}

// VerifySignatures checks the collector's signature over the manifest
// bytes, the countersignature statement and its signature, that the two
// keys differ, that each key is allowed (allowed_signers, namespace and
// validity at the time the signature was made), the signatures on custody
// log records, and that the log still holds every record the
// countersigner saw. Problems go to r.
func VerifySignatures(ctx context.Context, st storage.Store, prefix string, manifest []byte, r *Report, o SigOptions) *Signatures {
	out := &Signatures{}
	signedAt := func(event string) time.Time {
		for _, e := range r.Log {
			if e.Record != nil && e.Record.Event == event {
				return e.Record.Time
			}
		}
		return time.Time{}
	}
	// The collector's signature.
	sig, ok, err := readOptional(ctx, st, prefix+SignatureName, 64<<10)
	var first ssh.PublicKey
	var firstSig []byte
	switch {
	case err != nil:
		r.add(SignatureName, "cannot read: %v", err)
	case !ok:
		if o.Require >= 1 {
			r.add(SignatureName, "missing: the collection is not signed (custos sign), %d signatures are required", o.Require)
		}
	default:
		firstSig = sig
		if s, err := sshsig.Verify(sig, bytes.NewReader(manifest), NamespaceManifest); err != nil {
			r.add(SignatureName, "does not verify over manifest.json: %v", err)
		} else {
			first = s.PublicKey
			signer := Signer{Role: "collector", Fingerprint: sshsig.Fingerprint(s.PublicKey), KeyType: s.PublicKey.Type(), Time: signedAt(EventSigned)}
			signer.Principals = allowed(o, s.PublicKey, NamespaceManifest, signer.Time, SignatureName, r)
			out.Signers = append(out.Signers, signer)
		}
	}
	// The countersignature.
	stmtBytes, ok, err := readOptional(ctx, st, prefix+CountersignName, 64<<10)
	switch {
	case err != nil:
		r.add(CountersignName, "cannot read: %v", err)
	case !ok:
		if o.Require >= 2 {
			r.add(CountersignName, "missing: the collection is not countersigned (custos countersign), 2 signatures are required")
		}
		if _, there, _ := readOptional(ctx, st, prefix+CountersignSigName, 64<<10); there {
			r.add(CountersignSigName, "present without %s", CountersignName)
		}
	default:
		csig, there, err := readOptional(ctx, st, prefix+CountersignSigName, 64<<10)
		if err != nil || !there {
			r.add(CountersignSigName, "missing: the countersignature statement is not signed")
			break
		}
		stmt, err := ParseCountersignature(stmtBytes)
		if err != nil {
			r.add(CountersignName, "%v", err)
			break
		}
		out.Countersignature = stmt
		s, err := sshsig.Verify(csig, bytes.NewReader(stmtBytes), NamespaceCountersign)
		if err != nil {
			r.add(CountersignSigName, "does not verify over %s: %v", CountersignName, err)
			break
		}
		fp := sshsig.Fingerprint(s.PublicKey)
		if stmt.ManifestSHA256 != r.ManifestSHA256 {
			r.add(CountersignName, "countersigns manifest %s, this manifest is %s", stmt.ManifestSHA256, r.ManifestSHA256)
		}
		if firstSig != nil && stmt.SignatureSHA256 != storage.Digest(sha256.Sum256(firstSig)) {
			r.add(CountersignName, "countersigns a different collector signature than %s", SignatureName)
		}
		if firstSig == nil {
			r.add(CountersignName, "countersigns a collector signature that is not there (%s)", SignatureName)
		}
		if stmt.SignerKey != fp {
			r.add(CountersignName, "names signer key %s but is signed by %s", stmt.SignerKey, fp)
		}
		if first != nil && bytes.Equal(first.Marshal(), s.PublicKey.Marshal()) {
			r.add(CountersignSigName, "made with the collector's own key %s: two people must sign", fp)
		}
		signer := Signer{Role: "countersigner", Fingerprint: fp, KeyType: s.PublicKey.Type(), Time: stmt.Time, Note: stmt.Note}
		signer.Principals = allowed(o, s.PublicKey, NamespaceCountersign, stmt.Time, CountersignSigName, r)
		out.Signers = append(out.Signers, signer)
		if stmt.LogHead != nil {
			found := false
			for _, e := range r.Log {
				if storage.Digest(sha256.Sum256(e.Bytes)) == *stmt.LogHead {
					found = true
				}
			}
			if !found {
				r.add("custody log", "the record the countersigner saw last (sha256 %s) is gone or changed", *stmt.LogHead)
			}
		}
	}
	// Signed custody log records: each by the key its actor names.
	for _, e := range r.Log {
		if e.Sig == nil || e.Record == nil {
			continue
		}
		thing := "custody log " + e.Key[len(LogDir):] + ".sig"
		s, err := sshsig.Verify(e.Sig, bytes.NewReader(e.Bytes), NamespaceLog)
		if err != nil {
			r.add(thing, "does not verify: %v", err)
			continue
		}
		if fp := sshsig.Fingerprint(s.PublicKey); fp != e.Record.Actor.Key {
			r.add(thing, "signed by %s, the record names %s", fp, e.Record.Actor.Key)
		}
	}
	return out
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
