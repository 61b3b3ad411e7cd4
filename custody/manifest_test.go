package custody

import (
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/internal/jsonx"
)

func sample() *Manifest {
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	return &Manifest{
		Format: Format, CollectionID: "20261124T120000Z-abcdef",
		Case:    Case{ID: "INC-1", Severity: "high", Examiner: "J. Doe"},
		Started: NewTime(t0), Finished: NewTime(t0.Add(time.Minute)),
		Host:   Host{Hostname: "web01", OS: "linux", Arch: "amd64"},
		Status: "complete",
		Artifacts: []Artifact{{
			Name: "processes", Kind: "live", Format: "jsonl", Key: "artifacts/01-processes.jsonl.zst.age",
			Status: StatusOK, Plain: Digested{Size: 10, SHA256: Digest{1}}, Cipher: Digested{Size: 20, SHA256: Digest{2}},
		}},
	}
}

func TestManifestRoundTrip(t *testing.T) {
	b, err := sample().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := m.Marshal()
	if string(b) != string(b2) {
		t.Fatalf("round trip changed the bytes:\n%s\n%s", b, b2)
	}
}

func TestParseRejects(t *testing.T) {
	good, _ := sample().Marshal()
	for name, c := range map[string]struct{ from, to, want string }{
		"unknown field":  {`"status"`, `"extra": 1, "status"`, "unknown field"},
		"format":         {Format, "custos-manifest/9", "this custos reads"},
		"bad key":        {"artifacts/01-processes", "../../etc/passwd", "invalid key"},
		"unknown status": {`"status": "ok"`, `"status": "maybe"`, "unknown status"},
		"bad digest":     {"0100000000", "zz00000000", "hex"},
	} {
		b := strings.Replace(string(good), c.from, c.to, 1)
		if _, err := Parse([]byte(b)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", name, err, c.want)
		}
	}
	if _, err := Parse(append(good, []byte("{}")...)); err == nil {
		t.Error("trailing data accepted")
	}
}

func FuzzParse(f *testing.F) {
	good, _ := sample().Marshal()
	f.Add(good)
	f.Add([]byte(`{"format":"custos-manifest/2"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		// Whatever parses must marshal, as strict JSON, and parse again to
		// the same thing.
		out, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := jsonx.Check(out); err != nil {
			t.Fatalf("marshalled manifest is not strict JSON: %v", err)
		}
		m2, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		out2, _ := m2.Marshal()
		if string(out) != string(out2) {
			t.Fatal("not stable")
		}
	})
}

// FuzzParseSums: what ParseSums takes, written again line by line,
// parses to the same sums.
func FuzzParseSums(f *testing.F) {
	d := strings.Repeat("ab", 32)
	f.Add([]byte(d + "  artifacts/x\n" + d + " *artifacts/y\n"))
	f.Add([]byte(d + "  a\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sums, err := ParseSums(b)
		if err != nil {
			return
		}
		var out []byte
		for _, k := range sortedKeys(sums) {
			out = append(out, sumLine(sums[k], k)...)
		}
		again, err := ParseSums(out)
		if err != nil || len(again) != len(sums) {
			t.Fatalf("re-parse: %v", err)
		}
		for k, v := range sums {
			if again[k] != v {
				t.Fatalf("%q changed", k)
			}
		}
	})
}

func TestParseSums(t *testing.T) {
	d := strings.Repeat("ab", 32)
	s, err := ParseSums([]byte(d + "  artifacts/x\n" + d + " *artifacts/y\n"))
	if err != nil || len(s) != 2 {
		t.Fatal(s, err)
	}
	for _, bad := range []string{"xyz  a\n", d + "  a\n" + d + "  a\n", d + "a\n"} {
		if _, err := ParseSums([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestReportRenders(t *testing.T) {
	m := sample()
	m.Case.Note = "a <script>alert(1)</script> | pipe"
	f := &Form{Manifest: m, ManifestSHA256: "ab", Location: "/x", Generated: time.Now(),
		Signers: []Signer{{Role: "collector", Fingerprint: "SHA256:abc", KeyType: "ssh-ed25519", Principals: []string{"a@example.org"}}},
		Log:     []LogLine{{&Record{Seq: 1, Event: EventCollected, Time: time.Now(), Actor: Actor{User: "root", Host: "web01"}}, false, nil}}}
	var md, html strings.Builder
	if err := f.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := f.HTML(&html); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Chain of custody: case INC-1", "| Severity | high |", "a@example.org", "**collected** by root", `\| pipe`} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	if strings.Contains(html.String(), "<script>alert") || !strings.Contains(html.String(), "&lt;script&gt;") {
		t.Error("HTML does not escape the note")
	}
}

// Every manifest custos writes is strict JSON: no key twice at any depth
// (a strict reader refuses duplicates; Go, jq and Python take the last).
func TestManifestIsStrictJSON(t *testing.T) {
	m := sample()
	m.Errors = []string{"one"}
	m.Warnings = []string{"two"}
	m.Journal = map[string]Digest{"journal/01-processes.jsonl.json": {3}}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := jsonx.Check(b); err != nil {
		t.Fatalf("manifest is not strict JSON: %v\n%s", err, b)
	}
}

// Host-controlled text reaches a Markdown report escaped: no raw HTML, no
// table or emphasis syntax, no terminal escape sequences.
func TestReportMarkdownEscapesHostText(t *testing.T) {
	m := sample()
	m.Host.Hostname = "web01<img src=x onerror=alert(1)>"
	m.Artifacts[0].Name = "proc|esses*_[x](http://evil)"
	m.Artifacts[0].Errors = []string{"\x1b]0;owned\x07\x1b[2J<script>"}
	m.Case.ID = "INC-1<b>"
	f := &Form{Manifest: m, ManifestSHA256: "ab", Location: "/x", Generated: time.Now(),
		Log: []LogLine{{&Record{Seq: 1, Event: EventCollected, Time: time.Now(), Actor: Actor{User: "root<i>", Host: "web01"}}, false, nil}}}
	var md strings.Builder
	if err := f.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	for _, bad := range []string{"<img", "<script>", "<b>", "<i>", "\x1b", "\x07", "](http://evil)", "proc|esses"} {
		if strings.Contains(out, bad) {
			t.Errorf("markdown holds %q raw:\n%s", bad, out)
		}
	}
}
