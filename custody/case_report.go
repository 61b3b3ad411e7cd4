package custody

import (
	htmltemplate "html/template"
	"io"
	"sort"
	"strings"
	texttemplate "text/template"
	"time"
)

// CaseForm is the case view the response plans ask for: the affected
// systems and each one's status, the hosts that could not be collected,
// the signatures, the retention, and one custody timeline across hosts.
type CaseForm struct {
	Case     string
	Location string
	// Facts are the case facts as the first collection recorded them;
	// FactsFrom names it, FactsDiffer the hosts that recorded others.
	Facts       *Case
	FactsFrom   string
	FactsDiffer []string
	Indicators  []CaseIndicators
	Hits        []CaseHit
	Actions     []CaseAction
	Cards       []CaseCards
	Hosts       []CaseHost
	Gaps        []Gap
	Signers     []Signer
	Problems    []Problem
	Timeline    []TimelineEntry
	Generated   time.Time
	Verified    bool
	Complete    bool
}

// CaseHost is one collection of the case on the form.
type CaseHost struct {
	Prefix     string
	Host       string
	Collection string
	Status     string
	Started    time.Time
	Artifacts  int
	Signatures string
	Retention  string
	Problems   int
}

// CaseIndicators is the indicator list one collection looked for.
type CaseIndicators struct {
	Host    string
	Name    string
	SHA256  string
	Entries int
}

// CaseHit is an indicator seen on a host.
type CaseHit struct {
	Host string
	FormHit
}

// CaseAction is a response action recorded in a host's custody log.
type CaseAction struct {
	Host string
	Action
}

// CaseCards is an artifact of a host that holds card-like numbers.
type CaseCards struct {
	Host, Artifact string
	Count          int
}

// NewCaseForm is the form of a verified case.
func NewCaseForm(c *CaseReport, location string, generated time.Time) *CaseForm {
	f := &CaseForm{Case: c.Case, Location: location, Gaps: c.NotCollected, Problems: c.Problems, Generated: generated,
		Verified: true, Complete: c.Complete()}
	for _, r := range c.Collections {
		f.Problems = append(f.Problems, prefixed(c.rel(r), r.Problems)...)
		m := r.Manifest
		if m == nil {
			f.Hosts = append(f.Hosts, CaseHost{Prefix: c.rel(r), Status: "unreadable", Problems: len(r.Problems)})
			continue
		}
		h := CaseHost{Prefix: c.rel(r), Host: m.Host.Hostname, Collection: m.CollectionID, Status: m.Status,
			Started: m.Started.UTC, Artifacts: len(m.Artifacts), Problems: len(r.Problems), Retention: "-"}
		var sigs []string
		for _, s := range r.Signers {
			who := s.Fingerprint
			if len(s.Principals) > 0 {
				who = strings.Join(s.Principals, ", ")
			}
			sigs = append(sigs, s.Role+" "+who)
		}
		h.Signatures = strings.Join(sigs, "; ")
		if h.Signatures == "" {
			h.Signatures = "not signed"
		}
		for _, a := range m.Artifacts {
			if t := retentionText(a); t != "-" {
				h.Retention = t
				break
			}
		}
		f.Hosts = append(f.Hosts, h)
		ff := NewForm(r, "", generated)
		f.addFacts(m)
		if ind := m.Indicators; ind != nil {
			f.Indicators = append(f.Indicators, CaseIndicators{h.Host, ind.Name, ind.SHA256.String(), len(ind.Entries)})
		}
		for _, hit := range ff.Hits() {
			f.Hits = append(f.Hits, CaseHit{h.Host, hit})
		}
		for _, a := range ff.Actions() {
			f.Actions = append(f.Actions, CaseAction{h.Host, a})
		}
		for _, a := range m.Artifacts {
			if a.CardLike > 0 {
				f.Cards = append(f.Cards, CaseCards{h.Host, a.Name, a.CardLike})
			}
		}
		for _, e := range ff.Timeline() {
			e.Where = strings.TrimSpace(e.Where + " (" + strings.TrimSuffix(c.rel(r), "/") + ")")
			f.Timeline = append(f.Timeline, e)
		}
	}
	for _, g := range c.NotCollected {
		f.Timeline = append(f.Timeline, TimelineEntry{g.Record.Time, "not collected: " + g.Record.Reason, g.Record.Operator.User, g.Record.Target})
	}
	for _, s := range c.Statements {
		if s.Signer != nil {
			f.Signers = append(f.Signers, *s.Signer)
			f.Timeline = append(f.Timeline, TimelineEntry{s.Statement.Time, "case statement " + s.Key + " (" + s.Statement.Role + ")", s.Signer.Fingerprint, ""})
		}
	}
	sort.SliceStable(f.Timeline, func(i, j int) bool { return f.Timeline[i].Time.Before(f.Timeline[j].Time) })
	sort.SliceStable(f.Actions, func(i, j int) bool { return f.Actions[i].At.Before(f.Actions[j].At) })
	return f
}

