package main

import (
	"context"
	"fmt"
	"time"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/term"
)

type annotateOptions struct {
	location string
	action   string
	at       string
	signerOptions
	s3 s3Options
}

const annotateExample = `  custos annotate /srv/evidence/INC-42/web01 --action "host isolated from the network" --key ~/.ssh/id_ed25519
  custos annotate /srv/evidence/INC-42 --action "handed to law enforcement (case 2026/1187)" --at 2026-12-02T09:30:00+01:00 --key ~/.ssh/id_ed25519

Exit codes: 0 recorded, 1 not recorded (the collection does not verify), 2 usage.`

func runAnnotateCmd(ctx context.Context, args []string, io stdio) error {
	var o annotateOptions
	f := newFlags("annotate", "LOCATION --action TEXT [--at TIME] (--key FILE | --agent --signer IDENTITY)", annotateExample, io)
	f.StringVar(&o.action, "action", "", "the response action taken, `TEXT` (host isolated, password reset, handed over, ...)")
	f.StringVar(&o.at, "at", "", "when it was taken, RFC 3339 `TIME` (default: now)")
	o.signerOptions.flags(f)
	o.s3.flags(f, true)
	if err := parseFlags(f, args); err != nil {
		return err
	}
	if f.NArg() != 1 {
		return usageErr("annotate takes one LOCATION: a collection, or a case (every collection of it)")
	}
	o.location = f.Arg(0)
	switch {
	case o.action == "":
		return usageErr("--action TEXT is required: what was done")
	case term.Clean(o.action) != o.action || len(o.action) > 1000:
		return usageErr("--action: at most 1000 printable characters on one line")
	}
	at := time.Now().UTC()
	if o.at != "" {
		t, err := time.Parse(time.RFC3339, o.at)
		if err != nil {
			return usageErr("--at %q: want an RFC 3339 time with its zone, like 2026-12-02T09:30:00+01:00", o.at)
		}
		if t.After(time.Now().Add(5 * time.Minute)) {
			return usageErr("--at %s is in the future: record an action once it is taken", t.UTC().Format(time.RFC3339))
		}
		at = t.UTC()
	}
	signer, err := o.load()
	if err != nil {
		return err
	}
	pl, cp, err := openAny(ctx, o.location, &o.s3)
	if err != nil {
		return err
	}
	var reports []*custody.Report
	objs := custody.Objects(nil)
	if cp != nil {
		cr, err := cp.verify(ctx, custody.VerifyOptions{})
		if err != nil {
			return err
		}
		if !cr.OK() {
			printCase(cr, false, io)
			return fmt.Errorf("case %s does not verify: an action is recorded only in a collection that holds", cr.Case)
		}
		reports, objs = cr.Collections, cp.objs
	} else {
		r, err := custody.Verify(ctx, pl.objs, pl.prefix, custody.VerifyOptions{})
		if err != nil {
			return err
		}
		if !r.OK() {
			printProblems(io, r)
			return fmt.Errorf("%s does not verify (%d problems): an action is recorded only in a collection that holds", o.location, len(r.Problems))
		}
		reports, objs = []*custody.Report{r}, pl.objs
	}
	for _, r := range reports {
		if _, err := custody.Annotate(ctx, objs, r, o.action, at, signer, actor(o.signer)); err != nil {
			return fmt.Errorf("%s: %w", r.Prefix, err)
		}
		fmt.Fprintf(io.err, "custos: recorded in %s (case %s, host %s): %s at %s\n", r.Prefix, r.Manifest.Case.ID, r.Manifest.Host.Hostname,
			o.action, at.Format("2006-01-02 15:04:05Z"))
	}
	return nil
}
