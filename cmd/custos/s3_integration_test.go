//go:build integration

package main

import (
	"strings"
	"testing"

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
