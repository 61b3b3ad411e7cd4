package windows

import (
	"fmt"
	"regexp"
	"sort"
)

// Secrets in configuration files are replaced by REDACTED; every other
// byte stays as it was, so the file still reads and diffs like the original.
var (
	// password="...", keystorePass='...', connectionPassword="..." in XML.
	// The name may carry a prefix (db_password, jdbc.password, ns:password).
	xmlSecret = regexp.MustCompile(`(?i)(^|[\s<,;])([\w.:\-]*(?:password|passwd|pass|secret|pwd))(\s*=\s*)("[^"]*"|'[^']*')`)
	// name.password = value in .properties and .conf files.
	propSecret = regexp.MustCompile(`(?im)^([ \t]*[\w.\-]*(?:password|passwd|secret|pwd)[\w.\-]*[ \t]*[=:][ \t]*)(\S.*?)[ \t]*$`)
)

// MaxRedact bounds the files Redact reads into memory.
const MaxRedact = 32 << 20

// Redact rewrites secrets in a small configuration file. kind is
// tomcat-conf, iis-config or fr-conf. It returns the attribute names it
// redacted and how often (never values).
func Redact(kind string, in []byte) ([]byte, []string, error) {
	if len(in) > MaxRedact {
		return nil, nil, fmt.Errorf("%d bytes: larger than the %d a redacted file may have", len(in), MaxRedact)
	}
	counts := map[string]int{}
	out := in
	switch kind {
	case "tomcat-conf", "iis-config", "fr-conf":
		out = xmlSecret.ReplaceAllFunc(out, func(m []byte) []byte {
			sub := xmlSecret.FindSubmatch(m)
			q := sub[4][0]
			if len(sub[4]) == 2 { // an empty value: nothing to hide
				return m
			}
			counts[string(sub[2])]++
			out := append(append(append([]byte{}, sub[1]...), sub[2]...), sub[3]...)
			return append(out, q, 'R', 'E', 'D', 'A', 'C', 'T', 'E', 'D', q)
		})
		if kind != "iis-config" {
			out = propSecret.ReplaceAllFunc(out, func(m []byte) []byte {
				sub := propSecret.FindSubmatch(m)
				counts["property"]++
				return append(append([]byte{}, sub[1]...), "REDACTED"...)
			})
		}
	default:
		return nil, nil, fmt.Errorf("unknown redaction %q", kind)
	}
	var what []string
	for k, n := range counts {
		what = append(what, fmt.Sprintf("%s×%d", k, n))
	}
	sort.Strings(what)
	return out, what, nil
}
