package collect

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custos-ir/custos/collect/cardscan"
	"github.com/custos-ir/custos/collect/ioc"
	"github.com/custos-ir/custos/custody"
)

// Indicators are seen while collecting, in one pass: a string in a log, a
// string cut by the edge of a compression chunk, a file's SHA-256, an
// address in a prefix among a live artifact's peers; each named where.
func TestIndicatorHits(t *testing.T) {
	dir := t.TempDir()
	implant := []byte("#!/bin/sh\n# nothing to see\n")
	sum := sha256.Sum256(implant)
	os.WriteFile(filepath.Join(dir, "implant.sh"), implant, 0o755)
	os.WriteFile(filepath.Join(dir, "access.log"), []byte("1.2.3.4 GET /\n203.0.113.7 POST /admin/eval(base64_decode(x)) 200\n9.9.9.9 GET /\n"), 0o644)
	// A string that straddles the 2 MiB chunk edge of a big log.
	big := bytes.Repeat([]byte("GET /checkout 200\n"), (frameSize+100)/18)
	at := frameSize - len("tail: ") - 5
	copy(big[at:], "tail: EVIL-CDN.example.com loaded\n")
	os.WriteFile(filepath.Join(dir, "big.log"), big, 0o644)
	list, err := ioc.Parse(strings.NewReader("# case 42\n" + hex.EncodeToString(sum[:]) + "\n203.0.113.7\nevil-cdn.example.com\nstring:eval(base64_decode(\ncidr:198.51.100.0/24\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, st, id := newPipeline(t)
	p.Indicators = list
	files := &Files{Name: "logs", Patterns: []string{dir}}
	peers := &Stream{Desc: Description{Name: "sockets", Kind: "live", Format: "jsonl"},
		Fn: func(ctx context.Context, w io.Writer) error {
			_, err := io.WriteString(w, `{"family":"inet","type":"tcp","local_addr":"10.0.0.5","local_port":22,"remote_addr":"198.51.100.23","remote_port":51000,"pid":4711}`+"\n")
			return err
		}}
	m := runCollection(t, p, []Planned{{Source: files, Desc: files.Describe()}, {Source: peers, Desc: peers.Describe()}})
	got := map[string]custody.Hit{}
	for _, a := range m.Artifacts {
		for _, h := range a.Hits {
			got[h.Indicator+" @ "+strings.TrimPrefix(h.Where, dir+"/")] = h
		}
	}
	for _, want := range []string{
		"sha256:" + hex.EncodeToString(sum[:]) + " @ implant.sh",
		"ip:203.0.113.7 @ access.log",
		"string:eval(base64_decode( @ access.log",
		"domain:evil-cdn.example.com @ big.log",
		"cidr:198.51.100.0/24 @ sockets",
	} {
		h, ok := got[want]
		if !ok {
			t.Errorf("no hit %q; hits: %v", want, got)
			continue
		}
		if h.Count != 1 || len(h.Lines) != 1 {
			t.Errorf("%s: %+v", want, h)
		}
	}
	if h := got["domain:evil-cdn.example.com @ big.log"]; len(h.Lines) == 0 || !strings.Contains(h.Lines[0], "tail: EVIL-CDN.example.com loaded") {
		t.Errorf("the line across the chunk edge: %+v", h)
	}
	if len(m.Hits) != 5 || m.Hits[0].Count != 1 {
		t.Errorf("summary %+v", m.Hits)
	}
	if problems := verifyLocal(t, st, m, id); problems != "" {
		t.Fatal(problems)
	}
}

// An indicator cut by the edge between two compression chunks is seen
// once, and one inside a chunk once: at every offset around the edge.
func TestIndicatorAcrossChunkEdge(t *testing.T) {
	list, err := ioc.Parse(strings.NewReader("evil-cdn.example.com\n"))
	if err != nil {
		t.Fatal(err)
	}
	const pat = "evil-cdn.example.com"
	for _, shift := range []int{-len(pat) - 1, -len(pat), -10, -1, 0, 1} {
		p, _, _ := newPipeline(t)
		p.Indicators = list
		body := bytes.Repeat([]byte("x"), 2*frameSize+1000)
		at := frameSize + shift
		copy(body[at:], " "+pat+" ")
		copy(body[100:], " "+pat+" ")
		src := &Stream{Desc: Description{Name: "blob", Kind: "live", Format: "txt"},
			Fn: func(ctx context.Context, w io.Writer) error { _, err := w.Write(body); return err }}
		m := runCollection(t, p, []Planned{{Source: src, Desc: src.Describe()}})
		if h := m.Artifacts[0].Hits; len(h) != 1 || h[0].Count != 2 {
			t.Errorf("shift %d: hits %+v", shift, h)
		}
	}
}

// Card-like numbers are counted once each wherever they lie: inside a
// chunk, across the edge between two (at every offset around it), in
// groups; numbers that are not card numbers are not counted.
func TestCardLikeCounted(t *testing.T) {
	const card = "4111 1111 1111 1111"
	for _, d := range []int{-40, -21, -20, -19, -18, -10, -2, -1, 0, 1, 5} {
		big := bytes.Repeat([]byte("GET /checkout 200\n"), (frameSize+100)/18)
		copy(big[frameSize+d:], " "+card+" ")
		copy(big[100:], "order 4111111111111111;")                                     // plain, inside the first chunk
		copy(big[200:], "id 4111111111111112 and 1700000000123 and x4111111111111111") // Luhn fails, no brand, glued to a word
		p, _, _ := newPipeline(t)
		p.Cards = cardscan.Chunks{}
		src := &Stream{Desc: Description{Name: "log", Kind: "live", Format: "txt"},
			Fn: func(ctx context.Context, w io.Writer) error {
				_, err := w.Write(big)
				return err
			}}
		m := runCollection(t, p, []Planned{{Source: src, Desc: src.Describe()}})
		a := m.Artifacts[0]
		if a.CardLike != 2 {
			t.Errorf("edge %+d: %d card-like numbers, want 2", d, a.CardLike)
		}
		if !strings.Contains(strings.Join(a.Warnings, "\n"), "FLAG card data: 2 card-like numbers") {
			t.Errorf("edge %+d: not flagged: %q", d, a.Warnings)
		}
	}
}
