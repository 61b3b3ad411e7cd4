// Package s3store is a storage.Store on S3 or an S3-compatible service, with
// Object Lock retention, tags and SHA-256 checksums on every object.
//
// Objects are only ever created. Each is sent with its SHA-256
// (ChecksumSHA256 on a single PUT, on every part of a multipart upload),
// locked until its retain-until date, tagged, and confirmed by HeadObject
// afterwards where the credentials allow. Memory is bounded by
// PartSize × (Concurrency + 1) whatever the object's size; nothing is
// spooled to disk.
package s3store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/custos-ir/custos/storage"
)

// Config says where and how objects are stored.
type Config struct {
	Bucket   string
	Prefix   string // key prefix inside the bucket, without leading or trailing "/"
	Region   string
	Endpoint string // an S3-compatible service; path-style addressing
	Profile  string // shared config profile
	// LockMode is COMPLIANCE (default) or GOVERNANCE; Retention how long
	// each object is locked from its upload (default 90 days). NoLock
	// stores without Object Lock (the caller records that it did).
	LockMode  string
	Retention time.Duration
	NoLock    bool
	// Tags go on every object, besides those a Create asks for.
	Tags map[string]string
	// PartSize (default 8 MiB, minimum 5 MiB) and Concurrency (parts in
	// flight, default 2) bound memory: PartSize × (Concurrency+1).
	PartSize    int64
	Concurrency int
	// MaxAttempts bounds retries of one request (default 8).
	MaxAttempts int
}

// DefaultRetention is 90 days, as the incident plans ask.
const DefaultRetention = 90 * 24 * time.Hour

// ParseURL splits s3://bucket/prefix.
func ParseURL(s string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3:// URL", s)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%q names no bucket: want s3://BUCKET[/PREFIX]", s)
	}
	if strings.ContainsAny(bucket, " \\?#") {
		return "", "", fmt.Errorf("%q: bucket name %q is not valid", s, bucket)
	}
	return bucket, strings.Trim(prefix, "/"), nil
}

// ConfigFromEnv fills unset fields from CUSTOS_S3_ENDPOINT, CUSTOS_S3_REGION,
// CUSTOS_S3_PROFILE and CUSTOS_S3_LOCK_MODE.
func ConfigFromEnv(c *Config) {
	set := func(f *string, env string) {
		if *f == "" {
			*f = os.Getenv(env)
		}
	}
	set(&c.Endpoint, "CUSTOS_S3_ENDPOINT")
	set(&c.Region, "CUSTOS_S3_REGION")
	set(&c.Profile, "CUSTOS_S3_PROFILE")
	set(&c.LockMode, "CUSTOS_S3_LOCK_MODE")
}

// Store is a bucket prefix.
type Store struct {
	c   Config
	api *s3.Client
	// now is time.Now; tests move it.
	now func() time.Time
}

// New makes a client with the default credential chain (environment,
// shared config and profiles, SSO, instance metadata).
func New(ctx context.Context, c Config) (*Store, error) {
	c.LockMode = strings.ToUpper(c.LockMode)
	switch c.LockMode {
	case "":
		c.LockMode = string(types.ObjectLockRetentionModeCompliance)
	case "COMPLIANCE", "GOVERNANCE":
	default:
		return nil, fmt.Errorf("lock mode %q: want compliance or governance", c.LockMode)
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.PartSize == 0 {
		c.PartSize = 8 << 20
	}
	if c.PartSize < 5<<20 {
		return nil, fmt.Errorf("part size %d: S3 needs at least 5 MiB", c.PartSize)
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 2
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	opts := []func(*config.LoadOptions) error{config.WithRetryer(func() aws.Retryer { return retryer(c.MaxAttempts) })}
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	if c.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(c.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("S3 configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	api := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
			o.UsePathStyle = true
		}
		// We send our own SHA-256 on every upload; the SDK's default CRC
		// trailers are not what Object Lock services expect everywhere.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return &Store{c: c, api: api, now: time.Now}, nil
}

// retryer is the one place that decides what is retried: the SDK's standard
// policy (throttling, 5xx, dropped and reset connections, timeouts) with
// exponential backoff and jitter, more attempts, and a longer ceiling.
func retryer(attempts int) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = attempts
		o.MaxBackoff = 20 * time.Second
	})
}

func (s *Store) String() string {
	if s.c.Prefix == "" {
		return "s3://" + s.c.Bucket
	}
	return "s3://" + s.c.Bucket + "/" + s.c.Prefix
}

// Supports implements storage.Features.
func (s *Store) Supports() storage.FeatureSet {
	return storage.FeatureSet{Tags: true, Retention: !s.c.NoLock, Versions: true}
}

// Client exposes the S3 client, for tests that check what the server holds.
func (s *Store) Client() *s3.Client { return s.api }

