package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/cardscan"
	"github.com/custos-ir/custos/collect/ioc"
	"github.com/custos-ir/custos/collect/live"
	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/agekeys"
	"github.com/custos-ir/custos/internal/units"
	"github.com/custos-ir/custos/profiles"
	"github.com/custos-ir/custos/storage"
	"github.com/custos-ir/custos/storage/streamstore"
)

type collectOptions struct {
	caseID         string
	recipients     []string
	recipientFiles []string
	to             string
	profile        string
	facts          caseFacts
	ioc, iocName   string
	set            []string
	paths          []string
	json           bool
	quiet          bool
	dryRun         bool
	resume         string
	session        string
	s3             s3Options
	limits         limitOptions
}

const collectExample = `  custos keygen -o team.key   # once, on the response team's workstation: prints age1...
  custos collect --case INC-2026-042 --recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p \
      --examiner "J. Doe" --severity high --to /mnt/evidence`

func runCollectCmd(ctx context.Context, args []string, io stdio) error {
	var o collectOptions
	f := newFlags("collect", "--case ID (--recipient KEY... | --recipients-file FILE) --to DIR [flags]", collectExample, io)
	f.StringVar(&o.caseID, "case", "", "incident or case `ID` (letters, digits, . _ -); required")
	f.StringArrayVarP(&o.recipients, "recipient", "r", nil, "encrypt to this public `KEY` (age1..., ssh-ed25519 or ssh-rsa); repeatable")
	f.StringArrayVarP(&o.recipientFiles, "recipients-file", "R", nil, "read recipients from `FILE`, one per line; repeatable")
	f.StringVar(&o.to, "to", "", "store the collection under `DIR` or s3://BUCKET/PREFIX, or - for a stream on stdout (see ingest)")
	f.StringVar(&o.profile, "profile", defaultProfile(), "embedded profile `NAME` or a profile file")
	f.StringArrayVar(&o.set, "set", nil, "override a profile variable, `NAME=VALUE`; repeatable")
	f.StringArrayVar(&o.paths, "path", nil, "also collect files matching absolute `GLOB`; repeatable")
	o.facts.flags(f)
	f.StringVar(&o.ioc, "ioc", "", "look for the indicators of compromise in `FILE` while collecting (- for stdin; format: docs/manifest.md)")
	f.StringVar(&o.iocName, "ioc-name", "", "the indicator list's name for the record (custos remote passes it)")
	f.MarkHidden("ioc-name")
	f.BoolVar(&o.json, "json", false, "progress as JSON events on stderr")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print only failures and the summary")
	f.StringVar(&o.resume, "resume", "", "finish the interrupted collection at `LOCATION`: keep what it stored, take the rest (volatile state again, labelled)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the plan (each artifact, what it matches, estimated size) without reading any file's content")
	f.StringVar(&o.session, "session", "", "the nonce custos remote hands over, echoed in the manifest so the stream is bound to its request")
	f.MarkHidden("session")
	o.s3.flags(f, true)
	o.limits.flags(f)
	if err := parseFlags(f, args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return usageErr("collect takes no arguments, got %q (flags need their --name)", f.Arg(0))
	}
	return runCollect(ctx, o, io)
}

func defaultProfile() string {
	if runtime.GOOS == "windows" {
		return "windows-base"
	}
	return "linux-base"
}

