package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/sshsig"
	"github.com/custos-ir/custos/internal/ui"
	"github.com/custos-ir/custos/storage"
)

type countersignOptions struct {
	location       string
	note           string
	yes            bool
	allowedSigners string
	signerOptions
	s3 s3Options
}

const countersignExample = `  custos countersign /srv/evidence --key ~/.ssh/id_ed25519 --note "reviewed with J. Doe"`

func runCountersignCmd(ctx context.Context, args []string, io stdio) error {
	var o countersignOptions
	f := newFlags("countersign", "LOCATION (--key FILE | --agent --signer IDENTITY) [--note TEXT]", countersignExample, io)
	o.signerOptions.flags(f)
	f.StringVar(&o.note, "note", "", "what you checked, for the record")
	f.StringVar(&o.allowedSigners, "allowed-signers", "", "show who signed first by checking `FILE` (OpenSSH allowed_signers)")
	f.BoolVar(&o.yes, "yes", false, "countersign without asking (needed without a terminal)")
	o.s3.flags(f, true)
	if err := parseFlags(f, args); err != nil {
		return err
	}
	if f.NArg() != 1 {
		return usageErr("countersign takes one LOCATION: the directory given to --to, or one collection in it")
	}
	o.location = f.Arg(0)
	return runCountersign(ctx, o, io)
}

func runCountersign(ctx context.Context, o countersignOptions, io stdio) error {
	signer, err := o.load()
	if err != nil {
		return err
	}
	var sigOpts custody.SigOptions
	if o.allowedSigners != "" {
		if sigOpts.AllowedSigners, err = loadAllowedSigners(o.allowedSigners); err != nil {
			return err
		}
	}
	sigOpts.Require = 1
	st, prefix, r, mb, err := checkedCollection(ctx, o.location, &o.s3, io)
	if err != nil {
		return err
	}
	sigs := custody.VerifySignatures(ctx, st, prefix, mb, r, sigOpts)
	if !r.OK() {
		for _, p := range r.Problems {
			fmt.Fprintf(io.err, "custos: FAIL %s\n", p)
		}
		return fmt.Errorf("%s: the collector's signature does not hold (%d problems): refusing to countersign", o.location, len(r.Problems))
	}
	if sigs.Countersignature != nil {
		return fmt.Errorf("%s is already countersigned by %s: a countersignature is never replaced", o.location, sigs.Countersignature.SignerKey)
	}
	first := sigs.Signers[0]
	fp := sshsig.Fingerprint(signer.PublicKey())
	if fp == first.Fingerprint {
		return fmt.Errorf("key %s signed this manifest already: the countersignature must come from a second person's key", fp)
	}
	fmt.Fprintf(io.err, "%s\n", custody.CountersignSummary(r.Manifest, &first))
	if !o.yes {
		ok, err := ui.Confirm(fmt.Sprintf("Countersign as %s? [y/N] ", fp))
		if errors.Is(err, ui.ErrNoTerminal) {
			return usageErr("no terminal to confirm on: read the summary above and pass --yes")
		}
		if err != nil || !ok {
			return fmt.Errorf("not countersigned")
		}
	}
	firstSig, err := readObject(ctx, st, prefix+custody.SignatureName)
	if err != nil {
		return err
	}
	prev, prevBytes := custody.Last(r.Log)
	var head *storage.Digest
	if prevBytes != nil {
		d := storage.Digest(sha256.Sum256(prevBytes))
		head = &d
	}
	stmt := &custody.Countersignature{
		Format: custody.CountersignFormat, CollectionID: r.Manifest.CollectionID,
		ManifestSHA256: r.ManifestSHA256, SignatureSHA256: sha256.Sum256(firstSig), FirstSigner: first.Fingerprint,
		Signer: o.signer, SignerKey: fp, Time: time.Now().UTC(), Note: o.note, LogHead: head,
	}
	sb, err := stmt.Marshal()
	if err != nil {
		return err
	}
	sig, err := sshsig.Sign(signer, bytes.NewReader(sb), custody.NamespaceCountersign)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	// The signature goes first: a statement without its signature would
	// look like a countersignature to a careless reader.
	if _, err := storage.PutBytes(ctx, st, prefix+custody.CountersignSigName, sig, objectOptions(st, "countersignature")); err != nil {
		return fmt.Errorf("store %s: %w", custody.CountersignSigName, err)
	}
	if _, err := storage.PutBytes(ctx, st, prefix+custody.CountersignName, sb, objectOptions(st, "countersignature")); err != nil {
		return fmt.Errorf("store %s: %w", custody.CountersignName, err)
	}
	rec := custody.NextRecord(prev, prevBytes, custody.EventCountersigned, r.Manifest, r.ManifestSHA256, actor(fp, o.signer), map[string]string{"note": o.note})
	if err := custody.AppendLog(ctx, st, prefix, rec, signWith(signer, custody.NamespaceLog), objectOptions(st, "log")); err != nil {
		return fmt.Errorf("countersigned, but the custody log record was not stored: %w", err)
	}
	fmt.Fprintf(io.err, "custos: countersigned case %s, collection %s, with %s %s\n", r.Manifest.Case.ID, r.Manifest.CollectionID, signer.PublicKey().Type(), fp)
	return nil
}

func readObject(ctx context.Context, st storage.Store, key string) ([]byte, error) {
	rc, err := st.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(rc)
	return b.Bytes(), err
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
