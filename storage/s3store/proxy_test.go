package s3store

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custos-ir/custos/internal/testenv"
)

// fault is what the proxy does to one request.
type fault int

const (
	pass      fault = iota
	slowDown        // answer 503 SlowDown without forwarding
	dropBody        // read part of the body, then cut the connection: the server sees nothing whole
	dropReply       // forward, let the server act, then cut the connection: the answer is lost
	skewed          // answer 403 RequestTimeTooSkewed
	stall           // read nothing, answer nothing, until the client gives up
)

// request is what the proxy saw of one request.
type request struct {
	Method string
	Query  url.Values
	Header http.Header
	Size   int64 // Content-Length
	Fault  fault
}

// op names the S3 operation of a request, for the ones custos sends.
func (r request) op() string {
	q := r.Query
	switch {
	case r.Method == http.MethodPut && q.Has("partNumber"):
		return "UploadPart"
	case r.Method == http.MethodPut && q.Has("tagging"), r.Method == http.MethodPut && q.Has("retention"):
		return "PutObjectMeta"
	case r.Method == http.MethodPut && r.Header.Get("x-amz-copy-source") == "":
		return "PutObject"
	case r.Method == http.MethodPost && q.Has("uploads"):
		return "CreateMultipartUpload"
	case r.Method == http.MethodPost && q.Has("uploadId"):
		return "CompleteMultipartUpload"
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		return "AbortMultipartUpload"
	case r.Method == http.MethodHead:
		return "HeadObject"
	}
	return r.Method
}

// proxy is an S3-aware loopback proxy in front of versitygw: it records
// every request custos sends and injects faults.
type proxy struct {
	URL   string
	mu    sync.Mutex
	reqs  []request
	fault func(r request, n int) fault // n counts requests from 1
	n     int
	// stallFor is how long a stall fault holds a connection (default 5 s).
	stallFor time.Duration
}

func newProxy(t testing.TB, upstream string) *proxy {
	p := &proxy{stallFor: 5 * time.Second}
	target, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = nil
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := request{Method: r.Method, Query: r.URL.Query(), Header: r.Header.Clone(), Size: r.ContentLength}
		p.mu.Lock()
		p.n++
		if p.fault != nil {
			rec.Fault = p.fault(rec, p.n)
		}
		p.reqs = append(p.reqs, rec)
		p.mu.Unlock()
		switch rec.Fault {
		case slowDown:
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate (injected).</Message></Error>`)
		case skewed:
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/xml")
			w.Header().Set("Date", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time and the current time is too large.</Message></Error>`)
		case dropBody:
			io.CopyN(io.Discard, r.Body, max(r.ContentLength/2, 1))
			cut(w)
		case stall:
			// Neither read nor answer: the client's writes block once the
			// socket buffers fill, or it waits for an answer, until its
			// stall timeout.
			if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
				time.Sleep(p.stallFor)
				c.Close()
			}
		case dropReply:
			rp.ServeHTTP(httptest.NewRecorder(), r)
			cut(w)
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// cut closes the client's connection without an answer.
func cut(w http.ResponseWriter) {
	if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
		c.Close()
	}
}

func (p *proxy) requests() []request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]request(nil), p.reqs...)
}

func (p *proxy) setFault(f func(r request, n int) fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault, p.n, p.reqs = f, 0, nil
}

// checkUploadHeaders asserts that every upload custos sent carried its
// SHA-256 and, where asked, its lock: versitygw would take them without,
// AWS would not.
func checkUploadHeaders(t *testing.T, reqs []request, lock bool) (puts, parts, creates int) {
	t.Helper()
	for _, r := range reqs {
		switch r.op() {
		case "PutObject", "UploadPart":
			sum, err := base64.StdEncoding.DecodeString(r.Header.Get("X-Amz-Checksum-Sha256"))
			if err != nil || len(sum) != sha256.Size {
				t.Errorf("%s %v without x-amz-checksum-sha256", r.op(), r.Query)
			} else if got := r.Header.Get("X-Amz-Content-Sha256"); got != hex.EncodeToString(sum) {
				// Over plain HTTP the body is signed with the same digest.
				t.Errorf("%s signed with payload hash %q, the checksum is %x", r.op(), got, sum)
			}
			if r.op() == "PutObject" {
				puts++
				if r.Header.Get("If-None-Match") != "*" {
					t.Errorf("PutObject without If-None-Match: *")
				}
			} else {
				parts++
			}
		case "CreateMultipartUpload":
			creates++
			if r.Header.Get("X-Amz-Checksum-Algorithm") != "SHA256" {
				t.Errorf("CreateMultipartUpload with checksum algorithm %q", r.Header.Get("X-Amz-Checksum-Algorithm"))
			}
		case "CompleteMultipartUpload":
			if r.Header.Get("If-None-Match") != "*" {
				t.Errorf("CompleteMultipartUpload without If-None-Match: *")
			}
		}
		if op := r.op(); lock && (op == "PutObject" || op == "CreateMultipartUpload") {
			if r.Header.Get("X-Amz-Object-Lock-Mode") == "" || r.Header.Get("X-Amz-Object-Lock-Retain-Until-Date") == "" {
				t.Errorf("%s without Object Lock headers", op)
			}
		}
	}
	return
}

var bucketN atomic.Int32

func newBucket(t testing.TB, gw *testenv.GW, lock bool) string {
	t.Helper()
	name := fmt.Sprintf("custos-%d-%d", os.Getpid()%10000, bucketN.Add(1))
	gw.MakeBucket(t, name, lock)
	return name
}

// newStore makes a store on a fresh locked bucket (unless c.Bucket is set)
// through endpoint, as root.
func newStore(t testing.TB, gw *testenv.GW, endpoint string, c Config) *Store {
	t.Helper()
	gw.SetEnv(t)
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
