package s3store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/custos-ir/custos/internal/testenv"
	"github.com/custos-ir/custos/storage"
	"github.com/custos-ir/custos/storage/storagetest"
)

// TestConformance runs the storage suite on versitygw through the
// recording proxy, then checks that every upload of the whole run carried
// its SHA-256, its lock and If-None-Match.
func TestConformance(t *testing.T) {
	gw := testenv.VersityGW(t)
	p := newProxy(t, gw.Endpoint)
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return newStore(t, gw, p.URL, Config{Prefix: "evidence/cases", PartSize: 5 << 20, Concurrency: 3})
	}, storagetest.Options{LargeSize: 12 << 20})
	puts, parts, creates := checkUploadHeaders(t, p.requests(), true)
	t.Logf("%d PutObject, %d UploadPart, %d CreateMultipartUpload, each with its SHA-256 and lock", puts, parts, creates)
	if puts < 10 || parts < 6 || creates < 2 {
		t.Fatalf("the suite sent only %d PutObject, %d UploadPart, %d CreateMultipartUpload", puts, parts, creates)
	}
}

// TestObjectLock stores single-part and multipart objects in both modes:
// the lock and tags are on the object as asked, the version cannot be
// deleted nor the key written again.
func TestObjectLock(t *testing.T) {
	gw := testenv.VersityGW(t)
	root := gw.Client()
	ctx := context.Background()
	for _, mode := range []string{"COMPLIANCE", "GOVERNANCE"} {
		for _, size := range []int{900, 11 << 20} {
			t.Run(fmt.Sprintf("%s/%d", mode, size), func(t *testing.T) {
				st := newStore(t, gw, gw.Endpoint, Config{Prefix: "p", LockMode: strings.ToLower(mode), Retention: 48 * time.Hour,
					PartSize: 5 << 20, Tags: map[string]string{"retention": "48h", "case": "INC-1 & co"}})
				const key = "C/h/id/artifacts/01-x"
				data := bytes.Repeat([]byte("evidence "), size/9)
				before := time.Now()
				info, err := storage.PutBytes(ctx, st, key, data, storage.CreateOptions{Tags: map[string]string{"artifact": "processes"}})
				if err != nil {
					t.Fatal(err)
				}
				if !info.Confirmed || info.VersionID == "" || info.ETag == "" || info.Size != int64(len(data)) || info.Retention == nil || info.Retention.Mode != mode {
					t.Fatalf("commit info %+v", info)
				}
				if d := info.Retention.Until.Sub(before.Add(48 * time.Hour)); d < 0 || d > time.Minute {
					t.Fatalf("retain until %s, want upload time + 48h (%s)", info.Retention.Until, before.Add(48*time.Hour))
				}
				si, err := st.Stat(ctx, key)
				if err != nil || si.Retention == nil || si.Retention.Mode != mode || !si.Retention.Until.Equal(info.Retention.Until) || si.VersionID != info.VersionID {
					t.Fatalf("stat %+v %v", si, err)
				}
				if size < 5<<20 && si.SHA256 != sha256.Sum256(data) {
					t.Fatalf("stat sha256 %s", si.SHA256)
				}
				tags, err := st.Tags(ctx, key)
				if err != nil {
					t.Fatal(err)
				}
				if want := map[string]string{"retention": "48h", "artifact": "processes", "case": "INC-1 _ co"}; fmt.Sprint(tags) != fmt.Sprint(want) {
					t.Fatalf("tags %v, want %v", tags, want)
				}
				// The locked version cannot be deleted, even by root.
				_, err = root.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(st.c.Bucket), Key: aws.String("p/" + key), VersionId: aws.String(info.VersionID)})
				if err == nil {
					t.Fatal("root deleted a locked version")
				}
				// Nor the key written again, by a PUT or a multipart upload.
				if _, err := storage.PutBytes(ctx, st, key, append([]byte("forged"), data...), storage.CreateOptions{}); !errors.Is(err, storage.ErrExist) {
					t.Fatalf("second write: %v", err)
				}
				vs, err := root.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(st.c.Bucket), Prefix: aws.String("p/" + key)})
				if err != nil || len(vs.Versions) != 1 || len(vs.DeleteMarkers) != 0 || aws.ToString(vs.Versions[0].VersionId) != info.VersionID {
					t.Fatalf("versions %+v %v", vs, err)
				}
				if got := readAll(t, st, key); !bytes.Equal(got, data) {
					t.Fatal("object changed")
				}
			})
		}
	}
}

