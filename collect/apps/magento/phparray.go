package magento

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ParseArray and its parser read the literal PHP array syntax env.php uses,
// without running PHP: anything that is not a literal (a function call, a
// constant, concatenation, an interpolated string) is an error naming its
// line and column, never evaluated.

// Array is a PHP array: keys in order (integer keys as decimal strings).
type Array struct {
	Keys   []string
	Values map[string]any // string, int64, float64, bool, nil, *Array
}

// Get walks nested arrays by key; nil when a step is missing.
func (a *Array) Get(path ...string) any {
	var v any = a
	for _, k := range path {
		arr, ok := v.(*Array)
		if !ok {
			return nil
		}
		v = arr.Values[k]
	}
	return v
}

// String returns a string (or a number as text) at path, "" otherwise.
func (a *Array) String(path ...string) string {
	switch v := a.Get(path...).(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return ""
}

type parser struct {
	src  string
	pos  int
	line int
	col  int
}

func (p *parser) errf(format string, args ...any) error {
	return fmt.Errorf("line %d:%d: %s", p.line, p.col, fmt.Sprintf(format, args...))
}

func (p *parser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *parser) advance(n int) {
	for i := 0; i < n && p.pos < len(p.src); i++ {
		if p.src[p.pos] == '\n' {
			p.line++
			p.col = 1
		} else {
			p.col++
		}
		p.pos++
	}
}

func (p *parser) skip() error {
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			p.advance(1)
		case c == '#' || strings.HasPrefix(p.src[p.pos:], "//"):
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.advance(1)
			}
		case strings.HasPrefix(p.src[p.pos:], "/*"):
			end := strings.Index(p.src[p.pos+2:], "*/")
			if end < 0 {
				return p.errf("unterminated comment")
			}
			p.advance(end + 4)
		default:
			return nil
		}
	}
	return nil
}

func (p *parser) accept(s string) bool {
	if strings.HasPrefix(p.src[p.pos:], s) {
		p.advance(len(s))
		return true
	}
	return false
}

func (p *parser) acceptWord(w string) bool {
	if len(p.src)-p.pos >= len(w) && strings.EqualFold(p.src[p.pos:p.pos+len(w)], w) {
		next := p.pos + len(w)
		if next == len(p.src) || !isIdent(p.src[next]) {
			p.advance(len(w))
			return true
		}
	}
	return false
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// ParseArray parses `<?php return [ ... ];` (or `array( ... )`).
func ParseArray(src []byte) (*Array, error) {
	p := &parser{src: string(src), line: 1, col: 1}
	if err := p.skip(); err != nil {
		return nil, err
	}
	if !p.accept("<?php") {
		return nil, p.errf("does not start with <?php")
	}
	if err := p.skip(); err != nil {
		return nil, err
	}
	if !p.acceptWord("return") {
		return nil, p.errf("want `return [...]`")
	}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	arr, ok := v.(*Array)
	if !ok {
		return nil, p.errf("returns a %T, not an array", v)
	}
	if err := p.skip(); err != nil {
		return nil, err
	}
	p.accept(";")
	if err := p.skip(); err != nil {
		return nil, err
	}
	p.accept("?>")
	if err := p.skip(); err != nil {
		return nil, err
	}
	if p.pos != len(p.src) {
		return nil, p.errf("unexpected text after the array")
	}
	return arr, nil
}

const maxDepth = 64

func (p *parser) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, p.errf("arrays nested too deep")
	}
	if err := p.skip(); err != nil {
		return nil, err
	}
	switch c := p.peek(); {
	case c == '[':
		p.advance(1)
		return p.array("]", depth)
	case p.acceptWord("array"):
		if err := p.skip(); err != nil {
			return nil, err
		}
		if !p.accept("(") {
			return nil, p.errf("want ( after array")
		}
		return p.array(")", depth)
	case c == '\'':
		return p.single()
	case c == '"':
		return p.double()
	case c == '-' || c == '+' || c >= '0' && c <= '9' || c == '.':
		return p.number()
	case p.acceptWord("true"):
		return true, nil
	case p.acceptWord("false"):
		return false, nil
	case p.acceptWord("null"):
		return nil, nil
	case c == 0:
		return nil, p.errf("unexpected end of file")
	}
	return nil, p.errf("not a literal value (only arrays, strings, numbers, true, false and null are read, never evaluated)")
}

