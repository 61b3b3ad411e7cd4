package windows

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func TestFirewallFromRegistry(t *testing.T) {
	reg := MapRegistry{
		fwLocal + `\PublicProfile`: {"EnableFirewall": {"0"}, "DefaultInboundAction": {"0"}},
		fwLocal + `\FirewallRules`: {
			"{A1}": {"v2.30|Action=Allow|Active=TRUE|Dir=In|Protocol=6|LPort=4444|App=C:\\ProgramData\\svc.exe|Name=Updater|"},
			"{A2}": {"v2.10|Action=Block|Active=FALSE|Dir=Out|RA4=10.0.0.1|RA4=10.0.0.2|Name=x|broken|"},
		},
		fwGPO + `\FirewallRules`: {"{G1}": {"v2.31|Action=Allow|Active=TRUE|Dir=In|Svc=RemoteRegistry|Name=GPO rule|"}},
	}
	profs, rules, finds := Firewall(reg)
	if len(finds) != 0 || len(profs) != 1 || profs[0].Settings["EnableFirewall"] != "0" || len(rules) != 3 {
		t.Fatalf("profiles %+v rules %+v finds %v", profs, rules, finds)
	}
	by := map[string]FirewallRule{}
	for _, r := range rules {
		by[r.ID] = r
	}
	if r := by["{A1}"]; !r.Active || r.Action != "Allow" || r.App != `C:\ProgramData\svc.exe` || r.Fields["LPort"] != "4444" || r.Store != "local" {
		t.Errorf("A1 %+v", r)
	}
	if r := by["{A2}"]; r.Active || r.Fields["RA4"] != "10.0.0.1,10.0.0.2" || len(r.Errors) != 1 {
		t.Errorf("A2 %+v", r)
	}
	if r := by["{G1}"]; r.Store != "group-policy" || r.Service != "RemoteRegistry" {
		t.Errorf("G1 %+v", r)
	}
	if _, _, finds := Firewall(deniedLister{}); len(finds) == 0 {
		t.Error("a key that cannot be read is not recorded")
	}
}

type deniedLister struct{ MapRegistry }

func (deniedLister) Values(string) ([]Value, error) { return nil, errors.New("Access is denied.") }

func TestSharesMerge(t *testing.T) {
	reg := MapRegistry{sharesKey: {
		"data$":  {"CSCFlags=0", "MaxUses=4294967295", "Path=C:\\data", "Permissions=0", "Type=0"},
		"hidden": {"Path=C:\\Windows\\Temp\\x", "Type=0"},
	}}
	rs, finds := RegistryShares(reg)
	if len(finds) != 0 || len(rs) != 2 {
		t.Fatal(rs, finds)
	}
	live := []Share{{Name: "DATA$", Path: `D:\data`}, {Name: "IPC$"}}
	all := MergeShares(live, rs)
	if len(all) != 3 {
		t.Fatalf("%+v", all)
	}
	for _, s := range all {
		switch strings.ToLower(s.Name) {
		case "data$":
			if !s.Live || !s.InRegistry || len(s.Errors) != 1 {
				t.Errorf("%+v", s)
			}
		case "hidden": // in the registry, not served
			if s.Live || !s.InRegistry || s.Path != `C:\Windows\Temp\x` {
				t.Errorf("%+v", s)
			}
		case "ipc$":
			if !s.Live || s.InRegistry {
				t.Errorf("%+v", s)
			}
		}
	}
}

func ipnetRow(addr []byte, family uint16, ifIndex uint32, mac []byte, state uint32, flags byte) []byte {
	r := make([]byte, mibIPNetRow2Size)
	binary.LittleEndian.PutUint16(r, family)
	if family == 2 {
		copy(r[4:], addr)
	} else {
		copy(r[8:], addr)
	}
	binary.LittleEndian.PutUint32(r[28:], ifIndex)
	copy(r[40:], mac)
	binary.LittleEndian.PutUint32(r[72:], uint32(len(mac)))
	binary.LittleEndian.PutUint32(r[76:], state)
	r[80] = flags
	return r
}

