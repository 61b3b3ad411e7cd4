package windows

// Network and host state read from the registry and from the buffers the
// IP Helper API fills: the pure parts, tested and fuzzed on any OS; the
// calls are in collect/live (windows_state.go).

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"sort"
	"strings"
)

// FirewallRule is one rule as the firewall service stores it: a value of
// FirewallRules, "v2.30|Action=Allow|Active=TRUE|Dir=In|Protocol=6|LPort=80|App=...|Name=...|".
type FirewallRule struct {
	Store   string            `json:"store"` // local or group-policy
	ID      string            `json:"id"`    // the value's name
	Version string            `json:"version"`
	Name    string            `json:"name,omitempty"`
	Action  string            `json:"action,omitempty"`
	Active  bool              `json:"active"`
	Dir     string            `json:"dir,omitempty"`
	App     string            `json:"app,omitempty"`
	Service string            `json:"service,omitempty"`
	Fields  map[string]string `json:"fields"` // every field, repeated ones joined by ","
	Errors  []string          `json:"errors,omitempty"`
}

// ParseFirewallRule reads a rule's value. A field without "=" is kept
// under its own text and noted; the version is the first field.
func ParseFirewallRule(store, id, v string) FirewallRule {
	r := FirewallRule{Store: store, ID: id, Fields: map[string]string{}}
	parts := strings.Split(strings.TrimSuffix(v, "|"), "|")
	r.Version = parts[0]
	if !strings.HasPrefix(strings.ToLower(r.Version), "v") {
		r.Errors = append(r.Errors, fmt.Sprintf("no version field (starts %q)", r.Version))
	}
	for _, p := range parts[1:] {
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			r.Errors = append(r.Errors, fmt.Sprintf("field %q has no value", p))
			continue
		}
		if old, dup := r.Fields[k]; dup {
			val = old + "," + val
		}
		r.Fields[k] = val
	}
	r.Name, r.Action, r.Dir, r.App, r.Service = r.Fields["Name"], r.Fields["Action"], r.Fields["Dir"], r.Fields["App"], r.Fields["Svc"]
	r.Active = strings.EqualFold(r.Fields["Active"], "TRUE")
	return r
}

// FirewallProfile is one profile's settings (Domain, Standard = private,
// Public), as a store holds them.
type FirewallProfile struct {
	Store    string            `json:"store"`
	Profile  string            `json:"profile"`
	Settings map[string]string `json:"settings"`
}

const (
	fwLocal = `HKLM\SYSTEM\CurrentControlSet\Services\SharedAccess\Parameters\FirewallPolicy`
	fwGPO   = `HKLM\SOFTWARE\Policies\Microsoft\WindowsFirewall`
)

