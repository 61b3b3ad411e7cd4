package custody

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// aCase is three collections of one case and a host that could not be
// collected.
func aCase(t *testing.T, objs *memObjects) {
	t.Helper()
	for _, h := range []string{"web01", "web02", "db01"} {
		newHostFixture(t, objs, "INC-42", h)
	}
	if _, err := RecordNotCollected(context.Background(), objs, "", NotCollected{Case: "INC-42", Target: "root@win01", Host: "win01",
		Reason: "ssh root@win01: Connection refused", Operator: Actor{User: "alice"}}); err != nil {
		t.Fatal(err)
	}
}

func verifyCase(t *testing.T, objs *memObjects, prefix string, so SigOptions) *CaseReport {
	t.Helper()
	ctx := context.Background()
	idx, err := FindCase(ctx, objs, prefix)
	if err != nil {
		t.Fatal(err)
	}
	c, err := VerifyCase(ctx, objs, idx, VerifyOptions{Signatures: so})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func caseProblems(c *CaseReport) string {
	var out []string
	for _, p := range c.Problems {
		out = append(out, p.String())
	}
	for _, r := range c.Collections {
		if s := problems(r); s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, "\n")
}

func TestCaseSignCountersign(t *testing.T) {
	ctx := context.Background()
	objs := newMem(true)
	aCase(t, objs)
	for _, prefix := range []string{"", "INC-42/", "INC-42"} {
		c := verifyCase(t, objs, prefix, SigOptions{})
		if !c.OK() || c.Complete() || len(c.Collections) != 3 || len(c.NotCollected) != 1 || c.Case != "INC-42" {
			t.Fatalf("%q: ok %v complete %v, %d collections, %d gaps, case %q:\n%s", prefix, c.OK(), c.Complete(), len(c.Collections), len(c.NotCollected), c.Case, caseProblems(c))
		}
	}
	c := verifyCase(t, objs, "", SigOptions{Require: 1})
	if c.OK() || !strings.Contains(caseProblems(c), "is in no signed case statement") {
		t.Fatalf("unsigned case passes with Require 1:\n%s", caseProblems(c))
	}
	alice, bob := sshKey(t), sshKey(t)
	c = verifyCase(t, objs, "", SigOptions{})
	if _, err := CountersignCase(ctx, objs, c, bob, Actor{}, ""); err == nil {
		t.Fatal("countersigned an unsigned case")
	}
	if n, err := SignCase(ctx, objs, c, alice, Actor{User: "alice"}); err != nil || n != 3 {
		t.Fatalf("signed %d: %v", n, err)
	}
	c = verifyCase(t, objs, "", SigOptions{Require: 1})
	if !c.OK() {
		t.Fatalf("signed case:\n%s", caseProblems(c))
	}
	if _, err := CountersignCase(ctx, objs, c, alice, Actor{}, ""); err == nil || !strings.Contains(err.Error(), "second person") {
		t.Fatalf("the collector countersigned: %v", err)
	}
	if n, err := CountersignCase(ctx, objs, c, bob, Actor{User: "bob"}, "read the summary"); err != nil || n != 3 {
		t.Fatalf("countersigned %d: %v", n, err)
	}
	c = verifyCase(t, objs, "", SigOptions{Require: 2})
	if !c.OK() || len(c.Statements) != 2 {
		t.Fatalf("countersigned case (%d statements):\n%s", len(c.Statements), caseProblems(c))
	}
	for _, r := range c.Collections {
		if len(r.Signers) != 2 {
			t.Errorf("%s has %d signatures", r.Prefix, len(r.Signers))
		}
	}
	if s := CaseSummary(c); !strings.Contains(s, "NOT COLLECTED (root@win01)") || !strings.Contains(s, "web02") {
		t.Errorf("summary:\n%s", s)
	}
	var md strings.Builder
	NewCaseForm(c, "mem:", c.Statements[0].Statement.Time).Markdown(&md)
	for _, want := range []string{"| Affected systems | 3 collections, 1 hosts not collected |", "**not collected**", "countersigner", "passed, **case incomplete**"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("case report lacks %q:\n%s", want, md.String())
		}
	}

	// A host collected after the case was signed: not covered, and the
	// countersigner is refused until the case is signed again.
	newHostFixture(t, objs, "INC-42", "web03")
	c = verifyCase(t, objs, "", SigOptions{Require: 2})
	if c.OK() || !strings.Contains(caseProblems(c), "web03/") {
		t.Fatalf("a later collection is not named:\n%s", caseProblems(c))
	}
	c = verifyCase(t, objs, "", SigOptions{})
	if _, err := CountersignCase(ctx, objs, c, bob, Actor{}, ""); err == nil || !strings.Contains(err.Error(), "not in the collector's case statement") {
		t.Fatalf("countersigned past the statement: %v", err)
	}

	// A statement changed afterwards does not verify.
	k := c.Statements[0].Key
	b := objs.get(c.Prefix + k)
	objs.set(c.Prefix+k, []byte(strings.Replace(string(b), "INC-42", "INC-43", 1)))
	c = verifyCase(t, objs, "", SigOptions{})
	if c.OK() || !strings.Contains(caseProblems(c), k+".sig: does not verify") {
		t.Fatalf("a changed statement passes:\n%s", caseProblems(c))
	}
}

