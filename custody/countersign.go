package custody

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/custos-ir/custos/storage"
)

// Signature objects in a collection.
const (
	StartedName          = "started.json"         // written first: the collection began
	SignatureName        = "manifest.json.sig"    // collector's SSHSIG over manifest.json
	CountersignName      = "countersign.json"     // second responder's statement
	CountersignSigName   = "countersign.json.sig" // SSHSIG over countersign.json
	NamespaceManifest    = "custos-manifest"
	NamespaceCountersign = "custos-countersign"
	NamespaceLog         = "custos-log"
	CountersignFormat    = "custos-countersign/1"
)

// Countersignature is what the second responder signs: that they reviewed
// this manifest, signed first by this signature.
type Countersignature struct {
	Format          string         `json:"format"`
	CollectionID    string         `json:"collection_id"`
	ManifestSHA256  storage.Digest `json:"manifest_sha256"`
	SignatureSHA256 storage.Digest `json:"signature_sha256"`
	FirstSigner     string         `json:"first_signer_key"`
	Signer          string         `json:"signer"`
	SignerKey       string         `json:"signer_key"`
	Time            time.Time      `json:"time"`
	Note            string         `json:"note,omitempty"`
	// LogHead is the SHA-256 of the last custody log record when the
	// statement was made, so records cannot later be dropped from the end.
	LogHead *storage.Digest `json:"log_head_sha256,omitempty"`
}

// Marshal gives the statement's bytes.
func (c *Countersignature) Marshal() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(c)
	return b.Bytes(), err
}

// ParseCountersignature reads a statement strictly.
func ParseCountersignature(b []byte) (*Countersignature, error) {
	if len(b) > 64<<10 {
		return nil, fmt.Errorf("countersignature statement larger than 64 KiB")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c Countersignature
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("not a countersignature statement: %v", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("not a countersignature statement: trailing data")
	}
	if c.Format != CountersignFormat {
		return nil, fmt.Errorf("countersignature format %q, want %q", c.Format, CountersignFormat)
	}
	if c.ManifestSHA256.IsZero() || c.SignatureSHA256.IsZero() || c.SignerKey == "" {
		return nil, fmt.Errorf("countersignature statement lacks manifest_sha256, signature_sha256 or signer_key")
	}
	return &c, nil
}
