// Package s3store is a storage.Store on S3 or an S3-compatible service, so
// that evidence lands where an intruder who owns the collecting host cannot
// delete it: every object is locked (Object Lock) until its retain-until
// date, carries its SHA-256 on every request, and is only ever created,
// never replaced.
//
// Each object is sent with its SHA-256 (ChecksumSHA256 on a single PUT, on
// every part of a multipart upload), locked, tagged, and confirmed by
// HeadObject afterwards where the credentials allow; write-only credentials
// get the upload's own answers, marked unconfirmed. Memory is bounded by
// PartSize × Concurrency per object being written, whatever its size.
//
// It must never spool evidence to the host's disk, never log credentials,
// and never delete or overwrite an object: it has no code that deletes one.
package s3store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/custos-ir/custos/storage"
)

// Config says where and how objects are stored.
type Config struct {
	// Bucket and Prefix come from s3://BUCKET/PREFIX (ParseURL); Prefix has
	// no leading or trailing "/".
	Bucket, Prefix string
	// Region, Endpoint and Profile select the service; an Endpoint (an
	// S3-compatible service) switches to path-style addressing.
	Region, Endpoint, Profile string
	// LockMode is COMPLIANCE (default) or GOVERNANCE: the mode of objects
	// whose CreateOptions carry no Retention. Retention is how long such
	// objects are locked from their upload (default DefaultRetention).
	LockMode  string
	Retention time.Duration
	// NoLock accepts a bucket without Object Lock and sends no retention;
	// the caller records that it did.
	NoLock bool
	// Tags go on every object, besides those a Create asks for.
	Tags map[string]string
	// PartSize is the size of one part of a multipart upload and of the
	// largest single PUT (default 8 MiB, 5 MiB to 5 GiB). Concurrency is
	// the number of part buffers of one object, and so of parts in flight
	// (default 2: one uploads while the next fills). One object being
	// written holds at most PartSize × Concurrency bytes of memory.
	PartSize    int64
	Concurrency int
	// MaxAttempts bounds the attempts of one request (default 8).
	MaxAttempts int
}

// Defaults.
const (
	DefaultRetention   = 90 * 24 * time.Hour
	DefaultPartSize    = 8 << 20
	DefaultConcurrency = 2
	minPartSize        = 5 << 20
	maxPartSize        = 5 << 30
	maxParts           = 10000
)

