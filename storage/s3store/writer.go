package s3store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/custos-ir/custos/storage"
)

// firstBuf is the initial capacity of an object's buffer: most artifacts
// are small, and a buffer grows to PartSize only for those that need it.
const firstBuf = 64 << 10

// Create implements storage.Store. The retention is CreateOptions.Retention
// or, when unset, the store's mode with retain-until = now + Retention;
// the tags are the store's and the options', sanitized. Nothing is sent
// before the first part is full or Commit.
func (s *Store) Create(ctx context.Context, key string, o storage.CreateOptions) (storage.ObjectWriter, error) {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") || path.Clean(key) != key || key == ".." || strings.HasPrefix(key, "../") {
		return nil, fmt.Errorf("invalid object key %q", key)
	}
	if full := s.key(key); len(full) > 1024 {
		return nil, fmt.Errorf("object key %s: %d bytes with the prefix, S3 allows 1024", key, len(full))
	}
	ret, err := s.retention(o.Retention)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.where(key), err)
	}
	tagging, tags, err := s.tagging(o.Tags)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.where(key), err)
	}
	ct := o.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	return &writer{s: s, ctx: ctx, key: key, full: s.key(key), ret: ret, tagging: tagging, tags: tags, contentType: ct,
		whole: sha256.New(), free: make(chan []byte, s.c.Concurrency)}, nil
}

// retention decides an object's lock, rounding retain-until up to a whole
// second so what the server reports back compares equal.
func (s *Store) retention(asked *storage.Retention) (*storage.Retention, error) {
	if s.c.NoLock {
		if asked != nil {
			return nil, errors.New("retention asked for on a store without Object Lock (--no-lock)")
		}
		return nil, nil
	}
	r := storage.Retention{Mode: s.c.LockMode, Until: s.now().Add(s.c.Retention)}
	if asked != nil {
		r = *asked
		r.Mode = strings.ToUpper(r.Mode)
		if r.Mode != string(types.ObjectLockModeCompliance) && r.Mode != string(types.ObjectLockModeGovernance) {
			return nil, fmt.Errorf("retention mode %q: want COMPLIANCE or GOVERNANCE", asked.Mode)
		}
		if !r.Until.After(s.now()) {
			return nil, fmt.Errorf("retain-until %s is not in the future", r.Until.UTC().Format(time.RFC3339))
		}
	}
	u := r.Until.UTC()
	if t := u.Truncate(time.Second); t.Before(u) {
		u = t.Add(time.Second)
	}
	r.Until = u
	return &r, nil
}

// writer uploads one object. Bytes collect in a buffer of up to PartSize;
// an object that fits is sent with one PutObject at Commit. A larger one
// becomes a multipart upload: each full buffer is sent as a part in the
// background while the next fills, with at most Concurrency buffers in
// existence, so Write blocks when all are in flight.
type writer struct {
	s           *Store
	ctx         context.Context // Create's: the parts run under it
	key, full   string
	ret         *storage.Retention
	tagging     string
	tags        map[string]string
	contentType string

	whole hash.Hash // SHA-256 of every byte received
	n     int64
	cur   []byte      // the buffer being filled
	free  chan []byte // buffers back from finished parts
	bufs  int         // buffers made so far, at most Concurrency
	state int

	upload *string // multipart upload ID, once started
	wg     sync.WaitGroup
	mu     sync.Mutex // guards parts, sums and err, which part goroutines set
	parts  []types.CompletedPart
	sums   [][sha256.Size]byte
	err    error
}

const (
	open = iota
	committed
	aborted
)

var errClosed = errors.New("write after commit or abort")

func (w *writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *writer) partSize() int { return int(w.s.c.PartSize) }

// Sum implements storage.Summer.
func (w *writer) Sum() (d storage.Digest) {
	w.whole.Sum(d[:0])
	return d
}

func (w *writer) Write(p []byte) (int, error) {
	if w.state != open {
		return 0, fmt.Errorf("%s: %w", w.s.where(w.key), errClosed)
	}
	n := 0
	for len(p) > 0 {
		if err := w.failed(); err != nil {
			return n, err
		}
		// A full buffer is shipped only when more bytes come, so an object
		// of exactly PartSize is still one PutObject.
		if len(w.cur) == w.partSize() {
			if err := w.ship(); err != nil {
				return n, err
			}
		}
		if err := w.grow(len(p)); err != nil {
			return n, err
		}
		k := min(cap(w.cur)-len(w.cur), len(p))
		w.cur = append(w.cur, p[:k]...)
		w.whole.Write(p[:k])
		w.n += int64(k)
		n += k
		p = p[k:]
	}
	return n, nil
}

