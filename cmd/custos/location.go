package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/storage"
	"github.com/custos-ir/custos/storage/dirstore"
)

// openForRead opens a LOCATION: what was given to --to (holding one
// collection) or the path of one collection. It returns the store and the
// collection's prefix in it.
func openForRead(ctx context.Context, loc string) (storage.Store, string, error) {
	if loc == "" {
		return nil, "", usageErr("a LOCATION is required: the directory given to --to, or one collection in it")
	}
	st, err := dirstore.Open(loc)
	if err != nil {
		return nil, "", fmt.Errorf("location %s: %v", loc, err)
	}
	prefix, err := custody.FindCollection(ctx, st, "")
	if err != nil {
		return nil, "", err
	}
	return st, prefix, nil
}

// openForWrite prepares the --to destination before anything is read, so
// a bad destination costs the responder nothing.
func openForWrite(ctx context.Context, to string) (storage.Store, error) {
	if to == "" {
		return nil, usageErr("--to is required: a directory that will hold the collection")
	}
	if _, err := os.Stat(filepath.Join(to, custody.ManifestName)); err == nil {
		return nil, fmt.Errorf("%s already holds a collection (%s): give its parent or a new directory; a collection is never added to", to, custody.ManifestName)
	}
	st, err := dirstore.New(to)
	if err != nil {
		return nil, fmt.Errorf("output directory %s: %v: choose a writable directory", to, unwrapPath(err))
	}
	// Prove we can write before reading any evidence.
	w, err := st.Create(ctx, ".custos-write-test", storage.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("output directory %s is not writable: %v", to, unwrapPath(err))
	}
	w.Abort()
	return st, nil
}

// unwrapPath keeps the reason of a path error: the message names the
// directory already.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
