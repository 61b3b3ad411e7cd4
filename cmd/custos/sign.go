package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"

	"golang.org/x/crypto/ssh"

	"github.com/custos-ir/custos/custody"
)

type signOptions struct {
	location string
	signerOptions
	s3 s3Options
}

const signExample = `  custos sign /srv/evidence --key ~/.ssh/id_ed25519
  custos sign /srv/evidence --agent --signer ~/.ssh/id_ed25519.pub
  custos sign /srv/evidence/INC-42 --key ~/.ssh/id_ed25519   # every collection of the case, and one case statement

Exit codes: 0 signed, 1 not signed (the collection does not verify, or is signed already), 2 usage.`

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
	signer, err := o.load()
	if err != nil {
		return err
	}
	return signCase(ctx, o.location, &o.s3, signer, o.signer, io)
}

// signCollection verifies the collection at loc (hashes, no decryption)
// and signs the manifest bytes it checked: a signature vouches for what is
// stored, so it must match the manifest first.
func signCollection(ctx context.Context, loc string, s3o *s3Options, signer ssh.Signer, principal string, io stdio) error {
	pl, r, err := checked(ctx, loc, s3o, custody.SigOptions{}, io)
	if err != nil {
		return err
	}
	if err := custody.Sign(ctx, pl.objs, r, signer, actor(principal)); err != nil {
		if errors.Is(err, custody.ErrExist) {
			return fmt.Errorf("%s is already signed (%s exists): a signature is never replaced; countersign it instead", loc, custody.SignatureName)
		}
		return err
	}
	fmt.Fprintf(io.err, "custos: signed the manifest of case %s, collection %s, with %s %s\n",
		r.Manifest.Case.ID, r.Manifest.CollectionID, signer.PublicKey().Type(), r.Log[len(r.Log)-1].Record.Actor.Key)
	return nil
}

// checked opens the collection at loc and verifies it (no decryption);
// with problems it prints them and refuses.
func checked(ctx context.Context, loc string, s3o *s3Options, so custody.SigOptions, io stdio) (*place, *custody.Report, error) {
	pl, err := openForRead(ctx, loc, s3o)
	if err != nil {
		return nil, nil, err
	}
	r, err := custody.Verify(ctx, pl.objs, pl.prefix, custody.VerifyOptions{Signatures: so})
	if err != nil {
		return nil, nil, err
	}
	if !r.OK() {
		printProblems(io, r)
		return nil, nil, fmt.Errorf("%s does not verify (%d problems): refusing to sign it", loc, len(r.Problems))
	}
	return pl, r, nil
}

func printProblems(io stdio, r *custody.Report) {
	for _, p := range r.Problems {
		fmt.Fprintf(io.err, "custos: FAIL %s\n", p)
	}
}

// actor names who makes a custody event on this workstation.
func actor(principal string) custody.Actor {
	a := custody.Actor{Principal: principal}
	if u, err := user.Current(); err == nil {
		a.User = u.Username
	}
	a.Host, _ = os.Hostname()
	return a
}
