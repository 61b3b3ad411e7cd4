package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/agekeys"
	"github.com/custos-ir/custos/internal/term"
)

type remoteOptions struct {
	target     string
	sudo       bool
	sshOptions []string
	binary     string
	signKey    string
	collect    []string
}

const remoteExample = `  custos remote root@web01 -- --case INC-42 -R team.pub --to /srv/evidence
  custos remote --sudo --sign-key ~/.ssh/id_ed25519 admin@shop -- --case INC-42 -R team.pub --profile magento --to s3://evidence/cases`

func runRemoteCmd(ctx context.Context, args []string, std stdio) error {
	var o remoteOptions
	f := newFlags("remote", "[flags] [USER@]HOST -- COLLECT-FLAGS...", remoteExample, std)
	f.BoolVar(&o.sudo, "sudo", false, "run custos with sudo -n on the host (no password prompt: set NOPASSWD or log in as root)")
	f.StringArrayVar(&o.sshOptions, "ssh-option", nil, "pass -o `OPT` to ssh (repeatable), e.g. Port=2222")
	f.StringVar(&o.binary, "binary", "", "custos build to copy to the host (default: this binary if the platform matches, else dist/custos-OS-ARCH)")
	f.StringVar(&o.signKey, "sign-key", "", "sign the manifest locally with the SSH key in `FILE` once it is home")
	if err := parseFlags(f, args); err != nil {
		return err
	}
	dash := f.ArgsLenAtDash()
	if dash != 1 || len(f.Args()) < 2 {
		return usageErr("want: custos remote [flags] [USER@]HOST -- COLLECT-FLAGS... (the collect flags after --)")
	}
	o.target, o.collect = f.Arg(0), f.Args()[1:]
	return runRemote(ctx, o, std)
}

// remoteArgs turns the responder's collect flags into the host's: --to
// becomes --to - (the destination is on this side), recipients files are
// read here and passed as keys, so nothing needs copying but custos, and
// the session nonce goes along for the host to echo. It also returns the
// case asked for.
func remoteArgs(args []string, session string) (remote []string, to, caseID string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(a, "=")
		takes := func() (string, error) {
			if hasVal {
				return val, nil
			}
			if i+1 >= len(args) {
				return "", usageErr("%s needs a value", name)
			}
			i++
			return args[i], nil
		}
		switch name {
		case "--to":
			if to, err = takes(); err != nil {
				return nil, "", "", err
			}
		case "--session":
			return nil, "", "", usageErr("--session is custos remote's own: it makes a new one for every run")
		case "--case":
			if caseID, err = takes(); err != nil {
				return nil, "", "", err
			}
			remote = append(remote, "--case", caseID)
		case "-R", "--recipients-file":
			file, err := takes()
			if err != nil {
				return nil, "", "", err
			}
			fh, err := os.Open(file)
			if err != nil {
				return nil, "", "", usageErr("--recipients-file: %v", err)
			}
			rs, err := agekeys.ParseRecipientsFile(fh, file)
			fh.Close()
			if err != nil {
				return nil, "", "", usageErr("--recipients-file %v", err)
			}
			for _, r := range rs {
				remote = append(remote, "--recipient", r.Public)
			}
		default:
			remote = append(remote, a)
		}
	}
	if to == "" || to == "-" {
		return nil, "", "", usageErr("give --to DIR or s3://... among the collect flags: where the evidence goes on this side")
	}
	if caseID == "" {
		return nil, "", "", usageErr("give --case ID among the collect flags: the stream that comes back must be of that case")
	}
	return append(remote, "--session", session, "--to", "-"), to, caseID, nil
}

// newSession is a nonce the host must echo in its stream: 128 random bits.
func newSession() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// hostOf is the host part of an ssh target ([user@]host[:port]).
func hostOf(target string) string {
	if _, h, ok := strings.Cut(target, "@"); ok {
		target = h
	}
	if h, _, ok := strings.Cut(target, ":"); ok && !strings.Contains(h, "[") {
		target = h
	}
	return strings.Trim(target, "[]")
}

type sshRunner struct {
	target string
	opts   []string
	std    stdio
}

func (s *sshRunner) cmd(ctx context.Context, remote string) *exec.Cmd {
	args := []string{"-o", "BatchMode=yes"}
	for _, o := range s.opts {
		args = append(args, "-o", o)
	}
	args = append(args, s.target, remote)
	return exec.CommandContext(ctx, "ssh", args...)
}

