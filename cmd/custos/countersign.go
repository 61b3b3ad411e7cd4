package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/custody/sshsig"
	"github.com/custos-ir/custos/internal/term"
)

type countersignOptions struct {
	location       string
	note           string
	yes            bool
	allowedSigners string
	signerOptions
	s3 s3Options
}

const countersignExample = `  custos countersign /srv/evidence --key ~/.ssh/id_ed25519 --note "reviewed with J. Doe"
  custos countersign /srv/evidence/INC-42 --key ~/.ssh/id_ed25519   # the whole case: one summary, one answer

Exit codes: 0 countersigned, 1 not countersigned (does not verify, not signed yet, or countersigned already), 2 usage.`

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
	so := custody.SigOptions{Require: 1}
	if o.allowedSigners != "" {
		if so.AllowedSigners, err = loadAllowedSigners(o.allowedSigners); err != nil {
			return err
		}
	}
	pl, cp, err := openAny(ctx, o.location, &o.s3)
	if err != nil {
		return err
	}
	if cp != nil {
		return countersignCase(ctx, cp, o, signer, so, io)
	}
	r, err := custody.Verify(ctx, pl.objs, pl.prefix, custody.VerifyOptions{Signatures: so})
	if err != nil {
		return err
	}
	if !r.OK() {
		printProblems(io, r)
		return fmt.Errorf("%s does not verify, or the collector's signature does not hold (%d problems): refusing to countersign", o.location, len(r.Problems))
	}
	if r.Countersignature != nil {
		return fmt.Errorf("%s is already countersigned by %s: a countersignature is never replaced", o.location, r.Countersignature.SignerKey)
	}
	first := r.Signers[0]
	if fp := sshsig.Fingerprint(signer.PublicKey()); fp == first.Fingerprint {
		return fmt.Errorf("key %s signed this manifest already: the countersignature must come from a second person's key", fp)
	}
	fmt.Fprintf(io.err, "%s\n", custody.CountersignSummary(r.Manifest, &first))
	if !o.yes {
		ok, err := term.Confirm(fmt.Sprintf("Countersign as %s? [y/N] ", sshsig.Fingerprint(signer.PublicKey())))
		if errors.Is(err, term.ErrNoTerminal) {
			return usageErr("no terminal to confirm on: read the summary above and pass --yes")
		}
		if err != nil || !ok {
			return fmt.Errorf("not countersigned")
		}
	}
	if err := custody.Countersign(ctx, pl.objs, r, signer, actor(o.signer), o.note); err != nil {
		return err
	}
	fmt.Fprintf(io.err, "custos: countersigned case %s, collection %s, with %s %s\n", r.Manifest.Case.ID, r.Manifest.CollectionID,
		signer.PublicKey().Type(), sshsig.Fingerprint(signer.PublicKey()))
	return nil
}
