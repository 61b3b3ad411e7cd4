package custody

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/custos-ir/custos/internal/jsonx"
)

// SSHSIG namespaces, and the statement's format.
const (
	NamespaceManifest    = "custos-manifest"
	NamespaceCountersign = "custos-countersign"
	NamespaceLog         = "custos-log"
	CountersignFormat    = "custos-countersign/1"
)

// Countersignature is what the second responder signs: that they reviewed
// this manifest, signed first by this signature.
type Countersignature struct {
	Format          string    `json:"format"`
	CollectionID    string    `json:"collection_id"`
	ManifestSHA256  Digest    `json:"manifest_sha256"`
	SignatureSHA256 Digest    `json:"signature_sha256"`
	FirstSigner     string    `json:"first_signer_key"`
	Signer          string    `json:"signer"`
	SignerKey       string    `json:"signer_key"`
	Time            time.Time `json:"time"`
	Note            string    `json:"note,omitempty"`
	// LogHead is the SHA-256 of the last custody log record when the
	// statement was made, so records cannot later be dropped from the end.
	LogHead *Digest `json:"log_head_sha256,omitempty"`
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
	var c Countersignature
	if err := jsonx.Decode(b, &c, maxSmall); err != nil {
		return nil, fmt.Errorf("not a countersignature statement: %v", err)
	}
	if c.Format != CountersignFormat {
		return nil, fmt.Errorf("countersignature format %q, want %q", c.Format, CountersignFormat)
	}
	if c.ManifestSHA256.IsZero() || c.SignatureSHA256.IsZero() || c.SignerKey == "" {
		return nil, fmt.Errorf("countersignature statement lacks manifest_sha256, signature_sha256 or signer_key")
	}
	return &c, nil
}
