//go:build custos_host

package main

import (
	"context"
	"fmt"

	"github.com/custos-ir/custos/storage"
)

// buildName: see build_full.go.
const buildName = "custos-host"

func unknownCommand(name string) string {
	return fmt.Sprintf("%q: this is custos-host, the build custos remote copies to hosts, which only collects (collect, profiles, version): use the full custos build", name)
}

// openS3 in the host build: custos-host is the collector custos remote
// copies to a host, where it only streams home (--to -), so it leaves the
// S3 client and the responder's commands out: 10 MB to copy and to write
// on the breached host's disk instead of 22.
func openS3(ctx context.Context, loc string, o *s3Options, tags map[string]string, preflight bool) (storage.Store, string, error) {
	return nil, "", usageErr("%s: this is custos-host, the build custos remote copies to hosts, which streams home and has no S3 client: use the full custos build for S3", loc)
}
