package redact

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
)

func TestShadowMasksHashesKeepsAging(t *testing.T) {
	const hash = "$6$rounds=5000$saltsalt$Jx8kq0Sx1nCU0d2Zs0m5b0pMHqgS0zGj4dq1E3I3bLx5c6wq8WvJ5lD7Yx3P2o1n0m9l8k7j6h5g4f3d2s1a0"
	in := "root:" + hash + ":19700:0:99999:7:::\n" +
		"daemon:*:19700:0:99999:7:::\n" +
		"www-data:!" + hash + ":19701:0:99999:7::20000:\n" +
		"nobody:!!:19702::::::\n" +
		"eve:$y$j9T$abc$def:19703:0:99999:7:::\n" +
		"garbage-without-colons\n" +
		"eve:1001:2:$1$aa$bb,$6$cc$dd\n" // opasswd
	out, what, err := Shadow([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, secret := range []string{hash, "$y$j9T$abc$def", "garbage-without-colons", "$1$aa$bb", "$6$cc$dd"} {
		if strings.Contains(got, secret) {
			t.Errorf("secret %q left in:\n%s", secret, got)
		}
	}
	sum := sha256.Sum256([]byte(hash))
	wantRoot := "root:MASKED;alg=sha512crypt;len=" + strconv.Itoa(len(hash)) + ";sha256=" + hex.EncodeToString(sum[:]) + ":19700:0:99999:7:::"
	lines := strings.Split(got, "\n")
	if lines[0] != wantRoot {
		t.Errorf("root line\n got %s\nwant %s", lines[0], wantRoot)
	}
	if lines[1] != "daemon:*:19700:0:99999:7:::" || lines[3] != "nobody:!!:19702::::::" {
		t.Errorf("markers not kept: %q %q", lines[1], lines[3])
	}
	if !strings.HasPrefix(lines[2], "www-data:!MASKED;alg=sha512crypt;") || !strings.HasSuffix(lines[2], ":19701:0:99999:7::20000:") {
		t.Errorf("lock or aging lost: %q", lines[2])
	}
	if !strings.Contains(lines[4], "alg=yescrypt") || !strings.HasPrefix(lines[5], "MASKED-LINE;sha256=") {
		t.Errorf("%q %q", lines[4], lines[5])
	}
	if !strings.HasPrefix(lines[6], "eve:1001:2:MASKED;alg=md5crypt;") || !strings.Contains(lines[6], ",MASKED;alg=sha512crypt;") {
		t.Errorf("opasswd: %q", lines[6])
	}
	if strings.Join(what, " ") != "password-hash×5 unparsed-line×1" || len(lines) != 8 || lines[7] != "" {
		t.Errorf("what %v, lines %d", what, len(lines))
	}
}

// No input makes Shadow fail or leave a hash-looking field unmasked.
func FuzzShadow(f *testing.F) {
	f.Add([]byte("root:$6$a$b:1:2:3:4:::\n"))
	f.Add([]byte("u:1:2:$1$x,$2y$y\nnocolon"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, _, err := Shadow(b)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Count(out, []byte("\n")) != bytes.Count(b, []byte("\n")) {
			t.Fatalf("lines changed: %q -> %q", b, out)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if f := strings.Split(l, ":"); len(f) > 1 && strings.HasPrefix(strings.TrimLeft(f[1], "!"), "$6$") {
				t.Fatalf("hash left: %q", l)
			}
		}
	})
}
