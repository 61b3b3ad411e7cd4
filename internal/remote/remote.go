// Package remote is custos's SSH transport: it copies a custos build to a
// host over the system ssh (so ~/.ssh/config, ProxyJump, agents and
// known_hosts apply), checks the copy's SHA-256, runs it with the
// caller's arguments, hands the caller the run's stdout, and removes what
// it copied. It knows no evidence and no collection: what runs and what
// its output means are the caller's.
package remote

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/custos-ir/custos/internal/iox"
)

// Target is one host to reach.
type Target struct {
	// Dest is what ssh is given: [user@]host, or a Host name of the ssh
	// configuration.
	Dest string
	// Port, when set, is passed as -p.
	Port string
	// Name is the host as the responder knows it: Dest without the user,
	// with the port when one is given ("web01", "10.0.0.5:2222").
	Name string
	// Line is where the target was read (hosts file line), for messages.
	Line int
}

func (t Target) String() string {
	if t.Port != "" {
		return t.Dest + ":" + t.Port
	}
	return t.Dest
}

// SSH runs ssh to targets with the same options.
type SSH struct {
	Options []string // -o options (repeatable)
	Config  string   // -F file, when set
	Program string   // the ssh program (default "ssh")
	// HostBuilds are the SHA-256s of the custos-host builds made with this
	// program, by platform ("linux/amd64"): FindBinary sends one only if
	// it is one of them.
	HostBuilds map[string]string

	mu   sync.Mutex
	sums map[string]*fileSum // builds hashed, by path: once per run, whatever the hosts
}

// args are ssh's: the responder's options and configuration as given,
// nothing of ours but BatchMode (no prompt can wait for an answer here).
// The cipher, host key checking and the rest are ssh's and the
// responder's to choose, as on the line they would type themselves: an
// -o of ours would override their ~/.ssh/config (the first value ssh
// obtains wins), and a Ciphers list of ours would bring back what the
// configuration left out.
func (s *SSH) args(t Target, extra ...string) []string {
	a := []string{"-o", "BatchMode=yes"}
	if s.Config != "" {
		a = append(a, "-F", s.Config)
	}
	for _, o := range s.Options {
		a = append(a, "-o", o)
	}
	if t.Port != "" {
		a = append(a, "-p", t.Port)
	}
	return append(append(a, extra...), t.Dest)
}

func (s *SSH) program() string {
	if s.Program != "" {
		return s.Program
	}
	return "ssh"
}

// Command is ssh running remote on t.
func (s *SSH) Command(ctx context.Context, t Target, remote string) *exec.Cmd {
	return exec.CommandContext(ctx, s.program(), append(s.args(t), remote)...)
}

// Run runs a short command on t and returns its stdout; an error carries
// ssh's own last words, which say what is wrong (refused, host key,
// permission).
func (s *SSH) Run(ctx context.Context, t Target, remote string, stdin io.Reader) (string, error) {
	c := s.Command(ctx, t, remote)
	var out, errb bytes.Buffer
	c.Stdin, c.Stdout, c.Stderr = stdin, &out, &errb
	if err := c.Run(); err != nil {
		return "", Error(t, err, errb.String())
	}
	return strings.TrimSpace(out.String()), nil
}

// Error words an ssh failure for a person, from ssh's stderr.
func Error(t Target, err error, stderr string) error {
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
	return fmt.Errorf("ssh %s: %s", t, msg)
}

