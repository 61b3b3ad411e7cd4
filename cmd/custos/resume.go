package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/storage"
	"github.com/custos-ir/custos/storage/dirstore"
)

// openInterrupted opens the store at loc and finds the one interrupted
// collection in it.
func openInterrupted(ctx context.Context, loc string, s3o *s3Options) (storage.Store, *custody.Interrupted, error) {
	var st storage.Store
	if isS3(loc) {
		var err error
		if st, _, err = openS3(ctx, loc, s3o, nil, false); err != nil {
			return nil, nil, err
		}
	} else {
		ds, err := dirstore.Open(loc)
		if err != nil {
			return nil, nil, usageErr("--resume %s: %v", loc, unwrapPath(err))
		}
		st = ds
	}
	in, err := custody.FindInterrupted(ctx, recordOf(st, nil))
	switch {
	case errors.Is(err, custody.ErrFinished), errors.Is(err, custody.ErrNoInterrupted):
		return nil, nil, usageErr("--resume %s: %v", loc, err)
	case err != nil:
		return nil, nil, fmt.Errorf("--resume %s: %w", loc, err)
	}
	return st, in, nil
}

// removeUnfinished clears what a killed writer left in a directory store
// (temporary files, never objects), and says so for the record.
func removeUnfinished(ctx context.Context, st storage.Store, prefix string) string {
	ds, ok := st.(*dirstore.Store)
	if !ok {
		return ""
	}
	gone, err := ds.RemoveUnfinished(ctx, prefix)
	switch {
	case err != nil:
		return "could not remove the interrupted run's unfinished writes: " + err.Error()
	case len(gone) > 0:
		return fmt.Sprintf("removed %d unfinished writes of the interrupted run: %s", len(gone), strings.Join(gone, ", "))
	}
	return ""
}
