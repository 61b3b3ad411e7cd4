package s3store

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
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
	h, err := s.api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.c.Bucket), Key: aws.String(s.key(key)), ChecksumMode: types.ChecksumModeEnabled})
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
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.c.Bucket), Key: aws.String(s.key(key))})
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
