package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/custos-ir/custos/custody"
)

type verifyOptions struct {
	location       string
	identities     []string
	allowedSigners string
	require        int
	json           bool
	s3             s3Options
}

const verifyExample = `  custos verify /mnt/evidence                      # hashes, sizes, nothing missing or added
  custos verify /mnt/evidence --identity team.key  # and decrypt every artifact to check its plaintext

  custos verify /mnt/evidence/INC-42               # a whole case: every host, every run

Exit codes: 0 the collection (or case) holds, 1 it does not (every problem is named), 3 a case holds
but is incomplete (a host not collected, a stream cut short), 2 usage.`

func runVerifyCmd(ctx context.Context, args []string, io stdio) error {
	var o verifyOptions
	f := newFlags("verify", "LOCATION [--identity FILE]", verifyExample, io)
	f.StringArrayVarP(&o.identities, "identity", "i", nil, "decrypt with the age identity or SSH private key in `FILE` and check every plaintext; repeatable")
	f.StringVar(&o.allowedSigners, "allowed-signers", "", "check signers against `FILE` (OpenSSH allowed_signers format)")
	f.IntVar(&o.require, "require-signatures", 0, "fail unless `N` signatures (1: collector, 2: and countersigner) are present and allowed")
	f.BoolVar(&o.json, "json", false, "print the report as JSON on stdout")
	o.s3.flags(f, false)
	if err := parseFlags(f, args); err != nil {
		return err
	}
	if f.NArg() != 1 {
		return usageErr("verify takes one LOCATION: the directory given to --to, or one collection in it")
	}
	o.location = f.Arg(0)
	if o.require < 0 || o.require > 2 {
		return usageErr("--require-signatures %d: want 0, 1 or 2", o.require)
	}
	if o.require > 0 && o.allowedSigners == "" {
		return usageErr("--require-signatures needs --allowed-signers FILE: a signature proves nothing without knowing whose key is trusted")
	}
	return runVerify(ctx, o, io)
}

func runVerify(ctx context.Context, o verifyOptions, io stdio) error {
	ids, err := loadIdentities(o.identities)
	if err != nil {
		return err
	}
	so := custody.SigOptions{Require: o.require}
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
		cr, err := cp.verify(ctx, custody.VerifyOptions{Identities: ids, Signatures: so})
		if err != nil {
			return err
		}
		if o.json {
			enc := json.NewEncoder(io.out)
			enc.SetIndent("", "  ")
			enc.Encode(cr)
		}
		return printCase(cr, len(ids) > 0, io)
	}
	r, err := custody.Verify(ctx, pl.objs, pl.prefix, custody.VerifyOptions{Identities: ids, Signatures: so})
	if err != nil {
		return err
	}
	for _, s := range r.Signers {
		who := "not checked: no --allowed-signers"
		if len(s.Principals) > 0 {
			who = strings.Join(s.Principals, ", ")
		}
		when := ""
		if !s.Time.IsZero() {
			when = " at " + s.Time.UTC().Format("2006-01-02 15:04:05Z")
		}
		fmt.Fprintf(io.err, "custos: signed by %s: %s (%s %s)%s\n", s.Role, who, s.KeyType, s.Fingerprint, when)
	}
	if o.json {
		if r.Problems == nil {
			r.Problems = []custody.Problem{}
		}
		if r.Signers == nil {
			r.Signers = []custody.Signer{}
		}
		enc := json.NewEncoder(io.out)
		enc.SetIndent("", "  ")
		enc.Encode(r)
	}
	printProblems(io, r)
	what := fmt.Sprintf("%d objects, %d bytes", r.Objects, r.Bytes)
	if len(ids) > 0 {
		what += fmt.Sprintf(", %d artifacts decrypted, %d files", r.Decrypted, r.Files)
	}
	id := pl.prefix
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
