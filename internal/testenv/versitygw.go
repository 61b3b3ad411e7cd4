package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// GW is a versitygw S3 server on a loopback port, for one test. Its root
// user is AccessKey/SecretKey; CreateUser adds others.
type GW struct {
	Endpoint  string // http://127.0.0.1:PORT
	Addr      string // 127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Region    string
	Dir       string // holds root/, versions/, iam/ and versitygw.log
	bin       string
}

// VersityGWBinary finds versitygw: $CUSTOS_VERSITYGW, then versitygw on
// PATH, then ~/.cache/custos-tools/versitygw (where .ci/run builds it). It
// returns "" when there is none.
func VersityGWBinary() string {
	if p := os.Getenv("CUSTOS_VERSITYGW"); p != "" {
		return p
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	home, _ := os.UserHomeDir()
	p := filepath.Join(home, ".cache", "custos-tools", "versitygw")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

// VersityGW starts versitygw (posix backend with a versioning directory, so
// Object Lock works, and an internal IAM directory, so tests can add
// users with fewer rights than root) and stops it when the test ends. It
// returns once the gateway answers HTTP. Missing versitygw fails the test
// under CI=true and skips it elsewhere.
func VersityGW(t testing.TB) *GW {
	t.Helper()
	bin := VersityGWBinary()
	if _, err := os.Stat(bin); bin == "" || err != nil {
		Missing(t, "versitygw "+bin, "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0, or set $CUSTOS_VERSITYGW (.ci/run builds it into ~/.cache/custos-tools)")
	}
	dir := t.TempDir()
	root, vers, iam := filepath.Join(dir, "root"), filepath.Join(dir, "versions"), filepath.Join(dir, "iam")
	for _, d := range []string{root, vers, iam} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	addr := FreeAddr(t)
	g := &GW{Endpoint: "http://" + addr, Addr: addr, AccessKey: "custostestaccess", SecretKey: "custostestsecret0123456789",
		Region: "us-east-1", Dir: dir, bin: bin}
	logName := filepath.Join(dir, "versitygw.log")
	logf, err := os.Create(logName)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--access", g.AccessKey, "--secret", g.SecretKey, "--region", g.Region, "--port", addr,
		"--iam-dir", iam, "posix", "--versioning-dir", vers, root)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		logf.Close()
	})
	// Ready when it answers HTTP at all (403 to an unsigned request), not
	// merely when the port accepts.
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := hc.Get(g.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(logName)
			t.Fatalf("versitygw exited at start: %s", b)
		default:
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logName)
			t.Fatalf("versitygw did not answer on %s within 15s: %s", addr, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return g
}

// FreeAddr returns a free loopback address.
func FreeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Client is an S3 client of the root user, for setup and for checking what
// the server holds.
func (g *GW) Client() *s3.Client { return g.ClientAs(g.AccessKey, g.SecretKey) }

// ClientAs is an S3 client with other credentials.
func (g *GW) ClientAs(access, secret string) *s3.Client {
	return s3.New(s3.Options{
		Region:                     g.Region,
		BaseEndpoint:               aws.String(g.Endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(access, secret, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// MakeBucket creates a bucket owned by root, with Object Lock (and so
// versioning) or without.
func (g *GW) MakeBucket(t testing.TB, name string, objectLock bool) {
	t.Helper()
	_, err := g.Client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name), ObjectLockEnabledForBucket: aws.Bool(objectLock)})
	if err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
}

// CreateUser adds a gateway user with the "user" role: it may do nothing
// on root's buckets but what a bucket policy grants it.
func (g *GW) CreateUser(t testing.TB, access, secret string) {
	t.Helper()
	out, err := exec.Command(g.bin, "admin", "--access", g.AccessKey, "--secret", g.SecretKey, "--region", g.Region,
		"--endpoint-url", g.Endpoint, "create-user", "--access", access, "--secret", secret, "--role", "user").CombinedOutput()
	if err != nil {
		t.Fatalf("versitygw admin create-user %s: %v: %s", access, err, out)
	}
}

// Env is the environment a custos subprocess needs to reach the server as
// root: append it to os.Environ() for exec.Cmd.Env (later entries win).
// It also blanks the profile and disables instance metadata, so a
// developer's ~/.aws settings and a cloud host's role do not leak in.
func (g *GW) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + g.AccessKey, "AWS_SECRET_ACCESS_KEY=" + g.SecretKey, "AWS_SESSION_TOKEN=",
		"AWS_REGION=" + g.Region, "AWS_PROFILE=", "AWS_EC2_METADATA_DISABLED=true",
		"CUSTOS_S3_ENDPOINT=" + g.Endpoint,
	}
}

// SetEnv sets Env in this test process (t.Setenv: not for parallel tests),
// for code that reads the AWS default credential chain in-process.
func (g *GW) SetEnv(t testing.TB) {
	t.Helper()
	for _, kv := range g.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

func (g *GW) String() string { return fmt.Sprintf("versitygw at %s", g.Endpoint) }
