//go:build windows

package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"unsafe"

	ole "github.com/go-ole/go-ole"
	"github.com/go-ole/go-ole/oleutil"
	"golang.org/x/sys/windows"

	cwin "github.com/custos-ir/custos/collect/windows"
)

// Network and host state on Windows, through the APIs Windows' own tools
// use (never ipconfig, route, arp, netsh or net share): IP Helper
// (GetAdaptersAddresses, GetIpForwardTable2, GetIpNetTable2), the DNS
// client's cache (DnsGetCacheDataTable), the firewall's registry stores,
// NetShareEnum, and WMI's COM API for permanent event subscriptions.

func init() {
	sources["network"] = WindowsNetwork
	sources["firewall"] = WindowsFirewall
	sources["shares"] = WindowsShares
	sources["wmi"] = WindowsWMI
}

var (
	modiphlpapi           = windows.NewLazySystemDLL("iphlpapi.dll")
	procGetIpNetTable2    = modiphlpapi.NewProc("GetIpNetTable2")
	procFreeMibTable      = modiphlpapi.NewProc("FreeMibTable")
	moddnsapi             = windows.NewLazySystemDLL("dnsapi.dll")
	procDnsGetCacheData   = moddnsapi.NewProc("DnsGetCacheDataTable")
	procDnsFree           = moddnsapi.NewProc("DnsFree")
	procNetShareEnum      = modnetapi32.NewProc("NetShareEnum")
	procGetIpForwardTable = modiphlpapi.NewProc("GetIpForwardTable2")
)

// NetInterface is an "interface" line of the "network" source.
type NetInterface struct {
	Kind         string   `json:"kind"` // interface
	Index        uint32   `json:"index"`
	Name         string   `json:"name"` // the adapter's GUID name
	FriendlyName string   `json:"friendly_name"`
	Description  string   `json:"description,omitempty"`
	MAC          string   `json:"mac,omitempty"`
	Type         uint32   `json:"type"`
	OperStatus   uint32   `json:"oper_status"` // 1 up, 2 down, ...
	MTU          uint32   `json:"mtu"`
	Addresses    []string `json:"addresses,omitempty"` // address/prefix
	Gateways     []string `json:"gateways,omitempty"`
	DNSServers   []string `json:"dns_servers,omitempty"`
	DNSSuffix    string   `json:"dns_suffix,omitempty"`
}

// WinRoute is a "route" line of the "network" source on Windows.
type WinRoute struct {
	Kind           string `json:"kind"` // route
	Destination    string `json:"destination"`
	NextHop        string `json:"next_hop"`
	InterfaceIndex uint32 `json:"interface_index"`
	Metric         uint32 `json:"metric"`
	Protocol       uint32 `json:"protocol"` // 2 local, 3 netmgmt (static), ...
	Origin         uint32 `json:"origin"`
}

// neighborLine is a "neighbor" line.
type neighborLine struct {
	Kind string `json:"kind"` // neighbor
	cwin.Neighbor
}

// DNSCacheEntry is a "dns-cache" line: a name the resolver holds.
type DNSCacheEntry struct {
	Kind  string `json:"kind"` // dns-cache
	Name  string `json:"name"`
	Type  uint16 `json:"type"` // 1 A, 28 AAAA, 5 CNAME, ...
	Flags uint32 `json:"flags"`
}

// WindowsNetwork writes interfaces with their addresses, the routing
// table, the neighbour cache and the DNS cache. A part the system does not
// give is one "finding" line; the rest is written.
func WindowsNetwork(ctx context.Context, w io.Writer) error {
	out := newLines(w)
	fail := func(what string, err error) error {
		return out.put(findingLine{Finding: what + " not listed", Where: what, Errors: []string{err.Error()}})
	}
	if err := interfaces(out); err != nil {
		if err := fail("GetAdaptersAddresses", err); err != nil {
			return err
		}
	}
	if err := routes(out); err != nil {
		if err := fail("GetIpForwardTable2", err); err != nil {
			return err
		}
	}
	if err := neighbors(out); err != nil {
		if err := fail("GetIpNetTable2", err); err != nil {
			return err
		}
	}
	if err := dnsCache(out); err != nil {
		if err := fail("DnsGetCacheDataTable", err); err != nil {
			return err
		}
	}
	return nil
}

func sockaddr(sa windows.SocketAddress) string {
	if sa.Sockaddr == nil {
		return ""
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(sa.Sockaddr)), max(sa.SockaddrLength, 8))
	return cwin.SockaddrInet(b)
}

