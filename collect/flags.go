package collect

import (
	"fmt"
	"strings"
)

// flagScanner looks at each line as the file streams past and keeps the
// lines that set one of keys to a non-empty value (key = value, key value).
type flagScanner struct {
	keys []string
	line []byte
	n    int
	hits []string
}

// flagMax is the largest file whose lines are scanned for flags.
const flagMax = 4 << 20

func (f *flagScanner) Write(p []byte) (int, error) {
	for _, c := range p {
		if c == '\n' {
			f.check()
			continue
		}
		if len(f.line) < 4096 {
			f.line = append(f.line, c)
		}
	}
	return len(p), nil
}

func (f *flagScanner) check() {
	f.n++
	l := strings.TrimSpace(string(f.line))
	f.line = f.line[:0]
	if l == "" || l[0] == ';' || l[0] == '#' {
		return
	}
	for _, k := range f.keys {
		rest, ok := strings.CutPrefix(l, k)
		if !ok {
			continue
		}
		rest = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(rest), "="))
		rest = strings.Trim(rest, `"'`)
		if rest != "" && !strings.EqualFold(rest, "none") && len(f.hits) < 20 {
			f.hits = append(f.hits, fmt.Sprintf("line %d: %s", f.n, l))
		}
	}
}

func (f *flagScanner) finish() []string {
	if len(f.line) > 0 {
		f.check()
	}
	return f.hits
}
