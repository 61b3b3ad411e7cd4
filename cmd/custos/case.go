package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/custody/sshsig"
	"github.com/custos-ir/custos/internal/term"
	"github.com/custos-ir/custos/storage"
)

// casePlace is a LOCATION that holds a whole case: every collection of it
// (all hosts, all runs), its not-collected records and case statements.
type casePlace struct {
	st   storage.Store
	objs custody.Objects
	idx  *custody.CaseIndex
}

// openAny opens a LOCATION as one collection, or as a case when it holds
// more than one collection of a case, or anything of a case beside its
// collection (a host not collected, a case statement). Exactly one of the
// results is set.
func openAny(ctx context.Context, loc string, s3o *s3Options) (*place, *casePlace, error) {
	st, err := openStore(ctx, loc, s3o)
	if err != nil {
		return nil, nil, err
	}
	objs := recordOf(st, nil)
	prefix, ferr := custody.FindCollection(ctx, objs, "")
	if ferr == nil && prefix == "" {
		return &place{st: st, objs: objs}, nil, nil // the location is a collection
	}
	if ferr != nil && !errors.Is(ferr, custody.ErrManyCollections) && !errors.Is(ferr, custody.ErrNoCollection) {
		return nil, nil, ferr
	}
	idx, err := custody.FindCase(ctx, objs, "")
	switch {
	case err != nil && ferr == nil:
		return &place{st: st, objs: objs, prefix: prefix}, nil, nil
	case errors.Is(err, custody.ErrManyCases):
		return nil, nil, fmt.Errorf("%v (LOCATION/CASE)", err)
	case err != nil:
		return nil, nil, err
	case ferr == nil && len(idx.Collections) == 1 && len(idx.NotCollected) == 0 && len(idx.Statements) == 0:
		return &place{st: st, objs: objs, prefix: prefix}, nil, nil
	}
	return nil, &casePlace{st: st, objs: objs, idx: idx}, nil
}

func (c *casePlace) name() string { return placeName(c.st, c.idx.Prefix) }

func (c *casePlace) verify(ctx context.Context, o custody.VerifyOptions) (*custody.CaseReport, error) {
	return custody.VerifyCase(ctx, c.objs, c.idx, o)
}

// printCase prints one verdict per collection, each host not collected,
// and the case's own verdict; it returns the exit code.
func printCase(cr *custody.CaseReport, decrypting bool, io stdio) error {
	for _, r := range cr.Collections {
		rel := strings.TrimSuffix(strings.TrimPrefix(r.Prefix, cr.Prefix), "/")
		host := "?"
		status := "unreadable"
		if r.Manifest != nil {
			host, status = r.Manifest.Host.Hostname, r.Manifest.Status
		}
		for _, p := range r.Problems {
			fmt.Fprintf(io.err, "custos: FAIL %s: %s\n", rel, p)
		}
		what := fmt.Sprintf("%d objects, %d bytes", r.Objects, r.Bytes)
		if decrypting {
			what += fmt.Sprintf(", %d artifacts decrypted, %d files", r.Decrypted, r.Files)
		}
		verdict := "verify OK"
		if !r.OK() {
			verdict = fmt.Sprintf("verify FAILED (%d problems)", len(r.Problems))
		}
		fmt.Fprintf(io.err, "custos: %s: %s (host %s, status %s; %s)\n", verdict, rel, host, status, what)
	}
	for _, g := range cr.NotCollected {
		fmt.Fprintf(io.err, "custos: NOT COLLECTED: %s (%s) at %s by %s: %s\n", strings.TrimSuffix(g.Key, "/"+custody.NotCollectedName),
			g.Record.Target, g.Record.Time.UTC().Format("2006-01-02 15:04:05Z"), g.Record.Operator.User, g.Record.Reason)
	}
	for _, s := range cr.Statements {
		who := "not checked: no --allowed-signers"
		if len(s.Signer.Principals) > 0 {
			who = strings.Join(s.Signer.Principals, ", ")
		}
		fmt.Fprintf(io.err, "custos: case statement %s by %s: %s (%s %s) at %s\n", s.Key, s.Statement.Role, who, s.Signer.KeyType, s.Signer.Fingerprint, s.Statement.Time.Format("2006-01-02 15:04:05Z"))
	}
	for _, p := range cr.Problems {
		fmt.Fprintf(io.err, "custos: FAIL %s\n", p)
	}
	bad := 0
	incomplete := 0
	for _, r := range cr.Collections {
		if !r.OK() {
			bad++
		}
		if r.Manifest != nil && r.Manifest.Status == "incomplete" {
			incomplete++
		}
	}
	line := fmt.Sprintf("case %s: %d collections, %d verify, %d do not, %d incomplete, %d hosts not collected, %d case problems",
		cr.Case, len(cr.Collections), len(cr.Collections)-bad, bad, incomplete, len(cr.NotCollected), len(cr.Problems))
	switch {
	case !cr.OK():
		fmt.Fprintf(io.err, "custos: verify FAILED: %s\n", line)
		return exitWith(exitFatal)
	case !cr.Complete():
		fmt.Fprintf(io.err, "custos: verify OK, case INCOMPLETE: %s\n", line)
		return exitWith(exitPartial)
	}
	fmt.Fprintf(io.err, "custos: verify OK: %s\n", line)
	return nil
}

