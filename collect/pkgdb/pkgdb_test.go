package pkgdb

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"testing"
)

func TestDpkgStatusAndMD5Sums(t *testing.T) {
	st := "Package: openssh-server\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:9.2p1-2\n" +
		"Conffiles:\n /etc/ssh/moduli 0123456789abcdef0123456789abcdef\n /etc/bad notahash\nDescription: x\n more\n\n" +
		"Status: no package here\n\nPackage: libpam-modules\nVersion: 1.5.2\n"
	pkgs, bad := ParseDpkgStatus([]byte(st))
	if len(pkgs) != 2 || bad != 1 || pkgs[0].Version != "1:9.2p1-2" || len(pkgs[0].Conffiles) != 1 || pkgs[0].Conffiles[0].Path != "/etc/ssh/moduli" {
		t.Fatalf("%+v bad %d", pkgs, bad)
	}
	ds, bad := ParseMD5Sums([]byte("0123456789abcdef0123456789abcdef  usr/sbin/sshd\nzz  x\n\n"))
	if len(ds) != 1 || bad != 1 || ds[0].Path != "/usr/sbin/sshd" {
		t.Fatalf("%+v %d", ds, bad)
	}
}

// testdata/rpmdb.sqlite is made by testdata/mkrpmdb.py with Python's
// sqlite3: rpm's schema, one package with file digests, one whose header
// spills into overflow pages.
func TestRPMSQLite(t *testing.T) {
	b, err := os.ReadFile("testdata/rpmdb.sqlite")
	if err != nil {
		t.Fatal(err)
	}
	pkgs, bad, err := ParseRPMSQLite(b)
	if err != nil || bad != 0 || len(pkgs) != 2 {
		t.Fatalf("%d packages, %d bad, %v", len(pkgs), bad, err)
	}
	ssh := pkgs[0]
	sum := sha256.Sum256([]byte("sshd as shipped\n"))
	if ssh.Name != "openssh-server" || ssh.Version != "8.7p1-38.el9" || ssh.Arch != "x86_64" || len(ssh.Files) != 3 ||
		ssh.Files[0].Path != "/usr/sbin/sshd" || ssh.Files[0].Algo != "sha256" || hex.EncodeToString(ssh.Files[0].Sum) != hex.EncodeToString(sum[:]) ||
		ssh.Files[1].Path != "/usr/lib64/security/pam_unix.so" || ssh.Files[2].Sum != nil {
		t.Fatalf("%+v", ssh)
	}
	if pkgs[1].Name != "big" || pkgs[1].Version != "2:1-1" {
		t.Fatalf("%+v", pkgs[1])
	}
	// A damaged database: an error or fewer packages, never a panic.
	for _, cut := range []int{100, 4096, 8192, len(b) - 4096} {
		ParseRPMSQLite(b[:cut])
	}
	if _, _, err := ParseRPMSQLite([]byte("SQLite format 2")); err == nil {
		t.Error("accepted a non-database")
	}
}

func FuzzPackageDatabases(f *testing.F) {
	if b, err := os.ReadFile("testdata/rpmdb.sqlite"); err == nil {
		f.Add(b[:8192])
	}
	f.Add([]byte("Package: a\nConffiles:\n /x 00\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseDpkgStatus(b)
		ParseMD5Sums(b)
		ParseRPMHeader(b)
		ParseRPMSQLite(b)
	})
}
