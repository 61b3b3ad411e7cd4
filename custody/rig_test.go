package custody

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/crypto/ssh"
)

// memObjects is an Objects in memory for custody's own tests. With
// versions it keeps every version of a key as S3 with versioning does;
// Create refuses a taken key either way (If-None-Match), and forge puts a
// new version as anyone with plain PutObject rights can.
type memObjects struct {
	mu       sync.Mutex
	versions bool
	retains  bool
	objs     map[string][]memVersion
	opens    map[string]int
	seq      int
}

type memVersion struct {
	id      string
	data    []byte
	marker  bool
	written time.Time
}

func newMem(versions bool) *memObjects {
	return &memObjects{versions: versions, objs: map[string][]memVersion{}, opens: map[string]int{}}
}

func (m *memObjects) String() string { return "mem:" }

func (m *memObjects) Create(ctx context.Context, key, kind string) (ObjectWriter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if vs := m.objs[key]; len(vs) > 0 && !vs[len(vs)-1].marker {
		return nil, fmt.Errorf("%s: %w", key, ErrExist)
	}
	return &memWriter{m: m, key: key}, nil
}

func (m *memObjects) put(key string, data []byte, marker bool) Object {
	m.seq++
	v := memVersion{data: append([]byte(nil), data...), marker: marker, written: time.Unix(int64(m.seq), 0)}
	if m.versions {
		v.id = fmt.Sprintf("v%03d", m.seq)
		m.objs[key] = append(m.objs[key], v)
	} else {
		m.objs[key] = []memVersion{v}
	}
	return Object{Key: key, Size: int64(len(data)), SHA256: sha256.Sum256(data), VersionID: v.id, Confirmed: true}
}

// forge puts data as a new version of key (or replaces it without
// versions), as write-only credentials can.
func (m *memObjects) forge(key string, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.put(key, data, false)
}

// get returns the current bytes of key.
func (m *memObjects) get(key string) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	vs := m.objs[key]
	if len(vs) == 0 {
		return nil
	}
	return vs[len(vs)-1].data
}

func (m *memObjects) set(key string, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	vs := m.objs[key]
	vs[len(vs)-1].data = data
}

func (m *memObjects) remove(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objs, key)
}

func (m *memObjects) find(key, version string) (memVersion, error) {
	vs := m.objs[key]
	if version == "" {
		if len(vs) == 0 || vs[len(vs)-1].marker {
			return memVersion{}, fmt.Errorf("%s: %w", key, ErrNotExist)
		}
		return vs[len(vs)-1], nil
	}
	for _, v := range vs {
		if v.id == version && !v.marker {
			return v, nil
		}
	}
	return memVersion{}, fmt.Errorf("%s version %s: %w", key, version, ErrNotExist)
}

func (m *memObjects) Open(ctx context.Context, key, version string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.opens[key]++
	v, err := m.find(key, version)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(v.data)), nil
}

func (m *memObjects) Stat(ctx context.Context, key, version string) (Object, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, err := m.find(key, version)
	if err != nil {
		return Object{}, err
	}
	return Object{Key: key, Size: int64(len(v.data)), VersionID: v.id, Confirmed: true}, nil
}

