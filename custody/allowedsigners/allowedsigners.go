// Package allowedsigners reads OpenSSH allowed_signers files (ssh-keygen(1),
// "ALLOWED SIGNERS") and answers who may sign with a key, for which
// namespace, when. It decides trust; it never verifies a signature itself.
package allowedsigners

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Entry is one line of an allowed_signers file.
type Entry struct {
	Principals    []string // patterns: * and ? wildcards, ! negation
	Namespaces    []string // empty: any
	ValidAfter    time.Time
	ValidBefore   time.Time
	CertAuthority bool
	Key           ssh.PublicKey
	Line          int
}

// Errors callers test with errors.Is.
var (
	ErrUnknownKey    = errors.New("key is not in allowed_signers")
	ErrNamespace     = errors.New("key is not allowed to sign for this namespace")
	ErrNotYetValid   = errors.New("key is not valid yet (valid-after)")
	ErrExpired       = errors.New("key has expired (valid-before)")
	ErrCertAuthority = errors.New("cert-authority entries are not supported: list signers' keys themselves")
	ErrPrincipal     = errors.New("key is not allowed for this principal")
)

// Parse reads an allowed_signers file. Errors name the line.
func Parse(r io.Reader) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(io.LimitReader(r, 16<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		e, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		e.Line = n
		out = append(out, e)
	}
	return out, sc.Err()
}

func parseLine(line string) (Entry, error) {
	var e Entry
	f, err := fields(line)
	if err != nil {
		return e, err
	}
	if len(f) < 3 {
		return e, errors.New("want principals [options] keytype key")
	}
	e.Principals = splitList(unquote(f[0]))
	rest := f[1:]
	if !isKeyType(rest[0]) {
		if err := e.options(rest[0]); err != nil {
			return e, err
		}
		rest = rest[1:]
	}
	if len(rest) < 2 {
		return e, errors.New("missing key")
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(rest[0] + " " + rest[1]))
	if err != nil {
		return e, fmt.Errorf("bad key: %v", err)
	}
	e.Key = k
	return e, nil
}

func isKeyType(s string) bool {
	return strings.HasPrefix(s, "ssh-") || strings.HasPrefix(s, "ecdsa-") || strings.HasPrefix(s, "sk-") || strings.HasPrefix(s, "rsa-")
}

// fields splits on blanks outside double quotes.
func fields(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inQ := false
	for _, c := range s {
		switch {
		case c == '"':
			inQ = !inQ
			cur.WriteRune(c)
		case (c == ' ' || c == '\t') && !inQ:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(c)
		}
	}
	if inQ {
		return nil, errors.New("unterminated quote")
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out, nil
}

func unquote(s string) string { return strings.Trim(s, `"`) }

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// options reads the comma-separated option list, commas inside quotes kept.
func (e *Entry) options(s string) error {
	var opts []string
	var cur strings.Builder
	inQ := false
	for _, c := range s {
		if c == '"' {
			inQ = !inQ
		}
		if c == ',' && !inQ {
			opts = append(opts, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteRune(c)
	}
	opts = append(opts, cur.String())
	for _, o := range opts {
		name, val, _ := strings.Cut(o, "=")
		val = unquote(val)
		var err error
		switch strings.ToLower(name) {
		case "cert-authority":
			e.CertAuthority = true
		case "namespaces":
			e.Namespaces = splitList(val)
		case "valid-after":
			e.ValidAfter, err = parseTime(val)
		case "valid-before":
			e.ValidBefore, err = parseTime(val)
		default:
			return fmt.Errorf("unknown option %q", name)
		}
		if err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
	}
	return nil
}

// parseTime reads YYYYMMDD[HHMM[SS]][Z]: local time unless it ends in Z.
func parseTime(s string) (time.Time, error) {
	loc := time.Local
	if t, ok := strings.CutSuffix(s, "Z"); ok {
		s, loc = t, time.UTC
	}
	layouts := map[int]string{8: "20060102", 12: "200601021504", 14: "20060102150405"}
	l, ok := layouts[len(s)]
	if !ok {
		return time.Time{}, fmt.Errorf("time %q: want YYYYMMDD[HHMM[SS]][Z]", s)
	}
	return time.ParseInLocation(l, s, loc)
}

// match reports whether name matches a pattern list (OpenSSH
// match_pattern_list: a negated match wins).
func match(patterns []string, name string) bool {
	ok := false
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		if m, _ := path.Match(strings.TrimPrefix(p, "!"), name); m {
			if neg {
				return false
			}
			ok = true
		}
	}
	return ok
}

func sameKey(a, b ssh.PublicKey) bool { return string(a.Marshal()) == string(b.Marshal()) }

func (e *Entry) check(namespace string, t time.Time) error {
	switch {
	case e.CertAuthority:
		return ErrCertAuthority
	case len(e.Namespaces) > 0 && !match(e.Namespaces, namespace):
		return fmt.Errorf("%w %q (line %d allows %s)", ErrNamespace, namespace, e.Line, strings.Join(e.Namespaces, ","))
	case !e.ValidAfter.IsZero() && t.Before(e.ValidAfter):
		return fmt.Errorf("%w: from %s (line %d)", ErrNotYetValid, e.ValidAfter.UTC().Format(time.RFC3339), e.Line)
	case !e.ValidBefore.IsZero() && !t.Before(e.ValidBefore):
		return fmt.Errorf("%w: until %s (line %d)", ErrExpired, e.ValidBefore.UTC().Format(time.RFC3339), e.Line)
	}
	return nil
}

// Find returns the principals allowed to sign with key for namespace at t.
func Find(entries []Entry, key ssh.PublicKey, namespace string, t time.Time) ([]string, error) {
	var principals []string
	var why error = ErrUnknownKey
	for i := range entries {
		e := &entries[i]
		if !sameKey(e.Key, key) {
			continue
		}
		if err := e.check(namespace, t); err != nil {
			why = err
			continue
		}
		principals = append(principals, e.Principals...)
	}
	if len(principals) == 0 {
		return nil, why
	}
	return principals, nil
}

// Check is ssh-keygen -Y verify -I principal: principal may sign with key
// for namespace at t.
func Check(entries []Entry, principal string, key ssh.PublicKey, namespace string, t time.Time) error {
	var why error = ErrUnknownKey
	for i := range entries {
		e := &entries[i]
		if !sameKey(e.Key, key) {
			continue
		}
		if !match(e.Principals, principal) {
			why = fmt.Errorf("%w %q", ErrPrincipal, principal)
			continue
		}
		if err := e.check(namespace, t); err != nil {
			why = err
			continue
		}
		return nil
	}
	return why
}
