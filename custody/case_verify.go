package custody

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/custos-ir/custos/custody/sshsig"
)

// CaseReport is the verdict on a whole case: one report per collection,
// the hosts that could not be collected, the case statements, and what
// does not hold of the case as a whole.
type CaseReport struct {
	Case         string      `json:"case"`
	Location     string      `json:"location"`
	Prefix       string      `json:"prefix"`
	Collections  []*Report   `json:"collections"`
	NotCollected []Gap       `json:"not_collected"`
	Statements   []Statement `json:"statements"`
	Problems     []Problem   `json:"problems"`
	idx          *CaseIndex
}

// Gap is a host that could not be collected, as its record says.
type Gap struct {
	Key    string        `json:"key"` // relative to the case
	SHA256 Digest        `json:"sha256"`
	Record *NotCollected `json:"record"`
}

// Statement is a case statement as found, with its signer when its
// signature verified.
type Statement struct {
	Key       string         `json:"key"`
	SHA256    Digest         `json:"sha256"`
	Statement *CaseStatement `json:"-"`
	Signer    *Signer        `json:"signer,omitempty"`
}

// OK reports whether everything stored holds: every collection verifies
// and nothing about the case is wrong.
func (c *CaseReport) OK() bool {
	if len(c.Problems) > 0 {
		return false
	}
	for _, r := range c.Collections {
		if !r.OK() {
			return false
		}
	}
	return true
}

// Complete reports whether the case holds every host whole: no host that
// could not be collected, no collection whose stream was cut.
func (c *CaseReport) Complete() bool {
	if len(c.NotCollected) > 0 {
		return false
	}
	for _, r := range c.Collections {
		if r.Manifest == nil || r.Manifest.Status == "incomplete" || r.Manifest.Status == "failed" {
			return false
		}
	}
	return true
}

func (c *CaseReport) add(thing, format string, args ...any) {
	c.Problems = append(c.Problems, Problem{Thing: thing, What: fmt.Sprintf(format, args...)})
}

// VerifyCase verifies every collection of the case idx describes, reads
// its not-collected records, and checks its case statements: signed by an
// allowed key, naming exactly the manifests that are stored; with
// Require, every collection covered by a signed (and for 2, a
// countersigned) statement.
func VerifyCase(ctx context.Context, objs Objects, idx *CaseIndex, o VerifyOptions) (*CaseReport, error) {
	c := &CaseReport{Location: objs.String(), Prefix: idx.Prefix, idx: idx}
	for _, p := range idx.Collections {
		r, err := Verify(ctx, objs, idx.Prefix+p, o)
		if err != nil {
			return c, err
		}
		c.Collections = append(c.Collections, r)
		if r.Manifest != nil {
			c.Case = r.Manifest.Case.ID
		}
	}
	for _, k := range idx.NotCollected {
		b, err := readSmall(ctx, objs, idx.Prefix+k, "", maxSmall)
		if err != nil {
			c.add(k, "cannot read: %v", err)
			continue
		}
		nc, err := ParseNotCollected(b)
		if err != nil {
			c.add(k, "%v", err)
			continue
		}
		c.NotCollected = append(c.NotCollected, Gap{Key: k, SHA256: sha256Sum(b), Record: nc})
		if c.Case == "" {
			c.Case = nc.Case // a case of hosts none of which could be collected
		}
	}
	for _, k := range idx.Strays {
		c.add("object "+k, "is in the case but in no collection")
	}
	for _, r := range c.Collections {
		if r.Manifest != nil && r.Manifest.Case.ID != c.Case {
			c.add("collection "+c.rel(r), "is of case %s, not %s", r.Manifest.Case.ID, c.Case)
		}
	}
	for _, g := range c.NotCollected {
		if g.Record.Case != c.Case {
			c.add(g.Key, "is a record of case %s, not %s", g.Record.Case, c.Case)
		}
	}
	c.checkStatements(ctx, objs, o.Signatures)
	return c, nil
}

// checkStatements reads the case statements and holds each to what is
// stored.
func (c *CaseReport) checkStatements(ctx context.Context, objs Objects, so SigOptions) {
	have := map[string]bool{}
	for _, k := range c.idx.Statements {
		have[k] = true
	}
	for _, k := range c.idx.Statements {
		m := caseStatementRE.FindStringSubmatch(k)
		switch {
		case m == nil:
			c.add("object "+k, "is not a case statement name")
			continue
		case m[3] != "":
			if !have[strings.TrimSuffix(k, ".sig")] {
				c.add(k, "signature of a statement that is not there")
			}
			continue
		case !have[k+".sig"]:
			c.add(k, "is not signed (%s.sig is missing)", path.Base(k))
			continue
		}
		b, err := readSmall(ctx, objs, c.Prefix+k, "", maxManifest)
		if err != nil {
			c.add(k, "cannot read: %v", err)
			continue
		}
		sig, err := readSmall(ctx, objs, c.Prefix+k+".sig", "", maxSmall)
		if err != nil {
			c.add(k+".sig", "cannot read: %v", err)
			continue
		}
		st, err := ParseCaseStatement(b)
		if err != nil {
			c.add(k, "%v", err)
			continue
		}
		if want := map[string]string{"signed": "collector", "countersigned": "countersigner"}[m[2]]; st.Role != want {
			c.add(k, "says role %s in a %s statement", st.Role, m[2])
		}
		s, err := sshsig.Verify(sig, bytes.NewReader(b), NamespaceCase)
		if err != nil {
			c.add(k+".sig", "does not verify: %v", err)
			continue
		}
		fp := sshsig.Fingerprint(s.PublicKey)
		if fp != st.SignerKey {
			c.add(k, "names signer key %s but is signed by %s", st.SignerKey, fp)
		}
		signer := &Signer{Role: st.Role, Fingerprint: fp, KeyType: s.PublicKey.Type(), Time: st.Time, Note: st.Note}
		var r Report
		signer.Principals = allowed(so, s.PublicKey, NamespaceCase, st.Time, k, &r)
		c.Problems = append(c.Problems, r.Problems...)
		c.Statements = append(c.Statements, Statement{Key: k, SHA256: sha256Sum(b), Statement: st, Signer: signer})
		c.checkEntries(k, st)
	}
	c.checkCountersigns()
	c.checkCoverage(so.Require)
}

