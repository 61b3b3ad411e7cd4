package live

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect/hostfile"
)

// Users lists logged-in sessions from utmp and from systemd-logind's
// session files, read directly (gopsutil runs loginctl when utmp is
// missing, and custos never runs the host's programs).
func Users(ctx context.Context, w io.Writer) error {
	out := newLines(w)
	n := 0
	var problems []string
	for _, p := range []string{"/run/utmp", "/var/run/utmp"} {
		b, err := readHost(p, 64<<20)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			problems = append(problems, p+": "+err.Error())
			break
		}
		for _, s := range parseUtmp(b) {
			if err := out.put(s); err != nil {
				return err
			}
			n++
		}
		break
	}
	err := walkHost(ctx, []string{"/run/systemd/sessions/*"}, hostfile.Record, func(e *hostfile.Entry) error {
		name := filepath.Base(e.Path)
		if e.Err != nil {
			problems = append(problems, "/run/systemd/sessions: "+hostfile.ErrText(e.Err))
			return nil
		}
		if e.Kind != hostfile.KindFile || strings.Contains(name, ".") {
			return nil // .ref files are FIFOs
		}
		f, err := e.Open()
		if err != nil {
			problems = append(problems, name+": "+hostfile.ErrText(err))
			return nil
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, 1<<20))
		if err != nil {
			problems = append(problems, name+": "+hostfile.ErrText(err))
			return nil
		}
		if s, ok := parseLogindSession(b); ok {
			n++
			return out.put(s)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(problems) > 0 && n == 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// utmpSize is struct utmp on Linux (x86-64, arm64, and most others).
const utmpSize = 384

// parseUtmp returns the USER_PROCESS records of a utmp file.
func parseUtmp(b []byte) []Session {
	var out []Session
	for ; len(b) >= utmpSize; b = b[utmpSize:] {
		r := b[:utmpSize]
		if binary.LittleEndian.Uint16(r[0:2]) != 7 { // USER_PROCESS
			continue
		}
		s := Session{
			PID:      int(int32(binary.LittleEndian.Uint32(r[4:8]))),
			Terminal: cstr(r[8:40]),
			User:     cstr(r[44:76]),
			Host:     cstr(r[76:332]),
			Source:   "utmp",
		}
		if sec := int32(binary.LittleEndian.Uint32(r[340:344])); sec > 0 {
			s.Started = utc(time.Unix(int64(sec), 0))
		}
		out = append(out, s)
	}
	return out
}

func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// parseLogindSession reads one /run/systemd/sessions/ID file (KEY=value).
func parseLogindSession(b []byte) (Session, bool) {
	kv := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			kv[k] = v
		}
	}
	if kv["USER"] == "" && kv["UID"] == "" {
		return Session{}, false
	}
	s := Session{User: kv["USER"], Terminal: kv["TTY"], Host: kv["REMOTE_HOST"], Source: "logind"}
	if s.User == "" {
		s.User = "uid " + kv["UID"]
	}
	if s.Terminal == "" {
		s.Terminal = kv["SERVICE"]
	}
	if pid, err := strconv.Atoi(kv["LEADER"]); err == nil {
		s.PID = pid
	}
	if us, err := strconv.ParseInt(kv["REALTIME"], 10, 64); err == nil && us > 0 {
		s.Started = utc(time.UnixMicro(us))
	}
	return s, true
}
