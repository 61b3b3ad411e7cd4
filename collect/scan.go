package collect

import (
	"bytes"
	"fmt"
	"sort"
	"sync"

	"github.com/custos-ir/custos/collect/ioc"
	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/internal/term"
)

// Counter counts what it finds in plaintext seen chunk by chunk: called
// with the bytes before the chunk and the chunk, it counts what ends in
// the chunk (card-like numbers). It must be safe for concurrent use.
type Counter interface {
	Count(b []byte, from int) int
	// Reach is the longest thing it counts, in bytes: how much of the
	// chunk before it needs.
	Reach() int
}

// contentScan looks at an artifact's plaintext while it is compressed,
// without a second pass: the indicators' text (and card-like numbers) in
// each chunk on the compressing goroutine, parallel, with the end of the
// chunk before it so that nothing at a chunk's edge is missed. What it
// finds is put in order on the writing goroutine and named by the file
// whose data it lies in.
type contentScan struct {
	list  *ioc.List
	text  *ioc.Text
	cards Counter
	keep  int  // bytes of the previous chunk a chunk is scanned with
	cidr  bool // the list has address prefixes: peers of sockets are parsed

	mu       sync.Mutex
	regions  []region // where each file's bytes begin, in order
	hits     map[hitKey]*custody.Hit
	order    []hitKey
	dropped  int
	cardLike int
}

type region struct {
	at    int64
	where string
}

type hitKey struct {
	id    int
	where string
}

// found is one match in a chunk, at its absolute plaintext offset.
type found struct {
	id   int
	at   int64
	line string
}

// maxHitEntries bounds an artifact's distinct (indicator, place) hits;
// past it only the count grows.
const maxHitEntries = 1000

// Peers of sockets are looked for in live records only (live): a log
// holds no socket records, and looking costs a search of every chunk.
func newContentScan(list *ioc.List, cards Counter, live bool) *contentScan {
	if list == nil && cards == nil {
		return nil
	}
	s := &contentScan{list: list, text: list.Text(), cards: cards, hits: map[hitKey]*custody.Hit{}}
	if s.text != nil {
		s.keep = s.text.MaxLen() - 1
	}
	if cards != nil {
		s.keep = max(s.keep, cards.Reach()-1)
	}
	s.cidr = live && list.HasType("cidr")
	return s
}

// region marks that the plaintext from offset at on belongs to where (a
// file's path; "" for the artifact itself).
func (s *contentScan) region(at int64, where string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.regions = append(s.regions, region{at, where})
	s.mu.Unlock()
}

// scanChunk scans one chunk (in, at offset at) with the end of the chunk
// before it (prev); it runs on a compressing goroutine.
func (s *contentScan) scanChunk(prev, in []byte, at int64) (out []found, cards int) {
	if s.text != nil {
		s.text.Scan(in, 0, func(id, st, en int) {
			out = append(out, found{id, at + int64(st), lineAround(in, st, en)})
		})
		if len(prev) > 0 {
			j := append(append(make([]byte, 0, len(prev)+s.keep), prev...), in[:min(len(in), s.keep)]...)
			s.text.Scan(j, len(prev), func(id, st, en int) {
				if st < len(prev) { // begins before the chunk: not seen in it
					out = append(out, found{id, at - int64(len(prev)-st), lineAround(j, st, en)})
				}
			})
		}
	}
	if s.cidr {
		out = append(out, s.peers(in, at)...)
	}
	if s.cards != nil {
		cards = s.cards.Count(in, 0)
		if len(prev) > 0 {
			j := append(append(make([]byte, 0, len(prev)+s.keep), prev...), in[:min(len(in), s.keep)]...)
			cards += s.cards.Count(j, len(prev)) - s.cards.Count(j[len(prev):], 0)
		}
	}
	return out, cards
}

// peers finds the remote addresses of sockets records (JSON lines) that
// fall in an address prefix of the list.
func (s *contentScan) peers(in []byte, at int64) []found {
	var out []found
	const key = `"remote_addr":"`
	for off := 0; ; {
		i := bytes.Index(in[off:], []byte(key))
		if i < 0 {
			return out
		}
		i += off + len(key)
		j := bytes.IndexByte(in[i:], '"')
		if j < 0 {
			return out
		}
		for _, e := range s.list.Addr(string(in[i : i+j])) {
			if e.Type == "cidr" {
				out = append(out, found{s.list.Index(e), at + int64(i), lineAround(in, i, i+j)})
			}
		}
		off = i + j
	}
}

// take puts a chunk's findings in order (on the writing goroutine): each
// named by the region it lies in.
func (s *contentScan) take(fs []found, cards int, end int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cardLike += cards
	for _, f := range fs {
		s.add(f.id, s.whereLocked(f.at), f.line)
	}
	// Regions that ended before this chunk's end are not needed again.
	k := sort.Search(len(s.regions), func(i int) bool { return s.regions[i].at > end })
	if k > 1 {
		s.regions = append(s.regions[:0], s.regions[k-1:]...)
	}
}

func (s *contentScan) whereLocked(at int64) string {
	i := sort.Search(len(s.regions), func(i int) bool { return s.regions[i].at > at })
	if i == 0 {
		return ""
	}
	return s.regions[i-1].where
}

// hash records an indicator seen as the SHA-256 of a file.
func (s *contentScan) hash(path, sum string) {
	if s == nil || s.list == nil {
		return
	}
	for _, e := range s.list.Hash(sum) {
		s.mu.Lock()
		s.add(s.list.Index(e), path, "the file's sha256 is "+sum)
		s.mu.Unlock()
	}
}

func (s *contentScan) add(id int, where, line string) {
	k := hitKey{id, where}
	h := s.hits[k]
	if h == nil {
		if len(s.hits) >= maxHitEntries {
			s.dropped++
			return
		}
		h = &custody.Hit{Indicator: s.list.Entry(id).String(), Where: where}
		s.hits[k] = h
		s.order = append(s.order, k)
	}
	h.Count++
	if len(h.Lines) < 3 && line != "" {
		for _, l := range h.Lines {
			if l == line {
				return
			}
		}
		h.Lines = append(h.Lines, line)
	}
}

// result is what the artifact saw, for its record.
func (s *contentScan) result(name string) ([]custody.Hit, int, string) {
	if s == nil {
		return nil, 0, ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []custody.Hit
	for _, k := range s.order {
		h := *s.hits[k]
		if h.Where == "" {
			h.Where = name
		}
		out = append(out, h)
	}
	warn := ""
	if s.dropped > 0 {
		warn = fmt.Sprintf("%d more indicator hits past the first %d places are not itemised", s.dropped, maxHitEntries)
	}
	return out, s.cardLike, warn
}

// lineAround is the line a match lies in, at most 120 bytes each side,
// made safe to print.
func lineAround(b []byte, st, en int) string {
	from := max(0, st-120)
	if i := bytes.LastIndexByte(b[from:st], '\n'); i >= 0 {
		from += i + 1
	}
	to := min(len(b), en+120)
	if i := bytes.IndexByte(b[en:to], '\n'); i >= 0 {
		to = en + i
	}
	return term.Clean(string(b[from:to]))
}
