// Package custody owns the record of a collection, whole: its format and
// layout (every key name), its life (started, journal, resume, seal, the
// rebuild of a stream cut short, the custody log), its signatures and
// countersignature, its verification and its report.
//
// It reaches stored objects only through its own Objects interface and
// imports nothing of storage, collect or cmd. It never writes to the host
// being collected, and it trusts nothing it reads back: every object of a
// collection is checked against the record before it counts.
package custody

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/custos-ir/custos/internal/agekeys"
)

// Format is the manifest format this package writes and reads. Version 1
// (custos before December 2026) carried the artifacts key twice and lacked
// the fields of the collection record's hardening (versions, session,
// link targets, holes, indicators, incident facts).
const Format = "custos-manifest/2"

// Manifest is the custody record of one collection. Its JSON bytes, as
// written, are what is later signed. Field meanings: docs/manifest.md.
type Manifest struct {
	Format       string   `json:"format"`
	CollectionID string   `json:"collection_id"`
	Case         Case     `json:"case"`
	Started      Time     `json:"started"`
	Finished     Time     `json:"finished"`
	Host         Host     `json:"host"`
	Operator     Operator `json:"operator"`
	Tool         Tool     `json:"tool"`
	Profile      Profile  `json:"profile"`
	Storage      Storage  `json:"storage"`
	// Settings are the limits the collection ran under (--cpu, --read-rate,
	// --since, --max-total, ...), as given.
	Settings   map[string]string   `json:"settings,omitempty"`
	Recipients []agekeys.Recipient `json:"recipients"`
	Status     string              `json:"status"` // complete | partial | failed | incomplete
	Artifacts  []Artifact          `json:"artifacts"`
	Errors     []string            `json:"errors,omitempty"`
	Warnings   []string            `json:"warnings,omitempty"`
	// Sums is the SHA-256 of the SHA256SUMS file written before the manifest.
	Sums Digest `json:"sha256sums_sha256"`
	// Journal maps each journal object (an artifact's record, written as it
	// was stored, for resuming) to its SHA-256.
	Journal map[string]Digest `json:"journal,omitempty"`
	// Resumes records each resumption of an interrupted collection.
	Resumes []Resume `json:"resumes,omitempty"`
	// StartedSHA256 is the SHA-256 of started.json, written before any
	// evidence was read.
	StartedSHA256 *Digest `json:"started_sha256,omitempty"`
	// Versions are the store's version IDs of the objects written before
	// the manifest (started.json, journal records, SHA256SUMS) where the
	// store keeps versions; an artifact's is in its stored record.
	Versions map[string]string `json:"versions,omitempty"`
	// Session is the nonce the responder's side gave the host with the
	// request (custos remote), echoed so that the stream that comes home
	// is bound to the request it answers.
	Session string `json:"session,omitempty"`
	// Indicators are the indicators of compromise looked for while
	// collecting (--ioc), recorded once; Hits sums up where each was seen
	// (each artifact's hits say exactly where).
	Indicators *Indicators `json:"indicators,omitempty"`
	Hits       []HitCount  `json:"hits,omitempty"`
}

// Indicators is an indicator list as given.
type Indicators struct {
	Name    string      `json:"name,omitempty"` // the file as named
	SHA256  Digest      `json:"sha256"`         // of its bytes
	Entries []Indicator `json:"entries"`
}

// Indicator is one indicator of compromise.
type Indicator struct {
	Type  string `json:"type"` // sha256, sha1, md5, ip, cidr, domain, path, string
	Value string `json:"value"`
	Line  int    `json:"line"`
}

// String names an indicator as "type:value".
func (i Indicator) String() string { return i.Type + ":" + i.Value }

// Hit is where an artifact saw an indicator: a file, a process, a
// socket, with how often and the first matching lines.
type Hit struct {
	Indicator string   `json:"indicator"` // type:value
	Where     string   `json:"where"`     // a path, "pid 4711 /usr/bin/x", "tcp 10.0.0.5:443"
	Count     int      `json:"count"`
	Lines     []string `json:"lines,omitempty"`
}

