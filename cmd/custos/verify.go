package main

import (
	"context"
	"encoding/json"
	"fmt"

	"filippo.io/age"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/agekeys"
)

type verifyOptions struct {
	location       string
	identities     []string
	allowedSigners string
	require        int
	json           bool
}

const verifyExample = `  custos verify /mnt/evidence                      # hashes, sizes, nothing missing or added
  custos verify /mnt/evidence --identity team.key  # and decrypt every artifact to check its plaintext`

func runVerifyCmd(ctx context.Context, args []string, io stdio) error {
	var o verifyOptions
	f := newFlags("verify", "LOCATION [--identity FILE]", verifyExample, io)
	f.StringArrayVarP(&o.identities, "identity", "i", nil, "decrypt with the age identity or SSH private key in `FILE` and check every plaintext; repeatable")
	f.BoolVar(&o.json, "json", false, "print the report as JSON on stdout")
	if err := parseFlags(f, args); err != nil {
		return err
	}
	if f.NArg() != 1 {
		return usageErr("verify takes one LOCATION: the directory given to --to, or one collection in it")
	}
	o.location = f.Arg(0)
	return runVerify(ctx, o, io)
}

func runVerify(ctx context.Context, o verifyOptions, io stdio) error {
	var ids []age.Identity
	for _, p := range o.identities {
		got, err := agekeys.LoadIdentities(p)
		if err != nil {
			return usageErr("--identity: %v", err)
		}
		ids = append(ids, got...)
	}
	st, prefix, err := openForRead(ctx, o.location)
	if err != nil {
		return err
	}
	r, err := custody.Verify(ctx, st, prefix, custody.VerifyOptions{Identities: ids})
	if err != nil {
		return err
	}
	if o.json {
		out := struct {
			*custody.Report
		}{r}
		enc := json.NewEncoder(io.out)
		enc.SetIndent("", "  ")
		if r.Problems == nil {
			r.Problems = []custody.Problem{}
		}
		enc.Encode(out)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(io.err, "custos: FAIL %s\n", p)
	}
	what := fmt.Sprintf("%d objects, %d bytes", r.Objects, r.Bytes)
	if len(ids) > 0 {
		what += fmt.Sprintf(", %d artifacts decrypted, %d files", r.Decrypted, r.Files)
	}
	id := prefix
	if r.Manifest != nil {
		id = fmt.Sprintf("case %s, host %s, collection %s", r.Manifest.Case.ID, r.Manifest.Host.Hostname, r.Manifest.CollectionID)
	}
	if !r.OK() {
		fmt.Fprintf(io.err, "custos: verify FAILED: %d problems in %s (%s)\n", len(r.Problems), id, what)
		return exitWith(exitFatal)
	}
	fmt.Fprintf(io.err, "custos: verify OK: %s (%s; manifest sha256 %s)\n", id, what, r.ManifestSHA256)
	return nil
}
