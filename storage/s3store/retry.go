package s3store

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
)

// newRetryer is the one place that decides what is retried and how: the
// SDK's standard policy (throttling such as 503 SlowDown, 500/502/503/504,
// dropped, reset and refused connections, timeouts) plus a connection cut
// mid-answer (EOF), with exponential backoff and full jitter (50 ms base,
// 1 s for throttling, at most 20 s), at most attempts tries per request.
// The SDK's retry quota is off: on a bad link during an incident every
// request gets its own attempts rather than the whole client giving up.
//
// A retried part is re-sent from its in-memory buffer (the body is a
// bytes.Reader the SDK rewinds). A request whose answer was lost may have
// taken effect; the writer resolves that for the conditional PUT and the
// completion (see writer.lostAnswer).
func newRetryer(attempts int) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = attempts
		o.MaxBackoff = 20 * time.Second
		o.RateLimiter = ratelimit.None
		o.Retryables = append(o.Retryables, retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || strings.Contains(err.Error(), "broken pipe") {
				return aws.TrueTernary
			}
			return aws.UnknownTernary
		}))
	})
}

// stallTimeout is how long a connection may make no progress, reading or
// writing, before it is dropped and the request retried. Tests shorten it.
var stallTimeout = 2 * time.Minute

// httpClient bounds every wait: connecting, waiting for an answer, and a
// body write the peer stopped reading (which no http.Transport timeout
// covers, and which TCP would only give up on after many minutes).
func httpClient() *awshttp.BuildableClient {
	stall := stallTimeout
	return awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = 15 * time.Second }).
		WithTransportOptions(func(t *http.Transport) {
			t.ResponseHeaderTimeout = stall
			t.WriteBufferSize = 256 << 10
			t.ReadBufferSize = 256 << 10
			dial := t.DialContext
			t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := dial(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return &stallConn{Conn: c, d: stall}, nil
			}
		})
}

// stallConn fails a read or write that makes no progress for d.
type stallConn struct {
	net.Conn
	d time.Duration
}

func (c *stallConn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.d))
	return c.Conn.Read(p)
}

func (c *stallConn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.d))
	return c.Conn.Write(p)
}

// attemptsKey holds the *atomic.Int32 that countAttempts increments.
type attemptsKey struct{}

// withAttempts returns a context in which requests count their attempts.
func withAttempts(ctx context.Context) (context.Context, *atomic.Int32) {
	n := new(atomic.Int32)
	return context.WithValue(ctx, attemptsKey{}, n), n
}

// countAttempts counts each attempt (after the retry middleware), so the
// writer can tell a refusal of its first attempt from one of a retry whose
// predecessor may have succeeded.
func countAttempts(stack *middleware.Stack) error {
	return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("custosCountAttempts",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			if n, ok := ctx.Value(attemptsKey{}).(*atomic.Int32); ok {
				n.Add(1)
			}
			return next.HandleFinalize(ctx, in)
		}), "Retry", middleware.After)
}

// payloadHash hands the signer the SHA-256 we computed for the checksum
// header, so over plain HTTP the SDK does not hash the body a second time
// to sign it (over HTTPS it signs UNSIGNED-PAYLOAD and the signed
// x-amz-checksum-sha256 header protects the body).
func payloadHash(hexSum string) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("custosPayloadHash",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					return next.HandleFinalize(v4.SetPayloadHash(ctx, hexSum), in)
				}), middleware.Before)
		})
	}
}
