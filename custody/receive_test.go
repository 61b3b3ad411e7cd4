package custody

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"

	"filippo.io/age"
)

// hostCollection is what a host sends home: the notes and objects of a
// collection made on a place that carries notes (keys relative to it).
func hostCollection(t *testing.T, caseID, session string) (*hostSide, *age.X25519Identity) {
	t.Helper()
	return hostCollectionOf(t, caseID, session, false)
}

// hostCollectionOf is hostCollection, with many a third artifact of more
// files than spillAt, its records in a files object.
func hostCollectionOf(t *testing.T, caseID, session string, many bool) (*hostSide, *age.X25519Identity) {
	t.Helper()
	ctx := context.Background()
	h := newHostSide()
	id, _ := age.GenerateX25519Identity()
	m := header(caseID)
	m.Session = session
	c, err := Begin(ctx, h, m)
	if err != nil {
		t.Fatal(err)
	}
	if c.Prefix() != "" {
		t.Fatalf("a stream collection has prefix %q: the receiver decides it", c.Prefix())
	}
	var arts []*Artifact
	for i, name := range []string{"processes", "logs"} {
		arts = append(arts, artifact(t, h, "", i+1, name, "jsonl", id, []byte(strings.Repeat(name+"\n", 100)), nil))
	}
	if many {
		files := map[string]string{}
		for i := range spillAt + 10 {
			files[fmt.Sprintf("/srv/www/f%06d.php", i)] = fmt.Sprint(i)
		}
		arts = append(arts, artifactSpill(t, h, "", 3, "webroot", "tar", id, nil, files, true))
	}
	finish(t, ctx, c, m, arts...)
	return h, id
}

// deliver plays what the host sent into recv, up to cut items (-1: all),
// storing objects in dst as a stream receiver would; it returns the first
// refusal.
func deliver(t *testing.T, h *hostSide, recv *Receiver, dst *memObjects, cut int) error {
	t.Helper()
	ctx := context.Background()
	for i, s := range h.sent {
		if i == cut {
			return nil
		}
		if s.note {
			if err := recv.Note(ctx, s.kind, s.data); err != nil {
				return err
			}
			continue
		}
		key, _, err := recv.Key(s.key)
		if err != nil {
			return err
		}
		if _, err := put(ctx, dst, key, "x", s.data); err != nil {
			return err
		}
		recv.Arrived(key, int64(len(s.data)), sha256.Sum256(s.data))
	}
	return nil
}

func TestReceiveWhole(t *testing.T) {
	h, id := hostCollection(t, "INC-42", "00112233445566778899aabbccddeeff")
	dst := newMem(true)
	recv := NewReceiver(dst, Request{Case: "INC-42", Session: "00112233445566778899aabbccddeeff", Host: "web01.example"}, ReceiveLimits{})
	if err := deliver(t, h, recv, dst, -1); err != nil {
		t.Fatal(err)
	}
	r, err := recv.Finish(context.Background(), nil, Actor{User: "responder"}, map[string]string{"source": "ssh root@web01"})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Fatal(problems(r))
	}
	if !strings.HasPrefix(recv.Prefix(), "INC-42/web01.example/") {
		t.Errorf("stored under %s: the receiver's name for the host decides", recv.Prefix())
	}
	v, err := Verify(context.Background(), dst, recv.Prefix(), VerifyOptions{Identities: []age.Identity{id}})
	if err != nil || !v.OK() || len(v.Log) != 2 || v.Log[1].Record.Details["session"] == "" {
		t.Fatalf("%v %s %+v", err, problems(v), v.Log)
	}
}

// Issue 13, items 2 and 3: the stream decides nothing about where it
// goes, and is bound to the request it answers.
func TestReceiveRefuses(t *testing.T) {
	ctx := context.Background()
	const session = "00112233445566778899aabbccddeeff"
	h, _ := hostCollection(t, "INC-42", session)
	for name, c := range map[string]struct {
		req  Request
		want error
	}{
		"another case":    {Request{Case: "INC-43", Session: session}, ErrNotAnswer},
		"another session": {Request{Case: "INC-42", Session: "ffeeddccbbaa99887766554433221100"}, ErrNotAnswer},
		"no session":      {Request{Case: "INC-42", Session: session}, nil},
	} {
		dst := newMem(false)
		err := deliver(t, h, NewReceiver(dst, c.req, ReceiveLimits{}), dst, -1)
		if !errors.Is(err, c.want) && (c.want != nil || err != nil) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
		if c.want != nil && len(dst.objs) > 0 {
			t.Errorf("%s: %d objects stored", name, len(dst.objs))
		}
	}
	// The same stream twice into one store: the second is refused before
	// anything is stored, and the first is untouched.
	dst := newMem(false)
	recv := NewReceiver(dst, Request{}, ReceiveLimits{})
	deliver(t, h, recv, dst, -1)
	if _, err := recv.Finish(ctx, nil, Actor{}, nil); err != nil {
		t.Fatal(err)
	}
	n := len(dst.objs)
	if err := deliver(t, h, NewReceiver(dst, Request{}, ReceiveLimits{}), dst, -1); !errors.Is(err, ErrCollection) {
		t.Errorf("replay into the same store: %v", err)
	}
	if len(dst.objs) != n {
		t.Errorf("the replay added objects")
	}
	// Keys a host may not send, and an object before the header.
	recv = NewReceiver(newMem(false), Request{}, ReceiveLimits{})
	if _, _, err := recv.Key("started.json"); !errors.Is(err, ErrNotAnswer) {
		t.Errorf("object before the header: %v", err)
	}
	recv.Note(ctx, NoteHeader, h.sent[0].data)
	for _, k := range []string{"../x", "/abs", "manifest.json.sig", "countersign.json", "log/0002-signed.json", "artifacts/../../x", "other.txt", "CASE/h/id/manifest.json", "artifacts/01-x.tar"} {
		if _, _, err := recv.Key(k); err == nil {
			t.Errorf("key %q accepted", k)
		}
	}
	// Notes are bounded: past the bytes kept whole they lose their file
	// lists; past the count they stop the stream.
	recv = NewReceiver(newMem(false), Request{}, ReceiveLimits{NoteBytes: 1000, Notes: 10})
	recv.Note(ctx, NoteHeader, h.sent[0].data)
	var err error
	for i := 0; i < 20 && err == nil; i++ {
		err = recv.Note(ctx, NoteArtifact, []byte(`{"name":"a`+strings.Repeat("x", i)+`","kind":"k","format":"f","status":"failed","started":"2026-01-01T00:00:00Z","finished":"2026-01-01T00:00:00Z","plaintext":{"size":0,"sha256":"`+strings.Repeat("0", 64)+`"},"ciphertext":{"size":0,"sha256":"`+strings.Repeat("0", 64)+`"},"files":[{"path":"/x","type":"file","size":1,"mode":"0644","uid":0,"gid":0,"stored":false}]}`))
	}
	if !errors.Is(err, ErrStreamLimit) || len(recv.notes) != 10 {
		t.Errorf("notes beyond the count: %v, %d kept", err, len(recv.notes))
	}
	if len(recv.notes[0].Files) != 1 || len(recv.notes[9].Files) != 0 || len(recv.notes[9].Warnings) != 1 {
		t.Errorf("notes past the bytes kept whole: %+v", recv.notes[9])
	}
}

