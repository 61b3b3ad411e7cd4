//go:build !custos_host

package main

import (
	"context"
	"fmt"
	"maps"

	"github.com/custos-ir/custos/storage"
	"github.com/custos-ir/custos/storage/s3store"
)

// buildName is what this build of custos calls itself (the manifest's
// tool, custos version): the full build.
const buildName = "custos"

// The responder's commands: the full build's. custos-host, the collector
// custos remote copies to hosts, leaves them out (build_host.go).
func init() {
	maps.Copy(commands, map[string]command{
		"verify":      {"check a stored collection against its manifest", runVerifyCmd},
		"keygen":      {"make an age identity for the response team", runKeygenCmd},
		"sign":        {"sign a collection's manifest (collecting responder)", runSignCmd},
		"countersign": {"review and countersign a signed collection (second responder)", runCountersignCmd},
		"report":      {"print the incident report and chain-of-custody form", runReportCmd},
		"annotate":    {"record a response action, signed, in the custody log", runAnnotateCmd},
		"fetch":       {"copy a collection home, verify it, optionally decrypt it", runFetchCmd},
		"ingest":      {"store a collection streamed by collect --to - (over SSH)", runIngestCmd},
		"remote":      {"collect from a host over SSH, streaming the evidence home", runRemoteCmd},
	})
}

func unknownCommand(name string) string {
	return fmt.Sprintf("unknown command %q: run 'custos --help' for the list", name)
}

// openS3 opens the S3 store at an s3:// LOCATION with the shared flags;
// with preflight (a destination about to be written) it checks the bucket
// first and returns what the responder must be told (no Object Lock).
func openS3(ctx context.Context, loc string, o *s3Options, tags map[string]string, preflight bool) (storage.Store, string, error) {
	c, err := o.config(loc)
	if err != nil {
		return nil, "", err
	}
	c.Tags = tags
	s, err := s3store.New(ctx, c)
	if err != nil || !preflight {
		return s, "", err
	}
	warn, err := s.Preflight(ctx)
	return s, warn, err
}

func (o *s3Options) config(url string) (s3store.Config, error) {
	bucket, prefix, err := s3store.ParseURL(url)
	if err != nil {
		return s3store.Config{}, usageErr("%v", err)
	}
	c := s3store.Config{Bucket: bucket, Prefix: prefix, Region: o.region, Endpoint: o.endpoint, Profile: o.profile,
		LockMode: o.lockMode, NoLock: o.noLock}
	if o.retention != "" {
		if c.Retention, err = parseRetention(o.retention); err != nil {
			return c, usageErr("%v", err)
		}
	}
	s3store.ConfigFromEnv(&c)
	return c, nil
}