func (s *Store) key(k string) string {
	if s.c.Prefix == "" {
		return k
	}
	return s.c.Prefix + "/" + k
}

func (s *Store) rel(k string) string {
	if s.c.Prefix == "" {
		return k
	}
	return strings.TrimPrefix(k, s.c.Prefix+"/")
}

// Preflight checks, before any evidence is read, that the bucket exists and
// has Object Lock on (unless NoLock). It returns a warning when the
// credentials may not read the lock configuration: write-only credentials
// learn of a bucket without Object Lock at their first write instead.
func (s *Store) Preflight(ctx context.Context) (warning string, err error) {
	out, err := s.api.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(s.c.Bucket)})
	switch {
	case err == nil:
		if out.ObjectLockConfiguration == nil || out.ObjectLockConfiguration.ObjectLockEnabled != types.ObjectLockEnabledEnabled {
			return s.lockOff()
		}
		return "", nil
	case code(err) == "ObjectLockConfigurationNotFoundError":
		return s.lockOff()
	case code(err) == "AccessDenied":
		return fmt.Sprintf("%s: these credentials may not read the bucket's Object Lock configuration; the first upload will tell", s), nil
	}
	return "", s.explain(err, "")
}

func (s *Store) lockOff() (string, error) {
	if s.c.NoLock {
		return fmt.Sprintf("%s has no Object Lock: objects can be deleted or overwritten by anyone with the rights (--no-lock given)", s), nil
	}
	return "", fmt.Errorf("bucket %s has no Object Lock: evidence there could be deleted; enable Object Lock on a new bucket (docs/s3.md) or pass --no-lock to accept that", s.c.Bucket)
}

// code is an S3 error's code, or "".
func code(err error) string {
	var ae interface{ ErrorCode() string }
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// explain turns an SDK error into one line naming the problem and what to do.
func (s *Store) explain(err error, key string) error {
	where := s.String()
	if key != "" {
		where += "/" + key
	}
	switch code(err) {
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidClientTokenId", "UnrecognizedClientException":
		return fmt.Errorf("%s: the S3 credentials are wrong (%s): check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the profile", where, code(err))
	case "NoSuchBucket":
		return fmt.Errorf("%s: bucket %s does not exist: create it with Object Lock (docs/s3.md)", where, s.c.Bucket)
	case "RequestTimeTooSkewed":
		return fmt.Errorf("%s: the server rejects this host's clock as skewed: the host's clock is wrong (record that) — collect over the SSH stream instead", where)
	case "AccessDenied", "AllAccessDisabled":
		return fmt.Errorf("%s: access denied: the credentials lack the permission for this request (docs/s3.md lists the policy)", where)
	case "InvalidRequest":
		if strings.Contains(err.Error(), "Object Lock") {
			return fmt.Errorf("%s: the bucket has no Object Lock configuration: %v", where, err)
		}
	}
	var ue *url.Error
	if errors.As(err, &ue) || strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "no such host") {
		return fmt.Errorf("%s: cannot reach the S3 endpoint: %v", where, rootCause(err))
	}
	return fmt.Errorf("%s: %w", where, err)
}