func TestFindCaseBadInput(t *testing.T) {
	ctx := context.Background()
	objs := newMem(false)
	if _, err := FindCase(ctx, objs, ""); !errors.Is(err, ErrNoCollection) {
		t.Errorf("empty: %v", err)
	}
	newHostFixture(t, objs, "A", "web01")
	newHostFixture(t, objs, "B", "web01")
	if _, err := FindCase(ctx, objs, ""); !errors.Is(err, ErrManyCases) || !strings.Contains(err.Error(), "A, B") {
		t.Errorf("two cases: %v", err)
	}
	idx, err := FindCase(ctx, objs, "A/")
	if err != nil || len(idx.Collections) != 1 {
		t.Fatalf("%+v %v", idx, err)
	}
	objs.forge("A/web01/planted.txt", []byte("x"))
	idx, _ = FindCase(ctx, objs, "A/")
	c, _ := VerifyCase(ctx, objs, idx, VerifyOptions{})
	if c.OK() || !strings.Contains(caseProblems(c), "object web01/planted.txt: is in the case but in no collection") {
		t.Errorf("a stray in the case:\n%s", caseProblems(c))
	}
}

// The case report is the incident report: facts, every host's hits and
// card data, and the response actions with who signed them.
func TestCaseFormIncident(t *testing.T) {
	at := time.Date(2026, 12, 1, 7, 40, 0, 0, time.UTC)
	host := func(name, action, who string) *Report {
		m := header("INC-9")
		m.Host.Hostname = name
		m.Case.Category, m.Case.Owner, m.Case.DiscoveredAt = 2, "M. Keller", &at
		m.Indicators = &Indicators{Name: "case.ioc", Entries: []Indicator{{Type: "ip", Value: "203.0.113.9"}}}
		m.Artifacts = []Artifact{{Name: "web-logs", Status: StatusOK, CardLike: 1,
			Hits: []Hit{{Indicator: "ip:203.0.113.9", Where: "/var/log/nginx/access.log", Count: 2, Lines: []string{"203.0.113.9 POST /x.php"}}}}}
		rec := &Record{Seq: 2, Event: EventAnnotated, Time: at.Add(time.Hour), Actor: Actor{User: "root", Key: "SHA256:k"},
			Details: map[string]string{"action": action, "at": at.Add(30 * time.Minute).Format(time.RFC3339)}}
		return &Report{Prefix: "INC-9/" + name + "/x/", Manifest: m, Log: []LogEntry{{Record: rec, Signed: true, Principals: []string{who}}}}
	}
	c := &CaseReport{Case: "INC-9", Prefix: "INC-9/", Collections: []*Report{host("web01", "web01 isolated", "alice@ir.example"), host("web02", "passwords reset", "bob@ir.example")}}
	var md strings.Builder
	if err := NewCaseForm(c, "/srv/evidence", time.Now()).Markdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| Category | 2 (a threat to sensitive data) |",
		"| Owner (incident commander) | M. Keller |",
		"| web01 | ip:203.0.113.9 | web-logs | /var/log/nginx/access.log | 2 |",
		"| web02 | web-logs | 1 |",
		"on web01: web01 isolated, by alice@ir.example (signed, SHA256:k)",
		"on web02: passwords reset, by bob@ir.example (signed, SHA256:k)",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("the case report lacks %q:\n%s", want, md.String())
		}
	}
}
