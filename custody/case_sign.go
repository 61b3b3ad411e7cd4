package custody

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/custos-ir/custos/custody/sshsig"
)

// SignCase signs, as the collector, every collection of a verified case
// that is not signed yet, then one case statement listing every
// collection's manifest and collector signature and every host that
// could not be collected. A case with a collection that does not verify
// is refused: a signature vouches for what is stored.
func SignCase(ctx context.Context, objs Objects, c *CaseReport, s ssh.Signer, who Actor) (signed int, err error) {
	if !c.OK() {
		return 0, fmt.Errorf("%w: case %s (%s): refusing to sign it", ErrNotVerified, c.Case, c.failing())
	}
	fp := sshsig.Fingerprint(s.PublicKey())
	for _, r := range c.Collections {
		if r.collectorSig != nil {
			continue
		}
		if err := Sign(ctx, objs, r, s, who); err != nil {
			return signed, fmt.Errorf("sign %s: %w", c.rel(r), err)
		}
		signed++
	}
	st := c.statement("collector", who.Principal, fp, "")
	return signed, c.putStatement(ctx, objs, st, "signed", s)
}

// CountersignCase countersigns, as the second responder, every collection
// of a verified case signed by the collector and not countersigned yet,
// then one statement over the collector's latest case statement. The case
// must be signed whole (every collection in that statement) and by
// another key.
func CountersignCase(ctx context.Context, objs Objects, c *CaseReport, s ssh.Signer, who Actor, note string) (countersigned int, err error) {
	if !c.OK() {
		return 0, fmt.Errorf("%w: case %s (%s): refusing to countersign it", ErrNotVerified, c.Case, c.failing())
	}
	first := c.LatestSigned()
	if first == nil {
		return 0, fmt.Errorf("case %s has no signed case statement (custos sign %s first): refusing to countersign", c.Case, c.Case)
	}
	fp := sshsig.Fingerprint(s.PublicKey())
	if fp == first.Signer.Fingerprint {
		return 0, fmt.Errorf("key %s signed the case already: the countersignature must come from a second person's key", fp)
	}
	if missing := c.notIn(first.Statement); len(missing) > 0 {
		return 0, fmt.Errorf("case %s: %s not in the collector's case statement %s (signed before they arrived): have it signed again first", c.Case, strings.Join(missing, ", "), first.Key)
	}
	for _, r := range c.Collections {
		if r.Countersignature != nil {
			continue
		}
		if err := Countersign(ctx, objs, r, s, who, note); err != nil {
			return countersigned, fmt.Errorf("countersign %s: %w", c.rel(r), err)
		}
		countersigned++
	}
	st := c.statement("countersigner", who.Principal, fp, note)
	d := first.SHA256
	st.Countersigns = &d
	return countersigned, c.putStatement(ctx, objs, st, "countersigned", s)
}

func (c *CaseReport) putStatement(ctx context.Context, objs Objects, st *CaseStatement, event string, s ssh.Signer) error {
	b, err := st.Marshal()
	if err != nil {
		return err
	}
	sig, err := sshsig.Sign(s, bytes.NewReader(b), NamespaceCase)
	if err != nil {
		return fmt.Errorf("sign the case statement: %w", err)
	}
	key := c.Prefix + CaseDir + fmt.Sprintf("%04d-%s.json", nextStatementSeq(c.idx.Statements), event)
	// The signature first: a statement without one does not verify.
	if _, err := put(ctx, objs, key+".sig", "case-statement", sig); err != nil {
		return err
	}
	if _, err := put(ctx, objs, key, "case-statement", b); err != nil {
		if errors.Is(err, ErrExist) {
			return fmt.Errorf("%s was made meanwhile by someone else: verify the case again and sign again: %w", key, err)
		}
		return err
	}
	return nil
}

// LatestSigned is the collector's latest case statement whose signature
// verified, or nil.
func (c *CaseReport) LatestSigned() *Statement {
	var out *Statement
	for i := range c.Statements {
		if s := &c.Statements[i]; s.Statement.Role == "collector" && s.Signer != nil {
			out = s
		}
	}
	return out
}

// notIn lists what of the case a statement does not name.
func (c *CaseReport) notIn(st *CaseStatement) []string {
	named := map[string]bool{}
	for _, e := range st.Collections {
		named[e.Prefix] = true
	}
	for _, g := range st.NotCollected {
		named[g.Key] = true
	}
	var out []string
	for _, r := range c.Collections {
		if !named[c.rel(r)] {
			out = append(out, c.rel(r))
		}
	}
	for _, g := range c.NotCollected {
		if !named[g.Key] {
			out = append(out, g.Key)
		}
	}
	return out
}

func (c *CaseReport) failing() string {
	var out []string
	for _, r := range c.Collections {
		if !r.OK() {
			out = append(out, fmt.Sprintf("%s does not verify (%d problems)", c.rel(r), len(r.Problems)))
		}
	}
	if len(c.Problems) > 0 {
		out = append(out, fmt.Sprintf("%d problems with the case itself", len(c.Problems)))
	}
	return strings.Join(out, "; ")
}

// CaseSummary is what the second responder reads before countersigning
// a case: one line per host.
func CaseSummary(c *CaseReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "case %s: %d collections, %d hosts not collected\n", c.Case, len(c.Collections), len(c.NotCollected))
	for _, r := range c.Collections {
		m := r.Manifest
		signer := "not signed"
		if len(r.Signers) > 0 {
			signer = "signed by " + r.Signers[0].Fingerprint
		}
		fmt.Fprintf(&b, "  %-28s %s, %s to %s UTC by %s, %d artifacts, status %s, %s\n", c.rel(r), m.Host.Hostname,
			m.Started.UTC.Format("2006-01-02 15:04"), m.Finished.UTC.Format("15:04"), m.Operator.User, len(m.Artifacts), m.Status, signer)
	}
	for _, g := range c.NotCollected {
		fmt.Fprintf(&b, "  %-28s NOT COLLECTED (%s): %s\n", g.Key, g.Record.Target, g.Record.Reason)
	}
	if s := c.LatestSigned(); s != nil {
		fmt.Fprintf(&b, "case statement %s signed by %s", s.Key, s.Signer.Fingerprint)
	}
	return strings.TrimRight(b.String(), "\n")
}