func rootCause(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

func (s *Store) retention(o storage.CreateOptions) *storage.Retention {
	if s.c.NoLock {
		return nil
	}
	if o.Retention != nil {
		return o.Retention
	}
	return &storage.Retention{Mode: s.c.LockMode, Until: s.now().Add(s.c.Retention).UTC().Truncate(time.Second)}
}

// tagging encodes tags as the x-amz-tagging header wants them.
func (s *Store) tagging(o storage.CreateOptions) (string, map[string]string) {
	all := map[string]string{}
	for k, v := range s.c.Tags {
		all[k] = v
	}
	for k, v := range o.Tags {
		all[k] = v
	}
	if len(all) == 0 {
		return "", nil
	}
	q := url.Values{}
	for k, v := range all {
		q.Set(SanitizeTag(k), SanitizeTag(v))
	}
	return q.Encode(), all
}

// SanitizeTag keeps what AWS allows in tags (letters, digits, space and
// + - = . _ : / @) and replaces the rest with '_'; some services refuse
// '&' even escaped. The exact value stays in the manifest.
func SanitizeTag(v string) string {
	var b strings.Builder
	for _, c := range v {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.ContainsRune(" +-=._:/@", c):
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	out := b.String()
	if len(out) > 256 {
		out = out[:256]
	}
	return out
}

// Create implements storage.Store.
func (s *Store) Create(ctx context.Context, key string, o storage.CreateOptions) (storage.ObjectWriter, error) {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "..") {
		return nil, fmt.Errorf("invalid object key %q", key)
	}
	tagging, tags := s.tagging(o)
	return &writer{s: s, ctx: ctx, key: key, full: s.key(key), ret: s.retention(o), tagging: tagging, tags: tags,
		buf: make([]byte, 0, s.c.PartSize), whole: sha256.New(), sem: make(chan struct{}, s.c.Concurrency)}, nil
}

type writer struct {
	s       *Store
	ctx     context.Context
	key     string
	full    string
	ret     *storage.Retention
	tagging string
	tags    map[string]string

	buf   []byte
	whole hash.Hash
	n     int64
	done  bool

	upload *string
	mu     sync.Mutex
	parts  []types.CompletedPart
	wg     sync.WaitGroup
	sem    chan struct{}
	err    error
	pool   sync.Pool
}

func (w *writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *writer) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if err := w.failed(); err != nil {
			return n, err
		}
		k := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+k]
		w.whole.Write(p[:k])
		w.n += int64(k)
		n += k
		p = p[k:]
		if len(w.buf) == cap(w.buf) {
			if err := w.sendPart(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (w *writer) lockFields() (types.ObjectLockMode, *time.Time) {
	if w.ret == nil {
		return "", nil
	}
	u := w.ret.Until
	return types.ObjectLockMode(w.ret.Mode), &u
}

// sendPart starts the upload if needed and uploads the buffer as the next
// part in the background; at most Concurrency parts are in flight.
func (w *writer) sendPart() error {
	if w.upload == nil {
		mode, until := w.lockFields()
		in := &s3.CreateMultipartUploadInput{Bucket: aws.String(w.s.c.Bucket), Key: aws.String(w.full),
			ChecksumAlgorithm: types.ChecksumAlgorithmSha256, ObjectLockMode: mode, ObjectLockRetainUntilDate: until,
			ContentType: aws.String("application/octet-stream")}
		if w.tagging != "" {
			in.Tagging = aws.String(w.tagging)
		}
		out, err := w.s.api.CreateMultipartUpload(w.ctx, in)
		if err != nil {
			return w.s.explain(err, w.key)
		}
		w.upload = out.UploadId
	}
	num := int32(len(w.parts)) + 1
	w.mu.Lock()
	w.parts = append(w.parts, types.CompletedPart{PartNumber: aws.Int32(num)})
	w.mu.Unlock()
	body := w.buf
	if b, ok := w.pool.Get().([]byte); ok {
		w.buf = b[:0]
	} else {
		w.buf = make([]byte, 0, w.s.c.PartSize)
	}
	w.sem <- struct{}{}
	w.wg.Add(1)
	go func() {
		defer func() { <-w.sem; w.wg.Done() }()
		sum := sha256.Sum256(body)
		out, err := w.s.api.UploadPart(w.ctx, &s3.UploadPartInput{Bucket: aws.String(w.s.c.Bucket), Key: aws.String(w.full),
			UploadId: w.upload, PartNumber: aws.Int32(num), Body: bytes.NewReader(body),
			ContentLength: aws.Int64(int64(len(body))), ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
			ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum[:]))})
		w.mu.Lock()
		defer w.mu.Unlock()
		if err != nil {
			if w.err == nil {
				w.err = w.s.explain(err, w.key)
			}
			return
		}
		w.parts[num-1].ETag = out.ETag
		w.parts[num-1].ChecksumSHA256 = out.ChecksumSHA256
		w.pool.Put(body[:0])
	}()
	return nil
}

func (w *writer) Commit(ctx context.Context, want storage.Digest) (storage.ObjectInfo, error) {
	if w.done {
		return storage.ObjectInfo{}, fmt.Errorf("%s: commit after close", w.key)
	}
	var got storage.Digest
	w.whole.Sum(got[:0])
	if got != want {
		w.Abort()
		return storage.ObjectInfo{}, fmt.Errorf("%s: %w: received %s, expected %s", w.key, storage.ErrChecksum, got, want)
	}
	w.done = true
	info := storage.ObjectInfo{Key: w.key, Size: w.n, SHA256: got, Retention: w.ret, Tags: w.tags}
	var err error
	if w.upload == nil {
		err = w.putSingle(ctx, got, &info)
	} else {
		err = w.complete(ctx, &info)
	}
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	w.confirm(ctx, &info, w.upload == nil)
	return info, nil
}

func (w *writer) putSingle(ctx context.Context, sum storage.Digest, info *storage.ObjectInfo) error {
	mode, until := w.lockFields()
	in := &s3.PutObjectInput{Bucket: aws.String(w.s.c.Bucket), Key: aws.String(w.full), Body: bytes.NewReader(w.buf),
		ContentLength: aws.Int64(int64(len(w.buf))), ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum[:])),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
		ObjectLockMode:    mode, ObjectLockRetainUntilDate: until, ContentType: aws.String("application/octet-stream"),
		IfNoneMatch: aws.String("*")}
	if w.tagging != "" {
		in.Tagging = aws.String(w.tagging)
	}
	out, err := w.s.api.PutObject(ctx, in)
	if err != nil {
		if code(err) == "PreconditionFailed" {
			return fmt.Errorf("%s: %w", w.key, storage.ErrExist)
		}
		return w.s.explain(err, w.key)
	}
	info.VersionID, info.ETag = aws.ToString(out.VersionId), aws.ToString(out.ETag)
	return nil
}