// signCase signs every unsigned collection of the case at loc and one
// case statement over all of them.
func signCase(ctx context.Context, loc string, s3o *s3Options, signer ssh.Signer, principal string, io stdio) error {
	_, cp, err := openAny(ctx, loc, s3o)
	if err != nil {
		return err
	}
	if cp == nil {
		return signCollection(ctx, loc, s3o, signer, principal, io)
	}
	cr, err := cp.verify(ctx, custody.VerifyOptions{})
	if err != nil {
		return err
	}
	if !cr.OK() {
		printCase(cr, false, io)
		return fmt.Errorf("case %s at %s does not verify: refusing to sign it", cr.Case, loc)
	}
	n, err := custody.SignCase(ctx, cp.objs, cr, signer, actor(principal))
	if err != nil {
		return err
	}
	fmt.Fprintf(io.err, "custos: signed case %s: %d collections signed now, %d already; the case statement lists %d collections and %d hosts not collected, with %s %s\n",
		cr.Case, n, len(cr.Collections)-n, len(cr.Collections), len(cr.NotCollected), signer.PublicKey().Type(), sshsig.Fingerprint(signer.PublicKey()))
	return nil
}

// countersignCase shows the case summary once, asks once, and
// countersigns every collection and the collector's case statement.
func countersignCase(ctx context.Context, cp *casePlace, o countersignOptions, signer ssh.Signer, so custody.SigOptions, io stdio) error {
	cr, err := cp.verify(ctx, custody.VerifyOptions{Signatures: so})
	if err != nil {
		return err
	}
	if !cr.OK() {
		printCase(cr, false, io)
		return fmt.Errorf("case %s does not verify, or is not signed whole: refusing to countersign", cr.Case)
	}
	fmt.Fprintf(io.err, "%s\n", custody.CaseSummary(cr))
	fp := sshsig.Fingerprint(signer.PublicKey())
	if !o.yes {
		ok, err := term.Confirm(fmt.Sprintf("Countersign the whole case as %s? [y/N] ", fp))
		if errors.Is(err, term.ErrNoTerminal) {
			return usageErr("no terminal to confirm on: read the summary above and pass --yes")
		}
		if err != nil || !ok {
			return fmt.Errorf("not countersigned")
		}
	}
	n, err := custody.CountersignCase(ctx, cp.objs, cr, signer, actor(o.signer), o.note)
	if err != nil {
		return err
	}
	fmt.Fprintf(io.err, "custos: countersigned case %s: %d collections and the case statement, with %s %s\n", cr.Case, n, signer.PublicKey().Type(), fp)
	return nil
}

// reportCase writes the case form.
func reportCase(ctx context.Context, cp *casePlace, o reportOptions, so custody.SigOptions, std stdio) error {
	cr, err := cp.verify(ctx, custody.VerifyOptions{Signatures: so})
	if err != nil {
		return err
	}
	form := custody.NewCaseForm(cr, cp.name(), time.Now().UTC())
	return writeReport(form, o, std, len(form.Problems))
}
