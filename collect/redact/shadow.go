// Package redact masks secrets in the copies of configuration files custos
// stores; the original's digest stays in the file's record.
//
// It works on bytes in memory and never writes a file.
package redact

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Shadow masks the password hashes of shadow(5), gshadow(5) and
// pam_pwhistory's opasswd: each hash becomes
// MASKED;alg=ALGORITHM;len=N;sha256=HEX (the SHA-256 of the hash, so that
// the same hash on two hosts or two accounts is seen without being
// revealed). A lock ("!") before a hash, the lock and "no password"
// markers themselves (*, !, !!, x, empty) and every other field (the
// change, aging and expiry dates) are kept. A line that is not an account
// line is masked whole. what counts the masked hashes and lines.
func Shadow(b []byte) (out []byte, what []string, err error) {
	var masked, lines int
	var o bytes.Buffer
	o.Grow(len(b))
	for len(b) > 0 {
		line := b
		nl := bytes.IndexByte(b, '\n')
		if nl >= 0 {
			line, b = b[:nl], b[nl+1:]
		} else {
			b = nil
		}
		s := string(line)
		switch {
		case strings.TrimSpace(s) == "": // a comment is no part of the format: masked like any line
			o.WriteString(s)
		case !strings.Contains(s, ":"):
			o.WriteString("MASKED-LINE;" + digestOf(s))
			lines++
		default:
			f := strings.Split(s, ":")
			if len(f) == 4 && digits(f[1]) && digits(f[2]) { // opasswd: user:uid:count:hash,hash
				hs := strings.Split(f[3], ",")
				for i, h := range hs {
					if h != "" {
						hs[i] = maskHash(h)
						masked++
					}
				}
				f[3] = strings.Join(hs, ",")
			} else if m := maskHash(f[1]); m != f[1] {
				f[1] = m
				masked++
			}
			o.WriteString(strings.Join(f, ":"))
		}
		if nl >= 0 {
			o.WriteByte('\n')
		}
	}
	if masked > 0 {
		what = append(what, fmt.Sprintf("password-hash×%d", masked))
	}
	if lines > 0 {
		what = append(what, fmt.Sprintf("unparsed-line×%d", lines))
	}
	return o.Bytes(), what, nil
}

// maskHash masks one password field, keeping the lock and the markers
// that hold no secret.
func maskHash(h string) string {
	lock := ""
	for strings.HasPrefix(h, "!") {
		lock, h = lock+"!", h[1:]
	}
	switch h {
	case "", "*", "x", "*LK*", "NP":
		return lock + h
	}
	return lock + "MASKED;alg=" + Algorithm(h) + ";len=" + strconv.Itoa(len(h)) + ";" + digestOf(h)
}

func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256=" + hex.EncodeToString(sum[:])
}

// Algorithm names the crypt(3) scheme of a password hash by its prefix.
func Algorithm(h string) string {
	prefixes := []struct{ p, name string }{
		{"$y$", "yescrypt"}, {"$gy$", "gost-yescrypt"}, {"$7$", "scrypt"},
		{"$2a$", "bcrypt"}, {"$2b$", "bcrypt"}, {"$2x$", "bcrypt"}, {"$2y$", "bcrypt"},
		{"$6$", "sha512crypt"}, {"$5$", "sha256crypt"}, {"$sha1$", "sha1crypt"},
		{"$md5", "sunmd5"}, {"$1$", "md5crypt"}, {"_", "bsdi-des"},
	}
	for _, p := range prefixes {
		if strings.HasPrefix(h, p.p) {
			return p.name
		}
	}
	if len(h) == 13 {
		return "des"
	}
	if strings.HasPrefix(h, "$") {
		if i := strings.IndexByte(h[1:], '$'); i > 0 && i < 8 {
			return "unknown-" + h[1:1+i]
		}
	}
	return "unknown"
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
