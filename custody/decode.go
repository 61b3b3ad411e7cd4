package custody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/custos-ir/custos/internal/jsonx"
)

// Manifests and journal records are read as a stream: every field but the
// file records is gathered as raw JSON and decoded strictly (jsonx) in one
// piece; the file records are decoded one at a time into the artifact's
// list, so a manifest of a million files is never held whole.

var errTooLarge = errors.New("too large")

// capReader fails once more than n bytes were read through it.
type capReader struct {
	r io.Reader
	n int64
}

func (c *capReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n -= int64(n)
	if c.n < 0 {
		return n, fmt.Errorf("%w: larger than the bound", errTooLarge)
	}
	return n, err
}

// ParseReader reads a manifest strictly from r (see Parse), holding its
// file records compressed.
func ParseReader(r io.Reader) (*Manifest, error) {
	m, err := decodeManifest(&capReader{r: r, n: maxManifest})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if err := checkManifest(m); err != nil {
		return nil, err
	}
	return m, nil
}

func decodeManifest(r io.Reader) (*Manifest, error) {
	dec := json.NewDecoder(r)
	if err := openObject(dec); err != nil {
		return nil, err
	}
	var m Manifest
	head := newObject()
	var arts []Artifact
	for dec.More() {
		k, err := key(dec, head)
		if err != nil {
			return nil, err
		}
		if k != "artifacts" {
			raw, err := rawValue(dec)
			if err != nil {
				return nil, err
			}
			if k == "format" {
				if err := checkFormat(raw); err != nil {
					return nil, err
				}
			}
			head.add(k, raw)
			continue
		}
		if arts, err = decodeArtifacts(dec); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if err := head.decode(&m); err != nil {
		return nil, err
	}
	m.Artifacts = arts
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON document")
	}
	return &m, nil
}

func checkFormat(raw json.RawMessage) error {
	var f string
	if json.Unmarshal(raw, &f) != nil {
		return fmt.Errorf("format is not a string")
	}
	switch f {
	case Format:
		return nil
	case "custos-manifest/1":
		return errors.New("format custos-manifest/1, written by custos before December 2026: verify it with that custos, or by hand with standard tools (docs/custody.md)")
	}
	return fmt.Errorf("format %q, this custos reads %q", f, Format)
}

func decodeArtifacts(dec *json.Decoder) ([]Artifact, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, nil
	}
	if d, ok := t.(json.Delim); !ok || d != '[' {
		return nil, errors.New("artifacts is not an array")
	}
	var arts []Artifact
	for dec.More() {
		a, err := decodeArtifact(dec)
		if err != nil {
			return nil, fmt.Errorf("artifact %d: %v", len(arts)+1, err)
		}
		arts = append(arts, *a)
	}
	_, err = dec.Token()
	return arts, err
}

// decodeArtifact reads one artifact record from dec.
func decodeArtifact(dec *json.Decoder) (*Artifact, error) {
	if err := openObject(dec); err != nil {
		return nil, err
	}
	var a, files Artifact
	o := newObject()
	for dec.More() {
		k, err := key(dec, o)
		if err != nil {
			return nil, err
		}
		if k == "files" {
			if err := files.decodeFiles(dec); err != nil {
				return nil, err
			}
			continue
		}
		raw, err := rawValue(dec)
		if err != nil {
			return nil, err
		}
		o.add(k, raw)
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if err := o.decode(&a); err != nil {
		return nil, err
	}
	a.Files, a.list = files.Files, files.list
	return &a, nil
}

// ParseArtifact reads one artifact record (a journal object) strictly.
func parseArtifact(r io.Reader) (*Artifact, error) {
	dec := json.NewDecoder(&capReader{r: r, n: maxJournal})
	a, err := decodeArtifact(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON document")
	}
	return a, nil
}

// decodeFiles reads a "files" array from dec into a, strictly (no key
// twice in a record, no unknown field), one record at a time.
func (a *Artifact) decodeFiles(dec *json.Decoder) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t == nil {
		return nil
	}
	if d, ok := t.(json.Delim); !ok || d != '[' {
		return errors.New("files is not an array")
	}
	for dec.More() {
		raw, err := rawValue(dec)
		if err != nil {
			return err
		}
		var f File
		if err := jsonx.Decode(raw, &f, maxRecord); err != nil {
			return fmt.Errorf("file record %d: %v", a.FileCount()+1, err)
		}
		a.AddFile(f)
	}
	_, err = dec.Token()
	return err
}

func openObject(dec *json.Decoder) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return errors.New("not a JSON object")
	}
	return nil
}

func rawValue(dec *json.Decoder) (json.RawMessage, error) {
	var raw json.RawMessage
	err := dec.Decode(&raw)
	return raw, err
}

// object gathers an object's fields as raw JSON, refusing a key twice.
type object struct {
	seen map[string]bool
	b    bytes.Buffer
}

func newObject() *object {
	o := &object{seen: map[string]bool{}}
	o.b.WriteByte('{')
	return o
}

func key(dec *json.Decoder, o *object) (string, error) {
	t, err := dec.Token()
	if err != nil {
		return "", err
	}
	k, ok := t.(string)
	if !ok {
		return "", errors.New("object key is not a string")
	}
	if o.seen[k] {
		return "", fmt.Errorf("%w %q", jsonx.ErrDuplicate, k)
	}
	o.seen[k] = true
	return k, nil
}

func (o *object) add(k string, raw json.RawMessage) {
	if o.b.Len() > 1 {
		o.b.WriteByte(',')
	}
	kb, _ := json.Marshal(k)
	o.b.Write(kb)
	o.b.WriteByte(':')
	o.b.Write(raw)
}

func (o *object) decode(v any) error {
	o.b.WriteByte('}')
	return jsonx.Decode(o.b.Bytes(), v, maxManifest)
}
