package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/ui"
	"github.com/custos-ir/custos/storage"
	"github.com/custos-ir/custos/storage/streamstore"
)

type ingestOptions struct {
	to      string
	from    string
	source  string
	details map[string]string // more for the stored event's record
	s3      s3Options
}

const ingestExample = `  ssh root@web01 /tmp/custos collect --case INC-42 -R team.pub --to - | custos ingest --to /srv/evidence
  custos ingest --from web01.stream --to s3://evidence-bucket/cases`

func runIngestCmd(ctx context.Context, args []string, std stdio) error {
	var o ingestOptions
	f := newFlags("ingest", "--to DIR|s3://BUCKET/PREFIX [--from FILE]", ingestExample, std)
	f.StringVar(&o.to, "to", "", "store what arrives under `DIR` or s3://BUCKET/PREFIX")
	f.StringVar(&o.from, "from", "", "read the stream from `FILE` instead of stdin")
	f.StringVar(&o.source, "source", "", "where the stream came from, for the custody log (e.g. the SSH target)")
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
	} else if fh, ok := std.in.(*os.File); ok && ui.IsTerminal(fh) {
		return usageErr("ingest reads a stream on stdin, which is a terminal: pipe custos collect --to - into it, or give --from FILE")
	}
	code, _, err := ingest(ctx, in, o, std)
	if err != nil {
		return err
	}
	return code
}

// ingest stores a stream, writes the custody record of its arrival, and
// when the stream was cut short, a manifest of what did arrive. The first
// result carries the exit code of a finished ingest (nil: complete); the
// second is a failure to ingest at all.
func ingest(ctx context.Context, in io.Reader, o ingestOptions, std stdio) (code error, prefix string, err error) {
	dst, warn, err := openForWrite(ctx, o.to, &o.s3, map[string]string{"retention": o.s3.retention}, nil)
	if err != nil {
		return nil, "", err
	}
	if warn != "" {
		fmt.Fprintf(std.err, "custos: warning: %s\n", warn)
	}
	opts := func(key string) storage.CreateOptions {
		o := objectOptions(dst, artifactOf(key))
		if o.Tags != nil {
			o.Tags["case"] = strings.SplitN(key, "/", 2)[0]
		}
		return o
	}
	res := streamstore.Ingest(ctx, in, dst, opts)
	if res.Prefix == "" {
		return nil, "", &exitError{code: exitFatal, err: fmt.Errorf("nothing arrived: %v", res.Err)}
	}
	stored := map[string]bool{}
	for _, s := range res.Stored {
		stored[strings.TrimPrefix(s.Key, res.Prefix)] = true
	}
	fmt.Fprintf(std.err, "custos: received %d objects (%d bytes) into %s/%s\n", len(res.Stored), res.Bytes, dst, strings.TrimSuffix(res.Prefix, "/"))
	for _, k := range res.Failed {
		fmt.Fprintf(std.err, "custos: FAIL %s: did not arrive whole; not stored\n", k)
	}
	details := map[string]string{"source": o.source, "stream_bytes": fmt.Sprint(res.Bytes), "objects": fmt.Sprint(len(res.Stored))}
	for k, v := range o.details {
		details[k] = v
	}
	complete := res.Complete && res.Err == nil
	if !complete {
		details["error"] = res.Err.Error()
		fmt.Fprintf(std.err, "custos: INCOMPLETE: %v\n", res.Err)
	}
	if !stored[custody.ManifestName] {
		// The host never finished sending: describe what arrived from the
		// stream's notes, so it can be verified and signed like the rest.
		m, err := reconstruct(res, stored, dst)
		if err != nil {
			return nil, "", &exitError{code: exitFatal, err: fmt.Errorf("the stream ended before its manifest and cannot be described: %v; %d objects are stored under %s/%s", err, len(res.Stored), dst, res.Prefix)}
		}
		if err := collect.Finish(ctx, dst, m, func(name string) storage.CreateOptions { return opts(res.Prefix + name) }); err != nil {
			return nil, "", fmt.Errorf("write the manifest of what arrived: %w", err)
		}
		details["note"] = "stream incomplete: manifest written by ingest from the stream's notes"
		fmt.Fprintf(std.err, "custos: wrote a manifest of what arrived (status incomplete)\n")
	}
	r, err := custody.Verify(ctx, dst, res.Prefix, custody.VerifyOptions{})
	if err != nil {
		return nil, "", err
	}
	if r.Manifest == nil {
		return nil, "", &exitError{code: exitFatal, err: fmt.Errorf("the manifest that arrived cannot be read: %v", r.Problems)}
	}
	prev, prevBytes := custody.Last(r.Log)
	rec := custody.NextRecord(prev, prevBytes, custody.EventStored, r.Manifest, r.ManifestSHA256, actor("", ""), details)
	if err := custody.AppendLog(ctx, dst, res.Prefix, rec, nil, opts(res.Prefix+"log")); err != nil {
		return nil, "", fmt.Errorf("stored, but the custody log record was not: %w", err)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(std.err, "custos: FAIL %s\n", p)
	}
	fmt.Fprintf(std.err, "custos: %s: case %s, host %s, collection %s, status %s\n",
		map[bool]string{true: "ingested", false: "ingested INCOMPLETE"}[complete && r.OK()],
		r.Manifest.Case.ID, r.Manifest.Host.Hostname, r.Manifest.CollectionID, r.Manifest.Status)
	switch {
	case !complete || !r.OK() || r.Manifest.Status == "incomplete" || r.Manifest.Status == "partial":
		return exitWith(exitPartial), res.Prefix, nil
	case r.Manifest.Status == "failed":
		return exitWith(exitFatal), res.Prefix, nil
	}
	return nil, res.Prefix, nil
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

// reconstruct builds the manifest of an interrupted stream from its notes:
// the header the host sent first and the record of each artifact it
// finished. Artifacts whose object did not arrive whole are listed failed.
func reconstruct(res *streamstore.Result, stored map[string]bool, dst storage.Store) (*custody.Manifest, error) {
	var m *custody.Manifest
	for _, n := range res.Notes {
		switch n.Kind {
		case collect.NoteHeader:
			m = new(custody.Manifest)
			if err := json.Unmarshal(n.Data, m); err != nil {
				return nil, fmt.Errorf("header note: %v", err)
			}
		case collect.NoteArtifact:
			if m == nil {
				return nil, fmt.Errorf("artifact note before the header")
			}
			var a custody.Artifact
			if err := json.Unmarshal(n.Data, &a); err != nil {
				return nil, fmt.Errorf("artifact note: %v", err)
			}
			if a.IsStored() && !stored[a.Key] {
				a.Errors = append(a.Errors, "the object did not arrive whole over the stream: not stored")
				a.Status, a.Key, a.Stored = custody.StatusFailed, "", nil
				a.Plain, a.Cipher = custody.Digested{}, custody.Digested{}
			}
			m.Artifacts = append(m.Artifacts, a)
		}
	}
	if m == nil {
		return nil, fmt.Errorf("no header note arrived")
	}
	if m.StartedSHA256 != nil && !stored[custody.StartedName] {
		m.StartedSHA256 = nil
	}
	m.Storage.Location = dst.String()
	m.Finished = custody.NewTime(time.Now())
	m.Status = "incomplete"
	m.Errors = append(m.Errors, "the stream from the host ended before the collection finished: "+res.Err.Error()+"; later artifacts, if any, are unknown")
	return m, nil
}
