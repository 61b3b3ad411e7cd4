//go:build !custos_host

package main

import (
	"context"

	"github.com/custos-ir/custos/storage"
	"github.com/custos-ir/custos/storage/s3store"
)

// buildName is what this build of custos calls itself (the manifest's
// tool, custos version): the full build.
const buildName = "custos"

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