// Firewall reads the firewall's profiles and rules from both stores the
// service merges: the local policy and group policy's.
func Firewall(reg ValueLister) ([]FirewallProfile, []FirewallRule, []Finding) {
	var profs []FirewallProfile
	var rules []FirewallRule
	var finds []Finding
	for _, st := range []struct{ name, key string }{{"local", fwLocal}, {"group-policy", fwGPO}} {
		for _, p := range []string{"DomainProfile", "StandardProfile", "PublicProfile"} {
			vals, err := reg.Values(st.key + `\` + p)
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					finds = append(finds, Finding{"registry key not readable", st.key + `\` + p, err.Error()})
				}
				continue
			}
			fp := FirewallProfile{Store: st.name, Profile: p, Settings: map[string]string{}}
			for _, v := range vals {
				fp.Settings[v.Name] = v.String()
			}
			profs = append(profs, fp)
		}
		vals, err := reg.Values(st.key + `\FirewallRules`)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				finds = append(finds, Finding{"registry key not readable", st.key + `\FirewallRules`, err.Error()})
			}
			continue
		}
		for _, v := range vals {
			rules = append(rules, ParseFirewallRule(st.name, v.Name, v.String()))
		}
	}
	return profs, rules, finds
}

// Share is an SMB share: what the server service has live (NetShareEnum)
// and what its registry key holds (LanmanServer\Shares), which it loads at
// start.
type Share struct {
	Name        string            `json:"name"`
	Path        string            `json:"path,omitempty"`
	Type        string            `json:"type,omitempty"`
	Remark      string            `json:"remark,omitempty"`
	Live        bool              `json:"live"`        // listed by NetShareEnum
	InRegistry  bool              `json:"in_registry"` // a value of LanmanServer\Shares
	Registry    map[string]string `json:"registry,omitempty"`
	CurrentUses uint32            `json:"current_uses,omitempty"`
	MaxUses     int32             `json:"max_uses,omitempty"`
	Errors      []string          `json:"errors,omitempty"`
}

const sharesKey = `HKLM\SYSTEM\CurrentControlSet\Services\LanmanServer\Shares`

// RegistryShares reads LanmanServer\Shares: each value a REG_MULTI_SZ of
// Key=Value lines (Path, Permissions, Type, Remark, ...).
func RegistryShares(reg ValueLister) ([]Share, []Finding) {
	vals, err := reg.Values(sharesKey)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, []Finding{{"registry key not readable", sharesKey, err.Error()}}
	}
	var out []Share
	for _, v := range vals {
		s := Share{Name: v.Name, InRegistry: true, Registry: map[string]string{}}
		for _, l := range v.Data {
			if k, val, ok := strings.Cut(l, "="); ok {
				s.Registry[k] = val
			} else if l != "" {
				s.Errors = append(s.Errors, fmt.Sprintf("line %q is not Key=Value", l))
			}
		}
		s.Path, s.Remark = s.Registry["Path"], s.Registry["Remark"]
		out = append(out, s)
	}
	return out, nil
}

// MergeShares joins the live list and the registry's by name (case
// insensitive): a share in one and not the other is worth a look.
func MergeShares(live, reg []Share) []Share {
	by := map[string]int{}
	out := append([]Share(nil), live...)
	for i := range out {
		out[i].Live = true
		by[strings.ToLower(out[i].Name)] = i
	}
	for _, r := range reg {
		if i, ok := by[strings.ToLower(r.Name)]; ok {
			out[i].InRegistry, out[i].Registry = true, r.Registry
			out[i].Errors = append(out[i].Errors, r.Errors...)
			if r.Path != "" && !strings.EqualFold(r.Path, out[i].Path) {
				out[i].Errors = append(out[i].Errors, fmt.Sprintf("the registry says path %q, the server %q", r.Path, out[i].Path))
			}
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}

// Neighbor is one entry of the neighbour (ARP, NDP) cache.
type Neighbor struct {
	Address        string `json:"address"`
	InterfaceIndex uint32 `json:"interface_index"`
	MAC            string `json:"mac,omitempty"`
	State          string `json:"state"`
	Router         bool   `json:"router,omitempty"`
	Unreachable    bool   `json:"unreachable,omitempty"`
}

var neighborStates = []string{"unreachable", "incomplete", "probe", "delay", "stale", "reachable", "permanent"}

// mibIPNetRow2Size is sizeof(MIB_IPNET_ROW2) on 64-bit Windows.
const mibIPNetRow2Size = 88

// ParseIPNetTable2 decodes the MIB_IPNET_TABLE2 that GetIpNetTable2
// fills: ULONG NumEntries, 4 bytes of padding, then NumEntries rows of 88
// bytes: SOCKADDR_INET Address (28), ULONG InterfaceIndex (28),
// NET_LUID InterfaceLuid (32), UCHAR PhysicalAddress[32] (40), ULONG
// PhysicalAddressLength (72), NL_NEIGHBOR_STATE State (76), UCHAR flags
// (80: IsRouter, IsUnreachable), ULONG ReachabilityTime (84).
func ParseIPNetTable2(b []byte) ([]Neighbor, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("neighbour table: %d bytes", len(b))
	}
	n := int64(binary.LittleEndian.Uint32(b))
	if int64(len(b)-8) < n*mibIPNetRow2Size {
		return nil, fmt.Errorf("neighbour table: %d rows need %d bytes, have %d", n, 8+n*mibIPNetRow2Size, len(b))
	}
	out := make([]Neighbor, 0, n)
	for i := range n {
		r := b[8+i*mibIPNetRow2Size:][:mibIPNetRow2Size]
		nb := Neighbor{Address: SockaddrInet(r[:28]), InterfaceIndex: binary.LittleEndian.Uint32(r[28:])}
		if l := binary.LittleEndian.Uint32(r[72:]); l > 0 && l <= 32 {
			nb.MAC = net.HardwareAddr(r[40 : 40+l]).String()
		}
		st := binary.LittleEndian.Uint32(r[76:])
		nb.State = fmt.Sprint(st)
		if int(st) < len(neighborStates) {
			nb.State = neighborStates[st]
		}
		nb.Router, nb.Unreachable = r[80]&1 != 0, r[80]&2 != 0
		out = append(out, nb)
	}
	return out, nil
}

// SockaddrInet reads a SOCKADDR_INET: family 2 (an IPv4 address at 4),
// 23 (an IPv6 address at 8); anything else is shown as its family.
func SockaddrInet(b []byte) string {
	if len(b) < 8 {
		return ""
	}
	switch binary.LittleEndian.Uint16(b) {
	case 2:
		return net.IP(b[4:8]).String()
	case 23:
		if len(b) >= 24 {
			return net.IP(b[8:24]).String()
		}
	case 0:
		return ""
	}
	return fmt.Sprintf("family-%d", binary.LittleEndian.Uint16(b))
}

// WMIObject is one instance a WMI query returned: its class and the
// properties asked for, as the COM API gave them (strings, numbers,
// booleans, arrays of bytes).
type WMIObject struct {
	Class string
	Props map[string]any
}

// WMIQuery runs one WQL query in a namespace and returns each instance
// with the named properties.
type WMIQuery func(namespace, query string, props []string) ([]WMIObject, error)

// WMISubscription is one line of the "wmi" source: a permanent event
// filter, consumer or binding (the three parts of WMI persistence).
type WMISubscription struct {
	Kind   string         `json:"kind"` // filter, consumer, binding
	Class  string         `json:"class"`
	Name   string         `json:"name,omitempty"`
	Props  map[string]any `json:"properties"`
	Errors []string       `json:"errors,omitempty"`
}

// wmiQueries are the classes of root\subscription that make a permanent
// subscription, with what each says (the consumers' commands and scripts).
var wmiQueries = []struct {
	kind, class string
	props       []string
}{
	{"filter", "__EventFilter", []string{"Name", "Query", "QueryLanguage", "EventNamespace", "CreatorSID"}},
	{"consumer", "__EventConsumer", []string{"Name", "CreatorSID", "CommandLineTemplate", "ExecutablePath", "WorkingDirectory",
		"ScriptingEngine", "ScriptText", "ScriptFileName", "Filename", "Text", "SourceName", "EventID", "InsertionStringTemplates",
		"ToLine", "Subject", "Message", "SMTPServer", "KillTimeout", "RunInteractively"}},
	{"binding", "__FilterToConsumerBinding", []string{"Filter", "Consumer", "CreatorSID", "DeliverSynchronously", "MaintainSecurityContext"}},
}

// WMISubscriptions lists the permanent event subscriptions of
// root\subscription (and of root\default, where older tools put them). A
// query that fails is one line with its error; the rest are listed.
func WMISubscriptions(q WMIQuery) []WMISubscription {
	var out []WMISubscription
	for _, ns := range []string{`root\subscription`, `root\default`} {
		for _, wq := range wmiQueries {
			objs, err := q(ns, "SELECT * FROM "+wq.class, wq.props)
			if err != nil {
				if ns == `root\subscription` {
					out = append(out, WMISubscription{Kind: wq.kind, Class: wq.class, Errors: []string{ns + ": " + err.Error()}})
				}
				continue
			}
			for _, o := range objs {
				s := WMISubscription{Kind: wq.kind, Class: o.Class, Props: map[string]any{"namespace": ns}}
				for k, v := range o.Props {
					if v == nil {
						continue
					}
					if b, ok := v.([]byte); ok && k == "CreatorSID" {
						v = sidString(b)
					}
					s.Props[k] = v
				}
				if n, ok := o.Props["Name"].(string); ok {
					s.Name = n
				}
				out = append(out, s)
			}
		}
	}
	return out
}

// sidString formats a binary SID (S-1-5-21-...).
func sidString(b []byte) string {
	if len(b) < 8 || b[0] != 1 || len(b) < 8+4*int(b[1]) {
		return fmt.Sprintf("%x", b)
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	s := fmt.Sprintf("S-1-%d", auth)
	for i := 0; i < int(b[1]); i++ {
		s += fmt.Sprintf("-%d", binary.LittleEndian.Uint32(b[8+4*i:]))
	}
	return s
}