// TestPerObjectRetention: a bucket's default retention is not relied on;
// each object carries its own, and CreateOptions.Retention wins.
func TestPerObjectRetention(t *testing.T) {
	gw := testenv.VersityGW(t)
	ctx := context.Background()
	bucket := newBucket(t, gw, true)
	_, err := gw.Client().PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String(bucket),
		ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled,
			Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(1)}}}})
	if err != nil {
		t.Fatal(err)
	}
	st := newStore(t, gw, gw.Endpoint, Config{Bucket: bucket})
	info, err := storage.PutBytes(ctx, st, "a", []byte("a"), storage.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Retention.Mode != "COMPLIANCE" || info.Retention.Until.Before(time.Now().Add(DefaultRetention-time.Minute)) {
		t.Fatalf("retention %+v, want COMPLIANCE for 90 days", info.Retention)
	}
	until := time.Now().Add(2 * time.Hour).Round(time.Millisecond)
	info, err = storage.PutBytes(ctx, st, "b", []byte("b"), storage.CreateOptions{Retention: &storage.Retention{Mode: "GOVERNANCE", Until: until}})
	if err != nil {
		t.Fatal(err)
	}
	if info.Retention.Mode != "GOVERNANCE" || info.Retention.Until.Before(until) || info.Retention.Until.After(until.Add(time.Second)) {
		t.Fatalf("retention %+v, asked GOVERNANCE until %s", info.Retention, until)
	}
	for _, bad := range []*storage.Retention{{Mode: "LEGAL", Until: until}, {Mode: "COMPLIANCE", Until: time.Now().Add(-time.Minute)}} {
		if _, err := st.Create(ctx, "c", storage.CreateOptions{Retention: bad}); err == nil {
			t.Errorf("retention %+v accepted", bad)
		}
	}
}

// TestWriteOnly uses the least-privilege policy of docs/s3.md: the
// collecting host may put objects, their retention and tags, nothing else.
func TestWriteOnly(t *testing.T) {
	gw := testenv.VersityGW(t)
	ctx := context.Background()
	bucket := newBucket(t, gw, true)
	gw.CreateUser(t, "collector", "collectorsecret0123")
	policy := func(actions ...string) { grant(t, gw, bucket, actions...) }
	policy("s3:PutObject", "s3:PutObjectRetention", "s3:PutObjectTagging")
	p := newProxy(t, gw.Endpoint)
	gw.SetEnv(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "collector")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "collectorsecret0123")
	// A bucket without Object Lock is found out by the probe's lock
	// headers, though these credentials may not read its configuration.
	unlocked := newBucket(t, gw, false)
	grant(t, gw, unlocked, "s3:PutObject", "s3:PutObjectRetention", "s3:PutObjectTagging")
	nl, err := New(ctx, Config{Bucket: unlocked, Prefix: "cases", Endpoint: gw.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nl.Preflight(ctx); err == nil || !strings.Contains(err.Error(), "has no Object Lock") {
		t.Fatalf("write-only preflight on a bucket without Object Lock: %v", err)
	}
	st, err := New(ctx, Config{Bucket: bucket, Prefix: "cases", Endpoint: p.URL, PartSize: 5 << 20, Tags: map[string]string{"case": "W"}})
	if err != nil {
		t.Fatal(err)
	}
	warn, err := st.Preflight(ctx)
	if err != nil {
		t.Fatalf("preflight with write-only credentials: %v", err)
	}
	if !strings.Contains(warn, "s3:AbortMultipartUpload") {
		t.Fatalf("preflight warning %q, want one about s3:AbortMultipartUpload", warn)
	}
	for _, size := range []int{100, 7 << 20} {
		key := fmt.Sprintf("C/h/id/%d", size)
		data := bytes.Repeat([]byte{'w'}, size)
		before := time.Now()
		info, err := storage.PutBytes(ctx, st, key, data, storage.CreateOptions{})
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		if info.Confirmed || info.Size != int64(size) || info.Retention == nil || info.Retention.Mode != "COMPLIANCE" || info.SHA256 != sha256.Sum256(data) {
			t.Fatalf("%d bytes: commit info %+v, want the upload's own answers, unconfirmed", size, info)
		}
		if info.VersionID == "" || info.ETag == "" {
			t.Errorf("%d bytes: no version or ETag from the upload's answer: %+v", size, info)
		}
		// Root sees the object, locked as the collector asked.
		h, err := gw.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("cases/" + key)})
		if err != nil || aws.ToInt64(h.ContentLength) != int64(size) || h.ObjectLockMode != "COMPLIANCE" || h.ObjectLockRetainUntilDate.Before(before.Add(DefaultRetention)) {
			t.Fatalf("%d bytes: root sees %+v %v", size, h, err)
		}
		// The collector can neither read, nor write the key again.
		if _, err := st.Stat(ctx, key); err == nil || !strings.Contains(err.Error(), "access denied") {
			t.Fatalf("stat with write-only credentials: %v", err)
		}
		if _, err := storage.PutBytes(ctx, st, key, []byte("again"), storage.CreateOptions{}); !errors.Is(err, storage.ErrExist) {
			t.Fatalf("second write with write-only credentials: %v", err)
		}
	}
	puts, parts, _ := checkUploadHeaders(t, p.requests(), true)
	if puts == 0 || parts == 0 {
		t.Fatalf("%d puts, %d parts", puts, parts)
	}
	// With s3:AbortMultipartUpload too, preflight has nothing to say.
	policy("s3:PutObject", "s3:PutObjectRetention", "s3:PutObjectTagging", "s3:AbortMultipartUpload")
	if warn, err := st.Preflight(ctx); err != nil || warn != "" {
		t.Fatalf("preflight: %q %v", warn, err)
	}
	// Without s3:PutObjectRetention, preflight says what is missing.
	policy("s3:PutObject", "s3:PutObjectTagging")
	if _, err := st.Preflight(ctx); err == nil || !strings.Contains(err.Error(), "s3:PutObjectRetention") {
		t.Fatalf("preflight without PutObjectRetention: %v", err)
	}
}

