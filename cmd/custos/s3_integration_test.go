//go:build integration

package main

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/custos-ir/custos/internal/testenv"
)

// TestS3Scripts runs the S3 stories against a real versitygw: collect to
// s3:// with Object Lock, verify, sign, countersign and fetch, and the bad
// input an S3 destination can bring.
func TestS3Scripts(t *testing.T) {
	gw := testenv.VersityGW(t)
	gw.MakeBucket(t, "evidence", true)
	gw.MakeBucket(t, "unlocked", false)
	p := scriptParams(t, "testdata/s3")
	setup := p.Setup
	p.Setup = func(e *testscript.Env) error {
		for _, kv := range gw.Env() {
			k, v, _ := strings.Cut(kv, "=")
			e.Setenv(k, v)
		}
		e.Setenv("S3_ADDR", gw.Addr)
		return setup(e)
	}
	testscript.Run(t, p)
}

// TestKillAndResumeS3: kill -9 during a collection into S3 with Object
// Lock, then --resume at the same URL.
func TestKillAndResumeS3(t *testing.T) {
	gw := testenv.VersityGW(t)
	gw.MakeBucket(t, "resume", true)
	c := gw.Client()
	m := killAndResume(t, "s3://resume/ev", gw.Env(), func() bool {
		out, err := c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("resume"), Prefix: aws.String("ev/")})
		if err != nil {
			return false
		}
		for _, o := range out.Contents {
			if strings.Contains(aws.ToString(o.Key), "/journal/") && strings.HasSuffix(aws.ToString(o.Key), "-a.tar.json") {
				return true
			}
		}
		return false
	}, "s3://resume/ev")
	checkResumed(t, m)
}
