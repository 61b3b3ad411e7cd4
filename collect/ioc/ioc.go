// Package ioc reads a list of indicators of compromise and looks for them
// while custos collects, in one pass over what it reads anyway: hashes of
// executables and files, peers of sockets, and text in logs and files.
//
// The list format (docs/manifest.md): one indicator per line; blank lines
// and lines beginning with # are skipped; a line is TYPE:VALUE or a bare
// VALUE whose type is told from its shape:
//
//	sha256:<64 hex>  sha1:<40 hex>  md5:<32 hex>   (bare hex of those lengths too)
//	ip:<IPv4 or IPv6>  cidr:<prefix>               (bare addresses and prefixes too)
//	domain:<name>                                  (a bare name with a dot and a letter)
//	path:<absolute path>                           (bare /... or C:\...)
//	string:<text>                                  (anything else, 4 bytes at least)
//
// Text is matched without regard to ASCII case; addresses and domains only
// where they stand alone (not inside a longer name or number).
package ioc

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strings"

	"github.com/custos-ir/custos/custody"
)

// List is a parsed indicator list.
type List struct {
	Entries []custody.Indicator
	Sum     [32]byte
	index   map[string]int
	hashes  map[string][]int // lowercase hex → entries
	addrs   map[netip.Addr][]int
	nets    []netPrefix
	text    *Text
}

type netPrefix struct {
	p netip.Prefix
	i int
}

// MaxEntries bounds a list: larger lists are a mistake or an attack on
// the host's memory.
const MaxEntries = 100000

var (
	domainRE = regexp.MustCompile(`^(?i)[a-z0-9_]([a-z0-9_-]{0,62}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,62}[a-z0-9_])?)*\.[a-z][a-z0-9-]{0,62}\.?$`)
	typeRE   = regexp.MustCompile(`^(sha256|sha1|md5|ip|cidr|domain|path|string):`)
)

// Parse reads a list. A bad line is an error naming its number; nothing
// is taken from a list that has one.
func Parse(r io.Reader) (*List, error) {
	l := &List{hashes: map[string][]int{}, addrs: map[netip.Addr][]int{}}
	h := sha256.New()
	sc := bufio.NewScanner(io.TeeReader(r, h))
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	seen := map[string]int{}
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		ind, err := parseLine(trimmed)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		ind.Line = n
		if first, dup := seen[ind.String()]; dup {
			return nil, fmt.Errorf("line %d: %s is on line %d already", n, ind, first)
		}
		seen[ind.String()] = n
		if len(l.Entries) >= MaxEntries {
			return nil, fmt.Errorf("line %d: more than %d indicators", n, MaxEntries)
		}
		l.Entries = append(l.Entries, ind)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %v (a line may be at most 64 KiB)", n+1, err)
	}
	h.Sum(l.Sum[:0])
	l.index = make(map[string]int, len(l.Entries))
	for i, e := range l.Entries {
		l.index[e.String()] = i
	}
	var pats []Pattern
	ipv4 := map[[4]byte][]int{}
	for i, e := range l.Entries {
		switch e.Type {
		case "sha256", "sha1", "md5":
			l.hashes[e.Value] = append(l.hashes[e.Value], i)
		case "ip":
			a := netip.MustParseAddr(e.Value)
			l.addrs[a] = append(l.addrs[a], i)
		case "cidr":
			l.nets = append(l.nets, netPrefix{netip.MustParsePrefix(e.Value), i})
		}
		if q, ok := quadOf(e.Value); ok && e.Type == "ip" {
			ipv4[q] = append(ipv4[q], i)
			continue
		}
		if e.Type != "cidr" {
			// Addresses, names and hashes stand alone; strings and paths
			// may be part of anything.
			pats = append(pats, Pattern{Text: e.Value, Whole: e.Type != "string" && e.Type != "path", ID: i})
		}
	}
	l.text = newText(pats, ipv4)
	return l, nil
}