// grant sets bucket's policy: the user "collector" may do actions under
// cases/.
func grant(t *testing.T, gw *testenv.GW, bucket string, actions ...string) {
	t.Helper()
	_, err := gw.Client().PutBucketPolicy(context.Background(), &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(fmt.Sprintf(`{
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Principal": {"AWS": ["collector"]}, "Action": [%s], "Resource": ["arn:aws:s3:::%s/cases/*"]}]}`,
		`"`+strings.Join(actions, `", "`)+`"`, bucket))})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPreflight(t *testing.T) {
	gw := testenv.VersityGW(t)
	ctx := context.Background()
	st := newStore(t, gw, gw.Endpoint, Config{Prefix: "x"})
	if w, err := st.Preflight(ctx); err != nil || w != "" {
		t.Fatalf("locked bucket: %q %v", w, err)
	}
	// The probe upload was aborted: nothing to see, nothing pending.
	ups, err := gw.Client().ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(st.c.Bucket)})
	if err != nil || len(ups.Uploads) != 0 {
		t.Fatalf("uploads left behind: %+v %v", ups, err)
	}
	if keys := listKeys(t, st); len(keys) != 0 {
		t.Fatalf("preflight left objects %v", keys)
	}

	nolock := newBucket(t, gw, false)
	p := newProxy(t, gw.Endpoint)
	cases := []struct {
		name  string
		c     Config
		env   map[string]string
		fault fault
		want  string
	}{
		{name: "unlocked", c: Config{Bucket: nolock}, want: "has no Object Lock"},
		{name: "missing bucket", c: Config{Bucket: "no-such-bucket"}, want: "bucket no-such-bucket does not exist"},
		{name: "wrong secret", c: Config{Bucket: st.c.Bucket}, env: map[string]string{"AWS_SECRET_ACCESS_KEY": "wrong"}, want: "credentials are wrong"},
		{name: "unknown key", c: Config{Bucket: st.c.Bucket}, env: map[string]string{"AWS_ACCESS_KEY_ID": "nobody"}, want: "credentials are wrong"},
		{name: "unreachable", c: Config{Bucket: "b", Endpoint: "http://" + testenv.FreeAddr(t)}, want: "cannot reach the S3 endpoint http://127.0.0.1:"},
		{name: "skewed clock", c: Config{Bucket: st.c.Bucket, Endpoint: p.URL}, fault: skewed, want: "clock as skewed (this host is 1h0m"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gw.SetEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			if c.c.Endpoint == "" {
				c.c.Endpoint = gw.Endpoint
			}
			p.setFault(func(request, int) fault { return c.fault })
			st, err := New(ctx, c.c)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = st.Preflight(ctx)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("preflight: %v, want %q", err, c.want)
			}
			if strings.Count(err.Error(), "\n") > 0 || time.Since(start) > 5*time.Second {
				t.Fatalf("not one quick line (%s): %v", time.Since(start), err)
			}
			t.Log(err)
		})
	}
	// --no-lock accepts the unlocked bucket, with a warning, and sends no
	// lock headers.
	nl := newStore(t, gw, gw.Endpoint, Config{Bucket: nolock, NoLock: true})
	if w, err := nl.Preflight(ctx); err != nil || !strings.Contains(w, "has no Object Lock") {
		t.Fatalf("--no-lock: %q %v", w, err)
	}
	info, err := storage.PutBytes(ctx, nl, "x", []byte("x"), storage.CreateOptions{})
	if err != nil || info.Retention != nil || !info.Confirmed {
		t.Fatalf("--no-lock put: %+v %v", info, err)
	}
	if nl.Supports().Retention {
		t.Fatal("a --no-lock store claims retention")
	}
}

