package live

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProcParsers(t *testing.T) {
	env := parseEnviron([]byte("PATH=/usr/bin\x00LD_PRELOAD=/dev/shm/.x.so\x00"))
	if len(env) != 2 || env[1] != "LD_PRELOAD=/dev/shm/.x.so" {
		t.Fatal(env)
	}
	maps, anon := parseMaps([]byte("55d0-55d1 r-xp 00000000 fd:00 131 /usr/sbin/nginx\n" +
		"7f00-7f01 r-xp 00000000 fd:00 999 /tmp/.lib.so (deleted)\n7f02-7f03 rwxp 00000000 00:00 0 \n" +
		"7f04-7f05 r-xp 00000000 00:01 5 /memfd:x (deleted)\n7f06-7f07 r--p 00000000 fd:00 131 /usr/sbin/nginx\n7ffd-7ffe r-xp 0 00:00 0 [vdso]\n"))
	if len(maps) != 3 || !maps[1].Deleted || maps[1].Path != "/tmp/.lib.so" || !maps[2].Memfd || anon != 1 {
		t.Fatalf("%+v %d", maps, anon)
	}
	if cg := parseCgroup([]byte("0::/system.slice/docker-abc.scope\n")); len(cg) != 1 || cg[0] != ":/system.slice/docker-abc.scope" {
		t.Fatal(cg)
	}
	r6 := parseIPv6Route([]byte("fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n"))
	if len(r6) != 1 || r6[0].Destination != "fe80::/64" || r6[0].Metric != 256 || r6[0].Interface != "eth0" {
		t.Fatalf("%+v", r6)
	}
	raw := parseRawSockets([]byte("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"+
		"   1: 00000000:0001 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 43210 2 0000 0\n"), false)
	if len(raw) != 1 || raw[0].Protocol != "1" || raw[0].Inode != "43210" || raw[0].Local != "0.0.0.0" {
		t.Fatalf("%+v", raw)
	}
	pk := parsePacket([]byte("sk       RefCnt Type Proto  Iface R Rmem   User   Inode\nffff 3 3 0003 2 1 0 0 5555\n"))
	if len(pk) != 1 || pk[0].Protocol != "0x0003" || pk[0].Inode != "5555" {
		t.Fatalf("%+v", pk)
	}
	if v, f := decodeTaint("12289\n"); v != 12289 || len(f) != 3 || !strings.HasPrefix(f[1], "O ") || !strings.HasPrefix(f[2], "E ") {
		t.Fatal(v, f)
	}
}

// A process whose library was deleted after loading, with an LD_PRELOAD
// in its environment and a network namespace of its own: its line says
// all three, from a fixture /proc.
func TestProcessDetailsOnFixture(t *testing.T) {
	root := t.TempDir()
	old := procRoot
	procRoot = root
	t.Cleanup(func() { procRoot = old })
	for pid, ns := range map[string]string{"1": "net:[4026531840]", "4242": "net:[4026532999]"} {
		d := filepath.Join(root, pid)
		os.MkdirAll(filepath.Join(d, "ns"), 0o755)
		os.WriteFile(filepath.Join(d, "stat"), []byte(pid+" (php-fpm) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0"), 0o644)
		os.WriteFile(filepath.Join(d, "environ"), []byte("LD_PRELOAD=/dev/shm/.x.so\x00"), 0o644)
		os.WriteFile(filepath.Join(d, "maps"), []byte("7f00-7f01 r-xp 00000000 fd:00 999 /dev/shm/.x.so (deleted)\n"), 0o644)
		os.WriteFile(filepath.Join(d, "cgroup"), []byte("0::/system.slice/php-fpm.service\n"), 0o644)
		os.Symlink(ns, filepath.Join(d, "ns", "net"))
	}
	lines := runLive(t, ProcessDetails)
	if len(lines) != 2 {
		t.Fatalf("%v", lines)
	}
	p := lines[1]
	maps := p["maps"].([]any)[0].(map[string]any)
	if p["pid"].(float64) != 4242 || p["other_namespaces"] != true || maps["deleted"] != true || p["environ"].([]any)[0] != "LD_PRELOAD=/dev/shm/.x.so" {
		t.Fatalf("%v", p)
	}
	if lines[0]["other_namespaces"] != nil {
		t.Errorf("pid 1 differs from itself: %v", lines[0])
	}
}

// A netlink answer for a chain and a rule decodes into their lines.
func TestNftablesMessages(t *testing.T) {
	attr := func(typ uint16, v []byte) []byte {
		b := make([]byte, 4, 4+len(v)+3)
		binary.NativeEndian.PutUint16(b, uint16(4+len(v)))
		binary.NativeEndian.PutUint16(b[2:], typ)
		b = append(b, v...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	be32 := func(x uint32) []byte { return binary.BigEndian.AppendUint32(nil, x) }
	hook := append(attr(1, be32(1)), attr(2, be32(0))...)
	chain := bytes.Join([][]byte{attr(1, []byte("filter\x00")), attr(3, []byte("input\x00")), attr(4|0x8000, hook), attr(5, be32(0)), attr(7, []byte("filter\x00"))}, nil)
	c := nftItem(nftMsgGetChain, 2, chain)
	if c.Kind != "nft-chain" || c.Table != "filter" || c.Chain != "input" || *c.Hook != 1 || *c.Policy != 0 || c.Family != "ip" || c.Type != "filter" {
		t.Fatalf("%+v", c)
	}
	expr := attr(1|0x8000, append(attr(1, []byte("immediate\x00")), attr(2|0x8000, []byte{1, 2, 3, 4})...))
	rule := bytes.Join([][]byte{attr(1, []byte("filter\x00")), attr(2, []byte("input\x00")), attr(3, binary.BigEndian.AppendUint64(nil, 7)), attr(4|0x8000, expr)}, nil)
	r := nftItem(nftMsgGetRule, 10, rule)
	if r.Kind != "nft-rule" || r.Handle != 7 || len(r.Exprs) != 1 || r.Exprs[0] != "immediate:01020304" || r.Family != "ip6" {
		t.Fatalf("%+v", r)
	}
	nftItem(nftMsgGetRule, 0, []byte{0xff, 0xff, 1}) // garbage: no panic
}

// On this host: the kernel line comes first, eBPF and firewall are listed
// or their refusal is one error.
func TestKernelAndFirewallHere(t *testing.T) {
	var buf bytes.Buffer
	if err := Kernel(context.Background(), &buf); err != nil || !strings.HasPrefix(buf.String(), `{"kind":"state","tainted":`) {
		t.Fatalf("%v %s", err, buf.String())
	}
	buf.Reset()
	if err := Firewall(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	t.Logf("kernel/firewall: %.600s", buf.String())
}

func FuzzMoreProcParsers(f *testing.F) {
	f.Add([]byte("7f00-7f01 r-xp 00000000 fd:00 999 /x (deleted)\n"))
	f.Add([]byte("fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 1 0 1 eth0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseEnviron(b)
		parseMaps(b)
		parseCgroup(b)
		parseIPv6Route(b)
		parseRawSockets(b, true)
		parseRawSockets(b, false)
		parsePacket(b)
		decodeTaint(string(b))
		nftItem(nftMsgGetChain, 1, b)
		nftItem(nftMsgGetRule, 1, b)
		nlAttrs(b, func(uint16, []byte) {})
	})
}