// bucketName is lenient on purpose: S3-compatible services and legacy AWS
// buckets allow upper case and underscores.
var bucketName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`)

// ParseURL splits s3://BUCKET[/PREFIX] into the bucket and the prefix,
// without leading or trailing "/".
func ParseURL(s string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3:// URL: want s3://BUCKET[/PREFIX]", s)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%q names no bucket: want s3://BUCKET[/PREFIX]", s)
	}
	if !bucketName.MatchString(bucket) {
		return "", "", fmt.Errorf("%q: %q is not a bucket name (letters, digits, '.', '-', '_')", s, bucket)
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		for _, seg := range strings.Split(prefix, "/") {
			if seg == "" || seg == "." || seg == ".." {
				return "", "", fmt.Errorf("%q: the prefix %q has an empty, \".\" or \"..\" segment", s, prefix)
			}
		}
		for _, c := range prefix {
			if c < 0x20 || c == 0x7f || c == '\\' || c == 0xfffd {
				return "", "", fmt.Errorf("%q: the prefix holds a control character, a backslash or invalid UTF-8", s)
			}
		}
	}
	return bucket, prefix, nil
}

// ConfigFromEnv fills unset fields from CUSTOS_S3_ENDPOINT,
// CUSTOS_S3_REGION, CUSTOS_S3_PROFILE and CUSTOS_S3_LOCK_MODE.
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

// Store is a bucket prefix. It is safe for concurrent use.
type Store struct {
	c   Config
	api *s3.Client
	// now is time.Now; tests move it.
	now func() time.Time
}

// New checks c and makes a client with the AWS default credential chain
// (environment, shared config and credentials files with c.Profile, SSO,
// web identity, instance metadata). It talks to nobody yet: Preflight does.
func New(ctx context.Context, c Config) (*Store, error) {
	if c.Bucket == "" {
		return nil, errors.New("S3: no bucket given: want s3://BUCKET[/PREFIX]")
	}
	c.Prefix = strings.Trim(c.Prefix, "/")
	c.LockMode = strings.ToUpper(c.LockMode)
	switch c.LockMode {
	case "":
		c.LockMode = string(types.ObjectLockModeCompliance)
	case string(types.ObjectLockModeCompliance), string(types.ObjectLockModeGovernance):
	default:
		return nil, fmt.Errorf("S3 lock mode %q: want compliance or governance", c.LockMode)
	}
	if c.Retention < 0 {
		return nil, fmt.Errorf("S3 retention %s: must be positive", c.Retention)
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.PartSize == 0 {
		c.PartSize = DefaultPartSize
	}
	if c.PartSize < minPartSize || c.PartSize > maxPartSize {
		return nil, fmt.Errorf("S3 part size %d: must be between 5 MiB and 5 GiB", c.PartSize)
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("S3 endpoint %q: want a URL like https://s3.example.com", c.Endpoint)
		}
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer { return newRetryer(c.MaxAttempts) }),
		config.WithHTTPClient(httpClient()),
	}
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	if c.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(c.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("S3 configuration (profile %q): %w", c.Profile, err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	api := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
			o.UsePathStyle = true
		}
		// We send our own SHA-256 on every upload. The SDK's default CRC32
		// trailers (aws-chunked bodies) are not what every S3-compatible
		// service accepts, and would be a second, weaker checksum.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		// A host whose clock is off must hear so (RequestTimeTooSkewed),
		// not have it silently corrected: retain-until dates come from
		// this clock, and the clock itself is evidence.
		o.DisableClockSkewCorrection = true
		o.APIOptions = append(o.APIOptions, countAttempts)
	})
	return &Store{c: c, api: api, now: time.Now}, nil
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

func (s *Store) key(k string) string {
	if s.c.Prefix == "" {
		return k
	}
	return s.c.Prefix + "/" + k
}

func (s *Store) rel(k string) (string, bool) {
	if s.c.Prefix == "" {
		return k, true
	}
	return strings.CutPrefix(k, s.c.Prefix+"/")
}

func (s *Store) where(key string) string {
	if key == "" {
		return s.String()
	}
	return s.String() + "/" + key
}

// Preflight runs before any evidence is read. It checks that the bucket
// exists and has Object Lock on (unless NoLock), and that the credentials
// may create objects with the lock and tags custos sets: it starts a
// multipart upload under PREFIX/.custos-preflight/ with those headers and
// aborts it. An upload that is never completed is no object: nothing is
// left that anyone would have to delete, unlike a probe object, which
// write-only credentials could not remove and Object Lock would keep.
//
// It fails with one clear line for wrong credentials, a missing bucket, a
// bucket without Object Lock, an unreachable endpoint and a skewed clock.
// warning is for the responder: the bucket has no lock (NoLock), or the
// credentials may not abort uploads, so a failed one stays until the
// bucket's lifecycle rule removes it.
func (s *Store) Preflight(ctx context.Context) (warning string, err error) {
	few := func(o *s3.Options) { o.RetryMaxAttempts = min(3, s.c.MaxAttempts) }
	var warnings []string
	out, err := s.api.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(s.c.Bucket)}, few)
	switch {
	case err == nil:
		if out.ObjectLockConfiguration == nil || out.ObjectLockConfiguration.ObjectLockEnabled != types.ObjectLockEnabledEnabled {
			if !s.c.NoLock {
				return "", s.lockOff()
			}
			warnings = append(warnings, s.noLockWarning())
		}
	case code(err) == "ObjectLockConfigurationNotFoundError":
		if !s.c.NoLock {
			return "", s.lockOff()
		}
		warnings = append(warnings, s.noLockWarning())
	case denied(err):
		// Write-only credentials: the probe below, which carries the lock
		// headers, tells whether the bucket has Object Lock.
		if s.c.NoLock {
			warnings = append(warnings, s.noLockWarning())
		}
	default:
		return "", s.explain(err, "")
	}

	var rnd [8]byte
	rand.Read(rnd[:])
	probe := s.key(".custos-preflight/" + hex.EncodeToString(rnd[:]))
	tagging, _, err := s.tagging(nil)
	if err != nil {
		return "", err
	}
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String(s.c.Bucket), Key: aws.String(probe),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256, ContentType: aws.String("application/octet-stream")}
	if tagging != "" {
		in.Tagging = aws.String(tagging)
	}
	if !s.c.NoLock {
		in.ObjectLockMode = types.ObjectLockMode(s.c.LockMode)
		in.ObjectLockRetainUntilDate = aws.Time(s.now().Add(time.Hour).UTC().Truncate(time.Second))
	}
	up, err := s.api.CreateMultipartUpload(ctx, in, few)
	if err != nil {
		if denied(err) {
			return "", fmt.Errorf("%s: these credentials may not create objects with Object Lock retention and tags (they need s3:PutObject, s3:PutObjectRetention and s3:PutObjectTagging on the prefix; docs/s3.md lists the policy)", s)
		}
		if lockMissing(err) {
			return "", s.lockOff()
		}
		return "", s.explain(err, "")
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, err = s.api.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: aws.String(s.c.Bucket), Key: aws.String(probe), UploadId: up.UploadId}, few)
	if err != nil {
		warnings = append(warnings, fmt.Sprintf("%s: these credentials may not abort multipart uploads (s3:AbortMultipartUpload): an upload that fails stays, incomplete and invisible, until the bucket's lifecycle rule removes it (%s)", s, shortErr(err)))
	}
	return strings.Join(warnings, "; "), nil
}

func (s *Store) lockOff() error {
	return fmt.Errorf("bucket %s has no Object Lock: evidence there could be deleted; use a bucket created with Object Lock (docs/s3.md), or pass --no-lock to accept that", s.c.Bucket)
}

func (s *Store) noLockWarning() string {
	return fmt.Sprintf("%s has no Object Lock (--no-lock given): anyone with delete rights can remove or replace the evidence", s)
}

// code is an S3 error's code, or "".
func code(err error) string {
	var ae interface{ ErrorCode() string }
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func status(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// denied reports an authorization refusal (HEAD answers carry no code, only
// 403).
func denied(err error) bool {
	switch code(err) {
	case "AccessDenied", "Forbidden", "AllAccessDisabled":
		return true
	}
	return status(err) == 403 && !badCredentials(err) && code(err) != "RequestTimeTooSkewed"
}

func badCredentials(err error) bool {
	switch code(err) {
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidClientTokenId", "UnrecognizedClientException",
		"InvalidToken", "ExpiredToken", "TokenRefreshRequired":
		return true
	}
	return false
}

func notFound(err error) bool {
	switch code(err) {
	case "NotFound", "NoSuchKey", "NoSuchVersion":
		return true
	}
	return false
}

func lockMissing(err error) bool {
	// AWS says "Bucket is missing Object Lock Configuration", versitygw
	// "Bucket is missing ObjectLockConfiguration".
	return code(err) == "InvalidRequest" && strings.Contains(strings.ToLower(strings.ReplaceAll(err.Error(), " ", "")), "objectlock")
}

// explain turns an SDK error into one line naming the thing, the problem
// and what to do.
func (s *Store) explain(err error, key string) error {
	where := s.where(key)
	switch c := code(err); {
	case badCredentials(err):
		return fmt.Errorf("%s: the S3 credentials are wrong (%s): check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the profile or the session token", where, c)
	case c == "NoSuchBucket":
		return fmt.Errorf("%s: bucket %s does not exist: create it with Object Lock (docs/s3.md) or fix the URL", where, s.c.Bucket)
	case c == "RequestTimeTooSkewed":
		return fmt.Errorf("%s: the server refuses this host's clock as skewed%s: do not set the clock of a breached host (it is evidence); record the offset and collect with custos remote or to a directory instead", where, skew(err))
	case c == "PermanentRedirect", c == "AuthorizationHeaderMalformed", c == "IllegalLocationConstraintException":
		return fmt.Errorf("%s: the bucket is in another region than %s: pass --region (%s)", where, s.region(), shortErr(err))
	case lockMissing(err):
		return fmt.Errorf("%s: %w", where, s.lockOff())
	case denied(err):
		return fmt.Errorf("%s: access denied: the credentials lack the permission for this request (docs/s3.md lists the policy)", where)
	case errors.As(err, new(*smithyhttp.RequestSendError)):
		ep := s.c.Endpoint
		if ep == "" {
			ep = "in " + s.region()
		}
		return fmt.Errorf("%s: cannot reach the S3 endpoint %s: %v", where, ep, rootCause(err))
	case strings.Contains(err.Error(), "get credentials"):
		return fmt.Errorf("%s: no usable S3 credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or --s3-profile (%v)", where, rootCause(err))
	}
	return fmt.Errorf("%s: %w", where, err)
}

func (s *Store) region() string { return s.api.Options().Region }

// skew describes the clock difference a RequestTimeTooSkewed answer shows.
func skew(err error) string {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil {
		return ""
	}
	server, perr := http1Date(re.Response.Header.Get("Date"))
	if perr != nil {
		return ""
	}
	d, rel := time.Since(server).Round(time.Second), "ahead of"
	if d < 0 {
		d, rel = -d, "behind"
	}
	return fmt.Sprintf(" (this host is %s %s the server, which says %s)", d, rel, server.UTC().Format(time.RFC3339))
}

func http1Date(s string) (time.Time, error) { return time.Parse(time.RFC1123, s) }

func rootCause(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// shortErr is an SDK error without its operation preamble.
func shortErr(err error) string {
	if c := code(err); c != "" {
		var ae interface{ ErrorMessage() string }
		if errors.As(err, &ae) && ae.ErrorMessage() != "" {
			return c + ": " + ae.ErrorMessage()
		}
		return c
	}
	return rootCause(err).Error()
}