// grow makes room in cur for more bytes: a free buffer, a new one while
// fewer than Concurrency exist, or a wait for a part to finish. The first
// buffer grows by doubling, so small objects stay small.
func (w *writer) grow(want int) error {
	if w.cur != nil {
		if len(w.cur) < cap(w.cur) {
			return nil
		}
		c := min(max(2*cap(w.cur), len(w.cur)+want), w.partSize())
		b := make([]byte, len(w.cur), c)
		copy(b, w.cur)
		w.cur = b
		return nil
	}
	select {
	case w.cur = <-w.free:
		return nil
	default:
	}
	if w.bufs < w.s.c.Concurrency {
		w.bufs++
		size := w.partSize()
		if w.upload == nil {
			size = min(max(want, firstBuf), size)
		}
		w.cur = make([]byte, 0, size)
		return nil
	}
	select {
	case w.cur = <-w.free:
		return nil
	case <-w.ctx.Done():
		return fmt.Errorf("%s: %w", w.s.where(w.key), w.ctx.Err())
	}
}

// ship sends cur as the next part, starting the multipart upload first if
// needed. The part goes up in the background; its buffer comes back on free.
func (w *writer) ship() error {
	if w.upload == nil {
		in := &s3.CreateMultipartUploadInput{Bucket: aws.String(w.s.c.Bucket), Key: aws.String(w.full),
			ChecksumAlgorithm: types.ChecksumAlgorithmSha256, ContentType: aws.String(w.contentType)}
		w.lockHeaders(&in.ObjectLockMode, &in.ObjectLockRetainUntilDate)
		if w.tagging != "" {
			in.Tagging = aws.String(w.tagging)
		}
		out, err := w.s.api.CreateMultipartUpload(w.ctx, in)
		if err != nil {
			return w.s.explain(err, w.key)
		}
		w.upload = out.UploadId
	}
	if len(w.parts) == maxParts {
		return fmt.Errorf("%s: more than %d parts of %d bytes: raise the part size", w.s.where(w.key), maxParts, w.s.c.PartSize)
	}
	num := int32(len(w.parts) + 1)
	w.mu.Lock()
	w.parts = append(w.parts, types.CompletedPart{PartNumber: aws.Int32(num)})
	w.sums = append(w.sums, [sha256.Size]byte{})
	w.mu.Unlock()
	body := w.cur
	w.cur = nil
	w.wg.Add(1)
	go w.sendPart(num, body)
	return nil
}

func (w *writer) sendPart(num int32, body []byte) {
	defer w.wg.Done()
	defer func() { w.free <- body[:0] }()
	sum := sha256.Sum256(body)
	b64 := base64.StdEncoding.EncodeToString(sum[:])
	out, err := w.s.api.UploadPart(w.ctx, &s3.UploadPartInput{Bucket: aws.String(w.s.c.Bucket), Key: aws.String(w.full),
		UploadId: w.upload, PartNumber: aws.Int32(num), Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))), ChecksumSHA256: aws.String(b64)}, payloadHash(hex.EncodeToString(sum[:])))
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if w.err == nil {
			w.err = fmt.Errorf("part %d: %w", num, w.s.explain(err, w.key))
		}
		return
	}
	w.parts[num-1].ETag = out.ETag
	w.parts[num-1].ChecksumSHA256 = aws.String(b64)
	w.sums[num-1] = sum
}

func (w *writer) lockHeaders(mode *types.ObjectLockMode, until **time.Time) {
	if w.ret == nil {
		return
	}
	*mode = types.ObjectLockMode(w.ret.Mode)
	u := w.ret.Until
	*until = &u
}

// Commit implements storage.ObjectWriter: it checks want against the SHA-256
// of every byte received, sends or completes the object with
// If-None-Match: *, and confirms it with HeadObject.
func (w *writer) Commit(ctx context.Context, want storage.Digest) (storage.ObjectInfo, error) {
	if w.state != open {
		return storage.ObjectInfo{}, fmt.Errorf("%s: commit: %w", w.s.where(w.key), errClosed)
	}
	w.state = committed
	defer w.release()
	var got storage.Digest
	w.whole.Sum(got[:0])
	if got != want {
		w.abortUpload()
		return storage.ObjectInfo{}, fmt.Errorf("%s: %w: received %s, expected %s; nothing was stored", w.s.where(w.key), storage.ErrChecksum, got, want)
	}
	info := storage.ObjectInfo{Key: w.key, Size: w.n, SHA256: got, Retention: w.ret, Tags: w.tags}
	var sum string // the checksum the server should report
	var err error
	if w.upload == nil {
		sum = base64.StdEncoding.EncodeToString(got[:])
		err = w.putSingle(ctx, got, &info)
	} else {
		sum, err = w.complete(ctx, &info)
	}
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	if info.Confirmed {
		return info, nil // lostAnswer read it back already
	}
	return w.confirm(ctx, info, sum)
}

