package custody

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/custody/sshsig"
)

// chain is a log of unsigned events, each chained to the one before.
func chain(t testing.TB, events ...string) []LogEntry {
	t.Helper()
	var out []LogEntry
	var prev *Digest
	for i, ev := range events {
		r := &Record{Format: LogFormat, Seq: i + 1, Event: ev, Time: time.Now().UTC(), CollectionID: sample().CollectionID,
			ManifestSHA256: Digest{9}, Prev: prev, Actor: Actor{User: "jd"}}
		b, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, LogEntry{Key: LogKey(r.Seq, r.Event), Bytes: b})
		d := Digest(sha256.Sum256(b))
		prev = &d
	}
	return out
}

func TestLogChain(t *testing.T) {
	good := chain(t, EventCollected, EventStored, EventFetched)
	if p := checkChain(good, sample().CollectionID, Digest{9}); len(p) != 0 {
		t.Fatalf("intact chain: %v", p)
	}
	cases := map[string]struct {
		mutate func([]LogEntry) []LogEntry
		want   string
	}{
		"middle removed": {func(l []LogEntry) []LogEntry { return append(l[:1:1], l[2]) }, "a record is missing before it"},
		"first removed":  {func(l []LogEntry) []LogEntry { return l[1:] }, "records before it are missing"},
		"byte changed": {func(l []LogEntry) []LogEntry {
			l[0].Bytes = []byte(strings.Replace(string(l[0].Bytes), `"jd"`, `"jx"`, 1))
			return l
		}, "does not chain to 0001-collected.json"},
		"renamed": {func(l []LogEntry) []LogEntry { l[1].Key = LogKey(2, "verified"); return l }, "record says seq 2 event stored"},
		"garbage": {func(l []LogEntry) []LogEntry { l[2].Bytes = []byte("{"); return l }, "not a custody log record"},
	}
	for name, c := range cases {
		l := c.mutate(chain(t, EventCollected, EventStored, EventFetched))
		var all []string
		for _, p := range checkChain(l, sample().CollectionID, Digest{9}) {
			all = append(all, p.String())
		}
		if !strings.Contains(strings.Join(all, "\n"), c.want) {
			t.Errorf("%s: problems %v, want %q", name, all, c.want)
		}
	}
	if p := checkChain(good, "other", Digest{9}); len(p) == 0 {
		t.Error("records of another collection accepted")
	}
	// Events custos does not make, a second collected record, and signing
	// events without a key are refused.
	for events, want := range map[string]string{
		"collected,vanished":  `event "vanished" is not one custos makes`,
		"collected,collected": "a second collected record",
		"stored,collected":    "the first record is not the host's collected record",
		"collected,signed":    "a signed record names no key",
	} {
		var all []string
		for _, p := range checkChain(chain(t, strings.Split(events, ",")...), sample().CollectionID, Digest{9}) {
			all = append(all, p.String())
		}
		if !strings.Contains(strings.Join(all, "\n"), want) {
			t.Errorf("%s: problems %v, want %q", events, all, want)
		}
	}
}

func TestIsLogObject(t *testing.T) {
	for k, want := range map[string]bool{"log/0001-collected.json": true, "log/0002-signed.json.sig": true, "log/x.json": false, "log/0001-collected.json.bak": false} {
		if isLogObject(k) != want {
			t.Errorf("isLogObject(%q) != %v", k, want)
		}
	}
}

// plant adds a record after the log's last one, optionally signed by s,
// straight into the store: what anyone with write rights can do.
func plant(t *testing.T, f *fixture, event string, actor Actor, at time.Time, s interface{}) {
	t.Helper()
	r := f.verify(t, VerifyOptions{})
	last := r.Log[len(r.Log)-1]
	d := Digest(sha256.Sum256(last.Bytes))
	rec := &Record{Format: LogFormat, Seq: last.Record.Seq + 1, Event: event, Time: at, CollectionID: f.m.CollectionID,
		ManifestSHA256: r.ManifestSHA256, Prev: &d, Actor: actor}
	b, _ := rec.Marshal()
	f.objs.forge(f.prefix+LogKey(rec.Seq, event), b)
}

