package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/iox"
	"github.com/custos-ir/custos/internal/term"
	"github.com/custos-ir/custos/storage"
	"github.com/custos-ir/custos/storage/dirstore"
	"github.com/custos-ir/custos/storage/streamstore"
)

// s3Options are the S3 flags every command that takes a location shares.
// Each falls back to an environment variable (CUSTOS_S3_*), and credentials
// come from the AWS default chain, never from flags.
type s3Options struct {
	region    string
	endpoint  string
	profile   string
	lockMode  string
	retention string
	noLock    bool
}

func (o *s3Options) flags(f *pflag.FlagSet, writing bool) {
	f.StringVar(&o.region, "region", "", "S3 region ($CUSTOS_S3_REGION, $AWS_REGION)")
	f.StringVar(&o.endpoint, "endpoint", "", "S3-compatible endpoint `URL`, path-style ($CUSTOS_S3_ENDPOINT)")
	f.StringVar(&o.profile, "s3-profile", "", "AWS shared-config profile `NAME` ($CUSTOS_S3_PROFILE)")
	if writing {
		f.StringVar(&o.lockMode, "lock-mode", "", "Object Lock mode: compliance (default) or governance ($CUSTOS_S3_LOCK_MODE)")
		f.StringVar(&o.retention, "retention", "90d", "keep each object locked this long: `DURATION` like 90d, 180d, 2160h")
		f.BoolVar(&o.noLock, "no-lock", false, "accept a bucket without Object Lock (recorded in the manifest)")
	}
}

// parseRetention reads 90d or a Go duration.
func parseRetention(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(d, "%d", &n); err == nil && n > 0 && fmt.Sprint(n) == d {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	} else if v, err := time.ParseDuration(s); err == nil && v > 0 {
		return v, nil
	}
	return 0, fmt.Errorf("--retention %q: want days like 90d, or a duration like 2160h", s)
}

func isS3(loc string) bool { return strings.HasPrefix(loc, "s3://") }

// place is a LOCATION opened: the store, custody's view of it, and the
// prefix of the one collection it names.
type place struct {
	st     storage.Store
	objs   custody.Objects
	prefix string
}

// name is the collection's place for people.
func (p *place) name() string { return placeName(p.st, p.prefix) }

// openForRead opens a LOCATION: what was given to --to (holding one
// collection) or the path of one collection, a directory or s3:// URL.
func openForRead(ctx context.Context, loc string, s3o *s3Options) (*place, error) {
	st, err := openStore(ctx, loc, s3o)
	if err != nil {
		return nil, err
	}
	objs := recordOf(st, nil)
	prefix, err := custody.FindCollection(ctx, objs, "")
	if err != nil {
		return nil, err
	}
	return &place{st: st, objs: objs, prefix: prefix}, nil
}

// openStore opens the store at a LOCATION for reading.
func openStore(ctx context.Context, loc string, s3o *s3Options) (storage.Store, error) {
	if loc == "" {
		return nil, usageErr("a LOCATION is required: the directory or s3:// URL given to --to, or one collection in it")
	}
	if isS3(loc) {
		if s3o == nil {
			s3o = &s3Options{}
		}
		st, _, err := openS3(ctx, loc, s3o, nil, false)
		return st, err
	}
	ds, err := dirstore.Open(loc)
	if err != nil {
		return nil, fmt.Errorf("location %s: %v", loc, unwrapPath(err))
	}
	return ds, nil
}

// openForWrite prepares the --to destination before anything is read, so
// a bad destination costs the responder nothing. warn carries what the
// responder must know (no Object Lock).
func openForWrite(ctx context.Context, to string, s3o *s3Options, tags map[string]string, stdout io.Writer) (st storage.Store, warn string, err error) {
	if to == "-" {
		if f, ok := stdout.(*os.File); ok && term.IsTerminal(f) {
			return nil, "", usageErr("--to - writes a binary stream to stdout, which is a terminal: pipe it (ssh HOST custos collect ... --to - | custos ingest --to DIR), or use custos remote")
		}
		if f, ok := stdout.(*os.File); ok {
			iox.GrowPipe(f) // to ssh, on the host
		}
		sw, err := streamstore.NewWriter(stdout)
		return sw, "", err
	}
	if to == "" {
		return nil, "", usageErr("--to is required: a directory or s3://bucket/prefix that will hold the collection")
	}
	if isS3(to) {
		return openS3(ctx, to, s3o, tags, true)
	}
	if _, err := os.Stat(filepath.Join(to, custody.ManifestName)); err == nil {
		return nil, "", fmt.Errorf("%s already holds a collection (%s): give its parent or a new directory; a collection is never added to", to, custody.ManifestName)
	}
	ds, err := dirstore.New(to)
	if err != nil {
		return nil, "", fmt.Errorf("output directory %s: %v: choose a writable directory", to, unwrapPath(err))
	}
	return ds, "", nil
}

// unwrapPath keeps the reason of a path error: the message names the
// directory already.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// placeName names a collection's place for the responder: a directory
// path in the host's own separators, or the store's URL and the prefix.
func placeName(st storage.Store, prefix string) string {
	prefix = strings.TrimSuffix(prefix, "/")
	if d, ok := st.(*dirstore.Store); ok {
		return filepath.Join(d.Root(), filepath.FromSlash(prefix))
	}
	if prefix == "" {
		return st.String()
	}
	return st.String() + "/" + prefix
}