// TestLostAnswer: the server acts but its answer is lost; the retry is
// refused (the key is taken, the upload completed), and the writer finds
// its own object there.
func TestLostAnswer(t *testing.T) {
	gw := testenv.VersityGW(t)
	ctx := context.Background()
	for _, op := range []string{"PutObject", "CompleteMultipartUpload", "UploadPart", "CreateMultipartUpload"} {
		t.Run(op, func(t *testing.T) {
			p := newProxy(t, gw.Endpoint)
			done := false
			p.setFault(func(r request, n int) fault {
				if r.op() == op && !done {
					done = true
					return dropReply
				}
				return pass
			})
			st := newStore(t, gw, p.URL, Config{PartSize: 5 << 20})
			data := bytes.Repeat([]byte("0123456789"), 1<<20)
			if op == "PutObject" {
				data = data[:1000]
			}
			info, err := storage.PutBytes(ctx, st, "k", data, storage.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !done || !info.Confirmed || info.VersionID == "" || info.Retention == nil {
				t.Fatalf("fault injected %v, info %+v", done, info)
			}
			assertStoredOnce(t, gw, st, "k", data)
		})
	}
}

// TestSlowDown: throttling and dropped connections are retried, a part
// from its buffer.
func TestSlowDown(t *testing.T) {
	gw := testenv.VersityGW(t)
	p := newProxy(t, gw.Endpoint)
	// Each fault once: a throttled part, a part cut mid-body, a throttled
	// PUT, a completion cut mid-body.
	seen := map[string]int{}
	p.setFault(func(r request, n int) fault {
		seen[r.op()]++
		switch {
		case r.op() == "UploadPart" && seen["UploadPart"] == 2:
			return slowDown
		case r.op() == "UploadPart" && seen["UploadPart"] == 4:
			return dropBody
		case r.op() == "PutObject" && seen["PutObject"] == 1:
			return slowDown
		case r.op() == "CompleteMultipartUpload" && seen["CompleteMultipartUpload"] == 1:
			return dropBody
		}
		return pass
	})
	st := newStore(t, gw, p.URL, Config{PartSize: 5 << 20})
	data := bytes.Repeat([]byte("abcdefghijklm"), 2<<20)
	if _, err := storage.PutBytes(context.Background(), st, "big", data, storage.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := storage.PutBytes(context.Background(), st, "small", data[:10], storage.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	faults := 0
	for _, r := range p.requests() {
		if r.Fault != pass {
			faults++
		}
	}
	if faults != 4 {
		t.Fatalf("%d faults injected, want 4", faults)
	}
	assertStoredOnce(t, gw, st, "big", data)
	assertStoredOnce(t, gw, st, "small", data[:10])
}

// TestVersityDifferences pins down where versitygw v1.8.0 is laxer or
// stricter than AWS, each the reason for something custos does itself.
func TestVersityDifferences(t *testing.T) {
	gw := testenv.VersityGW(t)
	ctx := context.Background()
	root := gw.Client()
	bucket := newBucket(t, gw, true)
	until := aws.Time(time.Now().Add(time.Hour).UTC().Truncate(time.Second))
	// 1. A PUT with a lock but no checksum is accepted (AWS requires
	// Content-MD5 or x-amz-checksum-*): so the tests assert custos sends
	// the SHA-256 itself.
	if _, err := root.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("nosum"), Body: strings.NewReader("x"),
		ObjectLockMode: types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: until}); err != nil {
		t.Errorf("versitygw now refuses a lock PUT without checksum (%v): AWS-like, update docs/s3.md", err)
	}
	// 2. A tag value with '&' is refused, even encoded: custos sanitizes.
	if _, err := root.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("amp"), Body: strings.NewReader("x"),
		Tagging: aws.String("case=" + url.QueryEscape("A&B"))}); err == nil {
		t.Errorf("versitygw now accepts '&' in a tag value: update SanitizeTagValue's comment")
	}
	// 3. Root may bypass GOVERNANCE (as on AWS); only COMPLIANCE holds
	// against everyone.
	for _, mode := range []types.ObjectLockMode{types.ObjectLockModeGovernance, types.ObjectLockModeCompliance} {
		key := "locked-" + string(mode)
		out, err := root.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("x"),
			ChecksumAlgorithm: types.ChecksumAlgorithmSha256, ObjectLockMode: mode, ObjectLockRetainUntilDate: until})
		if err != nil {
			t.Fatal(err)
		}
		del := &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: out.VersionId}
		if _, err := root.DeleteObject(ctx, del); err == nil {
			t.Errorf("%s: root deleted a locked version without bypass", mode)
		}
		del.BypassGovernanceRetention = aws.Bool(true)
		_, err = root.DeleteObject(ctx, del)
		if mode == types.ObjectLockModeGovernance && err != nil {
			t.Errorf("GOVERNANCE: root could not bypass: %v", err)
		}
		if mode == types.ObjectLockModeCompliance && err == nil {
			t.Errorf("COMPLIANCE: root deleted a locked version with bypass")
		}
	}
	// 4. A bucket's default retention is not reported on the object (AWS
	// puts it on each new object); versitygw applies it to every version
	// in the bucket until the configuration's own date + Days, not the
	// object's upload + Days. custos sets retention on each object.
	_, err := root.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String(bucket),
		ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled,
			Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(1)}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("default"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	if h, err := root.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("default")}); err != nil || h.ObjectLockMode != "" {
		t.Errorf("versitygw now reports the bucket default retention on the object (%v %v): update docs/s3.md", h.ObjectLockMode, err)
	}
}

