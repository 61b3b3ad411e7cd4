package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/custos-ir/custos/collect/ioc"
	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/agekeys"
	"github.com/custos-ir/custos/internal/remote"
	"github.com/custos-ir/custos/internal/term"
	"github.com/custos-ir/custos/internal/units"
)

type remoteOptions struct {
	target     string
	hostsFile  string
	parallel   int
	json       bool
	sudo       bool
	sshOptions []string
	sshConfig  string
	binary     string
	signKey    string
	collect    []string
}

const remoteExample = `  custos remote root@web01 -- --case INC-42 -R team.pub --to /srv/evidence
  custos remote --sudo --sign-key ~/.ssh/id_ed25519 admin@shop -- --case INC-42 -R team.pub --profile magento --to s3://evidence/cases
  custos remote --hosts shop.hosts --parallel 4 -- --case INC-42 -R team.pub --to /srv/evidence

Exit codes: 0 every host collected whole; 3 some host partial, cut short or not collected (each is
recorded in the case); 1 nothing was collected; 2 usage.`

func runRemoteCmd(ctx context.Context, args []string, std stdio) error {
	var o remoteOptions
	f := newFlags("remote", "[flags] ([USER@]HOST | --hosts FILE) -- COLLECT-FLAGS...", remoteExample, std)
	f.StringVar(&o.hostsFile, "hosts", "", "collect every host in `FILE` (- for stdin): one [user@]host[:port] or ssh Host name per line, # comments")
	f.IntVar(&o.parallel, "parallel", 4, "with --hosts, collect `N` hosts at once")
	f.BoolVar(&o.json, "json", false, "with --hosts, progress as JSON events on stderr")
	f.BoolVar(&o.sudo, "sudo", false, "run custos with sudo -n on the host (no password prompt: set NOPASSWD or log in as root)")
	f.StringArrayVar(&o.sshOptions, "ssh-option", nil, "pass -o `OPT` to ssh (repeatable), e.g. Port=2222")
	f.StringVar(&o.sshConfig, "ssh-config", "", "pass -F `FILE` to ssh (an ssh configuration with the hosts' Host entries)")
	f.StringVar(&o.binary, "binary", "", "custos build to copy to the host (default: custos-host of this build beside it or in dist/, else this binary if the platform matches, else dist/custos-OS-ARCH)")
	f.StringVar(&o.signKey, "sign-key", "", "sign each manifest (and with --hosts, the case) locally with the SSH key in `FILE` once it is home")
	if err := parseFlags(f, args); err != nil {
		return err
	}
	dash := f.ArgsLenAtDash()
	switch {
	case o.hostsFile == "" && (dash != 1 || len(f.Args()) < 2):
		return usageErr("want: custos remote [flags] [USER@]HOST -- COLLECT-FLAGS... (the collect flags after --)")
	case o.hostsFile != "" && (dash != 0 || len(f.Args()) < 1):
		return usageErr("want: custos remote --hosts FILE [flags] -- COLLECT-FLAGS... (no HOST with --hosts)")
	case o.parallel < 1 || o.parallel > 64:
		return usageErr("--parallel %d: want 1 to 64", o.parallel)
	}
	o.collect = f.Args()[dash:]
	streamProcs(o)
	if o.hostsFile != "" {
		return runFleet(ctx, o, std)
	}
	o.target = f.Arg(0)
	t, err := remote.ParseTarget(o.target)
	if err != nil {
		return usageErr("%v", err)
	}
	req, err := prepareRemote(o)
	if err != nil {
		return err
	}
	// The host's own lines are marked as the host's: a hostile host cannot
	// print a line that passes for custos's verdict on this side.
	res := collectHost(ctx, req, t, hostIO{stdio: std, stderr: &linePrefix{w: std.err, prefix: t.Name + "| "}})
	if res.err != nil {
		if key, err := notCollected(ctx, req, t, res.err); err == nil {
			fmt.Fprintf(std.err, "custos: recorded in the case as not collected: %s\n", key)
		}
		return res.err
	}
	return res.code
}

