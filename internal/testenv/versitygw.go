package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// GW is a versitygw S3 server on a loopback port, for one test.
type GW struct {
	Endpoint  string
	Addr      string
	AccessKey string
	SecretKey string
	Region    string
}

// VersityGWBinary finds versitygw: $CUSTOS_VERSITYGW, PATH, or the cache
// .ci/run builds into.
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

// VersityGW starts versitygw (posix backend with versioning, so Object Lock
// works) and stops it when the test ends.
func VersityGW(t testing.TB) *GW {
	t.Helper()
	bin := VersityGWBinary()
	if bin == "" {
		Missing(t, "versitygw", "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0 (.ci/run builds it into ~/.cache/custos-tools)")
	}
	dir := t.TempDir()
	root, vers := filepath.Join(dir, "root"), filepath.Join(dir, "versions")
	os.MkdirAll(root, 0o755)
	os.MkdirAll(vers, 0o755)
	addr := FreeAddr(t)
	g := &GW{Endpoint: "http://" + addr, Addr: addr, AccessKey: "custostestaccess", SecretKey: "custostestsecret0123456789", Region: "us-east-1"}
	cmd := exec.Command(bin, "--access", g.AccessKey, "--secret", g.SecretKey, "--region", g.Region, "--port", addr,
		"posix", "--versioning-dir", vers, root)
	logf, _ := os.Create(filepath.Join(dir, "versitygw.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start versitygw: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "versitygw.log"))
			t.Fatalf("versitygw did not start on %s: %s", addr, b)
		}
		time.Sleep(50 * time.Millisecond)
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

// Client is a raw S3 client on the server, for checks and setup.
func (g *GW) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:                     g.Region,
		BaseEndpoint:               aws.String(g.Endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(g.AccessKey, g.SecretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// MakeBucket creates a bucket, with Object Lock (and so versioning) or not.
func (g *GW) MakeBucket(t testing.TB, name string, objectLock bool) {
	t.Helper()
	_, err := g.Client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name), ObjectLockEnabledForBucket: aws.Bool(objectLock)})
	if err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
}

// Env is the environment a custos subprocess needs to reach the server.
func (g *GW) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + g.AccessKey, "AWS_SECRET_ACCESS_KEY=" + g.SecretKey, "AWS_REGION=" + g.Region,
		"CUSTOS_S3_ENDPOINT=" + g.Endpoint, "AWS_EC2_METADATA_DISABLED=true",
	}
}

func (g *GW) String() string { return fmt.Sprintf("versitygw at %s", g.Endpoint) }
