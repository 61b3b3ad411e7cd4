package custody

import (
	"fmt"
	htmltemplate "html/template"
	"io"
	"sort"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/custos-ir/custos/internal/term"
)

// Form is a chain-of-custody form for one collection: what a person
// prints, signs on paper if asked, and files with the incident.
type Form struct {
	Manifest       *Manifest
	ManifestSHA256 string
	Location       string
	Signers        []Signer
	Log            []LogLine
	Problems       []Problem // from verification, if it ran
	Verified       bool      // verification ran
	Generated      time.Time
}

// LogLine is a custody log record on the form, and whether its signature
// verified (only then does the form name a signer).
type LogLine struct {
	*Record
	Signed     bool
	Principals []string // by allowed_signers, for a response action
}

// NewForm is the form of a verified collection at location.
func NewForm(r *Report, location string, generated time.Time) *Form {
	f := &Form{Manifest: r.Manifest, ManifestSHA256: r.ManifestSHA256.String(), Location: location,
		Signers: r.Signers, Problems: r.Problems, Verified: true, Generated: generated}
	for _, e := range r.Log {
		if e.Record != nil {
			f.Log = append(f.Log, LogLine{e.Record, e.Signed, e.Principals})
		}
	}
	return f
}

// TimelineEntry is one line of the form's timeline, in UTC.
type TimelineEntry struct {
	Time  time.Time
	What  string
	Who   string
	Where string
}

// who names a record's maker: by allowed_signers where they name the
// key, else as the record claims when it is signed, else the account.
func (l LogLine) who() string {
	switch {
	case len(l.Principals) > 0:
		return strings.Join(l.Principals, ", ")
	case l.Signed && l.Actor.Principal != "":
		return l.Actor.Principal
	}
	return l.Actor.User
}

