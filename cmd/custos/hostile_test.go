package main

// Tests of what a breached host (or anyone holding the write-only
// credentials left on it) can send or put beside a collection to forge,
// replace or redirect its record. Each is a story from issue 13.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/remote"
	"github.com/custos-ir/custos/internal/testenv"
	"github.com/custos-ir/custos/storage"
	"github.com/custos-ir/custos/storage/streamstore"
)

// custos runs one command in this process and returns its stderr and exit
// code.
func custos(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, stdio{in: strings.NewReader(""), out: &out, err: &errb})
	return errb.String() + out.String(), code
}

// rig is a team key and a small host tree to collect.
type rig struct {
	dir, key, pub, src string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{dir: t.TempDir()}
	r.key = filepath.Join(r.dir, "team.key")
	r.src = filepath.Join(r.dir, "host")
	os.MkdirAll(r.src, 0o755)
	os.WriteFile(filepath.Join(r.src, "access.log"), []byte("GET /checkout 200\n"), 0o644)
	out, code := custos(t, "keygen", "-o", r.key)
	if code != 0 {
		t.Fatal(out)
	}
	r.pub = filepath.Join(r.dir, "team.pub")
	os.WriteFile(r.pub, []byte(lastLine(out)+"\n"), 0o600)
	return r
}

// collect makes a collection of case into to (a directory or s3:// URL),
// or a stream when to is "-", returned as bytes.
func (r *rig) collect(t *testing.T, caseID, to string, extra ...string) []byte {
	t.Helper()
	args := append([]string{"collect", "--case", caseID, "-R", r.pub, "--profile", "none", "--path", r.src,
		"--priority", "normal", "--to", to}, extra...)
	var out, errb bytes.Buffer
	code := run(context.Background(), args, stdio{in: strings.NewReader(""), out: &out, err: &errb})
	if code != 0 {
		t.Fatalf("collect exit %d: %s", code, errb.String())
	}
	return out.Bytes()
}

func onlyCollection(t *testing.T, root string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(root, "*", "*", "*", custody.ManifestName))
	if len(m) != 1 {
		t.Fatalf("%d collections under %s: %v", len(m), root, m)
	}
	return filepath.Dir(m[0])
}

// Item 2: a stream cut before its manifest, whose header note names the
// store's root as its prefix. The rebuilt record must land in the
// collection the receiver chose, never at the root, and a later collection
// into the same store must still be taken.
func TestIngestCutStreamStaysInItsCollection(t *testing.T) {
	r := newRig(t)
	stream := r.collect(t, "CUT", "-")
	// Cut in the middle of the first artifact's data.
	at := bytes.Index(stream, []byte("artifacts/01-extra-paths")) + 200
	cut := redirectHeader(t, stream[:at])
	home := filepath.Join(r.dir, "home")
	from := filepath.Join(r.dir, "cut.stream")
	os.WriteFile(from, cut, 0o600)
	out, code := custos(t, "ingest", "--from", from, "--to", home)
	if code != exitPartial {
		t.Fatalf("ingest exit %d, want 3:\n%s", code, out)
	}
	for _, name := range []string{custody.ManifestName, custody.SumsName, custody.ManifestDigestName, "log"} {
		if _, err := os.Lstat(filepath.Join(home, name)); err == nil {
			t.Errorf("%s written at the store's root", name)
		}
	}
	col := onlyCollection(t, home)
	if out, code := custos(t, "verify", col); code != 0 {
		t.Errorf("what arrived does not verify:\n%s", out)
	}
	// The store still takes new collections.
	r.collect(t, "NEXT", home)
}