// addFacts takes the case facts of the first collection that has them
// and names every later one that recorded others.
func (f *CaseForm) addFacts(m *Manifest) {
	c := m.Case
	if f.Facts == nil {
		f.Facts, f.FactsFrom = &c, m.Host.Hostname
		return
	}
	a, b := *f.Facts, c
	a.EvidenceID, b.EvidenceID, a.Examiner, b.Examiner, a.Note, b.Note = "", "", "", "", "", ""
	same := a.DiscoveredAt == nil && b.DiscoveredAt == nil || a.DiscoveredAt != nil && b.DiscoveredAt != nil && a.DiscoveredAt.Equal(*b.DiscoveredAt)
	a.DiscoveredAt, b.DiscoveredAt = nil, nil
	if !same || a != b {
		f.FactsDiffer = append(f.FactsDiffer, m.Host.Hostname)
	}
}

func prefixed(p string, ps []Problem) []Problem {
	out := make([]Problem, len(ps))
	for i, x := range ps {
		out[i] = Problem{Thing: strings.TrimSuffix(p, "/") + ": " + x.Thing, What: x.What}
	}
	return out
}

const caseMD = `# Case {{md .Case}}: incident report and chain of custody across hosts

| | |
|---|---|
| Case | {{md .Case}} |
| Stored at | {{md .Location}} |
| Affected systems | {{len .Hosts}} collections, {{len .Gaps}} hosts not collected |
| Verification | {{if .Problems}}**FAILED: {{len .Problems}} problems**{{else if .Complete}}passed{{else}}passed, **case incomplete**{{end}} ({{utc .Generated}}) |

## Incident
{{with .Facts}}
| | |
|---|---|
| Incident / case ID | {{md .ID}} |
| Category | {{category .Category}} |
| Severity | {{md (dash .Severity)}} |
| Discovered | {{if .DiscoveredAt}}{{utc .DiscoveredAt}}{{else}}-{{end}} |
| Owner (incident commander) | {{md (dash .Owner)}} |
| Reporter | {{md (dash .Reporter)}}{{if .ReporterContact}}, {{md .ReporterContact}}{{end}} |
{{- end}}
{{- if .Facts}}

As recorded by the collection of {{md .FactsFrom}}{{with .FactsDiffer}}; **other facts recorded by {{md (join . ", ")}}** (see their reports){{end}}.
{{- end}}

## Affected systems

| Host | Collection | Status | Started (UTC) | Artifacts | Signatures | Retention | Problems |
|---|---|---|---|---|---|---|---|
{{- range .Hosts}}
| {{md .Host}} | {{md .Prefix}} | {{md .Status}} | {{utc .Started}} | {{.Artifacts}} | {{md .Signatures}} | {{md .Retention}} | {{.Problems}} |
{{- end}}
{{- range .Gaps}}
| {{md .Record.Target}} | {{md .Key}} | **not collected** | {{utc .Record.Time}} | 0 | - | - | {{md .Record.Reason}} |
{{- end}}

## Indicators of compromise
{{range .Indicators}}
- {{md .Host}}: {{.Entries}} indicators looked for ({{md (dash .Name)}}, sha256 {{.SHA256}})
{{- else}}
No indicator list was given (--ioc).
{{- end}}
{{with .Hits}}
| Host | Indicator | Artifact | Where | Count | First lines |
|---|---|---|---|---|---|
{{- range .}}
| {{md .Host}} | {{md .Indicator}} | {{md .Artifact}} | {{md .Where}} | {{.Count}} | {{md (join .Lines " / ")}} |
{{- end}}
{{- else}}{{if .Indicators}}
None of them was seen.{{end}}
{{- end}}

## Card data
{{with .Cards}}
These artifacts hold numbers that look like payment card numbers: handle them as cardholder data (PCI DSS).

| Host | Artifact | Card-like numbers |
|---|---|---|
{{- range .}}
| {{md .Host}} | {{md .Artifact}} | {{.Count}} |
{{- end}}
{{- else}}
No artifact holds a card-like number.
{{- end}}

## Response actions
{{range .Actions}}
- {{utc .At}} on {{md .Host}}: {{md .What}}, by {{md (dash .Who)}}{{if .Signed}} (signed, {{md .Key}}){{else}} (NOT signed){{end}}
{{- else}}
None recorded (custos annotate).
{{- end}}

## Case statements
{{range .Signers}}
- **{{.Role}}**: {{if .Principals}}{{md (join .Principals ", ")}}{{else}}(not checked against allowed signers){{end}}, key {{md .Fingerprint}}, {{utc .Time}}{{if .Note}}: "{{md .Note}}"{{end}}
{{- else}}
Not signed as a case.
{{- end}}

## Timeline across hosts (UTC)

| Time | Event | Who | Where |
|---|---|---|---|
{{- range .Timeline}}
| {{utc .Time}} | {{md .What}} | {{md .Who}} | {{md .Where}} |
{{- end}}
{{- if .Problems}}

## Verification problems
{{range .Problems}}
- {{md .String}}
{{- end}}
{{- end}}

Generated {{utc .Generated}} by custos report.
`

const caseHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Case {{.Case}}: chain of custody across hosts</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#111;padding:0 1em}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #bbb;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#eee}.bad{color:#a40000;font-weight:600}.ok{color:#065f0a;font-weight:600}
.h{font-family:ui-monospace,monospace;font-size:.85em;word-break:break-all}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}tr{break-inside:avoid}}
</style></head><body>
<h1>Case {{.Case}} — incident report and chain of custody across hosts</h1>
<p>Stored at <code>{{.Location}}</code>. {{len .Hosts}} collections, {{len .Gaps}} hosts not collected.
Verification: {{if .Problems}}<span class="bad">FAILED: {{len .Problems}} problems</span>{{else if .Complete}}<span class="ok">passed</span>{{else}}<span class="bad">passed, case incomplete</span>{{end}} ({{utc .Generated}})</p>
{{with .Facts}}<h2>Incident</h2>
<table>
<tr><th>Incident / case ID</th><td>{{.ID}}</td></tr>
<tr><th>Category</th><td>{{category .Category}}</td></tr>
<tr><th>Severity</th><td>{{dash .Severity}}</td></tr>
<tr><th>Discovered</th><td>{{if .DiscoveredAt}}{{utc .DiscoveredAt}}{{else}}-{{end}}</td></tr>
<tr><th>Owner (incident commander)</th><td>{{dash .Owner}}</td></tr>
<tr><th>Reporter</th><td>{{dash .Reporter}}{{if .ReporterContact}}, {{.ReporterContact}}{{end}}</td></tr>
</table>{{end}}
{{if .Facts}}<p>As recorded by the collection of {{.FactsFrom}}{{with .FactsDiffer}}; <span class="bad">other facts recorded by {{join . ", "}}</span> (see their reports){{end}}.</p>{{end}}
<h2>Affected systems</h2>
<table><tr><th>Host</th><th>Collection</th><th>Status</th><th>Started (UTC)</th><th>Artifacts</th><th>Signatures</th><th>Retention</th><th>Problems</th></tr>
{{range .Hosts}}<tr><td>{{.Host}}</td><td><code>{{.Prefix}}</code></td><td>{{.Status}}</td><td>{{utc .Started}}</td><td>{{.Artifacts}}</td><td>{{.Signatures}}</td><td>{{.Retention}}</td><td>{{.Problems}}</td></tr>
{{end}}{{range .Gaps}}<tr><td>{{.Record.Target}}</td><td><code>{{.Key}}</code></td><td class="bad">not collected</td><td>{{utc .Record.Time}}</td><td>0</td><td>-</td><td>-</td><td>{{.Record.Reason}}</td></tr>
{{end}}</table>
<h2>Indicators of compromise</h2>
{{with .Indicators}}<ul>{{range .}}<li>{{.Host}}: {{.Entries}} indicators looked for ({{dash .Name}}, <code>{{.SHA256}}</code>)</li>{{end}}</ul>{{else}}<p>No indicator list was given (--ioc).</p>{{end}}
{{with .Hits}}<table><tr><th>Host</th><th>Indicator</th><th>Artifact</th><th>Where</th><th>Count</th><th>First lines</th></tr>
{{range .}}<tr><td>{{.Host}}</td><td class="h bad">{{.Indicator}}</td><td>{{.Artifact}}</td><td class="h">{{.Where}}</td><td>{{.Count}}</td><td class="h">{{range .Lines}}{{.}}<br>{{end}}</td></tr>
{{end}}</table>{{else}}{{if .Indicators}}<p class="ok">None of them was seen.</p>{{end}}{{end}}
<h2>Card data</h2>
{{with .Cards}}<p class="bad">These artifacts hold numbers that look like payment card numbers: handle them as cardholder data (PCI DSS).</p>
<table><tr><th>Host</th><th>Artifact</th><th>Card-like numbers</th></tr>
{{range .}}<tr><td>{{.Host}}</td><td>{{.Artifact}}</td><td>{{.Count}}</td></tr>
{{end}}</table>{{else}}<p class="ok">No artifact holds a card-like number.</p>{{end}}
<h2>Response actions</h2>
{{with .Actions}}<table><tr><th>Time (UTC)</th><th>Host</th><th>Action</th><th>By</th><th>Signature</th></tr>
{{range .}}<tr><td>{{utc .At}}</td><td>{{.Host}}</td><td>{{.What}}</td><td>{{dash .Who}}</td><td class="h">{{if .Signed}}{{.Key}}{{else}}<span class="bad">NOT signed</span>{{end}}</td></tr>
{{end}}</table>{{else}}<p>None recorded (custos annotate).</p>{{end}}
<h2>Case statements</h2>
{{with .Signers}}<ul>{{range .}}<li>{{.Role}}: {{if .Principals}}{{join .Principals ", "}}{{else}}(not checked against allowed signers){{end}}, <code>{{.Fingerprint}}</code>, {{utc .Time}}{{if .Note}}: “{{.Note}}”{{end}}</li>{{end}}</ul>{{else}}<p class="bad">Not signed as a case.</p>{{end}}
<h2>Timeline across hosts (UTC)</h2>
<table><tr><th>Time</th><th>Event</th><th>Who</th><th>Where</th></tr>
{{range .Timeline}}<tr><td>{{utc .Time}}</td><td>{{.What}}</td><td>{{.Who}}</td><td>{{.Where}}</td></tr>
{{end}}</table>
{{with .Problems}}<h2>Verification problems</h2><ul>{{range .}}<li class="bad">{{.String}}</li>{{end}}</ul>{{end}}
<p style="color:#666;font-size:.8em">Generated {{utc .Generated}} by custos report.</p>
</body></html>
`

var (
	caseMDTmpl   = texttemplate.Must(texttemplate.New("case-md").Funcs(funcs).Parse(caseMD))
	caseHTMLTmpl = htmltemplate.Must(htmltemplate.New("case-html").Funcs(funcs).Parse(caseHTML))
)

// Markdown writes the case form as Markdown.
func (f *CaseForm) Markdown(w io.Writer) error { return caseMDTmpl.Execute(w, f) }

// HTML writes the case form as a self-contained HTML page.
func (f *CaseForm) HTML(w io.Writer) error { return caseHTMLTmpl.Execute(w, f) }
