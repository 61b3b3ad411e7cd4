//go:build !windows

package remote

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/custos-ir/custos/internal/testenv"
)

// fakeHost is an "ssh" that runs the command it is given on this machine,
// as sshd would on the host, with tools of the test's own ahead on PATH
// (a uname of another platform, a hash that lies) and its own TMPDIR.
type fakeHost struct {
	ssh *SSH
	tmp string // the host's TMPDIR: the private directories go here
	bin string // ahead on the host's PATH
}

func newFakeHost(t *testing.T) *fakeHost { return newFakeHostWith(t, "$PATH") }

// newFakeHostWith is a fake host whose PATH, after its own tools, is path.
func newFakeHostWith(t *testing.T, path string) *fakeHost {
	dir := t.TempDir()
	h := &fakeHost{tmp: filepath.Join(dir, "tmp"), bin: filepath.Join(dir, "bin")}
	os.Mkdir(h.tmp, 0o755)
	os.Mkdir(h.bin, 0o755)
	prog := filepath.Join(dir, "ssh")
	// The command is ssh's last argument; the rest are options.
	script := "#!/bin/sh\nfor a; do last=$a; done\nPATH=" + h.bin + ":" + path + " TMPDIR=" + h.tmp + " exec sh -c \"$last\"\n"
	if err := os.WriteFile(prog, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	h.ssh = &SSH{Program: prog}
	return h
}

// tool puts a program of the test's on the host's PATH.
func (h *fakeHost) tool(t *testing.T, name, script string) {
	if err := os.WriteFile(filepath.Join(h.bin, name), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// left is what the runs left in the host's TMPDIR.
func (h *fakeHost) left(t *testing.T) []string {
	es, err := os.ReadDir(h.tmp)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// build is a stand-in for custos: it prints its arguments and the data
// file it is handed, then what arrives on its stdin.
func build(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "custos-build")
	script := "#!/bin/sh\necho \"args: $*\"\n[ -z \"$2\" ] || cat \"$2\"\necho \"dir: $(dirname \"$0\")\"\nls -l \"$0\" | cut -c1-10\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStartOneSession(t *testing.T) {
	h := newFakeHost(t)
	bin := build(t)
	var stderr strings.Builder
	r, err := h.ssh.Start(context.Background(), Target{Dest: "host"}, Job{
		Args: []string{"collect", DataArg, "it's quoted"}, Binary: bin, Data: []byte("evil.example\n"), Stderr: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(r.Stdout)
	if err := r.Cmd.Wait(); err != nil || r.Died() {
		t.Fatalf("the run ended %v, died %v:\n%s%s", err, r.Died(), out, stderr.String())
	}
	want, _ := FileSHA256(bin)
	if r.SHA256 != want || r.Binary != bin || !strings.HasPrefix(r.Dir, h.tmp+"/custos.") || r.Compressed == 0 {
		t.Errorf("run %+v", r)
	}
	// The data file's path, on the host, takes DataArg's place; the
	// other arguments arrive as they were.
	for _, w := range []string{"args: collect " + r.Dir + "/data it's quoted\n", "evil.example\n", "dir: " + r.Dir + "\n", "-rwx------\n"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("the host's output has no %q:\n%s", w, out)
		}
	}
	if left := h.left(t); len(left) > 0 {
		t.Errorf("left on the host: %v", left)
	}
}

// The build goes compressed for the best decompressor the host has (zstd,
// else gzip), or as it is; each way it arrives whole and runs.
func TestStartHostDecompressors(t *testing.T) {
	testenv.Tool(t, "zstd", "apt-get install zstd")
	testenv.Tool(t, "gzip", "apt-get install gzip")
	base := []string{"sh", "uname", "mktemp", "head", "chmod", "openssl", "sha256sum", "rm", "cat", "dirname", "ls", "cut"}
	for _, c := range []struct {
		extra []string
		want  string
	}{{nil, ""}, {[]string{"gzip"}, "gzip"}, {[]string{"gzip", "zstd"}, "zstd"}} {
		tools := filepath.Join(t.TempDir(), "tools")
		os.Mkdir(tools, 0o755)
		for _, name := range append(base, c.extra...) {
			if p, err := exec.LookPath(name); err == nil {
				os.Symlink(p, filepath.Join(tools, name))
			}
		}
		h := newFakeHostWith(t, tools)
		r, err := h.ssh.Start(context.Background(), Target{Dest: "host"}, Job{Args: []string{"version"}, Binary: build(t), Data: []byte("data\n")})
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(r.Stdout)
		if err := r.Cmd.Wait(); err != nil || !strings.HasPrefix(string(out), "args: version\n") || r.Decompressor != c.want || (r.Compressed == 0) != (c.want == "") {
			t.Errorf("with %v: %v, %s %d bytes:\n%s", c.extra, err, r.Decompressor, r.Compressed, out)
		}
		if left := h.left(t); len(left) > 0 {
			t.Errorf("left on the host: %v", left)
		}
	}
}

func TestStartNoData(t *testing.T) {
	h := newFakeHost(t)
	r, err := h.ssh.Start(context.Background(), Target{Dest: "host"}, Job{Args: []string{"version"}, Binary: build(t)})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(r.Stdout)
	if err := r.Cmd.Wait(); err != nil || !strings.HasPrefix(string(out), "args: version\n") {
		t.Fatalf("%v:\n%s", err, out)
	}
	if left := h.left(t); len(left) > 0 {
		t.Errorf("left on the host: %v", left)
	}
}

// A platform without a build: nothing is sent, nothing runs, the
// directory goes.
func TestStartNoBuildForPlatform(t *testing.T) {
	h := newFakeHost(t)
	h.tool(t, "uname", "echo Linux mips")
	_, err := h.ssh.Start(context.Background(), Target{Dest: "host"}, Job{Args: []string{"collect"}})
	if err == nil || !strings.Contains(err.Error(), "no custos build") {
		t.Fatalf("got %v, want no custos build", err)
	}
	if left := h.left(t); len(left) > 0 {
		t.Errorf("left on the host: %v", left)
	}
}

// A private directory that is not one mktemp made ("/", a parent) is
// refused before anything is sent: it would be removed with rm -rf.
// The fake host runs here and its script removes what its mktemp
// answered: only paths inside the fake host's own TMPDIR are named.
func TestStartRefusesOddDirectory(t *testing.T) {
	for _, odd := range []string{"", "/custos.x/..", "/www", "/custos.x/../custos.y"} {
		h := newFakeHost(t)
		dir := h.tmp + odd
		h.tool(t, "mktemp", "echo '"+dir+"'")
		_, err := h.ssh.Start(context.Background(), Target{Dest: "host"}, Job{Args: []string{"collect"}, Binary: build(t)})
		if err == nil || !strings.Contains(err.Error(), "make a private directory") {
			t.Errorf("%s: got %v, want it refused", dir, err)
		}
	}
}

// A copy whose SHA-256 is not the one sent is never run.
func TestStartCopyChanged(t *testing.T) {
	h := newFakeHost(t)
	h.tool(t, "openssl", "echo '0000000000000000000000000000000000000000000000000000000000000000 *x'")
	h.tool(t, "sha256sum", "echo '0000000000000000000000000000000000000000000000000000000000000000  x'")
	r, err := h.ssh.Start(context.Background(), Target{Dest: "host"}, Job{Args: []string{"collect"}, Binary: build(t)})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(r.Stdout)
	r.Cmd.Wait()
	if code := r.Cmd.ProcessState.ExitCode(); code != ErrCopyChanged || len(out) > 0 {
		t.Fatalf("exit %d, want %d; it ran:\n%s", code, ErrCopyChanged, out)
	}
	// With data the setup waits for the host's word, which never comes.
	_, err = h.ssh.Start(context.Background(), Target{Dest: "host"}, Job{Args: []string{"collect"}, Binary: build(t), Data: []byte("x")})
	if err == nil || !strings.Contains(err.Error(), "does not have the SHA-256 sent") {
		t.Fatalf("got %v, want the copy refused", err)
	}
	if left := h.left(t); len(left) > 0 {
		t.Errorf("left on the host: %v", left)
	}
}

// A host that cannot be reached: ssh's own last words.
func TestStartUnreachable(t *testing.T) {
	prog := filepath.Join(t.TempDir(), "ssh")
	os.WriteFile(prog, []byte("#!/bin/sh\necho 'ssh: connect to host web01 port 22: Connection refused' >&2\nexit 255\n"), 0o755)
	s := &SSH{Program: prog}
	_, err := s.Start(context.Background(), Target{Dest: "web01"}, Job{Args: []string{"collect"}})
	if err == nil || err.Error() != "ssh web01: ssh: connect to host web01 port 22: Connection refused" {
		t.Fatalf("got %v", err)
	}
}

// ssh's options are the responder's: nothing of custos's overrides their
// configuration (an -o given on the command line beats ~/.ssh/config).
func TestArgsKeepResponderConfig(t *testing.T) {
	s := &SSH{Config: "my_config", Options: []string{"Ciphers=chacha20-poly1305@openssh.com", "Port=2222"}}
	got := strings.Join(s.args(Target{Dest: "root@web01"}), " ")
	want := "-o BatchMode=yes -F my_config -o Ciphers=chacha20-poly1305@openssh.com -o Port=2222 root@web01"
	if got != want {
		t.Errorf("ssh %s\nwant ssh %s", got, want)
	}
	if got := strings.Join((&SSH{}).args(Target{Dest: "web01", Port: "22"}), " "); got != "-o BatchMode=yes -p 22 web01" {
		t.Errorf("ssh %s: more than the responder asked for", got)
	}
}

// Hosts collected at once share one SSH: the build is hashed once, and
// each session gets its own directory.
func TestStartConcurrent(t *testing.T) {
	h := newFakeHost(t)
	bin := build(t)
	var wg sync.WaitGroup
	dirs := make([]string, 4)
	for i := range dirs {
		wg.Go(func() {
			r, err := h.ssh.Start(context.Background(), Target{Dest: "host"}, Job{Args: []string{"collect"}, Binary: bin})
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, r.Stdout)
			if err := r.Cmd.Wait(); err != nil {
				t.Error(err)
			}
			dirs[i] = r.Dir
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, d := range dirs {
		if d == "" || seen[d] {
			t.Errorf("directories %v", dirs)
		}
		seen[d] = true
	}
	if len(h.ssh.sums) != 1 {
		t.Errorf("%d builds hashed, want 1", len(h.ssh.sums))
	}
	if left := h.left(t); len(left) > 0 {
		t.Errorf("left on the host: %v", left)
	}
}

// TestFindBinaryHostBuild: custos-host is sent only when its SHA-256 is
// one this program was built with; a file of that name from another build
// is passed over for this program (its own platform) or dist/custos-OS-ARCH.
func TestFindBinaryHostBuild(t *testing.T) {
	t.Chdir(t.TempDir())
	own := runtime.GOOS + "/" + runtime.GOARCH
	other := "linux/arm64"
	if own == other {
		other = "linux/amd64"
	}
	write := func(p, content string) string {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
		sum, err := FileSHA256(p)
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	suffix := func(plat string) string { return "-" + strings.ReplaceAll(plat, "/", "-") }
	ownHost := write(filepath.Join("dist", "custos-host"+suffix(own)), "host build, own platform")
	otherHost := write(filepath.Join("dist", "custos-host"+suffix(other)), "host build, other platform")
	write(filepath.Join("dist", "custos"+suffix(other)), "full build, other platform")
	self, _ := os.Executable()

	for _, c := range []struct {
		name   string
		builds map[string]string
		plat   string
		want   string
	}{
		{"own platform, host build recorded", map[string]string{own: ownHost}, own, filepath.Join("dist", "custos-host"+suffix(own))},
		{"own platform, another host build", map[string]string{own: otherHost}, own, self},
		{"own platform, none recorded", nil, own, self},
		{"other platform, host build recorded", map[string]string{other: otherHost}, other, filepath.Join("dist", "custos-host"+suffix(other))},
		{"other platform, another host build", map[string]string{other: ownHost}, other, filepath.Join("dist", "custos"+suffix(other))},
	} {
		s := &SSH{HostBuilds: c.builds}
		got, err := s.FindBinary("", c.plat)
		if err != nil || got != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.name, got, err, c.want)
		}
	}
	if _, err := (&SSH{}).FindBinary("", "darwin/ppc64"); err == nil || !strings.Contains(err.Error(), "no custos build for darwin/ppc64") {
		t.Errorf("no build: %v", err)
	}
}