// run runs a short command and returns its stdout; an error carries ssh's
// own last words, which say what is wrong (refused, host key, permission).
func (s *sshRunner) run(ctx context.Context, remote string, stdin io.Reader) (string, error) {
	c := s.cmd(ctx, remote)
	var out, errb bytes.Buffer
	c.Stdin, c.Stdout, c.Stderr = stdin, &out, &errb
	if err := c.Run(); err != nil {
		return "", sshError(s.target, err, errb.String())
	}
	return strings.TrimSpace(out.String()), nil
}

func sshError(target string, err error, stderr string) error {
	var lines []string
	for _, l := range strings.Split(stderr, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "@@@") && !strings.HasPrefix(l, "Warning: Permanently added") {
			lines = append(lines, l)
		}
	}
	msg := err.Error()
	if len(lines) > 0 {
		msg = lines[len(lines)-1]
		for _, l := range lines {
			if strings.Contains(l, "IDENTIFICATION HAS CHANGED") || strings.Contains(l, "Host key verification failed") {
				msg = "host key verification failed: the host's key is not the one in known_hosts (a different or impersonated host?)"
			}
		}
	}
	var ee *exec.Error
	if errors.As(err, &ee) {
		msg = "the ssh command is not installed here: " + ee.Err.Error()
	}
	return fmt.Errorf("ssh %s: %s", target, msg)
}

// platform maps `uname -sm` to a Go platform.
func platform(uname string) (string, error) {
	f := strings.Fields(uname)
	if len(f) != 2 {
		return "", fmt.Errorf("cannot tell the host's platform from uname %q", uname)
	}
	goos := map[string]string{"Linux": "linux", "Darwin": "darwin"}[f[0]]
	arch := map[string]string{"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[f[1]]
	if goos == "" || arch == "" {
		return "", fmt.Errorf("the host runs %s %s, for which there is no custos build: build one (GOOS/GOARCH) and pass --binary", f[0], f[1])
	}
	return goos + "/" + arch, nil
}

func findBinary(explicit, plat string) (string, error) {
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", usageErr("--binary: %v", err)
		}
		return explicit, nil
	}
	self, _ := os.Executable()
	if plat == runtime.GOOS+"/"+runtime.GOARCH && self != "" {
		return self, nil
	}
	name := "custos-" + strings.ReplaceAll(plat, "/", "-")
	for _, dir := range []string{filepath.Dir(self), filepath.Join(filepath.Dir(self), "dist"), "dist"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no custos build for %s: run make dist (dist/%s) or pass --binary", plat, name)
}