// streamProcs sizes the Go scheduler to the streams this side takes: one
// stream's ingest (read, hash, write) is a core's work at most, and spare
// Ps only spin waiting for it, taking CPU from whatever shares the
// machine: on loopback the host's collection itself (the responder's CPU
// 0.83-0.91 -> 0.71-0.77 s for 512 MiB with one P instead of two). With
// --hosts, a P for each stream at once. GOMAXPROCS in the environment wins.
func streamProcs(o remoteOptions) {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	n := 1
	if o.hostsFile != "" {
		n = o.parallel
	}
	runtime.GOMAXPROCS(min(n, runtime.NumCPU()))
}

// remoteRequest is what every host of one remote run is asked for.
type remoteRequest struct {
	o      remoteOptions
	ssh    *remote.SSH
	to     string
	caseID string
	signer ssh.Signer
	s3     s3Options
	ioc    []byte // the --ioc list, read once, sent to every host
}

func prepareRemote(o remoteOptions) (*remoteRequest, error) {
	_, to, caseID, err := remoteArgs(o.collect, "")
	if err != nil {
		return nil, err
	}
	if o.binary != "" {
		if _, err := os.Stat(o.binary); err != nil {
			return nil, usageErr("--binary: %v", unwrapPath(err))
		}
	}
	var list []byte
	if f := iocFile(o.collect); f != "" {
		if list, err = os.ReadFile(f); err != nil {
			return nil, usageErr("--ioc: %v", unwrapPath(err))
		}
		if _, err := ioc.Parse(bytes.NewReader(list)); err != nil {
			return nil, usageErr("--ioc %s: %v", f, err)
		}
	}
	r := &remoteRequest{o: o, to: to, caseID: caseID, s3: s3FromArgs(o.collect), ioc: list,
		ssh: &remote.SSH{Options: o.sshOptions, Config: o.sshConfig, HostBuilds: hostBuildSums()}}
	if o.signKey != "" {
		// Loaded before anything happens on a host: a wrong key or
		// passphrase costs nothing there.
		so := signerOptions{key: o.signKey}
		if r.signer, err = so.load(); err != nil {
			return nil, err
		}
	}
	return r, nil
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
		case "--session", "--ioc-name":
			return nil, "", "", usageErr("%s is custos remote's own", name)
		case "--ioc":
			file, err := takes()
			if err != nil {
				return nil, "", "", err
			}
			// Read and checked here; the host gets it beside custos.
			remote = append(remote, "--ioc", iocPlaceholder, "--ioc-name", file)
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

// iocPlaceholder stands for the indicator list's path on the host, which
// the session there makes.
const iocPlaceholder = remote.DataArg

// iocFile is the --ioc file among collect flags, "" if none.
func iocFile(args []string) string {
	for i, a := range args {
		if a == "--ioc" && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, "--ioc="); ok {
			return v
		}
	}
	return ""
}

// newSession is a nonce the host must echo in its stream: 128 random bits.
func newSession() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// hostIO is where one host's run writes: the responder's stdio, and the
// host's own stderr (already made safe to print).
type hostIO struct {
	stdio
	stderr   io.Writer
	progress func(state string, bytes int64)
}

// hostResult is how one host's collection ended.
type hostResult struct {
	target remote.Target
	prefix string // of the collection stored, "" when none was
	code   error  // exit code of a finished ingest (nil: complete)
	err    error  // the host could not be collected
	bytes  int64
}

