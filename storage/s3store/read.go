package s3store

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/custos-ir/custos/storage"
)

// Stat implements storage.Store for the current version of key: size,
// version, ETag, the SHA-256 where the server reports a whole-object one
// (single-part uploads; a multipart object's is a checksum of checksums),
// and the lock, from HeadObject or else GetObjectRetention. Tags cost
// another request: see Tags.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	return s.StatVersion(ctx, key, "")
}

// StatVersion implements storage.Versioned: Stat of one version ("" the
// current one).
func (s *Store) StatVersion(ctx context.Context, key, version string) (storage.ObjectInfo, error) {
	in := &s3.HeadObjectInput{Bucket: aws.String(s.c.Bucket), Key: aws.String(s.key(key)), ChecksumMode: types.ChecksumModeEnabled}
	if version != "" {
		in.VersionId = aws.String(version)
	}
	h, err := s.api.HeadObject(ctx, in)
	if err != nil {
		if notFound(err) {
			return storage.ObjectInfo{}, fmt.Errorf("%s: %w", s.where(key), storage.ErrNotExist)
		}
		return storage.ObjectInfo{}, s.explain(err, key)
	}
	info := storage.ObjectInfo{Key: key, Size: aws.ToInt64(h.ContentLength), VersionID: aws.ToString(h.VersionId),
		ETag: aws.ToString(h.ETag), Confirmed: true, Modified: aws.ToTime(h.LastModified)}
	if c := aws.ToString(h.ChecksumSHA256); c != "" && !strings.Contains(c, "-") {
		if b, err := base64.StdEncoding.DecodeString(c); err == nil && len(b) == len(info.SHA256) {
			copy(info.SHA256[:], b)
		}
	}
	switch {
	case h.ObjectLockMode != "" && h.ObjectLockRetainUntilDate != nil:
		info.Retention = &storage.Retention{Mode: string(h.ObjectLockMode), Until: h.ObjectLockRetainUntilDate.UTC()}
	case !s.c.NoLock:
		// HEAD shows the lock only to holders of s3:GetObjectRetention;
		// ask directly, and report none where that is refused too.
		info.Retention, _ = s.getRetention(ctx, s.key(key), info.VersionID)
	}
	return info, nil
}

// getRetention is an object version's lock, or nil without one.
func (s *Store) getRetention(ctx context.Context, full, version string) (*storage.Retention, error) {
	in := &s3.GetObjectRetentionInput{Bucket: aws.String(s.c.Bucket), Key: aws.String(full)}
	if version != "" {
		in.VersionId = aws.String(version)
	}
	out, err := s.api.GetObjectRetention(ctx, in)
	if err != nil {
		return nil, err
	}
	if out.Retention == nil || out.Retention.Mode == "" || out.Retention.RetainUntilDate == nil {
		return nil, nil
	}
	return &storage.Retention{Mode: string(out.Retention.Mode), Until: out.Retention.RetainUntilDate.UTC()}, nil
}

// Tags returns the current version's tags (GetObjectTagging).
func (s *Store) Tags(ctx context.Context, key string) (map[string]string, error) {
	out, err := s.api.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(s.c.Bucket), Key: aws.String(s.key(key))})
	if err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("%s: %w", s.where(key), storage.ErrNotExist)
		}
		return nil, s.explain(err, key)
	}
	tags := make(map[string]string, len(out.TagSet))
	for _, t := range out.TagSet {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags, nil
}

// Open implements storage.Store: the current version's bytes.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	return s.OpenVersion(ctx, key, "")
}

// OpenVersion implements storage.Versioned: one version's bytes ("" the
// current one).
func (s *Store) OpenVersion(ctx context.Context, key, version string) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(s.c.Bucket), Key: aws.String(s.key(key))}
	if version != "" {
		in.VersionId = aws.String(version)
	}
	out, err := s.api.GetObject(ctx, in)
	if err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("%s: %w", s.where(key), storage.ErrNotExist)
		}
		return nil, s.explain(err, key)
	}
	return out.Body, nil
}

// List implements storage.Store, over current versions (S3 lists keys in
// UTF-8 binary order, which is Go's string order).
func (s *Store) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	p := s3.NewListObjectsV2Paginator(s.api, &s3.ListObjectsV2Input{Bucket: aws.String(s.c.Bucket), Prefix: aws.String(s.key(prefix))})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return s.explain(err, prefix)
		}
		for _, o := range page.Contents {
			key, ok := s.rel(aws.ToString(o.Key))
			if !ok {
				continue
			}
			info := storage.ObjectInfo{Key: key, Size: aws.ToInt64(o.Size), ETag: aws.ToString(o.ETag),
				Modified: aws.ToTime(o.LastModified), Confirmed: true}
			if err := fn(info); err != nil {
				return err
			}
		}
	}
	return nil
}

// ListVersions implements storage.Versioned (ListObjectVersions): every
// version and delete marker under prefix, in key order, each key's
// versions oldest first. S3 lists a key's versions newest first, possibly
// across pages: a key's run is kept until the next key begins, then
// ordered by time, ties in reverse listing order.
func (s *Store) ListVersions(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	type listed struct {
		storage.ObjectInfo
		n int // position in S3's newest-first listing
	}
	var run []listed
	flush := func() error {
		sort.Slice(run, func(i, j int) bool {
			if !run[i].Modified.Equal(run[j].Modified) {
				return run[i].Modified.Before(run[j].Modified)
			}
			return run[i].n > run[j].n
		})
		for _, o := range run {
			if err := fn(o.ObjectInfo); err != nil {
				return err
			}
		}
		run = run[:0]
		return nil
	}
	// An object of a bucket that never had versioning has the version
	// "null": no version, for the caller.
	vid := func(v *string) string {
		if id := aws.ToString(v); id != "null" {
			return id
		}
		return ""
	}
	n := 0
	p := s3.NewListObjectVersionsPaginator(s.api, &s3.ListObjectVersionsInput{Bucket: aws.String(s.c.Bucket), Prefix: aws.String(s.key(prefix))})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return s.explain(err, prefix)
		}
		var out []listed
		for _, v := range page.Versions {
			if key, ok := s.rel(aws.ToString(v.Key)); ok {
				n++
				out = append(out, listed{storage.ObjectInfo{Key: key, Size: aws.ToInt64(v.Size), ETag: aws.ToString(v.ETag),
					VersionID: vid(v.VersionId), Modified: aws.ToTime(v.LastModified), Confirmed: true}, n})
			}
		}
		for _, d := range page.DeleteMarkers {
			if key, ok := s.rel(aws.ToString(d.Key)); ok {
				n++
				out = append(out, listed{storage.ObjectInfo{Key: key, VersionID: vid(d.VersionId),
					Modified: aws.ToTime(d.LastModified), DeleteMarker: true}, n})
			}
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].Key < out[j].Key })
		for _, o := range out {
			if len(run) > 0 && run[0].Key != o.Key {
				if err := flush(); err != nil {
					return err
				}
			}
			run = append(run, o)
		}
	}
	return flush()
}
