package custody

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/custos-ir/custos/custody/sshsig"
)

// ErrNotVerified is wrapped when a collection is to be signed but its
// report holds problems: a signature vouches for what is stored, so it
// must match the manifest first.
var ErrNotVerified = errors.New("the collection does not verify")

// Sign signs the manifest a verified report read (those exact bytes, not
// a second read) as the collector, and records it in the custody log with
// a record signed by the same key.
func Sign(ctx context.Context, objs Objects, r *Report, s ssh.Signer, who Actor) error {
	if !r.OK() || r.Manifest == nil {
		return fmt.Errorf("%w (%d problems): refusing to sign it", ErrNotVerified, len(r.Problems))
	}
	if r.collectorSig != nil {
		return fmt.Errorf("already signed (%s exists): a signature is never replaced; countersign it instead: %w", SignatureName, ErrExist)
	}
	sig, err := sshsig.SignDigests(s, r.manifest, NamespaceManifest)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	if _, err := put(ctx, objs, r.Prefix+SignatureName, "signature", sig); err != nil {
		if errors.Is(err, ErrExist) {
			return fmt.Errorf("already signed (%s exists): a signature is never replaced; countersign it instead: %w", SignatureName, ErrExist)
		}
		return err
	}
	r.collectorSig = sig
	if _, err := Append(ctx, objs, r, EventSigned, who, nil, s); err != nil {
		return fmt.Errorf("the manifest is signed, but the custody log record was not stored: %w", err)
	}
	return nil
}

// Countersign makes and stores the second responder's statement over the
// manifest and the collector's signature a verified report read, and its
// custody log record. The report must hold one valid collector signature
// by another key.
func Countersign(ctx context.Context, objs Objects, r *Report, s ssh.Signer, who Actor, note string) error {
	if !r.OK() || r.Manifest == nil {
		return fmt.Errorf("%w (%d problems): refusing to countersign it", ErrNotVerified, len(r.Problems))
	}
	if r.Countersignature != nil {
		return fmt.Errorf("already countersigned by %s: a countersignature is never replaced: %w", r.Countersignature.SignerKey, ErrExist)
	}
	if len(r.Signers) == 0 || r.collectorSig == nil {
		return fmt.Errorf("not signed by the collector yet (custos sign): refusing to countersign")
	}
	first := r.Signers[0]
	fp := sshsig.Fingerprint(s.PublicKey())
	if fp == first.Fingerprint {
		return fmt.Errorf("key %s signed this manifest already: the countersignature must come from a second person's key", fp)
	}
	var head *Digest
	if n := len(r.Log); n > 0 {
		d := sha256Sum(r.Log[n-1].Bytes)
		head = &d
	}
	stmt := &Countersignature{
		Format: CountersignFormat, CollectionID: r.Manifest.CollectionID,
		ManifestSHA256: r.ManifestSHA256, SignatureSHA256: sha256Sum(r.collectorSig), FirstSigner: first.Fingerprint,
		Signer: who.Principal, SignerKey: fp, Time: time.Now().UTC(), Note: note, LogHead: head,
	}
	sb, err := stmt.Marshal()
	if err != nil {
		return err
	}
	sig, err := sshsig.Sign(s, bytes.NewReader(sb), NamespaceCountersign)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	// The signature goes first: a statement without its signature would
	// look like a countersignature to a careless reader.
	if _, err := put(ctx, objs, r.Prefix+CountersignSigName, "countersignature", sig); err != nil {
		return err
	}
	if _, err := put(ctx, objs, r.Prefix+CountersignName, "countersignature", sb); err != nil {
		return err
	}
	r.Countersignature = stmt
	if _, err := Append(ctx, objs, r, EventCountersigned, who, map[string]string{"note": note}, s); err != nil {
		return fmt.Errorf("countersigned, but the custody log record was not stored: %w", err)
	}
	return nil
}