// collectHost copies custos to t, runs the collection there with a fresh
// session, and ingests its stream into the destination; the copy is gone
// from the host afterwards, whatever happened.
func collectHost(ctx context.Context, req *remoteRequest, t remote.Target, hio hostIO) (res hostResult) {
	res.target = t
	state := func(s string, n int64) {
		if hio.progress != nil {
			hio.progress(s, n)
		}
	}
	session := newSession()
	rargs, _, _, err := remoteArgs(req.o.collect, session)
	if err != nil {
		res.err = err
		return res
	}
	state("copying", 0)
	// The host key as known_hosts has it, looked up (ssh -G, ssh-keygen)
	// while the connection is made.
	hostKey := make(chan string, 1)
	go func() { hostKey <- req.ssh.HostKey(ctx, t) }()
	var tail tailBuffer
	// The host's stderr is the host's: shown, but never an escape sequence.
	run, err := req.ssh.Start(ctx, t, remote.Job{Args: append([]string{"collect"}, rargs...), Sudo: req.o.sudo,
		Binary: req.o.binary, Data: req.ioc, Stderr: io.MultiWriter(hio.stderr, &tail)})
	if err != nil {
		res.err = err
		return res
	}
	how := "as it is: the host has neither zstd nor gzip"
	if run.Compressed > 0 {
		how = fmt.Sprintf("%s for %s -d", units.Bytes(run.Compressed), run.Decompressor)
	}
	fmt.Fprintf(hio.err, "custos: copied %s (%s, sha256 %s, %s) to %s:%s, checked there before it runs\n", run.Binary, run.Platform, run.SHA256[:16], how, t, run.Dir)
	state("collecting", 0)
	details := map[string]string{"ssh_target": t.String(), "remote_binary_sha256": run.SHA256, "host_key": <-hostKey}
	if u, err := user.Current(); err == nil {
		details["local_operator"] = u.Username
	}
	creq := custody.Request{Case: req.caseID, Session: session, Host: t.Name}
	code, prefix, bytes, ierr := ingest(ctx, run.Stdout, ingestOptions{to: req.to, source: "ssh " + t.String(), request: creq, maxBytes: "1TiB",
		details: details, s3: req.s3, progress: func(n int64) { state("collecting", n) }}, hio.stdio)
	io.Copy(io.Discard, run.Stdout)
	werr := run.Cmd.Wait()
	// The run removed its directory unless the connection died first.
	if run.Died() {
		if err := run.Remove(ctx); err != nil {
			fmt.Fprintf(hio.err, "custos: warning: could not remove %s from %s: %v\n", run.Dir, t, err)
		}
	}
	res.bytes = bytes
	if ierr != nil {
		res.err = ierr
		switch {
		case run.Cmd.ProcessState.ExitCode() == remote.ErrCopyChanged:
			res.err = fmt.Errorf("the copy of custos on %s does not have the SHA-256 of %s (%s): not run", t, run.Binary, run.SHA256)
		case strings.Contains(tail.String(), "a password is required"):
			res.err = fmt.Errorf("sudo on %s needs a password: log in as root, or allow custos with NOPASSWD", t)
		case werr != nil:
			res.err = fmt.Errorf("%v (the remote side: %v)", ierr, remote.Error(t, werr, term.Clean(tail.String())))
		}
		return res
	}
	res.prefix, res.code = prefix, code
	if req.signer != nil && code == nil {
		state("signing", bytes)
		if err := signCollection(ctx, ingestedLocation(req.to, prefix), &req.s3, req.signer, "", hio.stdio); err != nil {
			res.code = fmt.Errorf("collected and stored, but not signed: %w", err)
		}
	}
	return res
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

// notCollected records in the case that a host could not be collected.
func notCollected(ctx context.Context, req *remoteRequest, t remote.Target, why error) (string, error) {
	dst, _, err := openForWrite(ctx, req.to, &req.s3, map[string]string{"retention": req.s3.retention, "case": req.caseID}, nil)
	if err != nil {
		return "", err
	}
	who := actor("")
	return custody.RecordNotCollected(ctx, recordOf(dst, nil), "", custody.NotCollected{Case: req.caseID, Target: t.String(), Host: t.Name,
		Time: time.Now().UTC(), Reason: term.Clean(why.Error()), Operator: who})
}

// linePrefix writes each line of what a host sent after a prefix naming
// the host, with its control characters escaped.
type linePrefix struct {
	w      io.Writer
	prefix string
	buf    []byte
}

func (l *linePrefix) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		fmt.Fprintf(l.w, "%s%s\n", l.prefix, term.Clean(string(l.buf[:i])))
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > 64<<10 { // a line that never ends
		fmt.Fprintf(l.w, "%s%s\n", l.prefix, term.Clean(string(l.buf)))
		l.buf = l.buf[:0]
	}
	return len(p), nil
}
