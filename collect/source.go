// Package collect turns sources of evidence into stored, encrypted, hashed
// artifacts and the manifest records that describe them.
//
// Every byte a source produces goes through one chain of writers, read once:
// SHA-256 of the plaintext, zstd, age, SHA-256 of the ciphertext, the store.
// Nothing here writes plaintext to a disk, and nothing here runs a program
// of the host.
package collect

import (
	"context"
	"fmt"
	"io"

	"github.com/custos-ir/custos/collect/paxtar"
	"github.com/custos-ir/custos/custody"
)

// A Source produces the plaintext of one artifact.
type Source interface {
	// Describe says what the artifact is, before anything is read.
	Describe() Description
	// Collect writes the artifact through e. An error fails the whole
	// artifact (nothing is stored); problems with single items go to
	// e.Fail or the file records instead, and the artifact is stored.
	Collect(ctx context.Context, e *Emitter) error
}

// Description is the fixed part of an artifact's record.
type Description struct {
	Name    string   // unique in a collection; [a-z0-9._-]
	Kind    string   // live, files, bodyfile, mysql, ...
	Format  string   // jsonl, tar, bodyfile, sql, tsv, txt: the extension before .zst.age
	Sources []string // paths, roots or API names read
	Method  string   // how it is read, for the record
}

// Emitter is what a source writes to. Raw bytes go through Write; files
// through the artifact's tar (see Files).
type Emitter struct {
	w       io.Writer
	art     *custody.Artifact
	tar     *paxtar.Writer
	files   *FileReader
	budget  artifactBudget
	onBytes func(int64)
	scan    *contentScan
	frames  *frameWriter
}

// Write writes plaintext bytes of a stream artifact.
func (e *Emitter) Write(p []byte) (int, error) {
	if e.tar != nil {
		return 0, fmt.Errorf("artifact %s: raw write into a tar artifact", e.art.Name)
	}
	n, err := e.w.Write(p)
	if e.onBytes != nil {
		e.onBytes(int64(n))
	}
	return n, err
}

// Fail records a problem with one item of the artifact; the artifact is
// stored as partial.
func (e *Emitter) Fail(format string, args ...any) {
	e.art.Errors = append(e.art.Errors, fmt.Sprintf(format, args...))
}

// Warn records something a reader of the manifest should know that does
// not make the artifact partial.
func (e *Emitter) Warn(format string, args ...any) {
	e.art.Warnings = append(e.art.Warnings, fmt.Sprintf(format, args...))
}

func (e *Emitter) addRecord(rec custody.File) {
	e.AddRecord(rec)
	if rec.SHA256 != "" {
		e.scan.hash(rec.Path, rec.SHA256)
	}
	for _, f := range rec.Flags {
		e.Warn("FLAG %s: %s", rec.Path, f)
	}
}

// AddRecord appends a file record without content (a listing entry).
// Records past a few thousand are kept compressed (custody.AddFile): a
// tree of a million files is collected in bounded memory.
func (e *Emitter) AddRecord(f custody.File) { e.art.AddFile(f) }

// region says that what is written next belongs to a file (its path).
func (e *Emitter) region(path string) {
	if e.scan != nil && e.frames != nil {
		e.scan.region(e.frames.Offset(), path)
	}
}

// tarWriter is the artifact's tar, begun on first use.
func (e *Emitter) tarWriter() *paxtar.Writer {
	if e.tar == nil {
		e.tar = paxtar.NewWriter(countingWriter{e.w, e.onBytes})
	}
	return e.tar
}

func (e *Emitter) finish() error {
	if n := e.budget.skips(); n > 0 {
		e.Warn("%d files recorded but not read because of a limit (--since/--until, --max-artifact, --max-total); see their notes", n)
	}
	if e.tar != nil {
		return e.tar.Close()
	}
	return nil
}

type countingWriter struct {
	w  io.Writer
	on func(int64)
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if c.on != nil {
		c.on(int64(n))
	}
	return n, err
}
