package live

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/custos-ir/custos/collect/hostfile"
)

// FirewallItem is one line of the "firewall" source: an nftables table,
// chain or rule read from the kernel over netlink, a legacy iptables
// table name, or a saved rules file.
type FirewallItem struct {
	Kind   string   `json:"kind"` // nft-table, nft-chain, nft-rule, iptables-tables, saved-rules
	Family string   `json:"family,omitempty"`
	Table  string   `json:"table,omitempty"`
	Chain  string   `json:"chain,omitempty"`
	Handle uint64   `json:"handle,omitempty"`
	Hook   *uint32  `json:"hook,omitempty"`
	Prio   *int32   `json:"priority,omitempty"`
	Policy *uint32  `json:"policy,omitempty"` // 0 drop, 1 accept
	Type   string   `json:"type,omitempty"`
	Exprs  []string `json:"expressions,omitempty"` // name:hex of its attributes, in order
	Names  []string `json:"names,omitempty"`
	Path   string   `json:"path,omitempty"`
	Lines  []string `json:"lines,omitempty"`
	Error  string   `json:"error,omitempty"`
}

// savedRules are where firewall tools keep the rules they load at boot.
var savedRules = []string{"/etc/nftables.conf", "/etc/nftables/*.nft", "/etc/sysconfig/nftables.conf", "/etc/iptables/rules.v4",
	"/etc/iptables/rules.v6", "/etc/sysconfig/iptables", "/etc/sysconfig/ip6tables", "/etc/ufw/*.rules", "/etc/firewalld/zones/*.xml",
	"/etc/firewalld/direct.xml", "/etc/csf/csf.conf", "/etc/csf/csf.allow", "/etc/csf/csf.deny"}

// Firewall writes the nftables ruleset as the kernel holds it (netlink:
// what is loaded, not what a file says), the legacy iptables tables in use,
// and the saved rules files. A netlink request the kernel refuses is one
// line with its error.
func Firewall(ctx context.Context, w io.Writer) error {
	out := newLines(w)
	items, err := nftables()
	for _, it := range items {
		if err := out.put(it); err != nil {
			return err
		}
	}
	if err != nil {
		if err := out.put(FirewallItem{Kind: "nft-table", Error: "netlink: " + err.Error()}); err != nil {
			return err
		}
	}
	for _, f := range []string{"ip_tables_names", "ip6_tables_names", "arp_tables_names"} {
		if b, err := os.ReadFile(filepath.Join(procRoot, "net", f)); err == nil && len(b) > 0 {
			if err := out.put(FirewallItem{Kind: "iptables-tables", Family: strings.TrimSuffix(f, "_tables_names"), Names: strings.Fields(string(b))}); err != nil {
				return err
			}
		}
	}
	return walkHost(ctx, savedRules, hostfile.Follow, func(e *hostfile.Entry) error {
		if e.Kind == hostfile.KindDir && e.Err == nil || e.Link != nil {
			return nil
		}
		ff, b := readEntry(e, 4<<20)
		it := FirewallItem{Kind: "saved-rules", Path: ff.Path, Error: ff.Error}
		for _, l := range strings.Split(string(b), "\n") {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
				it.Lines = append(it.Lines, t)
			}
		}
		return out.put(it)
	})
}

// nftables constants (linux/netfilter/nf_tables.h, nfnetlink.h).
const (
	nfnlSubsysNFTables = 10
	nftMsgGetTable     = 1
	nftMsgGetChain     = 4
	nftMsgGetRule      = 7
)

var nfFamilies = map[uint8]string{1: "inet", 2: "ip", 3: "arp", 5: "netdev", 7: "bridge", 10: "ip6"}

