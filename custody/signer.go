package custody

import (
	"fmt"
	"time"
)

// Signer is a verified signature on a collection.
type Signer struct {
	Role        string    `json:"role"` // "collector" or "countersigner"
	Principals  []string  `json:"principals"`
	Fingerprint string    `json:"fingerprint"`
	KeyType     string    `json:"key_type"`
	Time        time.Time `json:"time,omitzero"` // when it was made, as its log record or statement says
	Note        string    `json:"note,omitempty"`
}

// CountersignSummary is what the second responder reads before signing.
func CountersignSummary(m *Manifest, first *Signer) string {
	var n, partial, failed int
	var size int64
	for _, a := range m.Artifacts {
		switch a.Status {
		case StatusOK:
			n++
		case StatusPartial:
			n++
			partial++
		case StatusFailed:
			failed++
		}
		size += a.Cipher.Size
	}
	who := "nobody (not signed)"
	if first != nil {
		who = first.Fingerprint
		if len(first.Principals) > 0 {
			who = fmt.Sprintf("%v %s", first.Principals, first.Fingerprint)
		}
	}
	return fmt.Sprintf("case %s (severity %s), host %s, collection %s\n"+
		"taken %s to %s UTC by %s (examiner %q)\n"+
		"%d artifacts stored (%d partial), %d failed, %d bytes stored, status %s, %d collection errors\n"+
		"signed first by %s",
		m.Case.ID, orDash(m.Case.Severity), m.Host.Hostname, m.CollectionID,
		m.Started.UTC.Format("2006-01-02 15:04:05"), m.Finished.UTC.Format("15:04:05"), m.Operator.User, m.Case.Examiner,
		n, partial, failed, size, m.Status, len(m.Errors), who)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