// HitCount is one indicator's hits over the whole collection.
type HitCount struct {
	Indicator string   `json:"indicator"`
	Count     int      `json:"count"`
	Artifacts []string `json:"artifacts"`
}

// Resume links a collection to the interrupted run it finished.
type Resume struct {
	At            Time   `json:"at"`
	Operator      string `json:"operator"`
	CollectionID  string `json:"interrupted_collection_id"`
	StartedSHA256 Digest `json:"interrupted_started_sha256"`
	Kept          int    `json:"artifacts_kept"`
}

// Case is who asked for the collection and why: the facts of the
// incident the response plans ask the record for.
type Case struct {
	ID         string `json:"id"`
	EvidenceID string `json:"evidence_id,omitempty"`
	// Category is the plans' incident category, 1 to 4: a threat to
	// public safety or life, to sensitive data, to computer systems, a
	// disruption of services (the highest that applies).
	Category int    `json:"category,omitempty"`
	Severity string `json:"severity,omitempty"`
	// DiscoveredAt is when the incident was discovered, UTC.
	DiscoveredAt    *time.Time `json:"discovered_at,omitempty"`
	Owner           string     `json:"owner,omitempty"` // the accountable incident commander
	Examiner        string     `json:"examiner,omitempty"`
	Reporter        string     `json:"reporter,omitempty"`
	ReporterContact string     `json:"reporter_contact,omitempty"`
	Note            string     `json:"note,omitempty"`
}

// Categories are the plans' incident categories, by number.
var Categories = map[int]string{
	1: "a threat to public safety or life",
	2: "a threat to sensitive data",
	3: "a threat to computer systems",
	4: "a disruption of services",
}

// Time is an instant recorded in UTC together with the host's UTC offset
// at that instant, so a timeline can be read in either.
type Time struct {
	UTC          time.Time `json:"utc"`
	HostOffset   string    `json:"host_offset"` // "+02:00"
	HostTimeZone string    `json:"host_time_zone,omitempty"`
}

// NewTime records t.
func NewTime(t time.Time) Time {
	name, _ := t.Zone()
	return Time{UTC: t.UTC(), HostOffset: t.Format("-07:00"), HostTimeZone: name}
}

// Host is what the host said about itself. A breached host may lie; these
// are its claims, recorded as read.
type Host struct {
	Hostname      string    `json:"hostname"`
	MachineID     string    `json:"machine_id,omitempty"`
	OS            string    `json:"os"`
	Platform      string    `json:"platform,omitempty"`
	KernelVersion string    `json:"kernel_version,omitempty"`
	Arch          string    `json:"arch"`
	BootTime      time.Time `json:"boot_time,omitzero"`
	IPs           []string  `json:"ips,omitempty"`
}

// Operator is who ran the collection on the host.
type Operator struct {
	UID           string   `json:"uid"`
	User          string   `json:"user"`
	SSHConnection string   `json:"ssh_connection,omitempty"`
	CommandLine   []string `json:"command_line"`
}

// Tool is the collector itself.
type Tool struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	GoVersion string `json:"go_version"`
	Binary    string `json:"binary,omitempty"`
	SHA256    Digest `json:"sha256"`
}

// Profile names the plan that was followed.
type Profile struct {
	Name      string            `json:"name"`
	SHA256    Digest            `json:"sha256"`
	Variables map[string]string `json:"variables,omitempty"`
	Paths     []string          `json:"extra_paths,omitempty"`
}

// Storage says where the collection went.
type Storage struct {
	Location string `json:"location"`
	Prefix   string `json:"prefix"` // collection's key prefix within the location, ends in "/"
	NoLock   bool   `json:"no_lock,omitempty"`
}

// Artifact statuses.
const (
	StatusOK      = "ok"      // stored, everything in it read
	StatusPartial = "partial" // stored, some items in it could not be read (see Files/Errors)
	StatusFailed  = "failed"  // not stored
	StatusSkipped = "skipped" // not attempted, reason in Errors
)