// nftables dumps tables, chains and rules of every family.
func nftables() ([]FirewallItem, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, err
	}
	var out []FirewallItem
	for _, msg := range []uint16{nftMsgGetTable, nftMsgGetChain, nftMsgGetRule} {
		err := nlDump(fd, nfnlSubsysNFTables<<8|msg, func(fam uint8, attrs []byte) {
			out = append(out, nftItem(msg, fam, attrs))
		})
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// nlDump sends one dump request and calls fn with each answer's family and
// attributes, until NLMSG_DONE.
func nlDump(fd int, typ uint16, fn func(fam uint8, attrs []byte)) error {
	req := make([]byte, 20)
	binary.NativeEndian.PutUint32(req[0:], 20)
	binary.NativeEndian.PutUint16(req[4:], typ)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(req[8:], 1)
	req[16] = unix.AF_UNSPEC // nfgenmsg: family, version, res_id
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 1<<16)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return err
		}
		b := buf[:n]
		for len(b) >= 16 {
			l := int(binary.NativeEndian.Uint32(b))
			t := binary.NativeEndian.Uint16(b[4:])
			if l < 16 || l > len(b) {
				return fmt.Errorf("netlink: bad message length %d", l)
			}
			switch t {
			case unix.NLMSG_DONE:
				return nil
			case unix.NLMSG_ERROR:
				if l >= 20 {
					if code := int32(binary.NativeEndian.Uint32(b[16:])); code != 0 {
						return unix.Errno(-code)
					}
				}
				return nil
			}
			if l >= 20 {
				fn(b[16], b[20:l])
			}
			b = b[(l+3)&^3:]
			if len(b) > 0 && len(b) < 16 {
				break
			}
		}
	}
}

// nlAttrs splits netlink attributes: type → payload (the nested flag off).
func nlAttrs(b []byte, fn func(t uint16, v []byte)) {
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b))
		if l < 4 || l > len(b) {
			return
		}
		fn(binary.NativeEndian.Uint16(b[2:])&0x3fff, b[4:l])
		b = b[min((l+3)&^3, len(b)):]
	}
}

func nlStr(v []byte) string { return strings.TrimRight(string(v), "\x00") }

func nftItem(msg uint16, fam uint8, attrs []byte) FirewallItem {
	it := FirewallItem{Family: nfFamilies[fam]}
	if it.Family == "" {
		it.Family = fmt.Sprint(fam)
	}
	switch msg {
	case nftMsgGetTable:
		it.Kind = "nft-table"
		nlAttrs(attrs, func(t uint16, v []byte) {
			if t == 1 {
				it.Table = nlStr(v)
			}
		})
	case nftMsgGetChain:
		it.Kind = "nft-chain"
		nlAttrs(attrs, func(t uint16, v []byte) {
			switch t {
			case 1:
				it.Table = nlStr(v)
			case 3:
				it.Chain = nlStr(v)
			case 2:
				if len(v) == 8 {
					it.Handle = binary.BigEndian.Uint64(v)
				}
			case 4: // hook: nested hooknum(1), priority(2), both big-endian
				nlAttrs(v, func(t uint16, v []byte) {
					if len(v) == 4 {
						x := binary.BigEndian.Uint32(v)
						if t == 1 {
							it.Hook = &x
						} else if t == 2 {
							p := int32(x)
							it.Prio = &p
						}
					}
				})
			case 5:
				if len(v) == 4 {
					x := binary.BigEndian.Uint32(v)
					it.Policy = &x
				}
			case 7:
				it.Type = nlStr(v)
			}
		})
	case nftMsgGetRule:
		it.Kind = "nft-rule"
		nlAttrs(attrs, func(t uint16, v []byte) {
			switch t {
			case 1:
				it.Table = nlStr(v)
			case 2:
				it.Chain = nlStr(v)
			case 3:
				if len(v) == 8 {
					it.Handle = binary.BigEndian.Uint64(v)
				}
			case 4: // expressions: list of elements, each name(1) and data(2)
				nlAttrs(v, func(_ uint16, el []byte) {
					name, data := "", ""
					nlAttrs(el, func(t uint16, v []byte) {
						if t == 1 {
							name = nlStr(v)
						} else if t == 2 {
							data = hex.EncodeToString(v)
						}
					})
					it.Exprs = append(it.Exprs, name+":"+data)
				})
			}
		})
	}
	return it
}