func (w *writer) putSingle(ctx context.Context, sum storage.Digest, info *storage.ObjectInfo) error {
	b64 := base64.StdEncoding.EncodeToString(sum[:])
	in := &s3.PutObjectInput{Bucket: aws.String(w.s.c.Bucket), Key: aws.String(w.full), Body: bytes.NewReader(w.cur),
		ContentLength: aws.Int64(int64(len(w.cur))), ChecksumSHA256: aws.String(b64),
		ContentType: aws.String(w.contentType), IfNoneMatch: aws.String("*")}
	w.lockHeaders(&in.ObjectLockMode, &in.ObjectLockRetainUntilDate)
	if w.tagging != "" {
		in.Tagging = aws.String(w.tagging)
	}
	actx, attempts := withAttempts(ctx)
	out, err := w.s.api.PutObject(actx, in, payloadHash(hex.EncodeToString(sum[:])))
	if err != nil {
		if code(err) == "PreconditionFailed" {
			if attempts.Load() > 1 {
				return w.lostAnswer(ctx, info, b64)
			}
			return fmt.Errorf("%s: %w", w.s.where(w.key), storage.ErrExist)
		}
		if attempts.Load() > 1 && w.storedAnyway(ctx, info, b64) {
			return nil
		}
		return w.s.explain(err, w.key)
	}
	info.VersionID, info.ETag = aws.ToString(out.VersionId), aws.ToString(out.ETag)
	return nil
}

// storedAnyway tells whether a write whose attempts all failed in transit
// was stored by one of them all the same: a retry can find the key taken
// by its predecessor and its refusal lost too (a proxy turns an early 412
// into a 502). The object is ours only if it reads back with our size and
// checksum; write-only credentials cannot tell, and the error stands.
func (w *writer) storedAnyway(ctx context.Context, info *storage.ObjectInfo, sum string) bool {
	probe := *info
	if w.lostAnswer(ctx, &probe, sum) == nil && probe.Confirmed {
		*info = probe
		return true
	}
	return false
}

// complete sends the last part, waits for all, and completes the upload.
// It returns the composite checksum the server should report:
// base64(SHA-256 of the parts' SHA-256s)-N.
func (w *writer) complete(ctx context.Context, info *storage.ObjectInfo) (string, error) {
	if len(w.cur) > 0 {
		if err := w.ship(); err != nil {
			w.abortUpload()
			return "", err
		}
	}
	w.wg.Wait()
	if err := w.failed(); err != nil {
		w.abortUpload()
		return "", err
	}
	h := sha256.New()
	for _, s := range w.sums {
		h.Write(s[:])
	}
	composite := fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(h.Sum(nil)), len(w.sums))
	actx, attempts := withAttempts(ctx)
	out, err := w.s.api.CompleteMultipartUpload(actx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(w.s.c.Bucket),
		Key: aws.String(w.full), UploadId: w.upload, MultipartUpload: &types.CompletedMultipartUpload{Parts: w.parts},
		IfNoneMatch: aws.String("*")})
	if err != nil {
		c := code(err)
		// A retry after a lost answer finds the upload gone (NoSuchUpload)
		// or the key taken by its own predecessor (PreconditionFailed).
		if attempts.Load() > 1 && (c == "PreconditionFailed" || c == "NoSuchUpload") {
			if lerr := w.lostAnswer(ctx, info, composite); lerr == nil {
				return composite, nil
			}
		} else if attempts.Load() > 1 && w.storedAnyway(ctx, info, composite) {
			return composite, nil
		}
		w.abortUpload()
		if c == "PreconditionFailed" {
			return "", fmt.Errorf("%s: %w", w.s.where(w.key), storage.ErrExist)
		}
		return "", w.s.explain(err, w.key)
	}
	info.VersionID, info.ETag = aws.ToString(out.VersionId), aws.ToString(out.ETag)
	return composite, nil
}

// lostAnswer resolves a conditional write refused on a retry: the attempt
// before may have stored the object and lost only its answer. If the
// object under the key has our size and checksum it is ours. If the
// credentials cannot read it (write-only), it is taken to be ours,
// unconfirmed: keys are unique per collection, and verify compares every
// object's SHA-256 with the manifest later.
func (w *writer) lostAnswer(ctx context.Context, info *storage.ObjectInfo, sum string) error {
	h, err := w.s.api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(w.s.c.Bucket), Key: aws.String(w.full), ChecksumMode: types.ChecksumModeEnabled})
	switch {
	case err != nil && denied(err):
		return nil
	case err != nil:
		return fmt.Errorf("%s: %w (or stored by a retried request whose answer was lost: %s)", w.s.where(w.key), storage.ErrExist, shortErr(err))
	case aws.ToInt64(h.ContentLength) != info.Size || aws.ToString(h.ChecksumSHA256) != sum:
		return fmt.Errorf("%s: %w", w.s.where(w.key), storage.ErrExist)
	}
	info.VersionID, info.ETag, info.Confirmed = aws.ToString(h.VersionId), aws.ToString(h.ETag), true
	return w.checkLock(ctx, info, h.ObjectLockMode, h.ObjectLockRetainUntilDate)
}

