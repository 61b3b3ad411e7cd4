package magento

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// secretKeys are the keys of env.php whose values are secrets: database
// and cache passwords, the crypt key, API and queue credentials.
const secretKeys = `password|passwd|pass|key|secret|token|api_key|access_key|secret_key|private_key|encryption_key`

var (
	envSingle = regexp.MustCompile(`(?i)(['"](?:` + secretKeys + `)['"]\s*=>\s*)'((?:[^'\\]|\\.)*)'`)
	envDouble = regexp.MustCompile(`(?i)(['"](?:` + secretKeys + `)['"]\s*=>\s*)"((?:[^"\\]|\\.)*)"`)
	xmlSecret = regexp.MustCompile(`(?is)<(password|key)>(?:\s*<!\[CDATA\[.*?\]\]>\s*|[^<]*)</(?:password|key)>`)
	keyName   = regexp.MustCompile(`(?i)['"]([a-z_]+)['"]`)
)

// Redact replaces the secrets of env.php or local.xml (the crypt key, every
// password) by REDACTED, for a stored copy that can travel further than the
// original; the file's record keeps the original's digest. It says which
// keys it replaced and how often, never a value.
func Redact(in []byte) ([]byte, []string, error) {
	counts := map[string]int{}
	out := in
	for _, re := range []*regexp.Regexp{envSingle, envDouble} {
		out = re.ReplaceAllFunc(out, func(m []byte) []byte {
			sub := re.FindSubmatch(m)
			k := strings.ToLower(string(keyName.FindSubmatch(sub[1])[1]))
			if len(sub[2]) == 0 {
				return m // an empty password is no secret
			}
			counts[k]++
			q := m[len(m)-1]
			return append(append(append([]byte(nil), sub[1]...), q), append([]byte("REDACTED"), q)...)
		})
	}
	out = xmlSecret.ReplaceAllFunc(out, func(m []byte) []byte {
		tag := strings.ToLower(string(xmlSecret.FindSubmatch(m)[1]))
		counts[tag]++
		return []byte("<" + tag + "><![CDATA[REDACTED]]></" + tag + ">")
	})
	var what []string
	for k, n := range counts {
		what = append(what, fmt.Sprintf("%s x%d", k, n))
	}
	sort.Strings(what)
	return out, what, nil
}