func parseLine(s string) (custody.Indicator, error) {
	typ, val := "", s
	if m := typeRE.FindString(s); m != "" {
		typ, val = m[:len(m)-1], s[len(m):]
	}
	if val == "" {
		return custody.Indicator{}, fmt.Errorf("%q: no value after the type", s)
	}
	if typ == "" {
		typ = guess(val)
	}
	switch typ {
	case "sha256", "sha1", "md5":
		want := map[string]int{"sha256": 64, "sha1": 40, "md5": 32}[typ]
		if len(val) != want || !allHexString(val) {
			return custody.Indicator{}, fmt.Errorf("%q: a %s is %d hex digits", s, typ, want)
		}
		val = strings.ToLower(val)
	case "ip":
		a, err := netip.ParseAddr(val)
		if err != nil || a.Zone() != "" {
			return custody.Indicator{}, fmt.Errorf("%q: not an IPv4 or IPv6 address", s)
		}
		val = a.Unmap().String()
	case "cidr":
		p, err := netip.ParsePrefix(val)
		if err != nil {
			return custody.Indicator{}, fmt.Errorf("%q: not an address prefix like 203.0.113.0/24 or 2001:db8::/32", s)
		}
		val = p.Masked().String()
	case "domain":
		if !domainRE.MatchString(val) {
			return custody.Indicator{}, fmt.Errorf("%q: not a domain name", s)
		}
		val = strings.ToLower(strings.TrimSuffix(val, "."))
	case "path":
		if !strings.HasPrefix(val, "/") && !(len(val) > 2 && val[1] == ':' && (val[2] == '\\' || val[2] == '/')) {
			return custody.Indicator{}, fmt.Errorf("%q: a path indicator is absolute (/... or C:\\...)", s)
		}
	}
	if len(val) < 4 {
		return custody.Indicator{}, fmt.Errorf("%q: shorter than 4 bytes, it would match nearly everywhere", s)
	}
	return custody.Indicator{Type: typ, Value: val}, nil
}

func allHexString(v string) bool {
	for i := 0; i < len(v); i++ {
		if !isHex(v[i]) {
			return false
		}
	}
	return v != ""
}

// guess tells a bare value's type from its shape.
func guess(v string) string {
	switch {
	case len(v) == 64 && allHexString(v):
		return "sha256"
	case len(v) == 40 && allHexString(v):
		return "sha1"
	case len(v) == 32 && allHexString(v):
		return "md5"
	case strings.HasPrefix(v, "/") || len(v) > 2 && v[1] == ':' && v[2] == '\\':
		return "path"
	}
	if _, err := netip.ParseAddr(v); err == nil {
		return "ip"
	}
	if _, err := netip.ParsePrefix(v); err == nil {
		return "cidr"
	}
	if domainRE.MatchString(v) {
		return "domain"
	}
	return "string"
}

// Record is the list as the manifest records it.
func (l *List) Record(name string) *custody.Indicators {
	if l == nil {
		return nil
	}
	return &custody.Indicators{Name: name, SHA256: l.Sum, Entries: l.Entries}
}

// Hash returns the indicators a hex digest matches (any case).
func (l *List) Hash(sum string) []custody.Indicator {
	if l == nil || len(l.hashes) == 0 {
		return nil
	}
	return l.pick(l.hashes[strings.ToLower(sum)])
}

// HashBytes is Hash of a digest's bytes.
func (l *List) HashBytes(sum []byte) []custody.Indicator {
	if l == nil || len(l.hashes) == 0 {
		return nil
	}
	return l.Hash(hex.EncodeToString(sum))
}

// Addr returns the ip and cidr indicators an address matches.
func (l *List) Addr(s string) []custody.Indicator {
	if l == nil || len(l.addrs)+len(l.nets) == 0 {
		return nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return nil
	}
	a = a.Unmap()
	out := l.pick(l.addrs[a])
	for _, n := range l.nets {
		if n.p.Contains(a) {
			out = append(out, l.Entries[n.i])
		}
	}
	return out
}

// Text is what looks for the list in text; nil when it has none to look
// for.
func (l *List) Text() *Text {
	if l == nil {
		return nil
	}
	return l.text
}

// Index is the place of an indicator in the list (-1 if not in it).
func (l *List) Index(e custody.Indicator) int {
	if i, ok := l.index[e.String()]; ok {
		return i
	}
	return -1
}

// HasType reports whether the list holds an indicator of type t.
func (l *List) HasType(t string) bool {
	if l == nil {
		return false
	}
	for _, e := range l.Entries {
		if e.Type == t {
			return true
		}
	}
	return false
}

// Entry is entry i of the list.
func (l *List) Entry(i int) custody.Indicator { return l.Entries[i] }

func (l *List) pick(ids []int) []custody.Indicator {
	var out []custody.Indicator
	for _, i := range ids {
		out = append(out, l.Entries[i])
	}
	return out
}