// checkEntries holds a statement's list to the collections and records
// stored: each one it names is there, as it was when signed.
func (c *CaseReport) checkEntries(k string, st *CaseStatement) {
	if st.Case != c.Case {
		c.add(k, "is a statement of case %s, not %s", st.Case, c.Case)
	}
	byPrefix := map[string]*Report{}
	for _, r := range c.Collections {
		byPrefix[c.rel(r)] = r
	}
	for _, e := range st.Collections {
		r, ok := byPrefix[e.Prefix]
		switch {
		case !ok:
			c.add(k, "names collection %s, which is not in the case", e.Prefix)
		case r.ManifestSHA256 != e.ManifestSHA256:
			c.add(k, "names collection %s with manifest sha256 %s; its manifest is %s", e.Prefix, e.ManifestSHA256, r.ManifestSHA256)
		case e.SignatureSHA256 != nil && (r.collectorSig == nil || sha256Sum(r.collectorSig) != *e.SignatureSHA256):
			c.add(k, "names a collector signature of %s that is not the one stored", e.Prefix)
		}
	}
	gaps := map[string]Digest{}
	for _, g := range c.NotCollected {
		gaps[g.Key] = g.SHA256
	}
	for _, g := range st.NotCollected {
		if d, ok := gaps[g.Key]; !ok || d != g.SHA256 {
			c.add(k, "names the not-collected record %s, which is not in the case as it was", g.Key)
		}
	}
}

// checkCountersigns holds each countersigner's statement to the
// collector's statement it names, signed by another key.
func (c *CaseReport) checkCountersigns() {
	for _, s := range c.Statements {
		if s.Statement.Role != "countersigner" {
			continue
		}
		var first *Statement
		for i := range c.Statements {
			if c.Statements[i].SHA256 == *s.Statement.Countersigns && c.Statements[i].Statement.Role == "collector" {
				first = &c.Statements[i]
			}
		}
		switch {
		case first == nil:
			c.add(s.Key, "countersigns a collector's statement (sha256 %s) that is not there", *s.Statement.Countersigns)
		case first.Signer.Fingerprint == s.Signer.Fingerprint:
			c.add(s.Key, "is signed with the collector's own key %s: two people must sign", s.Signer.Fingerprint)
		}
	}
}

// checkCoverage: with Require, every collection and not-collected record
// must be in a collector's statement (and for 2, in one a countersigner's
// statement answers).
func (c *CaseReport) checkCoverage(require int) {
	if require == 0 {
		return
	}
	signed, counter := map[string]bool{}, map[string]bool{}
	for _, s := range c.Statements {
		if s.Statement.Role != "collector" {
			continue
		}
		answered := false
		for _, t := range c.Statements {
			if t.Statement.Role == "countersigner" && *t.Statement.Countersigns == s.SHA256 {
				answered = true
			}
		}
		for _, e := range s.Statement.Collections {
			signed[e.Prefix] = true
			counter[e.Prefix] = counter[e.Prefix] || answered
		}
		for _, g := range s.Statement.NotCollected {
			signed[g.Key] = true
			counter[g.Key] = counter[g.Key] || answered
		}
	}
	var all []string
	for _, r := range c.Collections {
		all = append(all, c.rel(r))
	}
	for _, g := range c.NotCollected {
		all = append(all, g.Key)
	}
	sort.Strings(all)
	for _, k := range all {
		switch {
		case !signed[k]:
			c.add("case "+c.Case, "%s is in no signed case statement (custos sign %s): %d signatures are required", k, c.Case, require)
		case require >= 2 && !counter[k]:
			c.add("case "+c.Case, "%s is in no countersigned case statement (custos countersign %s)", k, c.Case)
		}
	}
}

// statement builds a case statement of everything the report holds.
func (c *CaseReport) statement(role, signer, key, note string) *CaseStatement {
	st := &CaseStatement{Format: CaseFormat, Case: c.Case, Role: role, Time: time.Now().UTC(), Signer: signer, SignerKey: key, Note: note}
	for _, r := range c.Collections {
		e := CaseEntry{Prefix: c.rel(r), ManifestSHA256: r.ManifestSHA256}
		if r.Manifest != nil {
			e.CollectionID, e.Host, e.Status = r.Manifest.CollectionID, r.Manifest.Host.Hostname, r.Manifest.Status
		}
		if r.collectorSig != nil {
			d := sha256Sum(r.collectorSig)
			e.SignatureSHA256 = &d
		}
		st.Collections = append(st.Collections, e)
	}
	for _, g := range c.NotCollected {
		st.NotCollected = append(st.NotCollected, CaseGap{Key: g.Key, SHA256: g.SHA256, Target: g.Record.Target, Reason: g.Record.Reason})
	}
	return st
}

// rel is a collection's prefix relative to the case: <host>/<id>/.
func (c *CaseReport) rel(r *Report) string { return strings.TrimPrefix(r.Prefix, c.Prefix) }
