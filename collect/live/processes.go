package live

import "time"

// Process is one line of the "processes" source.
type Process struct {
	PID        int32      `json:"pid"`
	PPID       int32      `json:"ppid"`
	Name       string     `json:"name"`
	UID        *uint32    `json:"uid,omitempty"`
	EUID       *uint32    `json:"euid,omitempty"`
	User       string     `json:"user,omitempty"` // from the host's /etc/passwd: may lie
	State      string     `json:"state,omitempty"`
	Threads    int32      `json:"threads,omitempty"`
	Started    *time.Time `json:"started,omitempty"`
	Cmdline    []string   `json:"cmdline"`
	Cwd        string     `json:"cwd,omitempty"`
	Exe        string     `json:"exe,omitempty"` // as the kernel reports it
	ExeDeleted bool       `json:"exe_deleted,omitempty"`
	ExeMemfd   bool       `json:"exe_memfd,omitempty"`
	ExeSize    int64      `json:"exe_size,omitempty"`
	ExeSHA256  string     `json:"exe_sha256,omitempty"`
	Errors     []string   `json:"errors,omitempty"`
}

// exeCache hashes each distinct executable once: a hundred php-fpm workers
// share one binary.
type exeCache struct {
	sums map[exeKey]string
}

type exeKey struct {
	dev, ino uint64
	size     int64
	mtime    int64
}

// hash returns the digest of the executable k, computing it once.
func (c *exeCache) hash(k exeKey, compute func() (string, error)) (string, error) {
	if s, ok := c.sums[k]; ok {
		return s, nil
	}
	s, err := compute()
	if err != nil {
		return "", err
	}
	if c.sums == nil {
		c.sums = map[exeKey]string{}
	}
	c.sums[k] = s
	return s, nil
}
