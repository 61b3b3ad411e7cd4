package custody

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/custos-ir/custos/storage"
)

// The custody log: one small JSON object per custody event, each naming the
// SHA-256 of the one before, stored as new objects beside the collection
// (log/0001-collected.json, log/0002-signed.json, ...). Nothing is ever
// rewritten, so it works under Object Lock.

// LogFormat is the format of a custody log record.
const LogFormat = "custos-log/1"

// LogDir holds the records inside a collection.
const LogDir = "log/"

// Event names.
const (
	EventCollected     = "collected"
	EventStored        = "stored"
	EventSigned        = "signed"
	EventCountersigned = "countersigned"
	EventFetched       = "fetched"
	EventVerified      = "verified"
)

// Record is one custody event.
type Record struct {
	Format         string            `json:"format"`
	Seq            int               `json:"seq"`
	Event          string            `json:"event"`
	Time           time.Time         `json:"time"`
	CollectionID   string            `json:"collection_id"`
	ManifestSHA256 storage.Digest    `json:"manifest_sha256"`
	Prev           *storage.Digest   `json:"prev_sha256"` // null for the first
	Actor          Actor             `json:"actor"`
	Details        map[string]string `json:"details,omitempty"`
}

// Actor is who made the event and where.
type Actor struct {
	User string `json:"user,omitempty"`
	Host string `json:"host,omitempty"`
	// Key is the fingerprint of the key that signs this record, if any;
	// events on the breached host have none.
	Key string `json:"key,omitempty"`
	// Principal is the signer identity (e-mail) given with --signer.
	Principal string `json:"principal,omitempty"`
}

// Marshal gives a record's stored bytes.
func (r *Record) Marshal() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(r)
	return b.Bytes(), err
}

// ParseRecord reads one record strictly.
func ParseRecord(b []byte) (*Record, error) {
	if len(b) > 1<<20 {
		return nil, fmt.Errorf("log record larger than 1 MiB")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Record
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("not a custody log record: %v", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("not a custody log record: trailing data")
	}
	if r.Format != LogFormat {
		return nil, fmt.Errorf("log record format %q, want %q", r.Format, LogFormat)
	}
	if r.Seq < 1 || !eventRE.MatchString(r.Event) {
		return nil, fmt.Errorf("log record has seq %d, event %q", r.Seq, r.Event)
	}
	return &r, nil
}

var (
	eventRE   = regexp.MustCompile(`^[a-z][a-z-]{0,31}$`)
	logNameRE = regexp.MustCompile(`^log/(\d{4,})-([a-z][a-z-]{0,31})\.json$`)
)

// LogKey is the key of record seq within a collection.
func LogKey(seq int, event string) string { return fmt.Sprintf("%s%04d-%s.json", LogDir, seq, event) }

// NextRecord builds the record that follows prev (nil for the first).
func NextRecord(prev *Record, prevBytes []byte, event string, m *Manifest, manifestSHA storage.Digest, actor Actor, details map[string]string) *Record {
	r := &Record{Format: LogFormat, Seq: 1, Event: event, Time: time.Now().UTC(), CollectionID: m.CollectionID,
		ManifestSHA256: manifestSHA, Actor: actor, Details: details}
	if prev != nil {
		d := storage.Digest(sha256.Sum256(prevBytes))
		r.Seq, r.Prev = prev.Seq+1, &d
	}
	return r
}

// LogEntry is a record as stored.
type LogEntry struct {
	Key    string
	Bytes  []byte
	Record *Record
	Sig    []byte // the record's SSHSIG, when its maker signed it
}

// IsLogObject tells whether a key (relative to the collection) belongs to
// the custody log.
func IsLogObject(rel string) bool {
	if logNameRE.MatchString(rel) {
		return true
	}
	return len(rel) > 4 && rel[len(rel)-4:] == ".sig" && logNameRE.MatchString(rel[:len(rel)-4])
}

// CheckChain verifies a log: sequence numbers from 1 without gaps, each
// record naming its predecessor's SHA-256, the key's number and event
// matching the record, every record about this collection and manifest.
// It returns one problem per break.
func CheckChain(entries []LogEntry, collectionID string, manifestSHA storage.Digest) []Problem {
	var out []Problem
	sort.Slice(entries, func(i, j int) bool { return entries[i].Key < entries[j].Key })
	for i, e := range entries {
		thing := "custody log " + path.Base(e.Key)
		m := logNameRE.FindStringSubmatch(e.Key)
		if m == nil {
			out = append(out, Problem{thing, "not a custody log name"})
			continue
		}
		if e.Record == nil {
			r, err := ParseRecord(e.Bytes)
			if err != nil {
				out = append(out, Problem{thing, err.Error()})
				continue
			}
			e.Record = r
			entries[i].Record = r
		}
		r := e.Record
		seq, _ := strconv.Atoi(m[1])
		if seq != r.Seq || m[2] != r.Event {
			out = append(out, Problem{thing, fmt.Sprintf("record says seq %d event %s", r.Seq, r.Event)})
		}
		if r.Seq != i+1 {
			out = append(out, Problem{thing, fmt.Sprintf("seq %d where %d was expected: a record is missing before it", r.Seq, i+1)})
		}
		if r.CollectionID != collectionID {
			out = append(out, Problem{thing, fmt.Sprintf("is about collection %s", r.CollectionID)})
		}
		if r.ManifestSHA256 != manifestSHA {
			out = append(out, Problem{thing, "names a different manifest (sha256 " + r.ManifestSHA256.String() + ")"})
		}
		switch {
		case i == 0 && r.Prev != nil:
			out = append(out, Problem{thing, "first record names a predecessor: records before it are missing"})
		case i > 0 && r.Prev == nil:
			out = append(out, Problem{thing, "names no predecessor"})
		case i > 0 && *r.Prev != storage.Digest(sha256.Sum256(entries[i-1].Bytes)):
			out = append(out, Problem{thing, "does not chain to " + path.Base(entries[i-1].Key) + ": that record was changed or removed"})
		}
	}
	return out
}

// AppendLog stores rec after the last entry of log, and its signature when
// sign is given (the event's maker holds a key). Neither object replaces
// anything: a key that exists fails with storage.ErrExist.
func AppendLog(ctx context.Context, st storage.Store, prefix string, rec *Record, sign func([]byte) ([]byte, error), opts storage.CreateOptions) error {
	b, err := rec.Marshal()
	if err != nil {
		return err
	}
	var sig []byte
	if sign != nil {
		if sig, err = sign(b); err != nil {
			return fmt.Errorf("sign custody log record: %w", err)
		}
	}
	key := prefix + LogKey(rec.Seq, rec.Event)
	if _, err := storage.PutBytes(ctx, st, key, b, opts); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	if sig != nil {
		if _, err := storage.PutBytes(ctx, st, key+".sig", sig, opts); err != nil {
			return fmt.Errorf("store %s.sig: %w", key, err)
		}
	}
	return nil
}

// Last returns the last entry of a log read by Verify, or nil.
func Last(log []LogEntry) (*Record, []byte) {
	if len(log) == 0 || log[len(log)-1].Record == nil {
		return nil, nil
	}
	e := log[len(log)-1]
	return e.Record, e.Bytes
}