func (m *memObjects) List(ctx context.Context, prefix string, fn func(Object) error) error {
	m.mu.Lock()
	var keys []string
	for k := range m.objs {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []Object
	for _, k := range keys {
		for _, v := range m.objs[k] {
			out = append(out, Object{Key: k, Size: int64(len(v.data)), VersionID: v.id, Modified: v.written, DeleteMarker: v.marker})
		}
	}
	m.mu.Unlock()
	for _, o := range out {
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

func (m *memObjects) Retains() bool { return m.retains }

type memWriter struct {
	m    *memObjects
	key  string
	b    bytes.Buffer
	done bool
}

func (w *memWriter) Write(p []byte) (int, error) { return w.b.Write(p) }
func (w *memWriter) Abort() error                { w.done = true; return nil }
func (w *memWriter) Commit(ctx context.Context, sum Digest) (Object, error) {
	if w.done {
		return Object{}, fmt.Errorf("commit after close")
	}
	w.done = true
	if Digest(sha256.Sum256(w.b.Bytes())) != sum {
		return Object{}, fmt.Errorf("%s: checksum mismatch", w.key)
	}
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	if vs := w.m.objs[w.key]; len(vs) > 0 && !vs[len(vs)-1].marker {
		return Object{}, fmt.Errorf("%s: %w", w.key, ErrExist)
	}
	return w.m.put(w.key, w.b.Bytes(), false), nil
}

// hostSide is a place that carries notes, as the stream home is: it
// records notes and committed objects in the order they were sent.
type hostSide struct {
	*memObjects
	sent []sent
}

type sent struct {
	note      bool
	kind, key string
	data      []byte
}

func newHostSide() *hostSide { return &hostSide{memObjects: newMem(false)} }

func (h *hostSide) Note(ctx context.Context, kind string, data []byte) error {
	h.sent = append(h.sent, sent{note: true, kind: kind, data: append([]byte(nil), data...)})
	return nil
}

func (h *hostSide) Create(ctx context.Context, key, kind string) (ObjectWriter, error) {
	w, err := h.memObjects.Create(ctx, key, kind)
	if err != nil {
		return nil, err
	}
	return &hostWriter{memWriter: w.(*memWriter), h: h}, nil
}

type hostWriter struct {
	*memWriter
	h *hostSide
}

func (w *hostWriter) Commit(ctx context.Context, sum Digest) (Object, error) {
	data := append([]byte(nil), w.b.Bytes()...)
	o, err := w.memWriter.Commit(ctx, sum)
	if err == nil {
		w.h.sent = append(w.h.sent, sent{key: w.key, data: data})
	}
	return o, err
}

// fixture is a collection written the way collect writes one, without
// collect: a jsonl artifact and a tar of two files, age-encrypted to id.
type fixture struct {
	objs   *memObjects
	prefix string
	m      *Manifest
	id     *age.X25519Identity
}

func header(caseID string) *Manifest {
	t0 := time.Now()
	return &Manifest{Format: Format, CollectionID: NewCollectionID(t0), Case: Case{ID: caseID, Examiner: "J. Doe"},
		Started: NewTime(t0), Host: Host{Hostname: "web01", OS: "linux", Arch: "amd64"},
		Operator: Operator{UID: "0", User: "root"}, Tool: Tool{Name: "custos", Version: "test"}}
}

func newFixture(t testing.TB, objs *memObjects) *fixture {
	t.Helper()
	return newHostFixture(t, objs, "CASE-7", "web01")
}

// newHostFixture is a fixture of one host of a case.
func newHostFixture(t testing.TB, objs *memObjects, caseID, host string) *fixture {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m := header(caseID)
	m.Host.Hostname = host
	c, err := Begin(ctx, objs, m)
	if err != nil {
		t.Fatal(err)
	}
	arts := []*Artifact{
		artifact(t, objs, c.Prefix(), 1, "processes", "jsonl", id, []byte("{\"pid\":1}\n{\"pid\":2}\n"), nil),
		artifact(t, objs, c.Prefix(), 2, "logs", "tar", id, nil, map[string]string{
			"/var/log/a.log": strings.Repeat("GET /checkout 200\n", 500), "/var/log/b.log": "POST /admin 302\n"}),
	}
	finish(t, ctx, c, m, arts...)
	return &fixture{objs: objs, prefix: c.Prefix(), m: m, id: id}
}

// finish records arts as stored, then ends and seals the collection, as
// custos collect does.
func finish(t testing.TB, ctx context.Context, c *Collection, m *Manifest, arts ...*Artifact) {
	t.Helper()
	for _, a := range arts {
		c.Stored(ctx, a)
		m.Artifacts = append(m.Artifacts, *a)
	}
	m.Finished = NewTime(time.Now())
	m.Status = Status(m)
	if _, err := c.Seal(ctx); err != nil {
		t.Fatal(err)
	}
}

// artifact stores plain (or a tar of files) as artifact seq, compressed
// and encrypted to id, and returns its record.
func artifact(t testing.TB, objs Objects, prefix string, seq int, name, format string, id *age.X25519Identity, plain []byte, files map[string]string) *Artifact {
	t.Helper()
	return artifactSpill(t, objs, prefix, seq, name, format, id, plain, files, false)
}

// artifactSpill is artifact, its file records past spillAt written to a
// files object (SpillFiles) with spill.
func artifactSpill(t testing.TB, objs Objects, prefix string, seq int, name, format string, id *age.X25519Identity, plain []byte, files map[string]string, spill bool) *Artifact {
	t.Helper()
	a := &Artifact{Name: name, Kind: "files", Format: format, Status: StatusOK, Started: time.Now().UTC(), Key: ArtifactKey(seq, name, format)}
	var records bytes.Buffer
	if spill {
		a.SpillFiles(func(string) (io.Writer, error) { return &records, nil })
	}
	if files != nil {
		var tb bytes.Buffer
		tw := tar.NewWriter(&tb)
		var paths []string
		for p := range files {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			body := files[p]
			tw.WriteHeader(&tar.Header{Name: TarName(p), Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
			io.WriteString(tw, body)
			sum := sha256.Sum256([]byte(body))
			a.AddFile(File{Path: p, Type: "file", Size: int64(len(body)), Mode: "0644", Stored: true,
				SHA256: hex.EncodeToString(sum[:]), Read: int64(len(body))})
		}
		tw.Close()
		plain = tb.Bytes()
	}
	var cb bytes.Buffer
	aw, err := age.Encrypt(&cb, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	zw, _ := zstd.NewWriter(aw)
	zw.Write(plain)
	zw.Close()
	aw.Close()
	// The records first, as a collector writes them.
	if spilled, err := a.EndFiles(); err != nil {
		t.Fatal(err)
	} else if spilled {
		fo, err := put(context.Background(), objs, prefix+a.FilesObject.Key, name, records.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if fo.VersionID != "" {
			fo.Key = a.FilesObject.Key
			a.FilesObject.Stored = &fo
		}
	}
	o, err := put(context.Background(), objs, prefix+a.Key, name, cb.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	a.Plain = Digested{Size: int64(len(plain)), SHA256: sha256.Sum256(plain)}
	a.Cipher = Digested{Size: int64(cb.Len()), SHA256: sha256.Sum256(cb.Bytes())}
	a.Finished = time.Now().UTC()
	if o.VersionID != "" {
		o.Key = a.Key
		a.Stored = &o
	}
	return a
}

func (f *fixture) verify(t testing.TB, o VerifyOptions) *Report {
	t.Helper()
	r, err := Verify(context.Background(), f.objs, f.prefix, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func problems(r *Report) string {
	var out []string
	for _, p := range r.Problems {
		out = append(out, p.String())
	}
	return strings.Join(out, "\n")
}

// sshKey is a fresh ed25519 signer.
func sshKey(t testing.TB) ssh.Signer {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
