package custody

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// The layout of one collection, under <case>/<host>/<collection-id>/:
//
//	started.json             written first, before any evidence is read
//	artifacts/NN-name.fmt.zst.age
//	artifacts/NN-name.fmt.files.jsonl.zst  the file records of a large artifact
//	journal/NN-name.fmt.json each stored artifact's record, for resuming
//	SHA256SUMS               the artifacts, `sha256sum -c` format
//	manifest.json            the custody record; its exact bytes are signed
//	manifest.json.sha256     the manifest and the first custody-log record
//	log/NNNN-event.json(.sig) the custody log
//	manifest.json.sig        the collector's signature
//	countersign.json(.sig)   the second responder's statement and signature
//
// Every key name of the record is here; nothing else builds one.
const (
	StartedName        = "started.json"
	ManifestName       = "manifest.json"
	ManifestDigestName = "manifest.json.sha256"
	SumsName           = "SHA256SUMS"
	SignatureName      = "manifest.json.sig"
	CountersignName    = "countersign.json"
	CountersignSigName = "countersign.json.sig"
	ArtifactDir        = "artifacts/"
	JournalDir         = "journal/"
	LogDir             = "log/"
)

// Bounds on what custody reads of the objects of a collection. Manifests
// and journal records are read as streams, their file records kept
// compressed; past a few thousand records an artifact's are in its files
// object, read as a stream too: the bound is on the bytes, the memory is
// bounded anyway.
const (
	maxManifest = 4 << 30
	maxJournal  = 4 << 30
	maxSmall    = 64 << 10 // started.json, signatures, statements, the digest file
	maxRecord   = 1 << 20  // a custody log record
	maxSums     = 64 << 20 // SHA256SUMS
)

// NewCollectionID returns a sortable, unique collection ID: UTC time to the
// second and 6 random hex digits.
func NewCollectionID(t time.Time) string {
	var b [3]byte
	rand.Read(b[:])
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

var (
	collectionIDRE = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$`)
	unsafeKey      = regexp.MustCompile(`[^A-Za-z0-9._-]+`)
	artifactKeyRE  = regexp.MustCompile(`^artifacts/[0-9]{2,}-[a-z0-9][a-z0-9._-]{0,63}\.[a-z0-9]{1,16}\.zst\.age$`)
	filesKeyRE     = regexp.MustCompile(`^artifacts/[0-9]{2,}-[a-z0-9][a-z0-9._-]{0,63}\.[a-z0-9]{1,16}\.files\.jsonl\.zst$`)
)

// ValidCollectionID reports whether id has NewCollectionID's shape.
func ValidCollectionID(id string) bool { return collectionIDRE.MatchString(id) }

// KeySegment makes a host or case name safe as one path segment.
func KeySegment(s string) string {
	s = strings.Trim(unsafeKey.ReplaceAllString(s, "_"), "._")
	if s == "" {
		return "unknown"
	}
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// Prefix is where a collection's objects go: <case>/<host>/<id>/.
func Prefix(caseID, host, id string) string {
	return KeySegment(caseID) + "/" + KeySegment(host) + "/" + id + "/"
}

// ArtifactKey is the key of an artifact within its collection.
func ArtifactKey(seq int, name, format string) string {
	return fmt.Sprintf("%s%02d-%s.%s.zst.age", ArtifactDir, seq, name, format)
}

// FilesKey is where the file records of a large artifact go (FilesObject).
func FilesKey(artifactKey string) string {
	return strings.TrimSuffix(artifactKey, ".zst.age") + ".files.jsonl.zst"
}

// filesArtifact is the key of the artifact whose records files key holds.
func filesArtifact(filesKey string) string {
	return strings.TrimSuffix(filesKey, ".files.jsonl.zst") + ".zst.age"
}

// artifactName is the name and format an artifact key holds
// (artifacts/NN-name.fmt.zst.age).
func artifactName(key string) (name, format string) {
	_, rest, _ := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(key, ArtifactDir), ".zst.age"), "-")
	i := strings.LastIndexByte(rest, '.')
	if i < 0 {
		return rest, ""
	}
	return rest[:i], rest[i+1:]
}

// JournalKey is where an artifact's record is journaled.
func JournalKey(artifactKey string) string {
	return JournalDir + strings.TrimSuffix(strings.TrimPrefix(artifactKey, ArtifactDir), ".zst.age") + ".json"
}

// validArtifactKey accepts keys inside the collection's artifacts/: no
// traversal, no absolute paths.
func validArtifactKey(k string) bool {
	if len(k) <= len(ArtifactDir) || k[:len(ArtifactDir)] != ArtifactDir {
		return false
	}
	for _, c := range k[len(ArtifactDir):] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// HostKey checks a key (relative to its collection) that a collecting
// host may send home, and returns the most bytes it may hold (0: no bound
// but the stream's). Anything else from a host is refused: signatures,
// countersignatures and later log records are made on the responder's
// side, never by the host.
func HostKey(rel string) (max int64, err error) {
	switch {
	case rel == StartedName:
		return maxSmall, nil
	case rel == SumsName:
		return maxSums, nil
	case rel == ManifestName:
		return maxManifest, nil
	case rel == ManifestDigestName:
		return maxSmall, nil
	case rel == LogKey(1, EventCollected):
		return maxRecord, nil
	case artifactKeyRE.MatchString(rel), filesKeyRE.MatchString(rel):
		return 0, nil
	}
	return 0, fmt.Errorf("%q is not an object a collecting host sends", rel)
}

func sha256Sum(b []byte) Digest { return sha256.Sum256(b) }