func TestParseURL(t *testing.T) {
	good := []struct{ in, bucket, prefix string }{
		{"s3://b", "b", ""},
		{"s3://b/", "b", ""},
		{"s3://acme-evidence/cases/", "acme-evidence", "cases"},
		{"s3://b/p/q//", "b", "p/q"},
		{"s3://Legacy_Bucket.1/x", "Legacy_Bucket.1", "x"},
		{"s3://b/INC 42/é", "b", "INC 42/é"},
	}
	for _, c := range good {
		b, p, err := ParseURL(c.in)
		if err != nil || b != c.bucket || p != c.prefix {
			t.Errorf("ParseURL(%q) = %q, %q, %v; want %q, %q", c.in, b, p, err, c.bucket, c.prefix)
		}
	}
	bad := []struct{ in, want string }{
		{"s3://", "names no bucket"},
		{"s3:///x", "names no bucket"},
		{"/tmp/x", "not an s3:// URL"},
		{"S3://b", "not an s3:// URL"},
		{"s3://a b/x", "not a bucket name"},
		{"s3://b?x=1", "not a bucket name"},
		{"s3://-b", "not a bucket name"},
		{"s3://b/a//c", "empty"},
		{"s3://b/a/../c", `".."`},
		{"s3://b/a\\c", "backslash"},
		{"s3://b/a\nc", "control"},
	}
	for _, c := range bad {
		if _, _, err := ParseURL(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseURL(%q): %v, want an error with %q", c.in, err, c.want)
		}
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"s3://b", "s3://b/p/q", "s3:///x", "s3://b//", "s3://b/a/../c", "s3://b/\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, p, err := ParseURL(s)
		if err != nil {
			return
		}
		if b == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//") {
			t.Fatalf("ParseURL(%q) = %q, %q", s, b, p)
		}
		u := "s3://" + b
		if p != "" {
			u += "/" + p
		}
		if b2, p2, err := ParseURL(u); err != nil || b2 != b || p2 != p {
			t.Fatalf("round trip of %q: %q %q %v", u, b2, p2, err)
		}
	})
}

