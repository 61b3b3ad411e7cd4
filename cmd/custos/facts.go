package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/term"
)

// caseFacts are the incident facts the response plans ask the record for,
// as collect's flags.
type caseFacts struct {
	evidenceID      string
	category        string
	severity        string
	discoveredAt    string
	owner           string
	examiner        string
	reporter        string
	reporterContact string
	note            string
}

func (o *caseFacts) flags(f flagSet) {
	f.StringVar(&o.evidenceID, "evidence-id", "", "evidence item `ID` in your case system")
	f.StringVar(&o.category, "category", "", "incident category `1-4`: 1 a threat to public safety or life, 2 to sensitive data, 3 to computer systems, 4 a disruption of services")
	f.StringVar(&o.severity, "severity", "", "incident severity: critical, high, medium or low")
	f.StringVar(&o.discoveredAt, "discovered-at", "", "when the incident was discovered, RFC 3339 `TIME` (2026-11-30T21:14:00+01:00)")
	f.StringVar(&o.owner, "owner", "", "`NAME` of the accountable owner (incident commander)")
	f.StringVar(&o.examiner, "examiner", "", "`NAME` of the person collecting")
	f.StringVar(&o.reporter, "reporter", "", "`NAME` of who reported the incident")
	f.StringVar(&o.reporterContact, "reporter-contact", "", "how to reach the reporter: e-mail or phone `TEXT`")
	f.StringVar(&o.note, "note", "", "free `TEXT` for the record: why, what was seen")
}

// build checks the facts and returns them as the manifest records them;
// every bad value is one line naming the flag, before anything is read.
func (o *caseFacts) build(caseID string, now time.Time) (custody.Case, error) {
	c := custody.Case{ID: caseID, EvidenceID: o.evidenceID, Severity: o.severity, Owner: o.owner, Examiner: o.examiner,
		Reporter: o.reporter, ReporterContact: o.reporterContact, Note: o.note}
	switch o.severity {
	case "", "critical", "high", "medium", "low":
	default:
		return c, usageErr("--severity %q: want critical, high, medium or low", o.severity)
	}
	if o.category != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(strings.ToLower(o.category), "cat"))
		if err != nil || custody.Categories[n] == "" {
			return c, usageErr("--category %q: want 1 (public safety or life), 2 (sensitive data), 3 (computer systems) or 4 (disruption of services)", o.category)
		}
		c.Category = n
	}
	if o.discoveredAt != "" {
		t, err := time.Parse(time.RFC3339, o.discoveredAt)
		if err != nil {
			return c, usageErr("--discovered-at %q: want an RFC 3339 time with its zone, like 2026-11-30T21:14:00+01:00 or 2026-11-30T20:14:00Z", o.discoveredAt)
		}
		if t.After(now.Add(24 * time.Hour)) {
			return c, usageErr("--discovered-at %s is in the future by this host's clock (%s): check the date, or the host's clock", t.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
		u := t.UTC()
		c.DiscoveredAt = &u
	}
	for name, v := range map[string]string{"--owner": o.owner, "--examiner": o.examiner, "--reporter": o.reporter,
		"--reporter-contact": o.reporterContact, "--evidence-id": o.evidenceID} {
		if term.Clean(v) != v || len(v) > 256 {
			return c, usageErr("%s: at most 256 printable characters on one line", name)
		}
	}
	return c, nil
}
