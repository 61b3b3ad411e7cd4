package s3store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/custos-ir/custos/internal/testenv"
	"github.com/custos-ir/custos/storage"
	"github.com/custos-ir/custos/storage/storagetest"
)

var bucketN atomic.Int32

func newBucket(t *testing.T, gw *testenv.GW, lock bool) string {
	name := fmt.Sprintf("custos-test-%d-%d", os.Getpid()%10000, bucketN.Add(1))
	gw.MakeBucket(t, name, lock)
	return name
}

func setEnv(t *testing.T, gw *testenv.GW) {
	for _, kv := range gw.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

func newStore(t *testing.T, gw *testenv.GW, endpoint string, c Config) *Store {
	t.Helper()
	setEnv(t, gw)
	c.Endpoint = endpoint
	if c.Bucket == "" {
		c.Bucket = newBucket(t, gw, true)
	}
	st, err := New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// recorder is a loopback proxy in front of versitygw that records what
// custos sends and can inject faults.
type recorder struct {
	mu       sync.Mutex
	uploads  int // PUT requests carrying a body (PutObject, UploadPart)
	checksum int // ... of which with x-amz-checksum-sha256
	fault    func(r *http.Request, n int) bool
	n        int
}

func proxy(t *testing.T, gw *testenv.GW) (*recorder, string) {
	rec := &recorder{}
	target, _ := url.Parse(gw.Endpoint)
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.n++
		n := rec.n
		if r.Method == http.MethodPut && r.URL.Query().Get("tagging") == "" && r.URL.Query().Get("retention") == "" && r.ContentLength != 0 && r.Header.Get("x-amz-copy-source") == "" {
			if q := r.URL.Query(); !q.Has("uploadId") || q.Has("partNumber") {
				rec.uploads++
				if r.Header.Get("x-amz-checksum-sha256") != "" {
					rec.checksum++
				}
			}
		}
		fault := rec.fault
		rec.mu.Unlock()
		if fault != nil && fault(r, n) {
			if n%2 == 0 {
				http.Error(w, "<Error><Code>SlowDown</Code><Message>injected</Message></Error>", http.StatusServiceUnavailable)
				return
			}
			// Drop the connection mid-request.
			hj, ok := w.(http.Hijacker)
			if ok {
				c, _, _ := hj.Hijack()
				c.Close()
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return rec, srv.URL
}

func TestConformance(t *testing.T) {
	gw := testenv.VersityGW(t)
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return newStore(t, gw, gw.Endpoint, Config{Prefix: "evidence", PartSize: 5 << 20})
	}, storagetest.Options{LargeSize: 12 << 20})
}

func TestObjectLockTagsChecksums(t *testing.T) {
	gw := testenv.VersityGW(t)
	rec, ep := proxy(t, gw)
	ctx := context.Background()
	for _, mode := range []string{"COMPLIANCE", "GOVERNANCE"} {
		t.Run(mode, func(t *testing.T) {
			st := newStore(t, gw, ep, Config{Prefix: "p", LockMode: mode, PartSize: 5 << 20,
				Tags: map[string]string{"retention": "90d", "case": "INC-1 & co"}})
			before := time.Now()
			data := bytes.Repeat([]byte("evidence "), 100)
			w, _ := st.Create(ctx, "C/h/id/artifacts/01-x", storage.CreateOptions{Tags: map[string]string{"artifact": "processes"}})
			w.Write(data)
			info, err := w.Commit(ctx, sha256.Sum256(data))
			if err != nil {
				t.Fatal(err)
			}
			if !info.Confirmed || info.VersionID == "" || info.Retention == nil || info.Retention.Mode != mode {
				t.Fatalf("commit info %+v", info)
			}
			wantUntil := before.Add(DefaultRetention)
			if d := info.Retention.Until.Sub(wantUntil); d < -2*time.Second || d > time.Minute {
				t.Fatalf("retain until %s, want about %s", info.Retention.Until, wantUntil)
			}
			// The server reports the same on its own.
			si, err := st.Stat(ctx, "C/h/id/artifacts/01-x")
			if err != nil || si.Retention == nil || si.Retention.Mode != mode || !si.Retention.Until.Equal(info.Retention.Until) {
				t.Fatalf("stat %+v %v", si, err)
			}
			// Tags, with the '&' made safe.
			tg, err := gw.Client().GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(st.c.Bucket), Key: aws.String("p/C/h/id/artifacts/01-x")})
			if err != nil {
				t.Fatal(err)
			}
			tags := map[string]string{}
			for _, x := range tg.TagSet {
				tags[aws.ToString(x.Key)] = aws.ToString(x.Value)
			}
			if tags["retention"] != "90d" || tags["artifact"] != "processes" || tags["case"] != "INC-1 _ co" {
				t.Fatalf("tags %v", tags)
			}
			// A locked version cannot be deleted (COMPLIANCE holds even
			// against the root user; GOVERNANCE without the bypass header).
			_, err = gw.Client().DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(st.c.Bucket), Key: aws.String("p/C/h/id/artifacts/01-x"), VersionId: aws.String(info.VersionID)})
			if err == nil {
				t.Fatal("locked version deleted")
			}
			// Nor replaced: a second write of the key is refused, and the
			// original version still reads back.
			if _, err := storage.PutBytes(ctx, st, "C/h/id/artifacts/01-x", []byte("forged"), storage.CreateOptions{}); err == nil {
				t.Log("the server took a second version (no If-None-Match support); checking the first is intact")
			}
			got, err := gw.Client().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(st.c.Bucket), Key: aws.String("p/C/h/id/artifacts/01-x"), VersionId: aws.String(info.VersionID)})
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			b.ReadFrom(got.Body)
			if !bytes.Equal(b.Bytes(), data) {
				t.Fatal("locked version changed")
			}
		})
	}
	// A multipart object: every part carries its SHA-256, and the lock.
	st := newStore(t, gw, ep, Config{PartSize: 5 << 20})
	big := bytes.Repeat([]byte("0123456789abcdef"), 12<<20/16)
	info, err := storage.PutBytes(ctx, st, "C/h/id/artifacts/02-big", big, storage.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Retention == nil || info.Size != int64(len(big)) {
		t.Fatalf("multipart info %+v", info)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.uploads < 5 || rec.checksum != rec.uploads {
		t.Fatalf("%d of %d uploads carried x-amz-checksum-sha256", rec.checksum, rec.uploads)
	}
}

func TestPreflight(t *testing.T) {
	gw := testenv.VersityGW(t)
	ctx := context.Background()
	st := newStore(t, gw, gw.Endpoint, Config{})
	if w, err := st.Preflight(ctx); err != nil || w != "" {
		t.Fatalf("locked bucket: %q %v", w, err)
	}
	nolock := newBucket(t, gw, false)
	st = newStore(t, gw, gw.Endpoint, Config{Bucket: nolock})
	if _, err := st.Preflight(ctx); err == nil || !strings.Contains(err.Error(), "has no Object Lock") {
		t.Fatalf("unlocked bucket: %v", err)
	}
	st = newStore(t, gw, gw.Endpoint, Config{Bucket: nolock, NoLock: true})
	if w, err := st.Preflight(ctx); err != nil || !strings.Contains(w, "--no-lock") {
		t.Fatalf("--no-lock: %q %v", w, err)
	}
	if _, err := storage.PutBytes(ctx, st, "x", []byte("x"), storage.CreateOptions{}); err != nil {
		t.Fatalf("--no-lock put: %v", err)
	}
	st = newStore(t, gw, gw.Endpoint, Config{Bucket: "no-such-bucket"})
	if _, err := st.Preflight(ctx); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing bucket: %v", err)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	st2, _ := New(ctx, Config{Bucket: st.c.Bucket, Endpoint: gw.Endpoint})
	if _, err := st2.Preflight(ctx); err == nil || !strings.Contains(err.Error(), "credentials are wrong") {
		t.Fatalf("wrong secret: %v", err)
	}
	st3, _ := New(ctx, Config{Bucket: "b", Endpoint: "http://" + testenv.FreeAddr(t), MaxAttempts: 1})
	if _, err := st3.Preflight(ctx); err == nil || !strings.Contains(err.Error(), "cannot reach the S3 endpoint") {
		t.Fatalf("unreachable: %v", err)
	}
}

func TestParseURL(t *testing.T) {
	for in, want := range map[string][2]string{"s3://b": {"b", ""}, "s3://b/": {"b", ""}, "s3://b/p/q/": {"b", "p/q"}} {
		b, p, err := ParseURL(in)
		if err != nil || b != want[0] || p != want[1] {
			t.Errorf("%s: %s %s %v", in, b, p, err)
		}
	}
	for _, bad := range []string{"s3://", "s3:///x", "/tmp/x", "s3://a b/x"} {
		if _, _, err := ParseURL(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if SanitizeTag("INC-1&x=y/z é") != "INC-1_x=y/z _" {
		t.Errorf("sanitize: %q", SanitizeTag("INC-1&x=y/z é"))
	}
}

var _ = errors.Is