// Artifact is one stored object and what went into it.
type Artifact struct {
	Name     string    `json:"name"`
	Kind     string    `json:"kind"`
	Format   string    `json:"format"` // jsonl, tar, bodyfile, sql, tsv, txt
	Sources  []string  `json:"sources,omitempty"`
	Method   string    `json:"method,omitempty"`
	Key      string    `json:"key,omitempty"` // relative to the collection prefix
	Status   string    `json:"status"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Plain    Digested  `json:"plaintext"`
	Cipher   Digested  `json:"ciphertext"`
	Stored   *Object   `json:"stored,omitempty"`
	// FilesObject holds the file records of an artifact of more than a
	// few thousand files, in place of Files.
	FilesObject *FilesObject `json:"files_object,omitempty"`
	Files       []File       `json:"files,omitempty"`
	Errors      []string     `json:"errors,omitempty"`
	Warnings    []string     `json:"warnings,omitempty"`
	// Hits are where this artifact saw indicators of compromise.
	Hits []Hit `json:"hits,omitempty"`
	// CardLike counts numbers in the plaintext that pass the Luhn check
	// as payment card numbers would: the artifact is in PCI scope. They
	// are flagged, never altered.
	CardLike int `json:"card_like_numbers,omitempty"`

	sealed *sealed   // see Seal
	list   *fileList // file records past spillAt, compressed (see AddFile)
	spill  func(key string) (io.Writer, error)
}

// FilesObject is an object of an artifact's file records, stored beside
// it: one JSON record per line, as in "files", zstd-compressed (a frame
// per chunk of lines), written as the files are taken. Not encrypted,
// like the manifest that names it: `zstd -dc KEY` reads it.
type FilesObject struct {
	Key     string `json:"key"` // relative to the collection prefix
	Records int    `json:"records"`
	Errors  int    `json:"errors,omitempty"` // records that hold an error
	Digested
	Stored *Object `json:"stored,omitempty"`
}

// Digested is a byte count and its SHA-256.
type Digested struct {
	Size   int64  `json:"size"`
	SHA256 Digest `json:"sha256"`
}

// File is one file in a multi-file artifact, with its metadata as taken
// before it was read.
type File struct {
	Path   string     `json:"path"`
	Type   string     `json:"type"` // file, dir, symlink, fifo, socket, device, other
	Size   int64      `json:"size"`
	Mode   string     `json:"mode"`
	UID    uint32     `json:"uid"`
	GID    uint32     `json:"gid"`
	Inode  uint64     `json:"inode,omitempty"`
	Device uint64     `json:"device,omitempty"`
	Nlink  uint64     `json:"nlink,omitempty"`
	Atime  *time.Time `json:"atime,omitempty"`
	Mtime  *time.Time `json:"mtime,omitempty"`
	Ctime  *time.Time `json:"ctime,omitempty"`
	Btime  *time.Time `json:"btime,omitempty"`
	Link   string     `json:"link,omitempty"`
	// Target is, for a symlink, the path (no link in it) of what was taken
	// through it; its own record is in the same artifact.
	Target string `json:"target,omitempty"`
	// Stored is true when the content is in the artifact's tar.
	Stored bool   `json:"stored"`
	SHA256 string `json:"sha256,omitempty"`
	Read   int64  `json:"read,omitempty"`
	// Holes is how many of the Read bytes were holes of a sparse file:
	// hashed as the zeros they read as, never read, and stored as holes.
	Holes  int64  `json:"holes,omitempty"`
	Method string `json:"method,omitempty"`
	Error  string `json:"error,omitempty"`
	Note   string `json:"note,omitempty"`
	// Flags are lines that set a setting the profile asked to flag.
	Flags []string `json:"flags,omitempty"`
	// Redacted names the secrets replaced by REDACTED in the stored copy
	// ("password×2"), never their values. SHA256 and Read are the
	// original's; StoredSize and StoredSHA256 the copy's in the tar.
	Redacted     []string `json:"redacted,omitempty"`
	StoredSize   int64    `json:"stored_size,omitempty"`
	StoredSHA256 string   `json:"stored_sha256,omitempty"`
	// StoredAs is the entry's name in the tar when it is not the path's
	// (events rendered as XML are stored as NAME.evtx.xml).
	StoredAs string `json:"stored_as,omitempty"`
	// Attrs are the file's inode attributes worth a look, as statx reports
	// them: "immutable", "append" (chattr +i / +a: a file an intruder
	// protects from removal or rotation).
	Attrs []string `json:"attrs,omitempty"`
	// Sensitive marks content that is a secret in itself (a private key,
	// an htpasswd file, varnish's secret): encrypted like all evidence,
	// named here so that whoever decrypts it handles it so.
	Sensitive bool `json:"sensitive,omitempty"`
}

// Marshal returns the manifest's canonical bytes: indented JSON with a
// trailing newline, each file record on one line. These bytes are stored
// and signed as they are.
func (m *Manifest) Marshal() ([]byte, error) {
	var b bytes.Buffer
	if _, err := m.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// fileDepth is how deep file records sit: {"artifacts":[{"files":[{
const fileDepth = 4

// ErrFormat wraps every reason a manifest cannot be read.
var ErrFormat = errors.New("not a custos manifest")

// Parse reads a manifest strictly: unknown fields, a key given twice, a
// wrong format version, trailing data or missing identity fields are
// errors.
func Parse(b []byte) (*Manifest, error) { return ParseReader(bytes.NewReader(b)) }

// checkManifest holds a decoded manifest to what the format requires of
// its identity and artifacts.
func checkManifest(m *Manifest) error {
	if m.Format != Format {
		return fmt.Errorf("%w: format %q, this custos reads %q", ErrFormat, m.Format, Format)
	}
	if !ValidCollectionID(m.CollectionID) || m.Case.ID == "" {
		return fmt.Errorf("%w: a collection_id like 20261201T120000Z-1a2b3c and a case.id are required", ErrFormat)
	}
	seen := map[string]bool{}
	for i := range m.Artifacts {
		a := &m.Artifacts[i]
		if err := checkArtifact(a); err != nil {
			return fmt.Errorf("%w: artifact %d: %v", ErrFormat, i+1, err)
		}
		if seen[a.Name] {
			return fmt.Errorf("%w: artifact %q listed twice", ErrFormat, a.Name)
		}
		seen[a.Name] = true
	}
	return nil
}

// checkArtifact holds one artifact record to the format: a name, a known
// status, and a key inside the collection when it is stored.
func checkArtifact(a *Artifact) error {
	if a.Name == "" {
		return fmt.Errorf("no name")
	}
	switch a.Status {
	case StatusOK, StatusPartial:
		if !validArtifactKey(a.Key) {
			return fmt.Errorf("%q has an invalid key %q", a.Name, a.Key)
		}
	case StatusFailed, StatusSkipped:
	default:
		return fmt.Errorf("%q has unknown status %q", a.Name, a.Status)
	}
	return nil
}

// IsStored reports whether the artifact has an object.
func (a *Artifact) IsStored() bool { return a.Status == StatusOK || a.Status == StatusPartial }

// HitSummary sums up the artifacts' hits per indicator, for the
// manifest's hits section: most seen first.
func HitSummary(m *Manifest) []HitCount {
	by := map[string]*HitCount{}
	var order []string
	for _, a := range m.Artifacts {
		for _, h := range a.Hits {
			c := by[h.Indicator]
			if c == nil {
				c = &HitCount{Indicator: h.Indicator}
				by[h.Indicator] = c
				order = append(order, h.Indicator)
			}
			c.Count += h.Count
			if n := len(c.Artifacts); n == 0 || c.Artifacts[n-1] != a.Name {
				c.Artifacts = append(c.Artifacts, a.Name)
			}
		}
	}
	out := make([]HitCount, 0, len(order))
	for _, k := range order {
		out = append(out, *by[k])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Count > out[j].Count })
	if len(out) == 0 {
		return nil
	}
	return out
}