// redirectHeader rewrites the stream's header note so that its storage
// prefix is "" (the store root), keeping the stream's framing valid.
func redirectHeader(t *testing.T, stream []byte) []byte {
	t.Helper()
	i := bytes.Index(stream, []byte("\x0fmanifest-header"))
	if i < 9 {
		t.Fatal("no header note in the stream")
	}
	hdr := i - 9
	n := int(stream[hdr+5])<<24 | int(stream[hdr+6])<<16 | int(stream[hdr+7])<<8 | int(stream[hdr+8])
	body := stream[i+16 : hdr+9+n]
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	m["storage"].(map[string]any)["prefix"] = ""
	nb, _ := json.Marshal(m)
	payload := append([]byte("\x0fmanifest-header"), nb...)
	var out bytes.Buffer
	out.Write(stream[:hdr])
	out.Write([]byte{'N', 0, 0, 0, 0, byte(len(payload) >> 24), byte(len(payload) >> 16), byte(len(payload) >> 8), byte(len(payload))})
	out.Write(payload)
	out.Write(stream[hdr+9+n:])
	return out.Bytes()
}

// Item 3: a host adds objects to a finished, signed collection by sending
// a stream whose keys fall inside it.
func TestIngestNeverAddsToACollection(t *testing.T) {
	r := newRig(t)
	home := filepath.Join(r.dir, "home")
	r.collect(t, "INC-42", home)
	col := onlyCollection(t, home)
	alice := sshKey(t, r.dir, "alice")
	if out, code := custos(t, "sign", home, "--key", alice); code != 0 {
		t.Fatal(out)
	}
	mb, _ := os.ReadFile(filepath.Join(col, custody.ManifestName))
	m, err := custody.Parse(mb)
	if err != nil {
		t.Fatal(err)
	}
	// A well-formed stream announcing that collection, with one more
	// object for it.
	var buf bytes.Buffer
	w, _ := streamstore.NewWriter(&buf)
	ctx := context.Background()
	w.Note(ctx, custody.NoteHeader, []byte(`{"format":"custos-manifest/2","collection_id":"`+m.CollectionID+`","case":{"id":"INC-42"},"host":{"hostname":"`+m.Host.Hostname+`","os":"linux","arch":"amd64"}}`))
	for _, k := range []string{"artifacts/99-planted.tar.zst.age", "log/0003-countersigned.json"} {
		ow, err := w.Create(ctx, k, storage.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ow.Write([]byte("planted"))
		ow.Commit(ctx, sha256.Sum256([]byte("planted")))
	}
	w.Close()
	from := filepath.Join(r.dir, "planted.stream")
	os.WriteFile(from, buf.Bytes(), 0o600)
	out, code := custos(t, "ingest", "--from", from, "--to", home)
	if code == 0 || !strings.Contains(out, "never added to an existing collection") {
		t.Errorf("ingest took the planted stream (exit %d):\n%s", code, out)
	}
	for _, k := range []string{"artifacts/99-planted.tar.zst.age", "log/0003-countersigned.json"} {
		if _, err := os.Stat(filepath.Join(col, k)); err == nil {
			t.Errorf("%s was added to the signed collection", k)
		}
	}
	if out, code := custos(t, "verify", home); code != 0 {
		t.Errorf("the signed collection no longer verifies:\n%s", out)
	}
}

// Item 3: custos remote must refuse a stream that is not the answer to
// its own request: another case, or a replay of an earlier run.
func TestRemoteRefusesReplayedStream(t *testing.T) {
	testenv.Tool(t, "ssh-keygen", "apt-get install openssh-client")
	r := newRig(t)
	other := r.collect(t, "OTHER", "-")
	replay := filepath.Join(r.dir, "replay.stream")
	os.WriteFile(replay, other, 0o600)
	alice := sshKey(t, r.dir, "alice")
	bin := filepath.Join(r.dir, "custos-linux")
	os.WriteFile(bin, []byte("not really custos"), 0o700)
	fakeSSH(t, r.dir, bin, replay, "")
	home := filepath.Join(r.dir, "home")
	out, code := custos(t, "remote", "--binary", bin, "--sign-key", alice, "root@web01", "--",
		"--case", "INC-42", "-R", r.pub, "--profile", "none", "--to", home)
	if code == 0 || !strings.Contains(out, `it is a collection of case "OTHER", case "INC-42" was asked for`) {
		t.Errorf("remote accepted a replayed stream of case OTHER (exit %d):\n%s", code, out)
	}
	if m, _ := filepath.Glob(filepath.Join(home, "*", "*", "*", custody.SignatureName)); len(m) > 0 {
		t.Errorf("the replayed stream was signed: %v", m)
	}
	// A replay of the same case from an earlier run is refused too.
	again := r.collect(t, "INC-42", "-")
	os.WriteFile(replay, again, 0o600)
	out, code = custos(t, "remote", "--binary", bin, "--sign-key", alice, "root@web01", "--",
		"--case", "INC-42", "-R", r.pub, "--profile", "none", "--to", home)
	if code == 0 || !strings.Contains(out, "does not echo this request's session") {
		t.Errorf("remote accepted a stream made before it asked (exit %d):\n%s", code, out)
	}
	if m, _ := filepath.Glob(filepath.Join(home, "*", "*", "*", custody.SignatureName)); len(m) > 0 {
		t.Errorf("the replayed stream was signed: %v", m)
	}
}

// fakeSSH puts an ssh on PATH that plays a host: it answers custos
// remote's setup (platform, directory; the build on stdin) and, for the
// collection, sends the bytes of stream and writes stderr to its stderr.
func fakeSSH(t *testing.T, dir, bin, stream, stderr string) {
	t.Helper()
	sum, err := remote.FileSHA256(bin)
	if err != nil {
		t.Fatal(err)
	}
	script := `#!/bin/sh
for last; do :; done
case "$1" in -G) exit 0;; esac
case "$last" in
rm*) ;;
uname*collect*) printf 'Linux x86_64\n/tmp/custos.FAKE\nnone\n'
  read -r N S M Z; head -c "$N" > /dev/null; [ "$S" = ` + sum + ` ] || exit 97
  printf '%s' "$FAKE_STDERR" >&2; cat "$FAKE_STREAM";;
*) echo "fake ssh: unexpected command: $last" >&2; exit 1;;
esac
`
	bindir := filepath.Join(dir, "fakebin")
	os.MkdirAll(bindir, 0o755)
	if err := os.WriteFile(filepath.Join(bindir, "ssh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bindir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("FAKE_STREAM", stream)
	t.Setenv("FAKE_STDERR", stderr)
}

func sshKey(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	keygen := testenv.Tool(t, "ssh-keygen", "apt-get install openssh-client")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", p).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	return p
}

// Item 4: a custody log record that claims a countersignature but carries
// none must not verify, nor be shown as a signature.
func TestForgedLogRecordFails(t *testing.T) {
	r := newRig(t)
	home := filepath.Join(r.dir, "home")
	r.collect(t, "LOG", home)
	col := onlyCollection(t, home)
	first, err := os.ReadFile(filepath.Join(col, "log", "0001-collected.json"))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := custody.ParseRecord(first)
	if err != nil {
		t.Fatal(err)
	}
	prev := custody.Digest(sha256.Sum256(first))
	forged := &custody.Record{Format: custody.LogFormat, Seq: 2, Event: custody.EventCountersigned, Time: time.Now().UTC(),
		CollectionID: rec.CollectionID, ManifestSHA256: rec.ManifestSHA256, Prev: &prev,
		Actor: custody.Actor{User: "bob", Principal: "bob@example.org", Key: "SHA256:AAAAforgedforgedforgedforgedforgedforgedfo"}}
	b, _ := forged.Marshal()
	os.WriteFile(filepath.Join(col, "log", "0002-countersigned.json"), b, 0o600)
	if out, code := custos(t, "verify", home); code == 0 {
		t.Errorf("a countersigned record without a signature verifies:\n%s", out)
	}
	out, _ := custos(t, "report", home)
	if strings.Contains(out, "signed with SHA256:AAAAforged") {
		t.Errorf("report shows the forged record as signed:\n%s", out)
	}
}

// Item 5: notes are bounded: a host cannot make the receiver hold
// hundreds of MiB of notes in memory. Past 64 MiB they are kept without
// their file lists (a real stream is never refused for its notes); past
// 2,000 notes the stream is refused.
func TestIngestBoundsNotes(t *testing.T) {
	r := newRig(t)
	hdr := []byte(`{"format":"custos-manifest/2","collection_id":"20261201T000000Z-abcdef","case":{"id":"NOTES"},"host":{"hostname":"web01","os":"linux","arch":"amd64"}}`)
	note := func(i int, pad int) []byte {
		return []byte(fmt.Sprintf(`{"name":"a%d","kind":"k","format":"f","status":"failed","started":"2026-01-01T00:00:00Z","finished":"2026-01-01T00:00:00Z","plaintext":{"size":0,"sha256":"%s"},"ciphertext":{"size":0,"sha256":"%s"},"files":[{"path":"/%s","type":"file","size":0,"mode":"0644","uid":0,"gid":0,"stored":false}]}`,
			i, strings.Repeat("0", 64), strings.Repeat("0", 64), strings.Repeat("x", pad)))
	}
	stream := func(n, pad int) string {
		var buf bytes.Buffer
		w, _ := streamstore.NewWriter(&buf)
		ctx := context.Background()
		w.Note(ctx, custody.NoteHeader, hdr)
		for i := 0; i < n; i++ {
			w.Note(ctx, custody.NoteArtifact, note(i, pad))
		}
		w.Close()
		p := filepath.Join(r.dir, fmt.Sprintf("notes-%d.stream", n))
		os.WriteFile(p, buf.Bytes(), 0o600)
		return p
	}
	home := filepath.Join(r.dir, "home")
	out, code := custos(t, "ingest", "--from", stream(100, 800<<10), "--to", home)
	if code != exitPartial {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	mb, _ := os.ReadFile(filepath.Join(onlyCollection(t, home), custody.ManifestName))
	if !bytes.Contains(mb, []byte("went past the 33554432 bytes the receiver keeps whole")) || len(mb) > 80<<20 {
		t.Errorf("80 MiB of notes kept whole (%d bytes of manifest)", len(mb))
	}
	out, code = custos(t, "ingest", "--from", stream(2001, 10), "--to", filepath.Join(r.dir, "home2"))
	if code == 0 || !strings.Contains(out, "more than 2000 artifact notes") {
		t.Errorf("2001 notes taken (exit %d):\n%s", code, out)
	}
}

// Item 7: a stray object in a directory collection is seen by verify,
// whatever its name, and host-controlled names reach the terminal escaped.
func TestVerifySeesStraysAndEscapes(t *testing.T) {
	r := newRig(t)
	home := filepath.Join(r.dir, "home")
	r.collect(t, "STRAY", home)
	col := onlyCollection(t, home)
	os.WriteFile(filepath.Join(col, ".tmp-manifest.json-123"), []byte("{}"), 0o600)
	out, code := custos(t, "verify", home)
	if code == 0 || !strings.Contains(out, ".tmp-manifest.json-123") {
		t.Errorf("a stray .tmp- object is not seen (exit %d):\n%s", code, out)
	}
	os.Remove(filepath.Join(col, ".tmp-manifest.json-123"))
	os.WriteFile(filepath.Join(col, "artifacts", "x\x1b]0;owned\x07\x1b[2J"), []byte("x"), 0o600)
	out, code = custos(t, "verify", home)
	if code == 0 {
		t.Errorf("stray artifact not seen:\n%s", out)
	}
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Errorf("an escape sequence from the store reached the terminal: %q", out)
	}
}

// Item 7: the host's stderr is shown to the responder without its escape
// sequences.
func TestRemoteEscapesHostStderr(t *testing.T) {
	r := newRig(t)
	stream := filepath.Join(r.dir, "empty.stream")
	os.WriteFile(stream, nil, 0o600)
	bin := filepath.Join(r.dir, "custos-linux")
	os.WriteFile(bin, []byte("not really custos"), 0o700)
	fakeSSH(t, r.dir, bin, stream, "custos: collecting\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\n")
	out, _ := custos(t, "remote", "--binary", bin, "root@web01", "--", "--case", "ESC", "-R", r.pub, "--to", filepath.Join(r.dir, "home"))
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Errorf("the host's escape sequences reached the terminal: %q", out)
	}
}

func lastLine(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return l[len(l)-1]
}
