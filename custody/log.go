package custody

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/custos-ir/custos/custody/sshsig"
	"github.com/custos-ir/custos/internal/jsonx"
)

// The custody log: one small JSON object per custody event, each naming the
// SHA-256 of the one before, stored as new objects beside the collection
// (log/0001-collected.json, log/0002-signed.json, ...). Nothing is ever
// rewritten, so it works under Object Lock. A record made by someone who
// holds a key is signed (log/NNNN-event.json.sig); a record that names a
// key must carry that key's signature.

// LogFormat is the format of a custody log record.
const LogFormat = "custos-log/1"

// Event names, and who may make each.
const (
	EventCollected     = "collected"     // by the host, first and only then; unsigned
	EventStored        = "stored"        // by ingest on the responder's side; unsigned
	EventSigned        = "signed"        // by the collector, signed with the key of manifest.json.sig
	EventCountersigned = "countersigned" // by the second responder, signed with the statement's key
	EventFetched       = "fetched"       // by fetch, in the copy; unsigned
	EventAnnotated     = "annotated"     // a response action, by whoever took it; signed
)

// events says which events a log may hold and whether each must be signed.
var events = map[string]bool{EventCollected: false, EventStored: false, EventSigned: true, EventCountersigned: true,
	EventFetched: false, EventAnnotated: true}

// Record is one custody event.
type Record struct {
	Format         string            `json:"format"`
	Seq            int               `json:"seq"`
	Event          string            `json:"event"`
	Time           time.Time         `json:"time"`
	CollectionID   string            `json:"collection_id"`
	ManifestSHA256 Digest            `json:"manifest_sha256"`
	Prev           *Digest           `json:"prev_sha256"` // null for the first
	Actor          Actor             `json:"actor"`
	Details        map[string]string `json:"details,omitempty"`
}

