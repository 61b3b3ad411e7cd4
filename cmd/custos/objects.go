package main

import (
	"context"
	"errors"
	"io"
	"maps"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/storage"
)

// objects adapts a storage.Store to custody.Objects: custody's small view
// of a place that holds collections. Each object it creates is tagged with
// what it is (where the store keeps tags) and with tags, and a store that
// keeps versions is listed and read version by version.
type objects struct {
	st   storage.Store
	tags map[string]string // more tags on every object created (the case)
}

func (o *objects) String() string { return o.st.String() }

func (o *objects) Create(ctx context.Context, key, kind string) (custody.ObjectWriter, error) {
	w, err := o.st.Create(ctx, key, o.options(kind))
	if err != nil {
		return nil, mapErr(err)
	}
	return objectWriter{w}, nil
}

// options tags an object with what it is where the store keeps tags (S3);
// retention comes from the store's own settings.
func (o *objects) options(kind string) storage.CreateOptions {
	if f, ok := o.st.(storage.Features); ok && f.Supports().Tags {
		tags := map[string]string{"artifact": kind}
		maps.Copy(tags, o.tags)
		return storage.CreateOptions{Tags: tags}
	}
	return storage.CreateOptions{}
}

func (o *objects) Open(ctx context.Context, key, version string) (io.ReadCloser, error) {
	if v, ok := o.st.(storage.Versioned); ok && version != "" {
		rc, err := v.OpenVersion(ctx, key, version)
		return rc, mapErr(err)
	}
	rc, err := o.st.Open(ctx, key)
	return rc, mapErr(err)
}

func (o *objects) Stat(ctx context.Context, key, version string) (custody.Object, error) {
	var info storage.ObjectInfo
	var err error
	if v, ok := o.st.(storage.Versioned); ok && version != "" {
		info, err = v.StatVersion(ctx, key, version)
	} else {
		info, err = o.st.Stat(ctx, key)
	}
	if err != nil {
		return custody.Object{}, mapErr(err)
	}
	return collect.ObjectRecord(info), nil
}

func (o *objects) List(ctx context.Context, prefix string, fn func(custody.Object) error) error {
	each := func(info storage.ObjectInfo) error { return fn(collect.ObjectRecord(info)) }
	if v, ok := o.st.(storage.Versioned); ok {
		return mapErr(v.ListVersions(ctx, prefix, each))
	}
	return mapErr(o.st.List(ctx, prefix, each))
}

// Retains implements custody.Retainer: the store keeps Object Lock.
func (o *objects) Retains() bool {
	f, ok := o.st.(storage.Features)
	return ok && f.Supports().Retention
}

// noting is objects over a store that carries notes (the stream home).
type noting struct {
	*objects
	n storage.Noter
}

func (o noting) Note(ctx context.Context, kind string, data []byte) error {
	return o.n.Note(ctx, kind, data)
}

// recordOf is custody's view of st: with notes when st carries them.
func recordOf(st storage.Store, tags map[string]string) custody.Objects {
	o := &objects{st: st, tags: tags}
	if n, ok := st.(storage.Noter); ok {
		return noting{o, n}
	}
	return o
}

type objectWriter struct{ w storage.ObjectWriter }

func (w objectWriter) Write(p []byte) (int, error) { return w.w.Write(p) }
func (w objectWriter) Abort() error                { return w.w.Abort() }
func (w objectWriter) Commit(ctx context.Context, sum custody.Digest) (custody.Object, error) {
	info, err := w.w.Commit(ctx, storage.Digest(sum))
	if err != nil {
		return custody.Object{}, mapErr(err)
	}
	return collect.ObjectRecord(info), nil
}

// mapErr keeps a store's error, its words and all, and makes it custody's
// sentinel too.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrExist):
		return alsoIs{err, custody.ErrExist}
	case errors.Is(err, storage.ErrNotExist):
		return alsoIs{err, custody.ErrNotExist}
	}
	return err
}

type alsoIs struct{ err, is error }

func (a alsoIs) Error() string   { return a.err.Error() }
func (a alsoIs) Unwrap() []error { return []error{a.err, a.is} }
