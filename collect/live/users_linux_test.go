package live

import (
	"encoding/binary"
	"testing"
)

func TestParseUtmp(t *testing.T) {
	rec := func(typ uint16, pid int32, line, user, host string, sec int32) []byte {
		r := make([]byte, utmpSize)
		binary.LittleEndian.PutUint16(r[0:], typ)
		binary.LittleEndian.PutUint32(r[4:], uint32(pid))
		copy(r[8:40], line)
		copy(r[44:76], user)
		copy(r[76:332], host)
		binary.LittleEndian.PutUint32(r[340:], uint32(sec))
		return r
	}
	b := append(rec(2, 0, "~", "reboot", "6.1", 1700000000), rec(7, 4242, "pts/0", "mallory", "203.0.113.9", 1764500000)...)
	b = append(b, 1, 2, 3) // a torn last record is ignored
	got := parseUtmp(b)
	if len(got) != 1 || got[0].User != "mallory" || got[0].Terminal != "pts/0" || got[0].Host != "203.0.113.9" || got[0].PID != 4242 || got[0].Started.Unix() != 1764500000 {
		t.Fatalf("%+v", got)
	}
}

func TestParseLogindSession(t *testing.T) {
	s, ok := parseLogindSession([]byte("# This is private data.\nUID=0\nUSER=root\nACTIVE=1\nSTATE=active\nREMOTE=1\nTYPE=tty\nCLASS=user\nSERVICE=sshd\nREMOTE_HOST=198.51.100.7\nLEADER=913\nREALTIME=1764496800123456\n"))
	if !ok || s.User != "root" || s.Host != "198.51.100.7" || s.Terminal != "sshd" || s.PID != 913 || s.Started.Unix() != 1764496800 || s.Source != "logind" {
		t.Fatalf("%+v %v", s, ok)
	}
	if _, ok := parseLogindSession([]byte("garbage")); ok {
		t.Fatal("garbage parsed")
	}
}