var (
	caseRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	sessionRE = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// collectSetup is everything checked before the first byte of evidence is
// read.
type collectSetup struct {
	recipients []agekeys.Recipient
	profile    *profiles.Profile
	plan       []collect.Planned
	vars       map[string]string
	store      storage.Store
	warning    string
	planNotes  []string
	resumed    *custody.Interrupted
	limits     *collect.Limits
	settings   map[string]string
	deadline   time.Time
	facts      custody.Case
	ioc        *ioc.List
	iocName    string
}

func prepareCollect(ctx context.Context, o collectOptions, stdout io.Writer) (*collectSetup, error) {
	var s collectSetup
	if o.resume != "" {
		if o.to != "" {
			return nil, usageErr("--resume writes where the interrupted collection is: drop --to")
		}
		st, in, err := openInterrupted(ctx, o.resume, &o.s3)
		if err != nil {
			return nil, err
		}
		if o.caseID != "" && o.caseID != in.Header.Case {
			return nil, usageErr("--case %s, but the interrupted collection is of case %s", o.caseID, in.Header.Case)
		}
		o.caseID = in.Header.Case
		s.resumed, s.store = in, st
	}
	if o.session != "" && !sessionRE.MatchString(o.session) {
		return nil, usageErr("--session %q: want the 32 hex digits custos remote gives", o.session)
	}
	if o.caseID == "" && !o.dryRun {
		return nil, usageErr("--case is required: the incident or case ID this evidence belongs to")
	}
	if o.dryRun && o.caseID == "" {
		o.caseID = "dry-run"
	}
	if !caseRE.MatchString(o.caseID) {
		return nil, usageErr("--case %q: use letters, digits, '.', '_' or '-' (at most 64)", o.caseID)
	}
	var err error
	if s.facts, err = o.facts.build(o.caseID, time.Now()); err != nil {
		return nil, err
	}
	for _, r := range o.recipients {
		rc, err := agekeys.ParseRecipient(r)
		if err != nil {
			return nil, usageErr("--recipient: %v", err)
		}
		s.recipients = append(s.recipients, rc)
	}
	for _, name := range o.recipientFiles {
		fh, err := os.Open(name)
		if err != nil {
			return nil, usageErr("--recipients-file: %v", err)
		}
		rs, err := agekeys.ParseRecipientsFile(fh, name)
		fh.Close()
		if err != nil {
			return nil, usageErr("--recipients-file %v", err)
		}
		s.recipients = append(s.recipients, rs...)
	}
	s.recipients = agekeys.Dedup(s.recipients)
	if len(s.recipients) == 0 && !o.dryRun {
		return nil, usageErr("no recipient: give --recipient KEY or --recipients-file FILE with the response team's public key; nothing is collected unencrypted")
	}
	if s.limits, s.settings, s.deadline, err = o.limits.build(time.Now()); err != nil {
		return nil, err
	}
	if o.ioc != "" {
		if s.ioc, s.iocName, err = loadIndicators(o.ioc, o.iocName, stdout); err != nil {
			return nil, err
		}
	}
	s.profile, err = profiles.Load(o.profile)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	s.vars = map[string]string{}
	for _, kv := range o.set {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageErr("--set %q: want NAME=VALUE", kv)
		}
		s.vars[k] = v
	}
	s.plan, err = collect.Plan(s.profile, collect.PlanOptions{Vars: s.vars, ExtraPaths: o.paths, Live: liveSource,
		Warn: func(w string) { s.planNotes = append(s.planNotes, w) }})
	if err != nil {
		return nil, usageErr("%v", err)
	}
	if o.dryRun {
		return &s, nil
	}
	if s.resumed != nil {
		if f, ok := s.store.(interface {
			Preflight(context.Context) (string, error)
		}); ok {
			if s.warning, err = f.Preflight(ctx); err != nil {
				return nil, err
			}
		}
		return &s, nil
	}
	s.store, s.warning, err = openForWrite(ctx, o.to, &o.s3, map[string]string{"retention": o.s3.retention, "case": o.caseID}, stdout)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

func liveSource(name string) (collect.StreamFunc, bool) {
	fn, ok := live.Lookup(name)
	if !ok {
		return nil, false
	}
	return collect.StreamFunc(fn), true
}

func runCollect(ctx context.Context, o collectOptions, io stdio) error {
	// custos hashes its own binary for the record while the rest is set up.
	toolc := make(chan custody.Tool, 1)
	go func() { toolc <- tool() }()
	s, err := prepareCollect(ctx, o, io.out)
	if err != nil {
		return err
	}
	if o.dryRun {
		return dryRun(ctx, s, io)
	}
	if note := o.limits.apply(); note != "" {
		s.settings["priority_applied"] = note
	}
	if !s.deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, s.deadline)
		defer cancel()
	}
	started := time.Now()
	m := &custody.Manifest{
		Format:       custody.Format,
		CollectionID: custody.NewCollectionID(started),
		Case:         s.facts,
		Started:      custody.NewTime(started),
		Operator:     operator(),
		Profile:      custody.Profile{Name: s.profile.Name, SHA256: s.profile.SHA256, Variables: s.vars, Paths: o.paths},
		Recipients:   s.recipients,
		Settings:     s.settings,
		Session:      o.session,
		Indicators:   s.ioc.Record(s.iocName),
	}
	m.Host, err = hostFacts(ctx)
	if err != nil {
		m.Warnings = append(m.Warnings, "host identity incomplete: "+err.Error())
	}
	m.Tool = <-toolc
	m.Storage = custody.Storage{Location: s.store.String(), NoLock: isS3(o.to) && o.s3.noLock}
	for _, w := range append([]string{s.warning}, s.planNotes...) {
		if w != "" {
			m.Warnings = append(m.Warnings, w)
			fmt.Fprintf(io.err, "custos: warning: %s\n", w)
		}
	}
	objs := recordOf(s.store, nil)
	var rec *custody.Collection
	if s.resumed != nil {
		if s.resumed.Header.Host != m.Host.Hostname {
			m.Warnings = append(m.Warnings, fmt.Sprintf("resumed on host %q; the interrupted run was on %q", m.Host.Hostname, s.resumed.Header.Host))
		}
		if gone := removeUnfinished(ctx, s.store, s.resumed.Prefix); gone != "" {
			m.Warnings = append(m.Warnings, gone)
		}
		rec = s.resumed.Continue(ctx, m)
		fmt.Fprintf(io.err, "custos: resuming collection %s: %d artifacts kept from the interrupted run\n", m.CollectionID, len(m.Artifacts))
	} else if rec, err = custody.Begin(ctx, objs, m); err != nil {
		// The first object proves the destination takes writes before any
		// evidence is read, and marks where a collection began even if it
		// never finishes.
		return err
	}

	mode := progressAuto
	switch {
	case o.json:
		mode = progressJSON
	case o.quiet:
		mode = progressQuiet
	}
	rep := newReporter(io.err, mode)
	rep.Event(collect.Event{Type: collect.EventPhase, Time: time.Now(),
		Message: fmt.Sprintf("collecting %d artifacts of profile %s into %s", len(s.plan), s.profile.Name, placeName(s.store, m.Storage.Prefix))})
	p := &collect.Pipeline{Store: s.store, Recipients: agekeys.Ages(s.recipients), Report: rep, Indicators: s.ioc, Cards: cardscan.Chunks{},
		Limits: s.limits, Files: &collect.FileReader{Limits: s.limits},
		Options: func(name string) storage.CreateOptions { return objectOptions(s.store, name) }}
	collect.Run(ctx, p, m, s.plan, rec)
	// The closing objects are written even after an interrupt: a record of
	// what was taken matters more than stopping at once.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	_, ferr := rec.Seal(wctx)
	if sw, ok := s.store.(*streamstore.Writer); ok && ferr == nil {
		ferr = sw.Close()
	}
	if ferr != nil {
		// The artifacts are stored but the record is not: say exactly what
		// is missing so the responder can act.
		return &exitError{code: exitFatal, err: fmt.Errorf("artifacts are stored under %s but the manifest could not be written: %v", placeName(s.store, m.Storage.Prefix), ferr)}
	}
	return summarize(m, s.store, o.json, io)
}