func interfaces(out *lineWriter) error {
	size := uint32(15 << 10)
	var buf []byte
	for range 4 {
		buf = make([]byte, size)
		err := windows.GetAdaptersAddresses(windows.AF_UNSPEC, windows.GAA_FLAG_INCLUDE_PREFIX|windows.GAA_FLAG_INCLUDE_GATEWAYS, 0,
			(*windows.IpAdapterAddresses)(unsafe.Pointer(&buf[0])), &size)
		if err == nil {
			break
		}
		if !errors.Is(err, windows.ERROR_BUFFER_OVERFLOW) {
			return err
		}
	}
	for a := (*windows.IpAdapterAddresses)(unsafe.Pointer(&buf[0])); a != nil; a = a.Next {
		ni := NetInterface{Kind: "interface", Index: a.IfIndex, Name: windows.BytePtrToString(a.AdapterName),
			FriendlyName: windows.UTF16PtrToString(a.FriendlyName), Description: windows.UTF16PtrToString(a.Description),
			Type: a.IfType, OperStatus: a.OperStatus, MTU: a.Mtu, DNSSuffix: windows.UTF16PtrToString(a.DnsSuffix)}
		if a.PhysicalAddressLength > 0 && a.PhysicalAddressLength <= 8 {
			ni.MAC = net.HardwareAddr(a.PhysicalAddress[:a.PhysicalAddressLength]).String()
		}
		for u := a.FirstUnicastAddress; u != nil; u = u.Next {
			ni.Addresses = append(ni.Addresses, fmt.Sprintf("%s/%d", sockaddr(u.Address), u.OnLinkPrefixLength))
		}
		for g := a.FirstGatewayAddress; g != nil; g = g.Next {
			ni.Gateways = append(ni.Gateways, sockaddr(g.Address))
		}
		for d := a.FirstDnsServerAddress; d != nil; d = d.Next {
			ni.DNSServers = append(ni.DNSServers, sockaddr(d.Address))
		}
		if err := out.put(ni); err != nil {
			return err
		}
	}
	return nil
}

func routes(out *lineWriter) error {
	if err := procGetIpForwardTable.Find(); err != nil {
		return err
	}
	var t *windows.MibIpForwardTable2
	if err := windows.GetIpForwardTable2(windows.AF_UNSPEC, &t); err != nil {
		return err
	}
	defer windows.FreeMibTable(unsafe.Pointer(t))
	for _, r := range t.Rows() {
		dst := (*[28]byte)(unsafe.Pointer(&r.DestinationPrefix.Prefix))[:]
		hop := (*[28]byte)(unsafe.Pointer(&r.NextHop))[:]
		if err := out.put(WinRoute{Kind: "route", Destination: fmt.Sprintf("%s/%d", cwin.SockaddrInet(dst), r.DestinationPrefix.PrefixLength),
			NextHop: cwin.SockaddrInet(hop), InterfaceIndex: r.InterfaceIndex, Metric: r.Metric, Protocol: r.Protocol, Origin: r.Origin}); err != nil {
			return err
		}
	}
	return nil
}

func neighbors(out *lineWriter) error {
	for _, p := range []*windows.LazyProc{procGetIpNetTable2, procFreeMibTable} {
		if err := p.Find(); err != nil {
			return err
		}
	}
	var t unsafe.Pointer
	if r, _, _ := procGetIpNetTable2.Call(windows.AF_UNSPEC, uintptr(unsafe.Pointer(&t))); r != 0 {
		return windows.Errno(r)
	}
	defer procFreeMibTable.Call(uintptr(t))
	n := *(*uint32)(t)
	b := unsafe.Slice((*byte)(t), 8+int(n)*88)
	ns, err := cwin.ParseIPNetTable2(b)
	if err != nil {
		return err
	}
	for _, nb := range ns {
		if err := out.put(neighborLine{"neighbor", nb}); err != nil {
			return err
		}
	}
	return nil
}

// dnsCacheEntry is DNS_CACHE_ENTRY (undocumented; the layout the DNS
// client has used since Windows 7).
type dnsCacheEntry struct {
	Next  *dnsCacheEntry
	Name  *uint16
	Type  uint16
	Len   uint16
	Flags uint32
}

func dnsCache(out *lineWriter) error {
	for _, p := range []*windows.LazyProc{procDnsGetCacheData, procDnsFree} {
		if err := p.Find(); err != nil {
			return err
		}
	}
	var head *dnsCacheEntry
	r, _, e := procDnsGetCacheData.Call(uintptr(unsafe.Pointer(&head)))
	if r == 0 {
		if errno, ok := e.(windows.Errno); !ok || errno == 0 {
			return errors.New("failed without saying why (not implemented on this system?)")
		}
		return e
	}
	for n, p := 0, head; p != nil && n < 1<<20; n++ {
		err := out.put(DNSCacheEntry{Kind: "dns-cache", Name: windows.UTF16PtrToString(p.Name), Type: p.Type, Flags: p.Flags})
		next := p.Next
		procDnsFree.Call(uintptr(unsafe.Pointer(p.Name)), 1) // DnsFreeFlat
		procDnsFree.Call(uintptr(unsafe.Pointer(p)), 1)
		if err != nil {
			return err
		}
		p = next
	}
	return nil
}

// WindowsFirewall writes each profile's settings and every rule of the
// local and group policy stores (see collect/windows.Firewall).
func WindowsFirewall(ctx context.Context, w io.Writer) error {
	profs, rules, finds := cwin.Firewall(cwin.HostRegistry{})
	out := newLines(w)
	for _, p := range profs {
		if err := out.put(struct {
			Kind string `json:"kind"`
			cwin.FirewallProfile
		}{"profile", p}); err != nil {
			return err
		}
	}
	for _, r := range rules {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := out.put(struct {
			Kind string `json:"kind"`
			cwin.FirewallRule
		}{"rule", r}); err != nil {
			return err
		}
	}
	return putFindings(out, finds)
}