// A stream cut at every point: what arrived is described by a manifest in
// the receiver's prefix, and verifies.
func TestReceiveCutAnywhere(t *testing.T) {
	for _, many := range []bool{false, true} {
		t.Run(fmt.Sprint("files-object=", many), func(t *testing.T) { receiveCutAnywhere(t, many) })
	}
}

func receiveCutAnywhere(t *testing.T, many bool) {
	h, id := hostCollectionOf(t, "CUT", "", many)
	for cut := 1; cut < len(h.sent); cut++ {
		dst := newMem(false)
		recv := NewReceiver(dst, Request{Case: "CUT"}, ReceiveLimits{})
		if err := deliver(t, h, recv, dst, cut); err != nil {
			t.Fatal(err)
		}
		r, err := recv.Finish(context.Background(), errors.New("connection closed"), Actor{}, nil)
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		for k := range dst.objs {
			if !strings.HasPrefix(k, recv.Prefix()) {
				t.Errorf("cut at %d: %s written outside the collection", cut, k)
			}
		}
		v, _ := Verify(context.Background(), dst, recv.Prefix(), VerifyOptions{Identities: []age.Identity{id}})
		if !r.OK() || !v.OK() {
			t.Errorf("cut at %d: %s\n%s", cut, problems(r), problems(v))
		}
	}
}

// The manifest at the end must be the one the header announced.
func TestReceiveAnotherManifest(t *testing.T) {
	h, _ := hostCollection(t, "A", "")
	other, _ := hostCollection(t, "A", "")
	for i, s := range h.sent {
		if s.key == ManifestName || s.key == ManifestDigestName || s.key == LogKey(1, EventCollected) || s.key == SumsName || strings.HasPrefix(s.key, ArtifactDir) {
			for _, o := range other.sent {
				if o.key == s.key {
					h.sent[i].data = o.data
				}
			}
		}
	}
	dst := newMem(false)
	recv := NewReceiver(dst, Request{}, ReceiveLimits{})
	if err := deliver(t, h, recv, dst, -1); err != nil {
		t.Fatal(err)
	}
	r, err := recv.Finish(context.Background(), nil, Actor{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() || !strings.Contains(problems(r), "the stream began as collection") {
		t.Errorf("a manifest of another collection taken:\n%s", problems(r))
	}
}

// FuzzReceiverNotes feeds a receiver a header and an artifact note from
// outside: it never panics, and whatever it takes, the manifest it
// rebuilds parses strictly and seals.
func FuzzReceiverNotes(f *testing.F) {
	h, _ := hostCollection(&testing.T{}, "F", "")
	var hdr, note []byte
	for _, s := range h.sent {
		if s.note && s.kind == NoteHeader {
			hdr = s.data
		} else if s.note && note == nil {
			note = s.data
		}
	}
	f.Add(hdr, note)
	f.Add([]byte(`{"format":"custos-manifest/2"}`), []byte(`{}`))
	f.Fuzz(func(t *testing.T, hdr, note []byte) {
		ctx := context.Background()
		dst := newMem(false)
		recv := NewReceiver(dst, Request{}, ReceiveLimits{})
		if recv.Note(ctx, NoteHeader, hdr) != nil {
			return
		}
		recv.Note(ctx, NoteArtifact, note)
		r, err := recv.Finish(ctx, errors.New("cut"), Actor{}, nil)
		if err != nil {
			t.Fatalf("a header it took cannot be sealed: %v", err)
		}
		mb, err := readSmall(ctx, dst, r.Prefix+ManifestName, "", maxManifest)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(mb); err != nil {
			t.Fatalf("rebuilt manifest does not parse: %v", err)
		}
	})
}