// Actor is who made the event and where, as they said.
type Actor struct {
	User string `json:"user,omitempty"`
	Host string `json:"host,omitempty"`
	// Key is the fingerprint of the key that signs this record; events on
	// the breached host and by ingest have none.
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
	var r Record
	if err := jsonx.Decode(b, &r, maxRecord); err != nil {
		return nil, fmt.Errorf("not a custody log record: %v", err)
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

// LogEntry is a record as stored.
type LogEntry struct {
	Key    string
	Bytes  []byte
	Record *Record
	Sig    []byte // the record's SSHSIG, when its maker signed it
	// Signed is true when Sig verifies with the key the record names.
	Signed bool
	// Principals are who allowed_signers says holds that key (response
	// actions, checked when verify is given allowed signers).
	Principals []string
	key        ssh.PublicKey
}

// isLogObject tells whether a key (relative to the collection) belongs to
// the custody log.
func isLogObject(rel string) bool {
	if logNameRE.MatchString(rel) {
		return true
	}
	return len(rel) > 4 && rel[len(rel)-4:] == ".sig" && logNameRE.MatchString(rel[:len(rel)-4])
}

// checkChain verifies a log: sequence numbers from 1 without gaps, each
// record naming its predecessor's SHA-256, the key's number and event
// matching the record, every record about this collection and manifest,
// only known events, and every record that names a key signed by it. It
// returns one problem per break.
func checkChain(entries []LogEntry, collectionID string, manifestSHA Digest) []Problem {
	var out []Problem
	sort.Slice(entries, func(i, j int) bool { return entries[i].Key < entries[j].Key })
	for i := range entries {
		e := &entries[i]
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
		case i > 0 && *r.Prev != sha256Sum(entries[i-1].Bytes):
			out = append(out, Problem{thing, "does not chain to " + path.Base(entries[i-1].Key) + ": that record was changed or removed"})
		}
		out = append(out, checkRecord(e, i)...)
	}
	return out
}

// checkRecord holds a record to the rules of its event: known, in its
// place, and signed by the key it names when it names one.
func checkRecord(e *LogEntry, i int) []Problem {
	var out []Problem
	r := e.Record
	thing := "custody log " + path.Base(e.Key)
	mustSign, known := events[r.Event]
	switch {
	case !known:
		out = append(out, Problem{thing, fmt.Sprintf("event %q is not one custos makes", r.Event)})
	case r.Event == EventCollected && i != 0:
		out = append(out, Problem{thing, "a second collected record: only the host's first record is one"})
	case i == 0 && r.Event != EventCollected:
		out = append(out, Problem{thing, "the first record is not the host's collected record"})
	case mustSign && r.Actor.Key == "":
		out = append(out, Problem{thing, fmt.Sprintf("a %s record names no key", r.Event)})
	}
	if e.Sig != nil {
		s, err := sshsig.Verify(e.Sig, bytes.NewReader(e.Bytes), NamespaceLog)
		switch {
		case err != nil:
			out = append(out, Problem{thing + ".sig", "does not verify: " + err.Error()})
		case sshsig.Fingerprint(s.PublicKey) != r.Actor.Key:
			out = append(out, Problem{thing + ".sig", fmt.Sprintf("signed by %s, the record names %s", sshsig.Fingerprint(s.PublicKey), r.Actor.Key)})
		default:
			e.Signed, e.key = true, s.PublicKey
		}
	} else if r.Actor.Key != "" {
		out = append(out, Problem{thing, fmt.Sprintf("names key %s but carries no signature (%s.sig): a record that claims a signer must be signed", r.Actor.Key, path.Base(e.Key))})
	}
	return out
}

// Append adds a record of event to a verified collection's custody log,
// after its last record, signed with s when the event's maker holds a key
// (s nil: unsigned; its Key is then left empty). Nothing is replaced: a
// taken key fails with ErrExist.
func Append(ctx context.Context, objs Objects, r *Report, event string, who Actor, details map[string]string, s ssh.Signer) (*Record, error) {
	if r.Manifest == nil {
		return nil, fmt.Errorf("%s: no manifest to record %s against", r.Prefix, event)
	}
	rec := &Record{Format: LogFormat, Seq: 1, Event: event, Time: time.Now().UTC(), CollectionID: r.Manifest.CollectionID,
		ManifestSHA256: r.ManifestSHA256, Actor: who, Details: details}
	rec.Actor.Key = ""
	if s != nil {
		rec.Actor.Key = sshsig.Fingerprint(s.PublicKey())
	}
	if n := len(r.Log); n > 0 {
		d := sha256Sum(r.Log[n-1].Bytes)
		rec.Seq, rec.Prev = r.Log[n-1].Record.Seq+1, &d
	}
	b, err := rec.Marshal()
	if err != nil {
		return nil, err
	}
	var sig []byte
	if s != nil {
		if sig, err = sshsig.Sign(s, bytes.NewReader(b), NamespaceLog); err != nil {
			return nil, fmt.Errorf("sign custody log record: %w", err)
		}
	}
	key := r.Prefix + LogKey(rec.Seq, rec.Event)
	// The signature goes first: a record that names a key without its
	// signature does not verify, and must never be left alone.
	if sig != nil {
		if _, err := put(ctx, objs, key+".sig", "log", sig); err != nil {
			return nil, err
		}
	}
	if _, err := put(ctx, objs, key, "log", b); err != nil {
		return nil, err
	}
	r.Log = append(r.Log, LogEntry{Key: LogKey(rec.Seq, rec.Event), Bytes: b, Record: rec, Sig: sig, Signed: sig != nil})
	return rec, nil
}

// Annotate records a response action ("host isolated", "password reset",
// "handed to law enforcement") taken at a time, in a verified collection's
// custody log, signed by whoever took it.
func Annotate(ctx context.Context, objs Objects, r *Report, action string, at time.Time, s ssh.Signer, who Actor) (*Record, error) {
	if !r.OK() || r.Manifest == nil {
		return nil, fmt.Errorf("%w (%d problems): refusing to annotate it", ErrNotVerified, len(r.Problems))
	}
	if s == nil {
		return nil, fmt.Errorf("an action is recorded signed: give a key")
	}
	return Append(ctx, objs, r, EventAnnotated, who, map[string]string{"action": action, "at": at.UTC().Format(time.RFC3339)}, s)
}