func fileSHA256(p string) (string, error) {
	fh, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func runRemote(ctx context.Context, o remoteOptions, std stdio) error {
	session := newSession()
	rargs, to, caseID, err := remoteArgs(o.collect, session)
	if err != nil {
		return err
	}
	var signer ssh.Signer
	if o.signKey != "" {
		// Loaded before anything happens on the host: a wrong key or
		// passphrase costs nothing there.
		so := signerOptions{key: o.signKey}
		if signer, err = so.load(); err != nil {
			return err
		}
	}
	ssh := &sshRunner{target: o.target, opts: o.sshOptions, std: std}
	uname, err := ssh.run(ctx, "uname -sm", nil)
	if err != nil {
		return err
	}
	plat, err := platform(uname)
	if err != nil {
		return err
	}
	bin, err := findBinary(o.binary, plat)
	if err != nil {
		return err
	}
	sum, err := fileSHA256(bin)
	if err != nil {
		return err
	}
	dir, err := ssh.run(ctx, `umask 077 && mktemp -d "${TMPDIR:-/tmp}/custos.XXXXXXXX"`, nil)
	if err != nil {
		return fmt.Errorf("make a private directory on the host: %w", err)
	}
	if !strings.HasPrefix(dir, "/") || strings.ContainsAny(dir, "'\n") {
		return fmt.Errorf("the host answered mktemp with %q", dir)
	}
	// Whatever happens next, nothing of ours stays on the host.
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, err := ssh.run(cctx, "rm -rf "+shellQuote(dir), nil); err != nil {
			fmt.Fprintf(std.err, "custos: warning: could not remove %s from %s: %v\n", dir, o.target, err)
		}
	}()
	remoteBin := dir + "/custos"
	fh, err := os.Open(bin)
	if err != nil {
		return err
	}
	_, err = ssh.run(ctx, "cat > "+shellQuote(remoteBin)+" && chmod 700 "+shellQuote(remoteBin), fh)
	fh.Close()
	if err != nil {
		return fmt.Errorf("copy custos to %s:%s: %w", o.target, dir, err)
	}
	got, err := ssh.run(ctx, "sha256sum "+shellQuote(remoteBin)+" 2>/dev/null || openssl dgst -sha256 -r "+shellQuote(remoteBin), nil)
	if err != nil || !strings.HasPrefix(got, sum) {
		return fmt.Errorf("the copy of custos on %s does not have the SHA-256 of %s (%s): not running it", o.target, bin, sum)
	}
	fmt.Fprintf(std.err, "custos: copied %s (%s, sha256 %s) to %s:%s\n", bin, plat, sum[:16], o.target, dir)

	var quoted []string
	for _, a := range rargs {
		quoted = append(quoted, shellQuote(a))
	}
	remoteCmd := shellQuote(remoteBin) + " collect " + strings.Join(quoted, " ")
	if o.sudo {
		remoteCmd = "sudo -n " + remoteCmd
	}
	c := ssh.cmd(ctx, remoteCmd)
	stdout, err := c.StdoutPipe()
	if err != nil {
		return err
	}
	var tail tailBuffer
	// The host's stderr is the host's: shown, but never an escape sequence.
	c.Stderr = io.MultiWriter(term.NewWriter(std.err), &tail)
	if err := c.Start(); err != nil {
		return sshError(o.target, err, "")
	}
	details := map[string]string{"ssh_target": o.target, "remote_binary_sha256": sum, "host_key": hostKey(ctx, o.target, o.sshOptions)}
	if u, err := user.Current(); err == nil {
		details["local_operator"] = u.Username
	}
	req := custody.Request{Case: caseID, Session: session, Host: hostOf(o.target)}
	code, prefix, ierr := ingest(ctx, stdout, ingestOptions{to: to, source: "ssh " + o.target, request: req, maxBytes: "1TiB",
		details: details, s3: s3FromArgs(o.collect)}, std)
	io.Copy(io.Discard, stdout)
	werr := c.Wait()
	if ierr != nil {
		if strings.Contains(tail.String(), "a password is required") {
			return fmt.Errorf("sudo on %s needs a password: log in as root, or allow custos with NOPASSWD", o.target)
		}
		if werr != nil {
			return fmt.Errorf("%v (the remote side: %v)", ierr, sshError(o.target, werr, term.Clean(tail.String())))
		}
		return ierr
	}
	if signer != nil && code == nil {
		s3o := s3FromArgs(o.collect)
		if err := signCollection(ctx, ingestedLocation(to, prefix), &s3o, signer, "", std); err != nil {
			return fmt.Errorf("collected and stored, but not signed: %w", err)
		}
	}
	return code
}

// hostKey is the fingerprint of the host's key as this side's known_hosts
// has it, the key ssh checked the connection against.
func hostKey(ctx context.Context, target string, opts []string) string {
	args := []string{"-G"}
	for _, o := range opts {
		args = append(args, "-o", o)
	}
	out, err := exec.CommandContext(ctx, "ssh", append(args, target)...).Output()
	if err != nil {
		return ""
	}
	var host, port string
	var files []string
	for _, l := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(l, " ")
		switch k {
		case "hostname":
			host = v
		case "port":
			port = v
		case "userknownhostsfile", "globalknownhostsfile":
			files = append(files, strings.Fields(v)...)
		}
	}
	name := host
	if port != "" && port != "22" {
		name = "[" + host + "]:" + port
	}
	var fps []string
	for _, f := range files {
		if strings.HasPrefix(f, "~/") {
			home, _ := os.UserHomeDir()
			f = filepath.Join(home, f[2:])
		}
		out, err := exec.CommandContext(ctx, "ssh-keygen", "-l", "-F", name, "-f", f).Output()
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(out), "\n") {
			if fs := strings.Fields(l); len(fs) >= 3 && strings.HasPrefix(fs[2], "SHA256:") {
				fps = append(fps, fs[2])
			}
		}
	}
	return strings.Join(fps, " ")
}

// tailBuffer keeps the last 4 KiB written.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

// ingestedLocation is one collection's location under a --to.
func ingestedLocation(to, prefix string) string {
	if isS3(to) {
		return strings.TrimSuffix(to, "/") + "/" + strings.TrimSuffix(prefix, "/")
	}
	return filepath.Join(to, filepath.FromSlash(prefix))
}

// s3FromArgs picks the S3 flags out of collect flags, for the responder's
// side of a remote collection.
func s3FromArgs(args []string) s3Options {
	var o s3Options
	f := newFlags("collect", "", "", stdio{err: io.Discard})
	o.flags(f, true)
	f.ParseErrorsAllowlist.UnknownFlags = true
	f.Parse(args)
	return o
}
