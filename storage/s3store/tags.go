package s3store

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	maxTags        = 10  // per object, on AWS
	maxTagKeyLen   = 128 // bytes of the URL-encoded key
	maxTagValueLen = 256 // bytes of the URL-encoded value
)

// SanitizeTagValue makes v a tag value every S3 we know accepts. It keeps
// what AWS allows (Unicode letters, digits and spaces, and + - = . _ : / @)
// and replaces anything else with '_': versitygw refuses '&' even
// URL-encoded, and AWS refuses most punctuation. The result is cut so
// that even its URL-encoded form fits 256 bytes (versitygw measures the
// encoded form, AWS counts 256 characters). The exact value belongs in the
// manifest, not in a tag.
func SanitizeTagValue(v string) string { return sanitizeTag(v, maxTagValueLen) }

func sanitizeTag(v string, max int) string {
	var b strings.Builder
	n := 0
	for _, c := range v {
		if !tagRune(c) {
			c = '_'
		}
		w := len(escapeTag(string(c)))
		if n+w > max {
			break
		}
		n += w
		b.WriteRune(c)
	}
	return b.String()
}

// tagRune is AWS's tag character class, [\p{L}\p{Z}\p{N}_.:/=+\-@].
func tagRune(c rune) bool {
	if c == utf8.RuneError {
		return false
	}
	return unicode.In(c, unicode.L, unicode.Z, unicode.N) || strings.ContainsRune("_.:/=+-@", c)
}

// tagging merges the store's tags with extra, sanitizes them and encodes
// them for the x-amz-tagging header. It also returns the tags as sent.
func (s *Store) tagging(extra map[string]string) (string, map[string]string, error) {
	sent := map[string]string{}
	add := func(k, v string) error {
		sk := sanitizeTag(k, maxTagKeyLen)
		if sk == "" {
			return fmt.Errorf("S3 tag key %q: empty", k)
		}
		sent[sk] = SanitizeTagValue(v)
		return nil
	}
	for k, v := range s.c.Tags {
		if err := add(k, v); err != nil {
			return "", nil, err
		}
	}
	for k, v := range extra {
		if err := add(k, v); err != nil {
			return "", nil, err
		}
	}
	if len(sent) == 0 {
		return "", nil, nil
	}
	if len(sent) > maxTags {
		return "", nil, fmt.Errorf("S3 allows %d tags per object, %d were asked for", maxTags, len(sent))
	}
	return encodeTags(sent), sent, nil
}

// encodeTags writes k=v pairs in key order, every byte but the unreserved
// ones percent-encoded: a space is %20 and a '+' is %2B, never '+', which
// some services decode as a space and others keep.
func encodeTags(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(escapeTag(k))
		b.WriteByte('=')
		b.WriteString(escapeTag(tags[k]))
	}
	return b.String()
}

func escapeTag(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}
