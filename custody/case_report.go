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
	Case      string
	Location  string
	Hosts     []CaseHost
	Gaps      []Gap
	Signers   []Signer
	Problems  []Problem
	Timeline  []TimelineEntry
	Generated time.Time
	Verified  bool
	Complete  bool
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
	return f
}

func prefixed(p string, ps []Problem) []Problem {
	out := make([]Problem, len(ps))
	for i, x := range ps {
		out[i] = Problem{Thing: strings.TrimSuffix(p, "/") + ": " + x.Thing, What: x.What}
	}
	return out
}

const caseMD = `# Case {{md .Case}}: chain of custody across hosts

| | |
|---|---|
| Case | {{md .Case}} |
| Stored at | {{md .Location}} |
| Affected systems | {{len .Hosts}} collections, {{len .Gaps}} hosts not collected |
| Verification | {{if .Problems}}**FAILED: {{len .Problems}} problems**{{else if .Complete}}passed{{else}}passed, **case incomplete**{{end}} ({{utc .Generated}}) |

## Affected systems

| Host | Collection | Status | Started (UTC) | Artifacts | Signatures | Retention | Problems |
|---|---|---|---|---|---|---|---|
{{- range .Hosts}}
| {{md .Host}} | {{md .Prefix}} | {{md .Status}} | {{utc .Started}} | {{.Artifacts}} | {{md .Signatures}} | {{md .Retention}} | {{.Problems}} |
{{- end}}
{{- range .Gaps}}
| {{md .Record.Target}} | {{md .Key}} | **not collected** | {{utc .Record.Time}} | 0 | - | - | {{md .Record.Reason}} |
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
</style></head><body>
<h1>Case {{.Case}} — chain of custody across hosts</h1>
<p>Stored at <code>{{.Location}}</code>. {{len .Hosts}} collections, {{len .Gaps}} hosts not collected.
Verification: {{if .Problems}}<span class="bad">FAILED: {{len .Problems}} problems</span>{{else if .Complete}}<span class="ok">passed</span>{{else}}<span class="bad">passed, case incomplete</span>{{end}} ({{utc .Generated}})</p>
<h2>Affected systems</h2>
<table><tr><th>Host</th><th>Collection</th><th>Status</th><th>Started (UTC)</th><th>Artifacts</th><th>Signatures</th><th>Retention</th><th>Problems</th></tr>
{{range .Hosts}}<tr><td>{{.Host}}</td><td><code>{{.Prefix}}</code></td><td>{{.Status}}</td><td>{{utc .Started}}</td><td>{{.Artifacts}}</td><td>{{.Signatures}}</td><td>{{.Retention}}</td><td>{{.Problems}}</td></tr>
{{end}}{{range .Gaps}}<tr><td>{{.Record.Target}}</td><td><code>{{.Key}}</code></td><td class="bad">not collected</td><td>{{utc .Record.Time}}</td><td>0</td><td>-</td><td>-</td><td>{{.Record.Reason}}</td></tr>
{{end}}</table>
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