// confirm reads back what the server holds. When it may not (write-only
// credentials) or cannot now, the object is stored all the same: the
// write's own answers stand, Confirmed false. A server that holds other
// bytes or a weaker lock than sent is an error, though the object stays.
func (w *writer) confirm(ctx context.Context, info storage.ObjectInfo, sum string) (storage.ObjectInfo, error) {
	in := &s3.HeadObjectInput{Bucket: aws.String(w.s.c.Bucket), Key: aws.String(w.full), ChecksumMode: types.ChecksumModeEnabled}
	if info.VersionID != "" {
		in.VersionId = aws.String(info.VersionID)
	}
	h, err := w.s.api.HeadObject(ctx, in)
	if err != nil {
		return info, nil
	}
	if got := aws.ToInt64(h.ContentLength); got != info.Size {
		return info, fmt.Errorf("%s: the server holds %d bytes, %d were sent (version %s)", w.s.where(w.key), got, info.Size, info.VersionID)
	}
	if got := aws.ToString(h.ChecksumSHA256); got != "" && got != sum {
		return info, fmt.Errorf("%s: %w: the server reports checksum %s, %s was sent (version %s)", w.s.where(w.key), storage.ErrChecksum, got, sum, info.VersionID)
	}
	if v := aws.ToString(h.VersionId); v != "" {
		info.VersionID = v
	}
	if e := aws.ToString(h.ETag); e != "" {
		info.ETag = e
	}
	info.Confirmed = true
	return info, w.checkLock(ctx, &info, h.ObjectLockMode, h.ObjectLockRetainUntilDate)
}

// checkLock compares the lock the server reports with the one sent. HEAD
// shows it only to holders of s3:GetObjectRetention; without, and without
// GetObjectRetention, the retention stays as sent and unconfirmed.
func (w *writer) checkLock(ctx context.Context, info *storage.ObjectInfo, mode types.ObjectLockMode, until *time.Time) error {
	if w.ret == nil {
		return nil
	}
	if mode == "" || until == nil {
		r, err := w.s.getRetention(ctx, w.full, info.VersionID)
		switch {
		case err != nil && code(err) == "NoSuchObjectLockConfiguration":
			return fmt.Errorf("%s: stored but NOT locked: the server ignored the retention asked for (version %s)", w.s.where(w.key), info.VersionID)
		case err != nil || r == nil:
			info.Confirmed = false
			return nil
		}
		mode, until = types.ObjectLockMode(r.Mode), &r.Until
	}
	got := &storage.Retention{Mode: string(mode), Until: until.UTC()}
	info.Retention = got
	if got.Mode != w.ret.Mode || got.Until.Before(w.ret.Until.Add(-time.Second)) {
		return fmt.Errorf("%s: the server holds the object %s until %s, %s until %s was asked (version %s)", w.s.where(w.key),
			got.Mode, got.Until.Format(time.RFC3339), w.ret.Mode, w.ret.Until.Format(time.RFC3339), info.VersionID)
	}
	return nil
}

func (w *writer) abortUpload() error {
	if w.upload == nil {
		return nil
	}
	w.wg.Wait()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), 30*time.Second)
	defer cancel()
	_, err := w.s.api.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(w.s.c.Bucket), Key: aws.String(w.full), UploadId: w.upload})
	w.upload = nil
	if err != nil && code(err) != "NoSuchUpload" {
		return fmt.Errorf("%s: abort the incomplete upload (it stays, invisible, until the bucket's lifecycle rule removes it): %w", w.s.where(w.key), w.s.explain(err, w.key))
	}
	return nil
}

// release drops the buffers once no part holds one.
func (w *writer) release() {
	w.wg.Wait()
	w.cur = nil
	for {
		select {
		case <-w.free:
		default:
			return
		}
	}
}

// Abort implements storage.ObjectWriter: it aborts the multipart upload,
// if one was started; nothing was stored. A no-op after Commit.
func (w *writer) Abort() error {
	if w.state != open {
		return nil
	}
	w.state = aborted
	defer w.release()
	return w.abortUpload()
}
