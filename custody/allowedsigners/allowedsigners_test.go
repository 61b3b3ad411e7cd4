package allowedsigners

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func key(t *testing.T) (ssh.PublicKey, string) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	k, _ := ssh.NewPublicKey(pub)
	return k, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

func TestParseAndFind(t *testing.T) {
	a, aLine := key(t)
	b, bLine := key(t)
	c, cLine := key(t)
	d, dLine := key(t)
	file := "# team\n" +
		"alice@example.org,alice@ir.example " + aLine + " alice laptop\n" +
		`bob@example.org namespaces="custos-manifest,custos-countersign",valid-after="20260101",valid-before="20300101Z" ` + bLine + "\n" +
		`"carol@example.org" valid-before="20200101" ` + cLine + "\n" +
		`ca@example.org cert-authority ` + dLine + "\n"
	es, err := Parse(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	if p, err := Find(es, a, "custos-manifest", now); err != nil || len(p) != 2 {
		t.Fatalf("alice: %v %v", p, err)
	}
	if p, err := Find(es, b, "custos-countersign", now); err != nil || p[0] != "bob@example.org" {
		t.Fatalf("bob: %v %v", p, err)
	}
	if _, err := Find(es, b, "git", now); !errors.Is(err, ErrNamespace) {
		t.Fatalf("bob, other namespace: %v", err)
	}
	if _, err := Find(es, b, "custos-manifest", time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)); !errors.Is(err, ErrExpired) {
		t.Fatalf("bob after expiry: %v", err)
	}
	if _, err := Find(es, b, "custos-manifest", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)); !errors.Is(err, ErrNotYetValid) {
		t.Fatalf("bob before: %v", err)
	}
	if _, err := Find(es, c, "custos-manifest", now); !errors.Is(err, ErrExpired) {
		t.Fatalf("carol: %v", err)
	}
	if _, err := Find(es, d, "custos-manifest", now); !errors.Is(err, ErrCertAuthority) {
		t.Fatalf("ca: %v", err)
	}
	other, _ := key(t)
	if _, err := Find(es, other, "custos-manifest", now); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("unknown: %v", err)
	}
	if err := Check(es, "alice@ir.example", a, "x", now); err != nil {
		t.Fatal(err)
	}
	if err := Check(es, "mallory@example.org", a, "x", now); !errors.Is(err, ErrPrincipal) {
		t.Fatalf("wrong principal: %v", err)
	}
}

func TestWildcards(t *testing.T) {
	a, aLine := key(t)
	es, err := Parse(strings.NewReader("*@example.org,!eve@example.org " + aLine + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if Check(es, "bob@example.org", a, "n", time.Now()) != nil || Check(es, "eve@example.org", a, "n", time.Now()) == nil {
		t.Fatal("wildcards")
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	_, aLine := key(t)
	for _, c := range []struct{ in, want string }{
		{"x\n", "line 1: want principals"},
		{"\n\nbob " + `bogus="1" ` + aLine + "\n", `line 3: unknown option "bogus"`},
		{"bob valid-before=\"2030\" " + aLine + "\n", "line 1: valid-before: time"},
		{"bob ssh-ed25519 AAAAnotbase64\n", "line 1: bad key"},
		{`bob namespaces="a ` + aLine + "\n", "unterminated quote"},
	} {
		if _, err := Parse(strings.NewReader(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.in, err, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("alice@example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFG0wEkUJeJ2xZ6oPCM7Ozr5lg5thzgYh2ApCoQTHX6R\n")
	f.Add(`b namespaces="x,y",valid-after="20260101Z" ssh-ed25519 AAAA` + "\n")
	f.Fuzz(func(t *testing.T, s string) {
		es, err := Parse(strings.NewReader(s))
		if err == nil {
			for _, e := range es {
				if e.Key == nil {
					t.Fatal("entry without key")
				}
			}
		}
	})
}
