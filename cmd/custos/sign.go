package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/sshsig"
	"github.com/custos-ir/custos/storage"
)

type signOptions struct {
	location string
	signerOptions
	s3 s3Options
}

const signExample = `  custos sign /srv/evidence --key ~/.ssh/id_ed25519
  custos sign /srv/evidence --agent --signer ~/.ssh/id_ed25519.pub`

func runSignCmd(ctx context.Context, args []string, io stdio) error {
	var o signOptions
	f := newFlags("sign", "LOCATION (--key FILE | --agent --signer IDENTITY)", signExample, io)
	o.signerOptions.flags(f)
	o.s3.flags(f, true)
	if err := parseFlags(f, args); err != nil {
		return err
	}
	if f.NArg() != 1 {
		return usageErr("sign takes one LOCATION: the directory given to --to, or one collection in it")
	}
	o.location = f.Arg(0)
	return runSign(ctx, o, io)
}

// checkedCollection opens a collection and verifies it (hashes, no
// decryption) before anyone signs it: a signature vouches for what is
// stored, so it must match the manifest first.
func checkedCollection(ctx context.Context, loc string, s3o *s3Options, io stdio) (storage.Store, string, *custody.Report, []byte, error) {
	st, prefix, err := openForRead(ctx, loc, s3o)
	if err != nil {
		return nil, "", nil, nil, err
	}
	r, err := custody.Verify(ctx, st, prefix, custody.VerifyOptions{})
	if err != nil {
		return nil, "", nil, nil, err
	}
	if !r.OK() {
		for _, p := range r.Problems {
			fmt.Fprintf(io.err, "custos: FAIL %s\n", p)
		}
		return nil, "", nil, nil, fmt.Errorf("%s does not verify (%d problems): refusing to sign it", loc, len(r.Problems))
	}
	mb, _, err := custody.ReadManifest(ctx, st, prefix, &custody.Report{})
	return st, prefix, r, mb, err
}

func runSign(ctx context.Context, o signOptions, io stdio) error {
	signer, err := o.load()
	if err != nil {
		return err
	}
	st, prefix, r, mb, err := checkedCollection(ctx, o.location, &o.s3, io)
	if err != nil {
		return err
	}
	sig, err := sshsig.Sign(signer, bytesReader(mb), custody.NamespaceManifest)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	if _, err := storage.PutBytes(ctx, st, prefix+custody.SignatureName, sig, objectOptions(st, "signature")); err != nil {
		if errors.Is(err, storage.ErrExist) {
			return fmt.Errorf("%s is already signed (%s exists): a signature is never replaced; countersign it instead", o.location, custody.SignatureName)
		}
		return fmt.Errorf("store signature: %w", err)
	}
	fp := sshsig.Fingerprint(signer.PublicKey())
	prev, prevBytes := custody.Last(r.Log)
	rec := custody.NextRecord(prev, prevBytes, custody.EventSigned, r.Manifest, r.ManifestSHA256, actor(fp, o.signer), nil)
	if err := custody.AppendLog(ctx, st, prefix, rec, signWith(signer, custody.NamespaceLog), objectOptions(st, "log")); err != nil {
		return fmt.Errorf("the manifest is signed, but the custody log record was not stored: %w", err)
	}
	fmt.Fprintf(io.err, "custos: signed the manifest of case %s, collection %s, with %s %s\n",
		r.Manifest.Case.ID, r.Manifest.CollectionID, signer.PublicKey().Type(), fp)
	return nil
}

// actor names who makes a custody event on this workstation.
func actor(fingerprint, principal string) custody.Actor {
	a := custody.Actor{Key: fingerprint, Principal: principal}
	if u, err := user.Current(); err == nil {
		a.User = u.Username
	}
	a.Host, _ = os.Hostname()
	return a
}