func TestSanitizeTagValue(t *testing.T) {
	for in, want := range map[string]string{
		"INC-1&x=y/z é":       "INC-1_x=y/z é",
		"a+b c:d@e.f_g":       "a+b c:d@e.f_g",
		"tab\there;<>\"'?#%*": "tab_here_________",
		"\xff\xfe":            "__",
		"":                    "",
		"ünïcødé 42":          "ünïcødé 42",
	} {
		if got := SanitizeTagValue(in); got != want {
			t.Errorf("SanitizeTagValue(%q) = %q, want %q", in, got, want)
		}
	}
	long := SanitizeTagValue(strings.Repeat("é", 300))
	if n := len(escapeTag(long)); n > 256 || n < 250 {
		t.Errorf("a long value encodes to %d bytes", n)
	}
	if got := encodeTags(map[string]string{"b": "x y+z", "a": "1/2"}); got != "a=1%2F2&b=x%20y%2Bz" {
		t.Errorf("encodeTags: %s", got)
	}
}

func FuzzSanitizeTagValue(f *testing.F) {
	for _, s := range []string{"INC-1 & co", "\xff", "é+ü", strings.Repeat("%", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := SanitizeTagValue(s)
		if !utf8.ValidString(v) || len(escapeTag(v)) > maxTagValueLen || SanitizeTagValue(v) != v {
			t.Fatalf("SanitizeTagValue(%q) = %q", s, v)
		}
		for _, c := range v {
			if !tagRune(c) {
				t.Fatalf("SanitizeTagValue(%q) kept %q", s, c)
			}
		}
		// What versitygw's parser decodes is what was meant.
		q, err := url.QueryUnescape(escapeTag(v))
		if err != nil || q != v {
			t.Fatalf("escape of %q decodes to %q %v", v, q, err)
		}
	})
}

func TestNewRefuses(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		c    Config
		want string
	}{
		{Config{}, "no bucket"},
		{Config{Bucket: "b", LockMode: "legal"}, "lock mode"},
		{Config{Bucket: "b", PartSize: 1 << 20}, "part size"},
		{Config{Bucket: "b", Endpoint: "localhost:9000"}, "want a URL"},
		{Config{Bucket: "b", Retention: -time.Hour}, "retention"},
	} {
		if _, err := New(ctx, c.c); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v): %v, want %q", c.c, err, c.want)
		}
	}
	st, err := New(ctx, Config{Bucket: "b", Endpoint: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"", "/a", "a/../b", "a//b", "a\\b", "..", strings.Repeat("k", 1025)} {
		if _, err := st.Create(ctx, key, storage.CreateOptions{}); err == nil {
			t.Errorf("key %q accepted", key)
		}
	}
	tags := map[string]string{}
	for i := range 11 {
		tags[fmt.Sprint("t", i)] = "v"
	}
	if _, err := st.Create(ctx, "k", storage.CreateOptions{Tags: tags}); err == nil {
		t.Error("11 tags accepted")
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv("CUSTOS_S3_ENDPOINT", "http://e")
	t.Setenv("CUSTOS_S3_REGION", "eu-central-1")
	t.Setenv("CUSTOS_S3_PROFILE", "ir")
	t.Setenv("CUSTOS_S3_LOCK_MODE", "governance")
	c := Config{Region: "us-west-2"}
	ConfigFromEnv(&c)
	if c.Endpoint != "http://e" || c.Region != "us-west-2" || c.Profile != "ir" || c.LockMode != "governance" {
		t.Fatalf("%+v", c)
	}
}

// assertStoredOnce checks, as root, that key has exactly one version and
// holds data.
func assertStoredOnce(t *testing.T, gw *testenv.GW, st *Store, key string, data []byte) {
	t.Helper()
	ctx := context.Background()
	full := st.key(key)
	vs, err := gw.Client().ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(st.c.Bucket), Prefix: aws.String(full)})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range vs.Versions {
		if aws.ToString(v.Key) == full {
			n++
		}
	}
	if n != 1 || len(vs.DeleteMarkers) != 0 {
		t.Fatalf("%s: %d versions, %d delete markers, want one version", key, n, len(vs.DeleteMarkers))
	}
	if got := readAll(t, st, key); sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("%s: stored bytes differ (%d bytes, want %d)", key, len(got), len(data))
	}
}

func readAll(t *testing.T, st storage.Store, key string) []byte {
	t.Helper()
	rc, err := st.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func listKeys(t *testing.T, st storage.Store) []string {
	t.Helper()
	var keys []string
	if err := st.List(context.Background(), "", func(o storage.ObjectInfo) error { keys = append(keys, o.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	return keys
}
