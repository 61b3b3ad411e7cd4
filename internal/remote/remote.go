// Package remote is custos's SSH transport: it copies a custos build to a
// host over the system ssh (so ~/.ssh/config, ProxyJump, agents and
// known_hosts apply), checks the copy's SHA-256, runs it with the
// caller's arguments, hands the caller the run's stdout, and removes what
// it copied. It knows no evidence and no collection: what runs and what
// its output means are the caller's.
package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
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
	// Control, when set, is a private directory for connection sharing:
	// the commands of one host's run share one connection (one key
	// exchange and login instead of five; a third of a second each here).
	Control string
}

// Share turns on connection sharing in a new private directory; the
// returned function removes it once every master has exited.
func (s *SSH) Share() (func(), error) {
	// A socket path must fit in 108 bytes: /tmp first, whatever $TMPDIR
	// says, and no sharing when even that is too long.
	var dir string
	var err error
	for _, base := range []string{"/tmp", os.TempDir()} {
		if dir, err = os.MkdirTemp(base, "custos-ssh-"); err == nil {
			break
		}
	}
	if err != nil {
		return func() {}, err
	}
	if len(dir)+1+40 >= 100 {
		os.RemoveAll(dir)
		return func() {}, fmt.Errorf("no directory short enough for an ssh control socket")
	}
	s.Control = dir
	return func() { os.RemoveAll(dir) }, nil
}

func (s *SSH) args(t Target, extra ...string) []string {
	a := []string{"-o", "BatchMode=yes"}
	if s.Config != "" {
		a = append(a, "-F", s.Config)
	}
	if s.Control != "" {
		a = append(a, "-o", "ControlMaster=auto", "-o", "ControlPath="+filepath.Join(s.Control, "%C"), "-o", "ControlPersist=120")
	}
	ciphers := false
	for _, o := range s.Options {
		a = append(a, "-o", o)
		ciphers = ciphers || strings.HasPrefix(strings.ToLower(o), "ciphers")
	}
	if !ciphers {
		// AES-GCM first (the rest of OpenSSH's defaults after it): with
		// AES instructions it costs half of ChaCha20-Poly1305 per byte,
		// and both ends of the stream pay it. An option of the
		// responder's own comes first and wins.
		a = append(a, "-o", "Ciphers=^aes128-gcm@openssh.com,aes256-gcm@openssh.com")
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

// FindBinary is the build to copy for a platform: explicit when given,
// this program when the platform is its own, else dist/custos-OS-ARCH
// beside it or here.
func FindBinary(explicit, plat string) (string, error) {
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", fmt.Errorf("--binary: %v", err)
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

// Copied is a build on its way to a host's private temporary directory.
type Copied struct {
	Path     string // on the host
	Platform string
	Binary   string // the local file that is copied
	SHA256   string
	size     int64
	dir      string
	ssh      *SSH
	t        Target
}

// ErrCopyChanged is the exit code of a run whose copy of custos did not
// have the SHA-256 of the build sent.
const ErrCopyChanged = 97

// Prepare finds the host's platform and makes a private directory there
// (mode 0700) in one command, and picks the build for the platform. The
// build travels with the command that runs it (Command). data, when
// given, is written into the directory as the file "data" by the same
// command (an indicator list: not evidence, removed with the directory).
func (s *SSH) Prepare(ctx context.Context, t Target, explicit string, data []byte) (*Copied, error) {
	cmd := `uname -sm && umask 077 && mktemp -d "${TMPDIR:-/tmp}/custos.XXXXXXXX"`
	var stdin io.Reader
	if data != nil {
		cmd = `uname -sm && umask 077 && D=$(mktemp -d "${TMPDIR:-/tmp}/custos.XXXXXXXX") && echo "$D" && cat > "$D/data"`
		stdin = bytes.NewReader(data)
	}
	out, err := s.Run(ctx, t, cmd, stdin)
	if err != nil {
		return nil, err
	}
	uname, dir, _ := strings.Cut(out, "\n")
	dir = strings.TrimSpace(dir)
	if !strings.HasPrefix(dir, "/") || strings.ContainsAny(dir, "'\n") {
		return nil, fmt.Errorf("make a private directory on %s: the host answered %q", t, out)
	}
	c := &Copied{Path: dir + "/custos", dir: dir, ssh: s, t: t}
	fail := func(err error) (*Copied, error) {
		c.Remove(ctx)
		return nil, err
	}
	if c.Platform, err = Platform(uname); err != nil {
		return fail(err)
	}
	if c.Binary, err = FindBinary(explicit, c.Platform); err != nil {
		return fail(err)
	}
	if c.SHA256, err = FileSHA256(c.Binary); err != nil {
		return fail(err)
	}
	fi, err := os.Stat(c.Binary)
	if err != nil {
		return fail(err)
	}
	c.size = fi.Size()
	return c, nil
}

// Command is ssh running the copy on the host: the build's bytes come
// first on stdin and are written to the private directory, the host
// checks their SHA-256 (exit ErrCopyChanged if it differs, running
// nothing), runs `custos ARGS` (with sudo -n when asked) with the rest of
// stdin, and removes the directory when it ends. One command: no round
// trip spent on the copy or the removal. When the connection dies first,
// Remove cleans up.
func (c *Copied) Command(ctx context.Context, args []string, sudo bool, stdin io.Reader) (*exec.Cmd, error) {
	fh, err := os.Open(c.Binary)
	if err != nil {
		return nil, err
	}
	q, d := Quote(c.Path), Quote(c.dir)
	var quoted []string
	for _, a := range args {
		quoted = append(quoted, Quote(a))
	}
	run := q + " " + strings.Join(quoted, " ")
	if sudo {
		run = "sudo -n " + run
	}
	script := fmt.Sprintf(`head -c %d > %s && chmod 700 %s && S=$(sha256sum %s 2>/dev/null || openssl dgst -sha256 -r %s) && `+
		`if [ "${S%%%% *}" != %s ]; then echo "the copy of custos does not have the SHA-256 sent: not running it" >&2; rm -rf %s; exit %d; fi; `+
		`%s; rc=$?; rm -rf %s; exit $rc`, c.size, q, q, q, q, c.SHA256, d, ErrCopyChanged, run, d)
	cmd := c.ssh.Command(ctx, c.t, script)
	in := io.Reader(fh)
	if stdin != nil {
		in = io.MultiReader(fh, stdin)
	}
	cmd.Stdin = in
	return cmd, nil
}

// Data is the path of the file Prepare wrote on the host.
func (c *Copied) Data() string { return c.dir + "/data" }

// Remove takes the copy's directory off the host, even when ctx has
// ended: nothing of custos stays behind. A shared connection to the
// host is closed after it.
func (c *Copied) Remove(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, err := c.ssh.Run(cctx, c.t, "rm -rf "+Quote(c.dir), nil)
	c.Close(cctx)
	return err
}

// Close ends the shared connection to the host, if there is one.
func (c *Copied) Close(ctx context.Context) {
	if c.ssh.Control != "" {
		exec.CommandContext(ctx, c.ssh.program(), c.ssh.args(c.t, "-O", "exit")...).Run()
	}
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
