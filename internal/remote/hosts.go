package remote

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
)

var (
	userRE = regexp.MustCompile(`^[A-Za-z0-9._][A-Za-z0-9._-]{0,63}$`)
	hostRE = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9._-]{0,252})$`)
	portRE = regexp.MustCompile(`^[0-9]{1,5}$`)
)

// ParseTarget reads [user@]host[:port]; host is a name, an IPv4 address,
// [an IPv6 address], or a Host name of the ssh configuration.
func ParseTarget(s string) (Target, error) {
	t := Target{}
	rest := s
	user := ""
	if u, h, ok := strings.Cut(s, "@"); ok {
		if !userRE.MatchString(u) {
			return t, fmt.Errorf("%q: the user %q is not a user name", s, u)
		}
		user, rest = u, h
	}
	host, port := rest, ""
	switch {
	case strings.HasPrefix(rest, "["):
		end := strings.Index(rest, "]")
		if end < 0 {
			return t, fmt.Errorf("%q: an IPv6 address in [ ] is not closed", s)
		}
		host = rest[1:end]
		if after := rest[end+1:]; after != "" {
			if !strings.HasPrefix(after, ":") {
				return t, fmt.Errorf("%q: want [ADDRESS]:PORT", s)
			}
			port = after[1:]
		}
		if !strings.Contains(host, ":") || strings.ContainsAny(host, " /") {
			return t, fmt.Errorf("%q: %q is not an IPv6 address", s, host)
		}
	case strings.Count(rest, ":") == 1:
		host, port, _ = strings.Cut(rest, ":")
		if port == "" {
			return t, fmt.Errorf("%q: a ':' without a port", s)
		}
		fallthrough
	default:
		if !hostRE.MatchString(host) {
			return t, fmt.Errorf("%q: %q is not a host name or address", s, host)
		}
	}
	if port != "" && (!portRE.MatchString(port) || port == "0" || len(port) > 5 || atoi(port) > 65535) {
		return t, fmt.Errorf("%q: %q is not a port", s, port)
	}
	t.Dest, t.Port = host, port
	if user != "" {
		t.Dest = user + "@" + host
	}
	t.Name = host
	if port != "" && port != "22" {
		t.Name = host + ":" + port
	}
	return t, nil
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// ParseHosts reads a hosts file: one target per line, blank lines and
// # comments skipped. A bad line or a host listed twice is one error
// each, and the rest are still returned: one bad line never stops the
// others.
func ParseHosts(r io.Reader) ([]Target, []error) {
	var out []Target
	var errs []error
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.ContainsAny(line, " \t") {
			errs = append(errs, fmt.Errorf("hosts line %d: %q: one host per line ([user@]host[:port] or an ssh Host name): skipped", n, line))
			continue
		}
		t, err := ParseTarget(line)
		if err != nil {
			errs = append(errs, fmt.Errorf("hosts line %d: %v: skipped", n, err))
			continue
		}
		t.Line = n
		if first, dup := seen[t.Name]; dup {
			errs = append(errs, fmt.Errorf("hosts line %d: %s is listed on line %d already: collected once", n, t.Name, first))
			continue
		}
		seen[t.Name] = n
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("hosts: %v", err))
	}
	return out, errs
}

// Each runs fn for every target, n at a time, and returns when all have
// returned. One target's failure never stops the others.
func Each(ctx context.Context, targets []Target, n int, fn func(ctx context.Context, i int, t Target)) {
	if n < 1 {
		n = 1
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < n && w < len(targets); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				fn(ctx, i, targets[i])
			}
		}()
	}
	for i := range targets {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}
