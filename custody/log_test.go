package custody

import (
	"strings"
	"testing"

	"github.com/custos-ir/custos/storage"
)

func chain(t *testing.T, events ...string) []LogEntry {
	t.Helper()
	m := sample()
	var out []LogEntry
	var prev *Record
	var prevBytes []byte
	for _, ev := range events {
		r := NextRecord(prev, prevBytes, ev, m, storage.Digest{9}, Actor{User: "jd"}, nil)
		b, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, LogEntry{Key: LogKey(r.Seq, r.Event), Bytes: b})
		prev, prevBytes = r, b
	}
	return out
}

func TestLogChain(t *testing.T) {
	good := chain(t, EventCollected, EventSigned, EventCountersigned)
	if p := CheckChain(good, sample().CollectionID, storage.Digest{9}); len(p) != 0 {
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
		"renamed": {func(l []LogEntry) []LogEntry { l[1].Key = LogKey(2, "verified"); return l }, "record says seq 2 event signed"},
		"garbage": {func(l []LogEntry) []LogEntry { l[2].Bytes = []byte("{"); return l }, "not a custody log record"},
	}
	for name, c := range cases {
		l := c.mutate(chain(t, EventCollected, EventSigned, EventCountersigned))
		got := CheckChain(l, sample().CollectionID, storage.Digest{9})
		var all []string
		for _, p := range got {
			all = append(all, p.String())
		}
		if !strings.Contains(strings.Join(all, "\n"), c.want) {
			t.Errorf("%s: problems %v, want %q", name, all, c.want)
		}
	}
	if p := CheckChain(good, "other", storage.Digest{9}); len(p) == 0 {
		t.Error("records of another collection accepted")
	}
}

func TestIsLogObject(t *testing.T) {
	for k, want := range map[string]bool{"log/0001-collected.json": true, "log/0002-signed.json.sig": true, "log/x.json": false, "log/0001-collected.json.bak": false} {
		if IsLogObject(k) != want {
			t.Errorf("IsLogObject(%q) != %v", k, want)
		}
	}
}

func FuzzParseRecord(f *testing.F) {
	for _, e := range chain(&testing.T{}, EventCollected, EventSigned) {
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
		if _, err := ParseRecord(out); err != nil {
			t.Fatalf("re-parse: %v", err)
		}
	})
}

func FuzzParseCountersignature(f *testing.F) {
	c := &Countersignature{Format: CountersignFormat, ManifestSHA256: storage.Digest{1}, SignatureSHA256: storage.Digest{2}, SignerKey: "SHA256:x", Signer: "b@example.org"}
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
