package collect

import "time"

// Event types.
const (
	EventPhase    = "phase"    // a new phase of the collection begins (Artifact holds its name)
	EventStart    = "start"    // an artifact begins
	EventProgress = "progress" // plaintext bytes read so far
	EventDone     = "done"     // an artifact ended; Status says how
	EventWarn     = "warn"     // something the responder should see now
)

// Event is a progress report. The core never prints; a Reporter does.
type Event struct {
	Type     string    `json:"event"`
	Time     time.Time `json:"time"`
	Artifact string    `json:"artifact,omitempty"`
	Seq      int       `json:"seq,omitempty"`
	Total    int       `json:"total,omitempty"`
	Bytes    int64     `json:"bytes,omitempty"`  // plaintext bytes
	Stored   int64     `json:"stored,omitempty"` // ciphertext bytes
	Status   string    `json:"status,omitempty"`
	Err      string    `json:"error,omitempty"`
	Message  string    `json:"message,omitempty"`
}

// Reporter receives events. Calls come from one goroutine at a time.
type Reporter interface {
	Event(Event)
}