func (w *writer) complete(ctx context.Context, info *storage.ObjectInfo) error {
	if len(w.buf) > 0 {
		if err := w.sendPart(); err != nil {
			w.abortUpload()
			return err
		}
	}
	w.wg.Wait()
	if err := w.failed(); err != nil {
		w.abortUpload()
		return err
	}
	out, err := w.s.api.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(w.s.c.Bucket),
		Key: aws.String(w.full), UploadId: w.upload, MultipartUpload: &types.CompletedMultipartUpload{Parts: w.parts},
		IfNoneMatch: aws.String("*")})
	if err != nil {
		w.abortUpload()
		if code(err) == "PreconditionFailed" {
			return fmt.Errorf("%s: %w", w.key, storage.ErrExist)
		}
		return w.s.explain(err, w.key)
	}
	info.VersionID, info.ETag = aws.ToString(out.VersionId), aws.ToString(out.ETag)
	return nil
}

// confirm reads back what the server holds. Denied (write-only
// credentials): the info keeps the upload's own answers, Confirmed false.
func (w *writer) confirm(ctx context.Context, info *storage.ObjectInfo, single bool) {
	in := &s3.HeadObjectInput{Bucket: aws.String(w.s.c.Bucket), Key: aws.String(w.full), ChecksumMode: types.ChecksumModeEnabled}
	if info.VersionID != "" {
		in.VersionId = aws.String(info.VersionID)
	}
	h, err := w.s.api.HeadObject(ctx, in)
	if err != nil {
		return
	}
	info.Confirmed = aws.ToInt64(h.ContentLength) == info.Size
	if single && h.ChecksumSHA256 != nil && *h.ChecksumSHA256 != base64.StdEncoding.EncodeToString(info.SHA256[:]) {
		info.Confirmed = false
	}
	if v := aws.ToString(h.VersionId); v != "" {
		info.VersionID = v
	}
	info.ETag = aws.ToString(h.ETag)
	if h.ObjectLockMode != "" && h.ObjectLockRetainUntilDate != nil {
		info.Retention = &storage.Retention{Mode: string(h.ObjectLockMode), Until: h.ObjectLockRetainUntilDate.UTC()}
	}
}

func (w *writer) abortUpload() {
	if w.upload == nil {
		return
	}
	w.wg.Wait()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), 30*time.Second)
	defer cancel()
	w.s.api.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(w.s.c.Bucket), Key: aws.String(w.full), UploadId: w.upload})
}

func (w *writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.abortUpload()
	return nil
}

// Stat implements storage.Store, with the lock the server reports.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	h, err := s.api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.c.Bucket), Key: aws.String(s.key(key))})
	if err != nil {
		if code(err) == "NotFound" || code(err) == "NoSuchKey" {
			return storage.ObjectInfo{}, fmt.Errorf("%s: %w", key, storage.ErrNotExist)
		}
		return storage.ObjectInfo{}, s.explain(err, key)
	}
	info := storage.ObjectInfo{Key: key, Size: aws.ToInt64(h.ContentLength), VersionID: aws.ToString(h.VersionId),
		ETag: aws.ToString(h.ETag), Confirmed: true, Modified: aws.ToTime(h.LastModified)}
	if h.ObjectLockMode != "" && h.ObjectLockRetainUntilDate != nil {
		info.Retention = &storage.Retention{Mode: string(h.ObjectLockMode), Until: h.ObjectLockRetainUntilDate.UTC()}
	}
	return info, nil
}

// Open implements storage.Store.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.c.Bucket), Key: aws.String(s.key(key))})
	if err != nil {
		if code(err) == "NoSuchKey" || code(err) == "NotFound" {
			return nil, fmt.Errorf("%s: %w", key, storage.ErrNotExist)
		}
		return nil, s.explain(err, key)
	}
	return out.Body, nil
}

// List implements storage.Store.
func (s *Store) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	p := s3.NewListObjectsV2Paginator(s.api, &s3.ListObjectsV2Input{Bucket: aws.String(s.c.Bucket), Prefix: aws.String(s.key(prefix))})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return s.explain(err, prefix)
		}
		for _, o := range page.Contents {
			if err := fn(storage.ObjectInfo{Key: s.rel(aws.ToString(o.Key)), Size: aws.ToInt64(o.Size), ETag: aws.ToString(o.ETag), Modified: aws.ToTime(o.LastModified)}); err != nil {
				return err
			}
		}
	}
	return nil
}