// Timeline merges the collection's own times with the custody log.
func (f *Form) Timeline() []TimelineEntry {
	m := f.Manifest
	out := []TimelineEntry{
		{m.Started.UTC, "collection started (host clock " + m.Started.HostOffset + ")", m.Operator.User, m.Host.Hostname},
		{m.Finished.UTC, "collection finished: " + m.Status, m.Operator.User, m.Host.Hostname},
	}
	for _, r := range f.Log {
		who := r.who()
		switch {
		case r.Signed:
			who += " (" + r.Actor.Key + ")"
		case r.Actor.Key != "":
			who += " (claims " + r.Actor.Key + ", not signed)"
		}
		what, when := r.Event, r.Time
		if v := r.Details["note"]; v != "" {
			what += ": " + v
		}
		if v := r.Details["action"]; r.Event == EventAnnotated && v != "" {
			what = "action: " + v
			if at, err := time.Parse(time.RFC3339, r.Details["at"]); err == nil {
				when = at
				what += " (recorded " + r.Time.UTC().Format("2006-01-02 15:04:05Z") + ")"
			}
		}
		out = append(out, TimelineEntry{when, what, who, r.Actor.Host})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// FormHit is one hit on the form: which indicator, in which artifact,
// where, how often, the first lines.
type FormHit struct {
	Artifact string
	Hit
}

// Hits lists every indicator hit, artifact by artifact.
func (f *Form) Hits() []FormHit {
	var out []FormHit
	for _, a := range f.Manifest.Artifacts {
		for _, h := range a.Hits {
			out = append(out, FormHit{a.Name, h})
		}
	}
	return out
}

// CardArtifacts are the artifacts whose plaintext holds card-like
// numbers: in PCI DSS scope.
func (f *Form) CardArtifacts() []Artifact {
	var out []Artifact
	for _, a := range f.Manifest.Artifacts {
		if a.CardLike > 0 {
			out = append(out, a)
		}
	}
	return out
}

// Action is a response action recorded in the custody log.
type Action struct {
	At     time.Time
	What   string
	Who    string
	Key    string
	Signed bool
}

// Actions lists the response actions of the custody log, in time order.
func (f *Form) Actions() []Action {
	var out []Action
	for _, r := range f.Log {
		if r.Event != EventAnnotated {
			continue
		}
		at, err := time.Parse(time.RFC3339, r.Details["at"])
		if err != nil {
			at = r.Time
		}
		who := r.who()
		out = append(out, Action{At: at, What: r.Details["action"], Who: who, Key: r.Actor.Key, Signed: r.Signed})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// Errors lists every failure recorded in the manifest, artifact by artifact.
func (f *Form) Errors() []string {
	var out []string
	out = append(out, f.Manifest.Errors...)
	for _, a := range f.Manifest.Artifacts {
		for _, e := range a.Errors {
			out = append(out, a.Name+": "+e)
		}
		n := 0
		a.EachFile(func(fl *File) error {
			if fl.Error != "" {
				if n < 20 {
					out = append(out, a.Name+": "+fl.Path+": "+fl.Error)
				}
				n++
			}
			return nil
		})
		if n > 20 {
			out = append(out, fmt.Sprintf("%s: and %d more files with errors (see the manifest)", a.Name, n-20))
		}
		if f := a.FilesObject; f != nil && f.Errors > 0 {
			out = append(out, fmt.Sprintf("%s: %d files with errors (their records are in %s: zstd -dc it)", a.Name, f.Errors, f.Key))
		}
	}
	return out
}

// retentionText describes an artifact's lock, or "-".
func retentionText(a Artifact) string { return objectRetention(a.Stored) }

// objectRetention describes an object's lock, or "-".
func objectRetention(o *Object) string {
	if o == nil || o.Retention == nil {
		return "-"
	}
	return o.Retention.Mode + " until " + o.Retention.Until.UTC().Format("2006-01-02")
}

var funcs = map[string]any{
	"utc":             utcText,
	"category":        categoryText,
	"retention":       retentionText,
	"objectRetention": objectRetention,
	"join":            strings.Join,
	"bytes":           func(n int64) string { return fmt.Sprintf("%d", n) },
	"md":              mdText,
	"dash":            orDash,
	"inc":             func(i int) int { return i + 1 },
}

const mdForm = `# Chain of custody: case {{md .Manifest.Case.ID}}

| | |
|---|---|
| Incident / case ID | {{md .Manifest.Case.ID}} |
| Evidence ID | {{md (dash .Manifest.Case.EvidenceID)}} |
| Category | {{category .Manifest.Case.Category}} |
| Severity | {{md (dash .Manifest.Case.Severity)}} |
| Discovered | {{if .Manifest.Case.DiscoveredAt}}{{utc .Manifest.Case.DiscoveredAt}}{{else}}-{{end}} |
| Owner (incident commander) | {{md (dash .Manifest.Case.Owner)}} |
| Reporter | {{md (dash .Manifest.Case.Reporter)}}{{if .Manifest.Case.ReporterContact}}, {{md .Manifest.Case.ReporterContact}}{{end}} |
| Examiner | {{md (dash .Manifest.Case.Examiner)}} |
| Note | {{md (dash .Manifest.Case.Note)}} |
| Host | {{md .Manifest.Host.Hostname}} ({{md .Manifest.Host.OS}} {{md .Manifest.Host.Platform}}, {{md .Manifest.Host.Arch}}); machine-id {{md (dash .Manifest.Host.MachineID)}}; IPs {{md (join .Manifest.Host.IPs ", ")}} |
| Collected by | {{md .Manifest.Operator.User}} (uid {{md .Manifest.Operator.UID}}){{if .Manifest.Operator.SSHConnection}} over SSH from {{md .Manifest.Operator.SSHConnection}}{{end}} |
| Tool | {{md .Manifest.Tool.Name}} {{md .Manifest.Tool.Version}}, binary sha256 {{.Manifest.Tool.SHA256}} |
| Profile | {{md .Manifest.Profile.Name}}, sha256 {{.Manifest.Profile.SHA256}} |
| Collection | {{md .Manifest.CollectionID}}, status **{{md .Manifest.Status}}** |
| Stored at | {{md .Location}} |
| Manifest sha256 | {{.ManifestSHA256}} |
{{- if .Verified}}
| Verification | {{if .Problems}}**FAILED: {{len .Problems}} problems**{{else}}passed{{end}} ({{utc .Generated}}) |
{{- end}}

## Timeline (UTC)

| Time | Event | Who | Where |
|---|---|---|---|
{{- range .Timeline}}
| {{utc .Time}} | {{md .What}} | {{md .Who}} | {{md .Where}} |
{{- end}}

## Artifacts

| # | Name | Status | Plaintext bytes | Plaintext SHA-256 | Stored bytes | Stored SHA-256 | Storage key | Retention |
|---|---|---|---|---|---|---|---|---|
{{- range $i, $a := .Manifest.Artifacts}}
| {{inc $i}} | {{md $a.Name}} | {{md $a.Status}} | {{bytes $a.Plain.Size}} | {{if $a.Key}}{{$a.Plain.SHA256}}{{end}} | {{bytes $a.Cipher.Size}} | {{if $a.Key}}{{$a.Cipher.SHA256}}{{end}} | {{md (dash $a.Key)}} | {{md (retention $a)}} |
{{- with $a.FilesObject}}
| | its {{.Records}} file records | | | | {{bytes .Size}} | {{.SHA256}} | {{md .Key}} | {{md (objectRetention .Stored)}} |
{{- end}}
{{- end}}

## Indicators of compromise
{{with .Manifest.Indicators}}
{{len .Entries}} indicators looked for ({{md (dash .Name)}}, sha256 {{.SHA256}}).
{{- else}}
No indicator list was given (--ioc).
{{- end}}
{{with .Hits}}
| Indicator | Artifact | Where | Count | First lines |
|---|---|---|---|---|
{{- range .}}
| {{md .Indicator}} | {{md .Artifact}} | {{md .Where}} | {{.Count}} | {{md (join .Lines " / ")}} |
{{- end}}
{{- else}}{{if .Manifest.Indicators}}
None of them was seen.{{end}}
{{- end}}

## Card data
{{with .CardArtifacts}}
These artifacts hold numbers that look like payment card numbers (13 to 19 digits with a card brand's prefix that pass the Luhn check): handle them as cardholder data (PCI DSS).

| Artifact | Card-like numbers |
|---|---|
{{- range .}}
| {{md .Name}} | {{.CardLike}} |
{{- end}}
{{- else}}
No artifact holds a card-like number.
{{- end}}

## Response actions
{{range .Actions}}
- {{utc .At}}: {{md .What}}, by {{md (dash .Who)}}{{if .Signed}} (signed, {{md .Key}}){{else}} (NOT signed){{end}}
{{- else}}
None recorded (custos annotate).
{{- end}}

## Errors
{{range .Errors}}
- {{md .}}
{{- else}}
None recorded.
{{- end}}
{{- if .Problems}}

## Verification problems
{{range .Problems}}
- {{md .String}}
{{- end}}
{{- end}}

## Signatures
{{range .Signers}}
- **{{.Role}}**: {{if .Principals}}{{md (join .Principals ", ")}}{{else}}(not checked against allowed signers){{end}}, key {{md .Fingerprint}} ({{md .KeyType}}){{if not .Time.IsZero}}, {{utc .Time}}{{end}}{{if .Note}}: "{{md .Note}}"{{end}}
{{- else}}
Not signed.
{{- end}}

## Custody log
{{range .Log}}
{{.Seq}}. {{utc .Time}} **{{md .Event}}** by {{md (dash .Actor.User)}}{{if and .Signed .Actor.Principal}} ({{md .Actor.Principal}}){{end}}{{if .Actor.Host}} on {{md .Actor.Host}}{{end}}{{if .Signed}}, signed with {{md .Actor.Key}}{{else if .Actor.Key}}, claims key {{md .Actor.Key}} but is NOT signed{{end}}
{{- end}}

Generated {{utc .Generated}} by custos report.
`

const htmlForm = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Chain of custody: case {{.Manifest.Case.ID}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1100px;color:#111;padding:0 1em}
h1{font-size:1.6em;border-bottom:3px solid #111;padding-bottom:.3em}
h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #999}
table{border-collapse:collapse;width:100%;margin:.5em 0}
th,td{border:1px solid #bbb;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#eee}
td.h,code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.82em;word-break:break-all}
.kv th{width:14em}
.ok{color:#065f0a;font-weight:600}.bad{color:#a40000;font-weight:600}
.sign{display:flex;gap:2em;margin-top:2em}.sign div{flex:1;border-top:1px solid #111;padding-top:.3em;font-size:.85em}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}tr{break-inside:avoid}}
</style></head><body>
<h1>Chain of custody — case {{.Manifest.Case.ID}}</h1>
<table class="kv">
<tr><th>Incident / case ID</th><td>{{.Manifest.Case.ID}}</td></tr>
<tr><th>Evidence ID</th><td>{{dash .Manifest.Case.EvidenceID}}</td></tr>
<tr><th>Category</th><td>{{category .Manifest.Case.Category}}</td></tr>
<tr><th>Severity</th><td>{{dash .Manifest.Case.Severity}}</td></tr>
<tr><th>Discovered</th><td>{{if .Manifest.Case.DiscoveredAt}}{{utc .Manifest.Case.DiscoveredAt}}{{else}}-{{end}}</td></tr>
<tr><th>Owner (incident commander)</th><td>{{dash .Manifest.Case.Owner}}</td></tr>
<tr><th>Reporter</th><td>{{dash .Manifest.Case.Reporter}}{{if .Manifest.Case.ReporterContact}}, {{.Manifest.Case.ReporterContact}}{{end}}</td></tr>
<tr><th>Examiner</th><td>{{dash .Manifest.Case.Examiner}}</td></tr>
<tr><th>Note</th><td>{{dash .Manifest.Case.Note}}</td></tr>
<tr><th>Host</th><td>{{.Manifest.Host.Hostname}} ({{.Manifest.Host.OS}} {{.Manifest.Host.Platform}}, {{.Manifest.Host.Arch}}), machine-id <code>{{dash .Manifest.Host.MachineID}}</code>, IPs {{join .Manifest.Host.IPs ", "}}</td></tr>
<tr><th>Collected by</th><td>{{.Manifest.Operator.User}} (uid {{.Manifest.Operator.UID}}){{if .Manifest.Operator.SSHConnection}} over SSH from {{.Manifest.Operator.SSHConnection}}{{end}}</td></tr>
<tr><th>Tool</th><td>{{.Manifest.Tool.Name}} {{.Manifest.Tool.Version}}, binary <code>{{.Manifest.Tool.SHA256}}</code></td></tr>
<tr><th>Profile</th><td>{{.Manifest.Profile.Name}}, <code>{{.Manifest.Profile.SHA256}}</code></td></tr>
<tr><th>Collection</th><td>{{.Manifest.CollectionID}}, status <span class="{{if eq .Manifest.Status "complete"}}ok{{else}}bad{{end}}">{{.Manifest.Status}}</span></td></tr>
<tr><th>Stored at</th><td><code>{{.Location}}</code></td></tr>
<tr><th>Manifest SHA-256</th><td><code>{{.ManifestSHA256}}</code></td></tr>
{{if .Verified}}<tr><th>Verification</th><td>{{if .Problems}}<span class="bad">FAILED: {{len .Problems}} problems</span>{{else}}<span class="ok">passed</span>{{end}} ({{utc .Generated}})</td></tr>{{end}}
</table>
<h2>Timeline (UTC)</h2>
<table><tr><th>Time</th><th>Event</th><th>Who</th><th>Where</th></tr>
{{range .Timeline}}<tr><td>{{utc .Time}}</td><td>{{.What}}</td><td>{{.Who}}</td><td>{{.Where}}</td></tr>
{{end}}</table>
<h2>Artifacts</h2>
<table><tr><th>#</th><th>Name</th><th>Status</th><th>Bytes (plain / stored)</th><th>SHA-256 plaintext / stored</th><th>Storage key</th><th>Retention</th></tr>
{{range $i, $a := .Manifest.Artifacts}}<tr><td>{{inc $i}}</td><td>{{$a.Name}}</td><td class="{{if or (eq $a.Status "ok") (eq $a.Status "skipped")}}{{else}}bad{{end}}">{{$a.Status}}</td><td>{{bytes $a.Plain.Size}} / {{bytes $a.Cipher.Size}}</td><td class="h">{{if $a.Key}}{{$a.Plain.SHA256}}<br>{{$a.Cipher.SHA256}}{{end}}</td><td class="h">{{dash $a.Key}}</td><td>{{retention $a}}</td></tr>
{{with $a.FilesObject}}<tr><td></td><td>its {{.Records}} file records</td><td></td><td>{{bytes .Size}}</td><td class="h">{{.SHA256}}</td><td class="h">{{.Key}}</td><td>{{objectRetention .Stored}}</td></tr>
{{end}}{{end}}</table>
<h2>Indicators of compromise</h2>
{{with .Manifest.Indicators}}<p>{{len .Entries}} indicators looked for ({{dash .Name}}, <code>{{.SHA256}}</code>).</p>{{else}}<p>No indicator list was given (--ioc).</p>{{end}}
{{with .Hits}}<table><tr><th>Indicator</th><th>Artifact</th><th>Where</th><th>Count</th><th>First lines</th></tr>
{{range .}}<tr><td class="h bad">{{.Indicator}}</td><td>{{.Artifact}}</td><td class="h">{{.Where}}</td><td>{{.Count}}</td><td class="h">{{range .Lines}}{{.}}<br>{{end}}</td></tr>
{{end}}</table>{{else}}{{if .Manifest.Indicators}}<p class="ok">None of them was seen.</p>{{end}}{{end}}
<h2>Card data</h2>
{{with .CardArtifacts}}<p class="bad">These artifacts hold numbers that look like payment card numbers (13 to 19 digits with a card brand's prefix that pass the Luhn check): handle them as cardholder data (PCI DSS).</p>
<table><tr><th>Artifact</th><th>Card-like numbers</th></tr>
{{range .}}<tr><td>{{.Name}}</td><td>{{.CardLike}}</td></tr>
{{end}}</table>{{else}}<p class="ok">No artifact holds a card-like number.</p>{{end}}
<h2>Response actions</h2>
{{with .Actions}}<table><tr><th>Time (UTC)</th><th>Action</th><th>By</th><th>Signature</th></tr>
{{range .}}<tr><td>{{utc .At}}</td><td>{{.What}}</td><td>{{dash .Who}}</td><td class="h">{{if .Signed}}{{.Key}}{{else}}<span class="bad">NOT signed</span>{{end}}</td></tr>
{{end}}</table>{{else}}<p>None recorded (custos annotate).</p>{{end}}
<h2>Errors</h2>
{{with .Errors}}<ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{else}}<p>None recorded.</p>{{end}}
{{with .Problems}}<h2>Verification problems</h2><ul>{{range .}}<li class="bad">{{.String}}</li>{{end}}</ul>{{end}}
<h2>Signatures</h2>
{{with .Signers}}<table><tr><th>Role</th><th>Signer</th><th>Key</th><th>Time</th><th>Note</th></tr>
{{range .}}<tr><td>{{.Role}}</td><td>{{if .Principals}}{{join .Principals ", "}}{{else}}(not checked against allowed signers){{end}}</td><td class="h">{{.Fingerprint}} ({{.KeyType}})</td><td>{{if not .Time.IsZero}}{{utc .Time}}{{end}}</td><td>{{.Note}}</td></tr>
{{end}}</table>{{else}}<p class="bad">Not signed.</p>{{end}}
<h2>Custody log</h2>
<table><tr><th>#</th><th>Time</th><th>Event</th><th>By</th><th>Key</th></tr>
{{range .Log}}<tr><td>{{.Seq}}</td><td>{{utc .Time}}</td><td>{{.Event}}</td><td>{{dash .Actor.User}}{{if and .Signed .Actor.Principal}} ({{.Actor.Principal}}){{end}}{{if .Actor.Host}} on {{.Actor.Host}}{{end}}</td><td class="h">{{if .Signed}}{{.Actor.Key}}{{else if .Actor.Key}}<span class="bad">claims {{.Actor.Key}}, NOT signed</span>{{else}}-{{end}}</td></tr>
{{end}}</table>
<div class="sign"><div>Collecting responder: name, date, signature</div><div>Second responder: name, date, signature</div></div>
<p style="color:#666;font-size:.8em">Generated {{utc .Generated}} by custos report.</p>
</body></html>
`

var (
	mdTmpl   = texttemplate.Must(texttemplate.New("md").Funcs(funcs).Parse(mdForm))
	htmlTmpl = htmltemplate.Must(htmltemplate.New("html").Funcs(funcs).Parse(htmlForm))
)

// Markdown writes the form as Markdown.
func (f *Form) Markdown(w io.Writer) error { return mdTmpl.Execute(w, f) }

// HTML writes the form as a self-contained HTML page.
func (f *Form) HTML(w io.Writer) error { return htmlTmpl.Execute(w, f) }

// mdEscaper makes text from the record inert in Markdown: no HTML, no
// table cells, links, emphasis or code spans of its own.
var mdEscaper = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;", "|", `\|`, `\`, `\\`, "`", "\\`",
	"*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "(", `\(`, ")", `\)`, "#", `\#`, "!", `\!`, "~", `\~`)

// mdText is host-controlled text as Markdown: escaped, one line, no
// terminal escape sequences.
func mdText(s string) string { return mdEscaper.Replace(term.Clean(s)) }

func utcText(t any) string {
	switch v := t.(type) {
	case time.Time:
		return v.UTC().Format("2006-01-02 15:04:05Z")
	case *time.Time:
		if v != nil {
			return v.UTC().Format("2006-01-02 15:04:05Z")
		}
	}
	return "-"
}

func categoryText(n int) string {
	if d := Categories[n]; d != "" {
		return fmt.Sprintf("%d (%s)", n, d)
	}
	return "-"
}