func summarize(m *custody.Manifest, st storage.Store, asJSON bool, io stdio) error {
	counts := map[string]int{}
	var plain, cipher int64
	for _, a := range m.Artifacts {
		counts[a.Status]++
		plain += a.Plain.Size
		cipher += a.Cipher.Size
	}
	where := placeName(st, m.Storage.Prefix)
	if _, ok := st.(*streamstore.Writer); ok {
		where = "the stdout stream (the receiving side decides where it goes)"
	}
	if asJSON {
		fmt.Fprintf(io.err, `{"event":"summary","status":%q,"location":%q,"ok":%d,"partial":%d,"failed":%d,"skipped":%d}`+"\n",
			m.Status, where, counts["ok"], counts["partial"], counts["failed"], counts["skipped"])
	} else {
		fmt.Fprintf(io.err, "custos: %s: %d ok, %d partial, %d failed, %d skipped; %s read, %s stored in %s\n",
			m.Status, counts["ok"], counts["partial"], counts["failed"], counts["skipped"],
			units.Bytes(plain), units.Bytes(cipher), where)
	}
	for _, a := range m.Artifacts {
		if a.Status == custody.StatusFailed {
			fmt.Fprintf(io.err, "custos: not stored: %s: %s\n", a.Name, firstOf(a.Errors))
		}
	}
	switch m.Status {
	case "complete":
		return nil
	case "failed":
		return &exitError{code: exitFatal, err: errors.New("nothing was collected: see the manifest's errors")}
	}
	return exitWith(exitPartial)
}

