//go:build windows

package windows

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf16"

	"golang.org/x/sys/windows/registry"
)

// HostRegistry reads this host's registry, read-only and in the 64-bit
// view (a 32-bit build sees what a 64-bit one does). Paths start with HKLM\,
// HKU\ or HKCU\ (the long HKEY_... names work too).
type HostRegistry struct{}

var (
	_ Registry    = HostRegistry{}
	_ ValueLister = HostRegistry{}
)

var hives = map[string]registry.Key{
	"HKLM": registry.LOCAL_MACHINE, "HKEY_LOCAL_MACHINE": registry.LOCAL_MACHINE,
	"HKU": registry.USERS, "HKEY_USERS": registry.USERS,
	"HKCU": registry.CURRENT_USER, "HKEY_CURRENT_USER": registry.CURRENT_USER,
	"HKCR": registry.CLASSES_ROOT, "HKEY_CLASSES_ROOT": registry.CLASSES_ROOT,
}

// regErr names the key and maps "not found" to fs.ErrNotExist and "access
// denied" to fs.ErrPermission, keeping the Windows error for the message.
func regErr(path, name string, err error) error {
	if err == nil {
		return nil
	}
	where := path
	if name != "" {
		where += `\` + name
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.ERROR_FILE_NOT_FOUND, syscall.ERROR_PATH_NOT_FOUND:
			return fmt.Errorf("%s: %w", where, fs.ErrNotExist)
		case syscall.ERROR_ACCESS_DENIED:
			return fmt.Errorf("%s: %w (%v)", where, fs.ErrPermission, errno)
		}
	}
	return fmt.Errorf("%s: %w", where, err)
}

func openKey(path string) (registry.Key, error) {
	root, rest, _ := strings.Cut(strings.Trim(path, `\`), `\`)
	hive, ok := hives[strings.ToUpper(root)]
	if !ok {
		return 0, fmt.Errorf("%s: unknown registry hive %q", path, root)
	}
	k, err := registry.OpenKey(hive, rest, registry.READ|registry.WOW64_64KEY)
	if err != nil {
		return 0, regErr(path, "", err)
	}
	return k, nil
}

// SubKeys lists the names of the subkeys of a key.
func (HostRegistry) SubKeys(path string) ([]string, error) {
	k, err := openKey(path)
	if err != nil {
		return nil, err
	}
	defer k.Close()
	names, err := k.ReadSubKeyNames(-1)
	if err != nil {
		return names, regErr(path, "", err)
	}
	return names, nil
}

// String reads a REG_SZ or REG_EXPAND_SZ value, the latter expanded with the
// collector's environment.
func (HostRegistry) String(path, name string) (string, error) {
	k, err := openKey(path)
	if err != nil {
		return "", err
	}
	defer k.Close()
	s, typ, err := k.GetStringValue(name)
	if err != nil {
		return "", regErr(path, name, err)
	}
	if typ == registry.EXPAND_SZ {
		if x, err := registry.ExpandString(s); err == nil {
			s = x
		}
	}
	return s, nil
}

// Strings reads a REG_MULTI_SZ value.
func (HostRegistry) Strings(path, name string) ([]string, error) {
	k, err := openKey(path)
	if err != nil {
		return nil, err
	}
	defer k.Close()
	ss, _, err := k.GetStringsValue(name)
	if err != nil {
		return nil, regErr(path, name, err)
	}
	return ss, nil
}

// Values lists every value of a key with its type and data (see Value;
// REG_EXPAND_SZ is returned as stored). A value that cannot be read is
// listed with its name, Type "error" and the error as Data.
func (HostRegistry) Values(path string) ([]Value, error) {
	k, err := openKey(path)
	if err != nil {
		return nil, err
	}
	defer k.Close()
	names, err := k.ReadValueNames(-1)
	if err != nil {
		return nil, regErr(path, "", err)
	}
	sort.Slice(names, func(i, j int) bool { return strings.ToLower(names[i]) < strings.ToLower(names[j]) })
	out := make([]Value, 0, len(names))
	for _, n := range names {
		raw, typ, err := rawValue(k, n)
		if err != nil {
			out = append(out, Value{Name: n, Type: "error", Data: []string{regErr(path, n, err).Error()}})
			continue
		}
		out = append(out, decodeValue(n, typ, raw))
	}
	return out, nil
}

func rawValue(k registry.Key, name string) ([]byte, uint32, error) {
	n, typ, err := k.GetValue(name, nil)
	if err != nil {
		return nil, 0, err
	}
	for range 8 { // the value may grow between the calls
		buf := make([]byte, n)
		m, t, err := k.GetValue(name, buf)
		if err == nil {
			return buf[:m], t, nil
		}
		if !errors.Is(err, registry.ErrShortBuffer) {
			return nil, 0, err
		}
		n, typ = max(m, 2*n, 64), t
	}
	return nil, typ, registry.ErrShortBuffer
}

var regTypes = map[uint32]string{
	registry.NONE: "REG_NONE", registry.SZ: "REG_SZ", registry.EXPAND_SZ: "REG_EXPAND_SZ",
	registry.BINARY: "REG_BINARY", registry.DWORD: "REG_DWORD", registry.DWORD_BIG_ENDIAN: "REG_DWORD_BIG_ENDIAN",
	registry.LINK: "REG_LINK", registry.MULTI_SZ: "REG_MULTI_SZ", registry.RESOURCE_LIST: "REG_RESOURCE_LIST",
	registry.FULL_RESOURCE_DESCRIPTOR:   "REG_FULL_RESOURCE_DESCRIPTOR",
	registry.RESOURCE_REQUIREMENTS_LIST: "REG_RESOURCE_REQUIREMENTS_LIST", registry.QWORD: "REG_QWORD",
}

func decodeValue(name string, typ uint32, b []byte) Value {
	v := Value{Name: name, Type: regTypes[typ]}
	if v.Type == "" {
		v.Type = "REG_" + strconv.FormatUint(uint64(typ), 10)
	}
	switch {
	case typ == registry.SZ || typ == registry.EXPAND_SZ:
		v.Data = []string{utf16z(b)}
	case typ == registry.MULTI_SZ:
		s := utf16s(b)
		for len(s) > 0 && s[len(s)-1] == 0 {
			s = s[:len(s)-1]
		}
		v.Data = []string{}
		if len(s) > 0 {
			v.Data = strings.Split(string(utf16.Decode(s)), "\x00")
		}
	case typ == registry.DWORD && len(b) == 4:
		v.Data = []string{strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b)), 10)}
	case typ == registry.DWORD_BIG_ENDIAN && len(b) == 4:
		v.Data = []string{strconv.FormatUint(uint64(binary.BigEndian.Uint32(b)), 10)}
	case typ == registry.QWORD && len(b) == 8:
		v.Data = []string{strconv.FormatUint(binary.LittleEndian.Uint64(b), 10)}
	default:
		v.Data = []string{hex.EncodeToString(b)}
	}
	return v
}

func utf16s(b []byte) []uint16 {
	s := make([]uint16, len(b)/2)
	for i := range s {
		s[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return s
}

// utf16z decodes a string up to its first NUL (data after it is dropped, as
// Windows does).
func utf16z(b []byte) string {
	s := utf16s(b)
	for i, c := range s {
		if c == 0 {
			s = s[:i]
			break
		}
	}
	return string(utf16.Decode(s))
}