// Platform maps `uname -sm` to a Go platform.
func Platform(uname string) (string, error) {
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

// FindBinary is the build to copy for a platform: explicit when given;
// else custos-host, the collector without the S3 client (make build puts
// it beside custos, make dist as dist/custos-host-OS-ARCH), when its
// SHA-256 is hostSHA, the one this program was built with (its build
// records the host builds made with it: a host build left from another
// version is never sent, both ends must speak the same stream); else this
// program when the platform is its own, else dist/custos-OS-ARCH beside it
// or here.
//
// The host build is preferred because it is 10 MB where the full one is
// 22: what goes over the link and onto the breached host's disk, where
// every block written may be one an attacker's deleted file still held.
func (s *SSH) FindBinary(explicit, plat string) (string, error) {
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", fmt.Errorf("--binary: %v", err)
		}
		return explicit, nil
	}
	self, _ := os.Executable()
	own := plat == runtime.GOOS+"/"+runtime.GOARCH && self != ""
	suffix := "-" + strings.ReplaceAll(plat, "/", "-")
	dirs := []string{filepath.Dir(self), filepath.Join(filepath.Dir(self), "dist"), "dist"}
	if want := s.HostBuilds[plat]; want != "" {
		var hosts []string
		if own {
			hosts = append(hosts, filepath.Join(filepath.Dir(self), "custos-host"))
		}
		for _, dir := range dirs {
			hosts = append(hosts, filepath.Join(dir, "custos-host"+suffix))
		}
		for _, p := range hosts {
			if sum, err := s.sum(p); err == nil && sum.sha == want {
				return p, nil
			}
		}
	}
	if own {
		return self, nil
	}
	name := "custos" + suffix
	for _, dir := range dirs {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no custos build for %s: run make dist (dist/%s) or pass --binary", plat, name)
}