// shareInfo2 is SHARE_INFO_2.
type shareInfo2 struct {
	Name        *uint16
	Type        uint32
	Remark      *uint16
	Permissions uint32
	MaxUses     int32
	CurrentUses uint32
	Path        *uint16
	Passwd      *uint16
}

var shareTypes = map[uint32]string{0: "disk", 1: "print", 2: "device", 3: "ipc"}

// WindowsShares lists the shares the server service has (NetShareEnum,
// level 2) joined with those its registry key holds.
func WindowsShares(ctx context.Context, w io.Writer) error {
	var live []cwin.Share
	var resume uint32
	lerr := netEnum(procNetShareEnum, func(buf **byte, read, total *uint32) uintptr {
		r, _, _ := procNetShareEnum.Call(0, 2, uintptr(unsafe.Pointer(buf)), netMaxPreferred,
			uintptr(unsafe.Pointer(read)), uintptr(unsafe.Pointer(total)), uintptr(unsafe.Pointer(&resume)))
		return r
	}, func(buf *byte, n uint32) {
		for _, si := range unsafe.Slice((*shareInfo2)(unsafe.Pointer(buf)), n) {
			t := si.Type &^ 0xC0000000 // STYPE_SPECIAL, STYPE_TEMPORARY
			s := cwin.Share{Name: windows.UTF16PtrToString(si.Name), Path: windows.UTF16PtrToString(si.Path),
				Remark: windows.UTF16PtrToString(si.Remark), Type: shareTypes[t], CurrentUses: si.CurrentUses, MaxUses: si.MaxUses}
			if si.Type&0x80000000 != 0 {
				s.Type += " (special)"
			}
			live = append(live, s)
		}
	})
	reg, finds := cwin.RegistryShares(cwin.HostRegistry{})
	out := newLines(w)
	for _, s := range cwin.MergeShares(live, reg) {
		if err := out.put(s); err != nil {
			return err
		}
	}
	if lerr != nil {
		if err := out.put(findingLine{Finding: "live shares not listed", Where: "NetShareEnum", Errors: []string{lerr.Error()}}); err != nil {
			return err
		}
	}
	return putFindings(out, finds)
}

// WindowsWMI lists permanent WMI event subscriptions through WMI's own
// COM API (SWbemLocator, ExecQuery), with go-ole, without cgo.
func WindowsWMI(ctx context.Context, w io.Writer) error {
	subs := cwin.WMISubscriptions(wmiQuery)
	out := newLines(w)
	for _, s := range subs {
		if err := out.put(s); err != nil {
			return err
		}
	}
	return nil
}

func wmiQuery(namespace, query string, props []string) (objs []cwin.WMIObject, err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := ole.CoInitializeEx(0, ole.COINIT_MULTITHREADED); err != nil {
		var oe *ole.OleError
		if !errors.As(err, &oe) || (oe.Code() != 1 && oe.Code() != 0x80010106) { // S_FALSE, RPC_E_CHANGED_MODE: already initialized
			return nil, fmt.Errorf("CoInitializeEx: %w", err)
		}
	} else {
		defer ole.CoUninitialize()
	}
	defer func() {
		if r := recover(); r != nil { // a broken COM server must not take the collection down
			err = fmt.Errorf("WMI: %v", r)
		}
	}()
	unk, err := oleutil.CreateObject("WbemScripting.SWbemLocator")
	if err != nil {
		return nil, fmt.Errorf("SWbemLocator: %w", err)
	}
	defer unk.Release()
	loc, err := unk.QueryInterface(ole.IID_IDispatch)
	if err != nil {
		return nil, err
	}
	defer loc.Release()
	svcV, err := oleutil.CallMethod(loc, "ConnectServer", ".", namespace)
	if err != nil {
		return nil, fmt.Errorf("ConnectServer(%s): %w", namespace, err)
	}
	svc := svcV.ToIDispatch()
	defer svc.Release()
	resV, err := oleutil.CallMethod(svc, "ExecQuery", query)
	if err != nil {
		return nil, fmt.Errorf("ExecQuery(%s): %w", query, err)
	}
	res := resV.ToIDispatch()
	defer res.Release()
	err = oleutil.ForEach(res, func(v *ole.VARIANT) error {
		item := v.ToIDispatch()
		defer item.Release()
		o := cwin.WMIObject{Props: map[string]any{}}
		if p, err := oleutil.GetProperty(item, "Path_"); err == nil {
			path := p.ToIDispatch()
			if c, err := oleutil.GetProperty(path, "Class"); err == nil {
				o.Class = c.ToString()
			}
			path.Release()
		}
		for _, name := range props {
			pv, err := oleutil.GetProperty(item, name)
			if err != nil {
				continue // not a property of this class
			}
			o.Props[name] = pv.Value()
			pv.Clear()
		}
		objs = append(objs, o)
		return nil
	})
	return objs, err
}