func (p *parser) array(end string, depth int) (*Array, error) {
	a := &Array{Values: map[string]any{}}
	next := int64(0)
	for {
		if err := p.skip(); err != nil {
			return nil, err
		}
		if p.accept(end) {
			return a, nil
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if err := p.skip(); err != nil {
			return nil, err
		}
		var key string
		if p.accept("=>") {
			switch k := v.(type) {
			case string:
				key = k
				if n, err := strconv.ParseInt(k, 10, 64); err == nil && strconv.FormatInt(n, 10) == k && n >= next {
					next = n + 1
				}
			case int64:
				key = strconv.FormatInt(k, 10)
				if k >= next {
					next = k + 1
				}
			default:
				return nil, p.errf("array key must be a string or integer")
			}
			if v, err = p.value(depth + 1); err != nil {
				return nil, err
			}
		} else {
			key = strconv.FormatInt(next, 10)
			next++
		}
		if _, dup := a.Values[key]; !dup {
			a.Keys = append(a.Keys, key)
		}
		a.Values[key] = v
		if err := p.skip(); err != nil {
			return nil, err
		}
		if p.accept(",") {
			continue
		}
		if p.accept(end) {
			return a, nil
		}
		return nil, p.errf("want , or %s", end)
	}
}

func (p *parser) single() (string, error) {
	p.advance(1)
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '\'':
			p.advance(1)
			return b.String(), nil
		case c == '\\' && p.pos+1 < len(p.src) && (p.src[p.pos+1] == '\'' || p.src[p.pos+1] == '\\'):
			b.WriteByte(p.src[p.pos+1])
			p.advance(2)
		default:
			b.WriteByte(c)
			p.advance(1)
		}
	}
	return "", p.errf("unterminated string")
}

func (p *parser) double() (string, error) {
	p.advance(1)
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch c {
		case '"':
			p.advance(1)
			return b.String(), nil
		case '$':
			if p.pos+1 < len(p.src) && (isIdent(p.src[p.pos+1]) || p.src[p.pos+1] == '{') {
				return "", p.errf("variable in a double-quoted string: not evaluated")
			}
			b.WriteByte(c)
			p.advance(1)
		case '\\':
			if p.pos+1 >= len(p.src) {
				return "", p.errf("unterminated string")
			}
			e := p.src[p.pos+1]
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'v':
				b.WriteByte('\v')
			case 'f':
				b.WriteByte('\f')
			case 'e':
				b.WriteByte(27)
			case '0':
				b.WriteByte(0)
			case '\\', '"', '$':
				b.WriteByte(e)
			case 'x':
				if p.pos+3 < len(p.src) {
					if v, err := strconv.ParseUint(p.src[p.pos+2:p.pos+4], 16, 8); err == nil {
						b.WriteByte(byte(v))
						p.advance(4)
						continue
					}
				}
				b.WriteString(`\x`)
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
			p.advance(2)
		default:
			b.WriteByte(c)
			p.advance(1)
		}
	}
	return "", p.errf("unterminated string")
}

var numRE = regexp.MustCompile(`^[-+]?(\d[\d_]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?`)

func (p *parser) number() (any, error) {
	m := numRE.FindString(p.src[p.pos:])
	if m == "" {
		return nil, p.errf("bad number")
	}
	p.advance(len(m))
	clean := strings.ReplaceAll(m, "_", "")
	if n, err := strconv.ParseInt(clean, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(clean, 64)
	if err != nil {
		return nil, p.errf("bad number %q", m)
	}
	return f, nil
}