// FileSHA256 is the hex SHA-256 of a file.
func FileSHA256(p string) (string, error) {
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

// Quote quotes s for a POSIX shell.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// ErrCopyChanged is the exit code of a run whose copy of custos did not
// have the SHA-256 of the build sent.
const ErrCopyChanged = 97

// DataArg, as one of a Job's arguments, stands for the path on the host
// of the file the job's Data is written to.
const DataArg = "\x00data\x00"

// Job is what one session runs on a host.
type Job struct {
	Args   []string // custos's arguments (DataArg: the data file's path)
	Sudo   bool     // run custos with sudo -n
	Binary string   // the build to copy ("": the one for the host's platform, FindBinary)
	// Data, when not nil, is written beside custos (an indicator list: not
	// evidence, removed with the directory).
	Data []byte
	// Stderr takes the host's stderr once custos runs there; what the
	// session wrote before (ssh's own words on a refused connection, a
	// host that cannot make a directory) is in the error Start returns.
	Stderr io.Writer
}

// Run is one host's session: custos running there, its stdout for the
// caller to read.
type Run struct {
	Cmd      *exec.Cmd
	Stdout   io.Reader // what custos writes on the host, after the setup's lines
	Dir      string    // the private directory on the host
	Platform string
	Binary   string // the local build copied
	SHA256   string
	// Compressed is the bytes the build took, compressed for the host's
	// Decompressor (zstd, gzip); 0: sent as it is.
	Compressed   int64
	Decompressor string
	ssh          *SSH
	t            Target
	stdin        io.WriteCloser
}

// setupScript is the whole session on the host, in one command: one key
// exchange and login, no round trip but the platform's answer. It prints
// the platform, a new private directory (mode 0700) and the decompressor
// it has (zstd, gzip or none), reads the build's size and SHA-256, the
// data's size and the size of the build compressed for that decompressor
// (0: sent as it is) on a line, then the build (and,
// once it says "data", the data), checks the build's SHA-256 (exit
// ErrCopyChanged if it differs, running nothing), runs it with the rest of
// stdin, and removes the directory when it ends. A responder that has no
// build for the platform closes stdin instead: the directory goes, nothing
// runs. %s is the command that runs the copy ("$D/custos" ...).
//
// The build goes compressed, 4.0 MB for 9.7: every MB sent through
// sshd's stdin costs about 11 ms even on loopback, and seconds on a
// responder's uplink. zstd -d takes 0.02 s for it, gzip -d 0.12 s (on a
// fast link that is more than the bytes it saves). The SHA-256 is checked
// on what the decompressor gave. -dc is all of their options that
// BusyBox's gzip (Alpine) takes too.
const setupScript = `uname -sm || exit 1; umask 077; D=$(mktemp -d "${TMPDIR:-/tmp}/custos.XXXXXXXX") || exit 1; echo "$D"; ` +
	`if command -v zstd >/dev/null 2>&1; then C=zstd; elif command -v gzip >/dev/null 2>&1; then C=gzip; else C=none; fi; echo "$C"; rc=96; ` +
	`if read -r N S M Z; then ` +
	`if { if [ "$Z" = 0 ]; then head -c "$N"; else head -c "$Z" | "$C" -dc; fi; } > "$D/custos" && chmod 700 "$D/custos" && H=$(openssl dgst -sha256 -r "$D/custos" 2>/dev/null || sha256sum "$D/custos") && [ "${H%%%% *}" = "$S" ]; then ` +
	`if [ "$M" != 0 ]; then echo data; head -c "$M" > "$D/data"; fi; %s; rc=$?; ` +
	`else echo "the copy of custos does not have the SHA-256 sent: not running it" >&2; rc=%d; fi; fi; rm -rf "$D"; exit $rc`

// Start opens one ssh session to t that sets up a private directory,
// copies the build for the host's platform there, checks it and runs it
// with j's arguments (see setupScript); it returns once custos runs, its
// stdout unread. On an error nothing runs and nothing is left on the host
// (but for a connection that died mid-setup: see Remove).
func (s *SSH) Start(ctx context.Context, t Target, j Job) (*Run, error) {
	// The build most likely sent is hashed while the connection is made.
	go func() {
		if p, err := s.FindBinary(j.Binary, runtime.GOOS+"/"+runtime.GOARCH); err == nil {
			if sum, err := s.sum(p); err == nil {
				sum.packed(p, "zstd")
			}
		}
	}()
	var quoted []string
	for _, a := range j.Args {
		if a == DataArg {
			quoted = append(quoted, `"$D/data"`)
			continue
		}
		quoted = append(quoted, Quote(a))
	}
	run := `"$D/custos" ` + strings.Join(quoted, " ")
	if j.Sudo {
		run = "sudo -n " + run
	}
	r := &Run{ssh: s, t: t}
	r.Cmd = s.Command(ctx, t, fmt.Sprintf(setupScript, run, ErrCopyChanged))
	stderr := &setupStderr{}
	r.Cmd.Stderr = stderr
	var err error
	if r.stdin, err = r.Cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := r.Cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if f, ok := stdout.(*os.File); ok {
		iox.GrowPipe(f) // the stream comes through it
	}
	if err := r.Cmd.Start(); err != nil {
		return nil, Error(t, err, "")
	}
	out := bufio.NewReaderSize(stdout, 64<<10)
	r.Stdout = out
	fail := func(err error) (*Run, error) {
		r.stdin.Close()
		io.Copy(io.Discard, out)
		if werr := r.Cmd.Wait(); err == nil {
			if werr == nil {
				werr = errors.New("the session ended during the setup")
			}
			err = Error(t, werr, stderr.String())
		}
		if r.Dir != "" && r.Died() {
			r.Remove(ctx)
		}
		return nil, err
	}
	uname, err1 := line(out)
	dir, err2 := line(out)
	tools, err3 := line(out)
	if err1 != nil || err2 != nil || err3 != nil {
		return fail(nil)
	}
	// The directory is removed with rm -rf at the end: it must be the one
	// mktemp made, never "/" or a parent a glitch or a host could name.
	if !strings.HasPrefix(dir, "/") || strings.ContainsAny(dir, "'\n") || path.Clean(dir) != dir || !strings.HasPrefix(path.Base(dir), "custos.") {
		return fail(fmt.Errorf("make a private directory on %s: the host answered %q", t, dir))
	}
	r.Dir = dir
	if r.Platform, err = Platform(uname); err != nil {
		return fail(err)
	}
	if r.Binary, err = s.FindBinary(j.Binary, r.Platform); err != nil {
		return fail(err)
	}
	sum, err := s.sum(r.Binary)
	if err != nil {
		return fail(err)
	}
	r.SHA256 = sum.sha
	// Nothing comes back while the build goes out: custos starts on the
	// host only once all of it is there.
	if packed := sum.packed(r.Binary, tools); packed != nil {
		r.Compressed, r.Decompressor = int64(len(packed)), tools
		if _, err := fmt.Fprintf(r.stdin, "%d %s %d %d\n", sum.size, sum.sha, len(j.Data), len(packed)); err != nil {
			return fail(nil)
		}
		if _, err := r.stdin.Write(packed); err != nil {
			return fail(nil)
		}
	} else {
		fh, err := os.Open(r.Binary)
		if err != nil {
			return fail(err)
		}
		defer fh.Close()
		if _, err := fmt.Fprintf(r.stdin, "%d %s %d 0\n", sum.size, sum.sha, len(j.Data)); err != nil {
			return fail(nil)
		}
		if n, err := io.Copy(r.stdin, io.LimitReader(fh, sum.size)); err != nil || n != sum.size {
			return fail(nil)
		}
	}
	if len(j.Data) > 0 {
		// The data follows only once the build is in its file: a head
		// that reads ahead (BSD's) cannot take the data's first bytes.
		if l, err := line(out); err != nil || l != "data" {
			return fail(nil)
		}
		if _, err := r.stdin.Write(j.Data); err != nil {
			return fail(nil)
		}
	}
	r.stdin.Close()
	stderr.forward(j.Stderr)
	return r, nil
}

// line reads one line of the setup's answer, within bounds.
func line(r *bufio.Reader) (string, error) {
	b, err := r.ReadSlice('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// Died says whether the session ended before its command did (ssh's own
// exit code 255, or a signal): the host's directory may still be there.
func (r *Run) Died() bool {
	ps := r.Cmd.ProcessState
	return ps == nil || ps.ExitCode() == 255 || ps.ExitCode() == -1
}

// Remove takes the directory off the host through a new connection, even
// when ctx has ended: for a session that died (Died) before it could.
func (r *Run) Remove(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, err := r.ssh.Run(cctx, r.t, "rm -rf "+Quote(r.Dir), nil)
	return err
}

type fileSum struct {
	once sync.Once
	sha  string
	size int64
	err  error

	zstdOnce, gzipOnce sync.Once
	zstd, gzip         []byte // the build compressed (nil: not)
}

// packed is the build at p compressed for a host's decompressor ("zstd",
// "gzip"; nil for any other), made once per run whatever the hosts: 0.1 s
// each for 9.7 MB. zstd's is made while the connection is, gzip's when a
// host asks for it (it costs a host on a fast link more than it saves).
func (f *fileSum) packed(p, decompressor string) []byte {
	compress := func(once *sync.Once, out *[]byte, w func(io.Writer) (io.WriteCloser, error)) []byte {
		once.Do(func() {
			data, err := os.ReadFile(p)
			if err != nil || int64(len(data)) != f.size {
				return
			}
			var b bytes.Buffer
			zw, err := w(&b)
			if err != nil {
				return
			}
			if _, err := zw.Write(data); err == nil && zw.Close() == nil {
				*out = b.Bytes()
			}
		})
		return *out
	}
	switch decompressor {
	case "zstd":
		return compress(&f.zstdOnce, &f.zstd, func(w io.Writer) (io.WriteCloser, error) {
			return zstd.NewWriter(w, zstd.WithEncoderConcurrency(1))
		})
	case "gzip":
		return compress(&f.gzipOnce, &f.gzip, func(w io.Writer) (io.WriteCloser, error) {
			return gzip.NewWriterLevel(w, 3)
		})
	}
	return nil
}

// sum is the SHA-256 and size of a build, computed once per path.
func (s *SSH) sum(p string) (*fileSum, error) {
	s.mu.Lock()
	if s.sums == nil {
		s.sums = map[string]*fileSum{}
	}
	f := s.sums[p]
	if f == nil {
		f = &fileSum{}
		s.sums[p] = f
	}
	s.mu.Unlock()
	f.once.Do(func() {
		var fi os.FileInfo
		if fi, f.err = os.Stat(p); f.err == nil {
			f.size = fi.Size()
			f.sha, f.err = FileSHA256(p)
		}
	})
	return f, f.err
}

// setupStderr keeps what the session writes on stderr during the setup
// (for the error, should it fail) and passes the rest on.
type setupStderr struct {
	mu  sync.Mutex
	buf []byte
	w   io.Writer
}

func (e *setupStderr) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.w != nil {
		return e.w.Write(p)
	}
	if len(e.buf) < 64<<10 {
		e.buf = append(e.buf, p...)
	}
	return len(p), nil
}

func (e *setupStderr) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return string(e.buf)
}

// forward sends what was kept, and everything after it, to w.
func (e *setupStderr) forward(w io.Writer) {
	if w == nil {
		w = io.Discard
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	w.Write(e.buf)
	e.buf, e.w = nil, w
}

// HostKey is the fingerprint of t's host key as this side's known_hosts
// has it: the key ssh checked the connection against.
func (s *SSH) HostKey(ctx context.Context, t Target) string {
	out, err := exec.CommandContext(ctx, s.program(), s.args(t, "-G")...).Output()
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
