package collect

import (
	"context"
	"errors"
	"io"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/storage"
)

// testObjects is custody's view of a store for collect's own tests (cmd
// has the real adapter; collect knows none).
func testObjects(st storage.Store) custody.Objects { return recordView{st} }

type recordView struct{ st storage.Store }

func (v recordView) String() string { return v.st.String() }

func (v recordView) Create(ctx context.Context, key, kind string) (custody.ObjectWriter, error) {
	w, err := v.st.Create(ctx, key, storage.CreateOptions{})
	if errors.Is(err, storage.ErrExist) {
		return nil, custody.ErrExist
	}
	return recordWriter{w}, err
}

func (v recordView) Open(ctx context.Context, key, version string) (io.ReadCloser, error) {
	rc, err := v.st.Open(ctx, key)
	if errors.Is(err, storage.ErrNotExist) {
		return nil, custody.ErrNotExist
	}
	return rc, err
}

func (v recordView) Stat(ctx context.Context, key, version string) (custody.Object, error) {
	info, err := v.st.Stat(ctx, key)
	if errors.Is(err, storage.ErrNotExist) {
		return custody.Object{}, custody.ErrNotExist
	}
	return custody.Object{Key: info.Key, Size: info.Size}, err
}

func (v recordView) List(ctx context.Context, prefix string, fn func(custody.Object) error) error {
	return v.st.List(ctx, prefix, func(o storage.ObjectInfo) error { return fn(custody.Object{Key: o.Key, Size: o.Size}) })
}

type recordWriter struct{ w storage.ObjectWriter }

func (w recordWriter) Write(p []byte) (int, error) { return w.w.Write(p) }
func (w recordWriter) Abort() error                { return w.w.Abort() }
func (w recordWriter) Commit(ctx context.Context, sum custody.Digest) (custody.Object, error) {
	info, err := w.w.Commit(ctx, storage.Digest(sum))
	return custody.Object{Key: info.Key, Size: info.Size}, err
}