func TestParseIPNetTable2(t *testing.T) {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint32(b, 2)
	b = append(b, ipnetRow([]byte{192, 168, 1, 1}, 2, 7, []byte{0, 0x15, 0x5d, 1, 2, 3}, 5, 1)...)
	v6 := make([]byte, 16)
	v6[0], v6[1], v6[15] = 0xfe, 0x80, 1
	b = append(b, ipnetRow(v6, 23, 7, nil, 0, 2)...)
	ns, err := ParseIPNetTable2(b)
	if err != nil || len(ns) != 2 {
		t.Fatal(ns, err)
	}
	if n := ns[0]; n.Address != "192.168.1.1" || n.MAC != "00:15:5d:01:02:03" || n.State != "reachable" || !n.Router || n.InterfaceIndex != 7 {
		t.Errorf("%+v", n)
	}
	if n := ns[1]; n.Address != "fe80::1" || n.MAC != "" || n.State != "unreachable" || !n.Unreachable {
		t.Errorf("%+v", n)
	}
	binary.LittleEndian.PutUint32(b, 3)
	if _, err := ParseIPNetTable2(b); err == nil {
		t.Error("a table shorter than its count parsed")
	}
}

func TestWMISubscriptions(t *testing.T) {
	sid := []byte{1, 5, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 32, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}[:16]
	sid[1] = 2
	q := func(ns, query string, props []string) ([]WMIObject, error) {
		if ns != `root\subscription` {
			return nil, errors.New("Invalid namespace")
		}
		switch {
		case strings.HasSuffix(query, "__EventFilter"):
			return []WMIObject{{Class: "__EventFilter", Props: map[string]any{"Name": "Updater", "Query": "SELECT * FROM __InstanceModificationEvent WITHIN 60", "CreatorSID": sid}}}, nil
		case strings.HasSuffix(query, "__EventConsumer"):
			return []WMIObject{{Class: "CommandLineEventConsumer", Props: map[string]any{"Name": "Updater", "CommandLineTemplate": "powershell -enc SQBFAFgA", "ScriptText": nil}}}, nil
		}
		return nil, errors.New("Access denied")
	}
	subs := WMISubscriptions(q)
	if len(subs) != 3 {
		t.Fatalf("%+v", subs)
	}
	if s := subs[0]; s.Kind != "filter" || s.Name != "Updater" || s.Props["CreatorSID"] != "S-1-5-32-544" {
		t.Errorf("%+v", s)
	}
	if s := subs[1]; s.Class != "CommandLineEventConsumer" || s.Props["CommandLineTemplate"] != "powershell -enc SQBFAFgA" || s.Props["ScriptText"] != nil {
		t.Errorf("%+v", s)
	}
	if s := subs[2]; s.Kind != "binding" || len(s.Errors) != 1 || !strings.Contains(s.Errors[0], "Access denied") {
		t.Errorf("a failed query is not one line with its error: %+v", s)
	}
}

func FuzzFirewallRule(f *testing.F) {
	f.Add("v2.30|Action=Allow|Active=TRUE|Dir=In|Protocol=6|LPort=80|Name=a|")
	f.Add("|||=|==|")
	f.Fuzz(func(t *testing.T, s string) {
		r := ParseFirewallRule("local", "x", s)
		if r.Fields == nil {
			t.Fatal("no fields map")
		}
	})
}

func FuzzIPNetTable2(f *testing.F) {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint32(b, 1)
	f.Add(append(b, ipnetRow([]byte{10, 0, 0, 1}, 2, 1, []byte{1, 2, 3, 4, 5, 6}, 2, 0)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		ns, err := ParseIPNetTable2(b)
		if err == nil && len(ns) > len(b)/mibIPNetRow2Size {
			t.Fatalf("%d rows from %d bytes", len(ns), len(b))
		}
	})
}