// Issue 13, item 4: records that claim a signature must carry a valid
// one by the key that made it; times from unsigned records count for
// nothing.
func TestForgedLogRecords(t *testing.T) {
	ctx := context.Background()
	alice, bob, mallory := sshKey(t), sshKey(t), sshKey(t)

	f := newFixture(t, newMem(false))
	plant(t, f, EventCountersigned, Actor{User: "bob", Principal: "bob@example.org", Key: sshsig.Fingerprint(bob.PublicKey())}, time.Now(), nil)
	got := problems(f.verify(t, VerifyOptions{}))
	for _, want := range []string{"names key " + sshsig.Fingerprint(bob.PublicKey()) + " but carries no signature",
		"records a countersignature by"} {
		if !strings.Contains(got, want) {
			t.Errorf("a forged countersigned record: problems lack %q:\n%s", want, got)
		}
	}
	form := NewForm(f.verify(t, VerifyOptions{}), "x", time.Now())
	var md strings.Builder
	form.Markdown(&md)
	if strings.Contains(md.String(), "signed with SHA256") || strings.Contains(md.String(), "(bob@example.org)") {
		t.Errorf("the report shows the forged record as signed:\n%s", md.String())
	}

	// A signed record by another key than the manifest's signature.
	g := newFixture(t, newMem(false))
	r := g.verify(t, VerifyOptions{})
	if err := Sign(ctx, g.objs, r, alice, Actor{User: "alice"}); err != nil {
		t.Fatal(err)
	}
	r = g.verify(t, VerifyOptions{})
	if _, err := Append(ctx, g.objs, r, EventSigned, Actor{User: "mallory"}, nil, mallory); err != nil {
		t.Fatal(err)
	}
	if got := problems(g.verify(t, VerifyOptions{})); !strings.Contains(got, "records a signature by "+sshsig.Fingerprint(mallory.PublicKey())) {
		t.Errorf("a signed record by another key passes:\n%s", got)
	}

	// An unsigned record's time is not the signing time.
	h := newFixture(t, newMem(false))
	plant(t, h, EventSigned, Actor{User: "alice"}, time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), nil)
	h.objs.remove(h.prefix + LogKey(2, EventSigned))
	r = h.verify(t, VerifyOptions{})
	if err := Sign(ctx, h.objs, r, alice, Actor{}); err != nil {
		t.Fatal(err)
	}
	// Replace the signed record with an unsigned one dated 2019.
	h.objs.remove(h.prefix + LogKey(2, EventSigned))
	h.objs.remove(h.prefix + LogKey(2, EventSigned) + ".sig")
	plant(t, h, EventSigned, Actor{User: "alice"}, time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), nil)
	r = h.verify(t, VerifyOptions{})
	if len(r.Signers) != 1 || !r.Signers[0].Time.IsZero() {
		t.Errorf("signing time taken from an unsigned record: %+v", r.Signers)
	}
	_ = bob
}

func TestSignAndCountersign(t *testing.T) {
	ctx := context.Background()
	alice, bob := sshKey(t), sshKey(t)
	f := newFixture(t, newMem(true))
	r := f.verify(t, VerifyOptions{})
	if err := Countersign(ctx, f.objs, r, bob, Actor{}, ""); err == nil {
		t.Fatal("countersigned before the first signature")
	}
	if err := Sign(ctx, f.objs, r, alice, Actor{User: "alice"}); err != nil {
		t.Fatal(err)
	}
	r = f.verify(t, VerifyOptions{Signatures: SigOptions{Require: 1}})
	if !r.OK() || len(r.Signers) != 1 || r.Signers[0].Time.IsZero() {
		t.Fatalf("signed: %+v\n%s", r.Signers, problems(r))
	}
	if err := Sign(ctx, f.objs, r, alice, Actor{}); err == nil {
		t.Fatal("signed twice")
	}
	if err := Countersign(ctx, f.objs, r, alice, Actor{}, ""); err == nil || !strings.Contains(err.Error(), "second person") {
		t.Fatalf("countersigned with the collector's key: %v", err)
	}
	if err := Countersign(ctx, f.objs, r, bob, Actor{User: "bob", Principal: "bob@example.org"}, "checked"); err != nil {
		t.Fatal(err)
	}
	r = f.verify(t, VerifyOptions{Signatures: SigOptions{Require: 2}})
	if !r.OK() || len(r.Signers) != 2 || r.Countersignature == nil {
		t.Fatalf("countersigned: %+v\n%s", r.Signers, problems(r))
	}
	for _, e := range r.Log[1:] {
		if !e.Signed {
			t.Errorf("%s not signed", e.Key)
		}
	}
}

func FuzzParseRecord(f *testing.F) {
	for _, e := range chain(f, EventCollected, EventStored) {
		f.Add(e.Bytes)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRecord(b)
		if err != nil {
			return
		}
		out, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		r2, err := ParseRecord(out)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if out2, _ := r2.Marshal(); string(out2) != string(out) {
			t.Fatal("not stable")
		}
	})
}

func FuzzParseCountersignature(f *testing.F) {
	c := &Countersignature{Format: CountersignFormat, ManifestSHA256: Digest{1}, SignatureSHA256: Digest{2}, SignerKey: "SHA256:x", Signer: "b@example.org"}
	b, _ := c.Marshal()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCountersignature(b)
		if err != nil {
			return
		}
		out, _ := c.Marshal()
		if _, err := ParseCountersignature(out); err != nil {
			t.Fatalf("re-parse: %v", err)
		}
	})
}
