//go:build integration

package main

import (
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/custos-ir/custos/internal/testenv"
)

// TestRemoteScripts runs custos remote against a real OpenSSH server on a
// loopback port, to a directory and to S3 on versitygw.
func TestRemoteScripts(t *testing.T) {
	sshd := testenv.StartSSHD(t)
	gw := testenv.VersityGW(t)
	gw.MakeBucket(t, "evidence", true)
	p := scriptParams(t, "testdata/remote")
	setup := p.Setup
	p.Setup = func(e *testscript.Env) error {
		for _, kv := range gw.Env() {
			k, v, _ := strings.Cut(kv, "=")
			e.Setenv(k, v)
		}
		var opts []string
		for _, o := range sshd.Options {
			opts = append(opts, "--ssh-option="+o)
		}
		e.Setenv("SSH_OPTS", strings.Join(opts, " "))
		e.Setenv("SSH_TARGET", sshd.Target)
		e.Setenv("SSH_PORT", strings.TrimPrefix(sshd.Options[0], "Port="))
		e.Setenv("SSH_KEY", sshd.Identity)
		e.Setenv("SSH_KNOWN", sshd.KnownHosts)
		return setup(e)
	}
	testscript.Run(t, p)
}
