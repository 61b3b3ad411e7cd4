package custody

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/custos-ir/custos/internal/jsonx"
)

// A case is every collection under <case>/: all hosts, all runs. Beside
// the collections it holds:
//
//	<case>/<host>/<id>/not-collected.json   a host that could not be collected, and why
//	<case>/_case/NNNN-signed.json(.sig)     the collector's case statement: every collection's manifest SHA-256
//	<case>/_case/NNNN-countersigned.json(.sig) the second responder's, over that statement
//
// KeySegment never makes a name that begins with "_", so _case/ is no
// host's directory.
const (
	NotCollectedName   = "not-collected.json"
	NotCollectedFormat = "custos-not-collected/1"
	CaseDir            = "_case/"
	CaseFormat         = "custos-case/1"
	NamespaceCase      = "custos-case"
)

// NotCollected records a host that could not be collected: who tried,
// when, at which target, and why. It is written on the responder's side,
// so that the case shows the host instead of silently missing it.
type NotCollected struct {
	Format   string    `json:"format"`
	Case     string    `json:"case"`
	Target   string    `json:"target"`
	Host     string    `json:"host"`
	Time     time.Time `json:"time"`
	Reason   string    `json:"reason"`
	Operator Actor     `json:"operator"`
	Session  string    `json:"session,omitempty"`
}

// RecordNotCollected stores nc under root (the store's --to prefix, ""
// for its top) at <case>/<host>/<new id>/not-collected.json and returns
// its key.
func RecordNotCollected(ctx context.Context, objs Objects, root string, nc NotCollected) (string, error) {
	nc.Format = NotCollectedFormat
	if nc.Time.IsZero() {
		nc.Time = time.Now().UTC()
	}
	b, err := json.MarshalIndent(nc, "", "  ")
	if err != nil {
		return "", err
	}
	key := root + Prefix(nc.Case, nc.Host, NewCollectionID(nc.Time)) + NotCollectedName
	_, err = put(ctx, objs, key, "not-collected", append(b, '\n'))
	return key, err
}

// ParseNotCollected reads a not-collected record strictly.
func ParseNotCollected(b []byte) (*NotCollected, error) {
	var nc NotCollected
	if err := jsonx.Decode(b, &nc, maxSmall); err != nil {
		return nil, fmt.Errorf("not a not-collected record: %v", err)
	}
	if nc.Format != NotCollectedFormat || nc.Case == "" {
		return nil, fmt.Errorf("not a not-collected record: format %q, case %q", nc.Format, nc.Case)
	}
	return &nc, nil
}

// CaseStatement is what a responder signs for a whole case: every
// collection's manifest (and collector signature), every host that could
// not be collected. The second responder's names the first's.
type CaseStatement struct {
	Format       string      `json:"format"`
	Case         string      `json:"case"`
	Role         string      `json:"role"` // collector or countersigner
	Time         time.Time   `json:"time"`
	Signer       string      `json:"signer,omitempty"`
	SignerKey    string      `json:"signer_key"`
	Note         string      `json:"note,omitempty"`
	Collections  []CaseEntry `json:"collections"`
	NotCollected []CaseGap   `json:"not_collected,omitempty"`
	// Countersigns is the SHA-256 of the collector's statement a
	// countersigner's statement answers.
	Countersigns *Digest `json:"countersigns_sha256,omitempty"`
}

// CaseEntry is one collection of a case statement.
type CaseEntry struct {
	Prefix          string  `json:"prefix"` // relative to the case: <host>/<id>/
	CollectionID    string  `json:"collection_id"`
	Host            string  `json:"host"`
	Status          string  `json:"status"`
	ManifestSHA256  Digest  `json:"manifest_sha256"`
	SignatureSHA256 *Digest `json:"signature_sha256,omitempty"`
}

// CaseGap is one host that could not be collected, in a case statement.
type CaseGap struct {
	Key    string `json:"key"` // relative to the case
	SHA256 Digest `json:"sha256"`
	Target string `json:"target"`
	Reason string `json:"reason"`
}

// Marshal gives a statement's bytes.
func (s *CaseStatement) Marshal() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(s)
	return b.Bytes(), err
}

