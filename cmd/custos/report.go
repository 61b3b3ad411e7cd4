package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/custos-ir/custos/custody"
)

type reportOptions struct {
	location       string
	format         string
	output         string
	allowedSigners string
	s3             s3Options
}

const reportExample = `  custos report /srv/evidence --format html -o INC-2026-042-custody.html --allowed-signers team_signers
  custos report /srv/evidence/INC-2026-042     # the case view: every host, its status, one timeline

Exit codes: 0 written and the collection verifies, 1 written but it does not (the problems are in the report), 2 usage.`

func runReportCmd(ctx context.Context, args []string, io stdio) error {
	var o reportOptions
	f := newFlags("report", "LOCATION [--format md|html] [-o FILE]", reportExample, io)
	f.StringVar(&o.format, "format", "md", "md or html")
	f.StringVarP(&o.output, "output", "o", "", "write to `FILE` instead of stdout")
	f.StringVar(&o.allowedSigners, "allowed-signers", "", "name signers from `FILE` (OpenSSH allowed_signers)")
	o.s3.flags(f, false)
	if err := parseFlags(f, args); err != nil {
		return err
	}
	if f.NArg() != 1 {
		return usageErr("report takes one LOCATION: the directory given to --to, or one collection in it")
	}
	if o.format != "md" && o.format != "html" {
		return usageErr("--format %q: want md or html", o.format)
	}
	o.location = f.Arg(0)
	return runReport(ctx, o, io)
}

func runReport(ctx context.Context, o reportOptions, stdio stdio) error {
	var so custody.SigOptions
	if o.allowedSigners != "" {
		var err error
		if so.AllowedSigners, err = loadAllowedSigners(o.allowedSigners); err != nil {
			return err
		}
	}
	pl, cp, err := openAny(ctx, o.location, &o.s3)
	if err != nil {
		return err
	}
	if cp != nil {
		return reportCase(ctx, cp, o, so, stdio)
	}
	r, err := custody.Verify(ctx, pl.objs, pl.prefix, custody.VerifyOptions{Signatures: so})
	if err != nil {
		return err
	}
	if r.Manifest == nil {
		return fmt.Errorf("%s: the manifest cannot be read: %v", o.location, r.Problems)
	}
	return writeReport(custody.NewForm(r, pl.name(), time.Now().UTC()), o, stdio, len(r.Problems))
}

// form is a report in its two renderings.
type form interface {
	HTML(io.Writer) error
	Markdown(io.Writer) error
}

// writeReport writes f as --format asks, to -o (never over a file that
// is there) or stdout; a report that lists problems exits 1.
func writeReport(f form, o reportOptions, std stdio, problems int) error {
	var w io.Writer = std.out
	if o.output != "" {
		fh, err := os.OpenFile(o.output, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return fmt.Errorf("report file: %w", err)
		}
		defer fh.Close()
		w = fh
	}
	var err error
	if o.format == "html" {
		err = f.HTML(w)
	} else {
		err = f.Markdown(w)
	}
	if err != nil {
		return err
	}
	if problems > 0 {
		fmt.Fprintf(std.err, "custos: the report lists %d verification problems\n", problems)
		return exitWith(exitFatal)
	}
	return nil
}
