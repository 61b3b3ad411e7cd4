package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/term"
	"github.com/custos-ir/custos/internal/units"
	"github.com/custos-ir/custos/storage"
	"github.com/custos-ir/custos/storage/streamstore"
)

type ingestOptions struct {
	to       string
	from     string
	source   string
	request  custody.Request
	maxBytes string
	details  map[string]string // more for the stored event's record
	progress func(bytes int64)
	s3       s3Options
}

const ingestExample = `  ssh root@web01 /tmp/custos collect --case INC-42 -R team.pub --to - | custos ingest --case INC-42 --to /srv/evidence
  custos ingest --from web01.stream --to s3://evidence-bucket/cases

Exit codes: 0 stored whole and verified, 1 nothing stored or the stream is not the one asked for,
3 stored as far as it arrived (status incomplete), 2 usage.`

func runIngestCmd(ctx context.Context, args []string, std stdio) error {
	var o ingestOptions
	f := newFlags("ingest", "--to DIR|s3://BUCKET/PREFIX [--from FILE] [--case ID]", ingestExample, std)
	f.StringVar(&o.to, "to", "", "store what arrives under `DIR` or s3://BUCKET/PREFIX")
	f.StringVar(&o.from, "from", "", "read the stream from `FILE` instead of stdin")
	f.StringVar(&o.source, "source", "", "where the stream came from, for the custody log (e.g. the SSH target)")
	f.StringVar(&o.request.Case, "case", "", "refuse a stream that is not a collection of case `ID`")
	f.StringVar(&o.request.Session, "session", "", "refuse a stream that does not echo `NONCE` (given to collect --session)")
	f.StringVar(&o.maxBytes, "max-bytes", "1TiB", "refuse a stream larger than `SIZE`")
	o.s3.flags(f, true)
	if err := parseFlags(f, args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return usageErr("ingest takes no arguments, got %q", f.Arg(0))
	}
	if o.to == "" || o.to == "-" {
		return usageErr("--to DIR or s3://BUCKET/PREFIX is required")
	}
	var in io.Reader = std.in
	if o.from != "" {
		fh, err := os.Open(o.from)
		if err != nil {
			return usageErr("--from: %v", err)
		}
		defer fh.Close()
		in = fh
	} else if fh, ok := std.in.(*os.File); ok && term.IsTerminal(fh) {
		return usageErr("ingest reads a stream on stdin, which is a terminal: pipe custos collect --to - into it, or give --from FILE")
	}
	code, _, _, err := ingest(ctx, in, o, std)
	if err != nil {
		return err
	}
	return code
}

// ingest stores a stream as a new collection of the receiver's choosing,
// writes the custody record of its arrival, and when the stream was cut
// short, a manifest of what did arrive. The first result carries the exit
// code of a finished ingest (nil: complete); then the prefix and the
// stream's bytes; the error is a failure to ingest at all.
func ingest(ctx context.Context, in io.Reader, o ingestOptions, std stdio) (code error, prefix string, n int64, err error) {
	max, err := units.ParseSize(o.maxBytes)
	if err != nil {
		return nil, "", 0, usageErr("--max-bytes: %v", err)
	}
	dst, warn, err := openForWrite(ctx, o.to, &o.s3, map[string]string{"retention": o.s3.retention}, nil)
	if err != nil {
		return nil, "", 0, err
	}
	if warn != "" {
		fmt.Fprintf(std.err, "custos: warning: %s\n", warn)
	}
	recv := custody.NewReceiver(recordOf(dst, nil), o.request, custody.ReceiveLimits{})
	create := func(key string) storage.CreateOptions {
		o := &objects{st: dst, tags: map[string]string{"case": strings.SplitN(key, "/", 2)[0]}}
		return o.options(artifactOf(key))
	}
	res := streamstore.Ingest(ctx, in, dst, streamstore.Options{
		Key:      recv.Key,
		Note:     func(kind string, data []byte) error { return recv.Note(ctx, kind, data) },
		Create:   create,
		Stored:   func(key string, size int64, sum storage.Digest) { recv.Arrived(key, size, custody.Digest(sum)) },
		Progress: o.progress,
		MaxBytes: int64(max),
	})
	if recv.Prefix() == "" {
		return nil, "", res.Bytes, &exitError{code: exitFatal, err: fmt.Errorf("nothing stored: %v", res.Err)}
	}
	fmt.Fprintf(std.err, "custos: received %d objects (%d bytes) into %s\n", len(res.Stored), res.Bytes, placeName(dst, recv.Prefix()))
	for _, k := range res.Failed {
		fmt.Fprintf(std.err, "custos: FAIL %s: did not arrive whole; not stored\n", k)
	}
	details := map[string]string{"source": o.source, "stream_bytes": fmt.Sprint(res.Bytes), "objects": fmt.Sprint(len(res.Stored))}
	for k, v := range o.details {
		details[k] = v
	}
	complete := res.Complete && res.Err == nil
	var cut error
	if !complete {
		cut = res.Err
		fmt.Fprintf(std.err, "custos: INCOMPLETE: %v\n", res.Err)
	}
	r, err := recv.Finish(ctx, cut, actor(""), details)
	if err != nil {
		if r != nil {
			printProblems(std, r)
		}
		return nil, "", res.Bytes, &exitError{code: exitFatal, err: fmt.Errorf("%v; %d objects are stored under %s", err, len(res.Stored), placeName(dst, recv.Prefix()))}
	}
	if details["note"] != "" {
		fmt.Fprintf(std.err, "custos: wrote a manifest of what arrived (status incomplete)\n")
	}
	printProblems(std, r)
	fmt.Fprintf(std.err, "custos: %s: case %s, host %s, collection %s, status %s\n",
		map[bool]string{true: "ingested", false: "ingested INCOMPLETE"}[complete && r.OK()],
		r.Manifest.Case.ID, r.Manifest.Host.Hostname, r.Manifest.CollectionID, r.Manifest.Status)
	switch {
	case !r.OK() && complete:
		// Whole, yet not what it claims to be: not a partial collection.
		return exitWith(exitFatal), recv.Prefix(), res.Bytes, nil
	case !complete || !r.OK() || r.Manifest.Status == "incomplete" || r.Manifest.Status == "partial":
		return exitWith(exitPartial), recv.Prefix(), res.Bytes, nil
	case r.Manifest.Status == "failed":
		return exitWith(exitFatal), recv.Prefix(), res.Bytes, nil
	}
	return nil, recv.Prefix(), res.Bytes, nil
}

// artifactOf names the artifact an object key belongs to, for its tag:
// ".../artifacts/03-sockets.jsonl.zst.age" is "sockets".
func artifactOf(key string) string {
	b := path.Base(key)
	if strings.Contains(key, "/"+strings.TrimSuffix(custody.ArtifactDir, "/")+"/") {
		if _, rest, ok := strings.Cut(b, "-"); ok {
			b = rest
		}
	}
	return strings.SplitN(b, ".", 2)[0]
}