// ParseCaseStatement reads a statement strictly.
func ParseCaseStatement(b []byte) (*CaseStatement, error) {
	var s CaseStatement
	if err := jsonx.Decode(b, &s, maxManifest); err != nil {
		return nil, fmt.Errorf("not a case statement: %v", err)
	}
	switch {
	case s.Format != CaseFormat:
		return nil, fmt.Errorf("case statement format %q, want %q", s.Format, CaseFormat)
	case s.Role != "collector" && s.Role != "countersigner":
		return nil, fmt.Errorf("case statement role %q", s.Role)
	case s.Role == "countersigner" && s.Countersigns == nil:
		return nil, fmt.Errorf("a countersigner's case statement names no statement it countersigns")
	case s.SignerKey == "":
		return nil, fmt.Errorf("case statement names no signer key")
	}
	return &s, nil
}

var caseStatementRE = regexp.MustCompile(`^_case/(\d{4,})-(signed|countersigned)\.json(\.sig)?$`)

// CaseIndex is what a case holds, by key relative to its prefix.
type CaseIndex struct {
	Prefix       string   // the case's prefix in the store: <root><case>/
	Collections  []string // collection prefixes, relative to Prefix: <host>/<id>/
	NotCollected []string // not-collected record keys, relative to Prefix
	Statements   []string // _case/ keys
	Strays       []string // anything else
}

// ErrManyCases is wrapped when a location holds more than one case.
var ErrManyCases = errors.New("more than one case found")

// FindCase finds the case under prefix: prefix is a case's directory, or
// the top of a store holding one case. Its collections are <host>/<id>/
// under the case.
func FindCase(ctx context.Context, objs Objects, prefix string) (*CaseIndex, error) {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	var keys []string
	seen := map[string]bool{}
	err := objs.List(ctx, prefix, func(o Object) error {
		if !seen[o.Key] {
			seen[o.Key] = true
			keys = append(keys, o.Key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	cases := map[string]bool{}
	for _, k := range keys {
		if b := path.Base(k); b == ManifestName || b == NotCollectedName {
			if p, ok := casePrefixOf(k); ok {
				cases[p] = true
			}
		}
	}
	switch len(cases) {
	case 0:
		return nil, fmt.Errorf("%s: %w", objs, ErrNoCollection)
	case 1:
	default:
		var names []string
		for p := range cases {
			names = append(names, strings.TrimSuffix(p, "/"))
		}
		sort.Strings(names)
		return nil, fmt.Errorf("%w under %s: give one of %s", ErrManyCases, objs, strings.Join(names, ", "))
	}
	idx := &CaseIndex{}
	for p := range cases {
		idx.Prefix = p
	}
	colls := map[string]bool{}
	for _, k := range keys {
		rel, ok := cutPrefix(k, idx.Prefix)
		if !ok {
			idx.Strays = append(idx.Strays, k)
			continue
		}
		switch {
		case path.Base(rel) == ManifestName && strings.Count(rel, "/") == 2:
			colls[strings.TrimSuffix(rel, ManifestName)] = true
		case path.Base(rel) == NotCollectedName && strings.Count(rel, "/") == 2:
			idx.NotCollected = append(idx.NotCollected, rel)
		case strings.HasPrefix(rel, CaseDir):
			idx.Statements = append(idx.Statements, rel)
		}
	}
	for p := range colls {
		idx.Collections = append(idx.Collections, p)
	}
	sort.Strings(idx.Collections)
	// Objects of the case that belong to no collection, record or
	// statement.
	for _, k := range keys {
		rel, ok := cutPrefix(k, idx.Prefix)
		if !ok || strings.HasPrefix(rel, CaseDir) {
			continue
		}
		if parts := strings.SplitN(rel, "/", 3); len(parts) == 3 && colls[parts[0]+"/"+parts[1]+"/"] {
			continue
		}
		if path.Base(rel) == NotCollectedName && strings.Count(rel, "/") == 2 {
			continue
		}
		idx.Strays = append(idx.Strays, rel)
	}
	return idx, nil
}

// casePrefixOf is the case prefix of a collection's object key
// (<root><case>/<host>/<id>/<name>): two directories above the
// collection's ("" when the store's top is the case). ok is false when
// the key is not that deep or its directory is no collection ID.
func casePrefixOf(key string) (string, bool) {
	dir := path.Dir(key) // <root><case>/<host>/<id>
	host := path.Dir(dir)
	if dir == "." || host == "." || !ValidCollectionID(path.Base(dir)) {
		return "", false
	}
	if c := path.Dir(host); c != "." {
		return c + "/", true
	}
	return "", true
}

// nextStatementSeq is the number the next case statement takes.
func nextStatementSeq(keys []string) int {
	n := 0
	for _, k := range keys {
		if m := caseStatementRE.FindStringSubmatch(k); m != nil {
			if v, _ := strconv.Atoi(m[1]); v > n {
				n = v
			}
		}
	}
	return n + 1
}
