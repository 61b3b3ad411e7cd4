//go:build integration

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/custos-ir/custos/internal/testenv"
)

// Issue 13, item 1: with credentials that may put objects (those left on
// a host), a consistent forged collection is put as new versions under the
// keys of a locked one. Object Lock keeps the originals, but verify, sign
// and fetch must not take the forgery: any key with more than one version
// fails, named.
func TestS3NewVersionsDoNotReplaceEvidence(t *testing.T) {
	gw := testenv.VersityGW(t)
	gw.MakeBucket(t, "locked", true)
	gw.SetEnv(t)
	r := newRig(t)
	r.collect(t, "V1", "s3://locked/ev")
	// The forgery: another collection of other content, made on the host.
	os.WriteFile(filepath.Join(r.src, "access.log"), []byte("nothing happened here\n"), 0o644)
	forged := filepath.Join(r.dir, "forged")
	r.collect(t, "V1", forged)
	fcol := onlyCollection(t, forged)
	c := gw.Client()
	ctx := context.Background()
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("locked"), Prefix: aws.String("ev/")})
	if err != nil {
		t.Fatal(err)
	}
	var prefix string
	for _, o := range out.Contents {
		if k := aws.ToString(o.Key); strings.HasSuffix(k, "/manifest.json") {
			prefix = strings.TrimSuffix(k, "manifest.json")
		}
	}
	if prefix == "" {
		t.Fatal("no collection in the bucket")
	}
	filepath.Walk(fcol, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(fcol, p)
		b, _ := os.ReadFile(p)
		// No If-None-Match: a plain PutObject makes a new version.
		_, perr := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("locked"), Key: aws.String(prefix + filepath.ToSlash(rel)), Body: bytes.NewReader(b)})
		if perr != nil {
			t.Fatalf("put %s: %v", rel, perr)
		}
		return nil
	})
	loc := "s3://locked/" + strings.TrimSuffix(prefix, "/")
	vout, code := custos(t, "verify", loc, "--identity", r.key)
	if code == 0 {
		t.Errorf("verify takes the forged versions:\n%s", vout)
	}
	if !strings.Contains(vout, "manifest.json") || !strings.Contains(vout, "version") {
		t.Errorf("verify does not name the key with several versions:\n%s", vout)
	}
	alice := sshKey(t, r.dir, "alice")
	if sout, code := custos(t, "sign", loc, "--key", alice); code == 0 {
		t.Errorf("sign signs the forged manifest:\n%s", sout)
	}
	fout, code := custos(t, "fetch", loc, "--to", filepath.Join(r.dir, "fetched"))
	if code == 0 {
		t.Errorf("fetch takes the forgery without failing:\n%s", fout)
	}
	// What fetch copied is the original, as the manifest's first version
	// recorded it, not the forgery.
	if m, _ := filepath.Glob(filepath.Join(r.dir, "fetched", "*", "*", "*", "manifest.json")); len(m) == 1 {
		b, _ := os.ReadFile(m[0])
		fb, _ := os.ReadFile(filepath.Join(fcol, "manifest.json"))
		if bytes.Equal(b, fb) {
			t.Errorf("fetch copied the forged manifest")
		}
	}
}