func operator() custody.Operator {
	op := custody.Operator{UID: strconv.Itoa(os.Getuid()), SSHConnection: os.Getenv("SSH_CONNECTION"), CommandLine: os.Args}
	if u, err := user.Current(); err == nil {
		op.User = u.Username
		op.UID = u.Uid
	}
	return op
}

func tool() custody.Tool {
	t := custody.Tool{Name: buildName, Version: version, GoVersion: runtime.Version()}
	if exe, err := os.Executable(); err == nil {
		t.Binary = exe
		if f, err := os.Open(exe); err == nil {
			h := sha256.New()
			if _, err := io.Copy(h, f); err == nil {
				h.Sum(t.SHA256[:0])
			}
			f.Close()
		}
	}
	return t
}

func hostFacts(ctx context.Context) (custody.Host, error) {
	id, err := live.HostIdentity(ctx)
	h := custody.Host{Hostname: id.Hostname, MachineID: id.MachineID, OS: id.OS, Platform: strings.TrimSpace(id.Platform + " " + id.PlatformVersion),
		KernelVersion: id.KernelVersion, Arch: id.Arch, BootTime: id.BootTime.UTC(), IPs: id.IPs}
	if h.Hostname == "" {
		h.Hostname, _ = os.Hostname()
	}
	if h.OS == "" {
		h.OS = runtime.GOOS
	}
	if h.Arch == "" {
		h.Arch = runtime.GOARCH
	}
	return h, err
}

func firstOf(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

// objectOptions tags an object with its artifact name where the store
// keeps tags (S3); retention comes from the store's own settings.
func objectOptions(st storage.Store, name string) storage.CreateOptions {
	if f, ok := st.(storage.Features); ok && f.Supports().Tags {
		return storage.CreateOptions{Tags: map[string]string{"artifact": name}}
	}
	return storage.CreateOptions{}
}

// dryRun prints the plan to stderr; stdout stays for evidence only.
func dryRun(ctx context.Context, s *collectSetup, io stdio) error {
	fmt.Fprintf(io.err, "custos: plan of profile %s (sha256 %x), in order:\n", s.profile.Name, s.profile.SHA256)
	for _, w := range s.planNotes {
		fmt.Fprintf(io.err, "custos: warning: %s\n", w)
	}
	var total int64
	for i, st := range s.plan {
		if st.Skip != "" {
			fmt.Fprintf(io.err, "%3d %-24s %-8s skipped: %s\n", i+1, st.Desc.Name, st.Desc.Kind, st.Skip)
			continue
		}
		e := collect.DryRun(ctx, st)
		total += e.Bytes
		what := strings.Join(st.Desc.Sources, " ")
		if len(what) > 100 {
			what = what[:97] + "..."
		}
		fmt.Fprintf(io.err, "%3d %-24s %-8s %6d files %10s  %s  %s\n", i+1, st.Desc.Name, st.Desc.Kind, e.Files, units.Bytes(e.Bytes), e.Note, what)
	}
	fmt.Fprintf(io.err, "custos: about %s to read; nothing was read or written\n", units.Bytes(total))
	return nil
}

// loadIndicators reads the --ioc list: a bad line is one usage error
// naming it, before anything is read.
func loadIndicators(path, name string, _ io.Writer) (*ioc.List, string, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		fh, err := os.Open(path)
		if err != nil {
			return nil, "", usageErr("--ioc: %v", err)
		}
		defer fh.Close()
		r = fh
	}
	l, err := ioc.Parse(r)
	if err != nil {
		return nil, "", usageErr("--ioc %s: %v", path, err)
	}
	if name == "" {
		name = path
	}
	return l, name, nil
}
