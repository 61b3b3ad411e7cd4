package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"

	"github.com/custos-ir/custos/custody"
	"github.com/custos-ir/custos/storage"
	"github.com/custos-ir/custos/storage/dirstore"
)

type fetchOptions struct {
	location   string
	to         string
	identities []string
	s3         s3Options
}

const fetchExample = `  custos fetch s3://evidence-bucket/cases --to ./INC-2026-042 --identity team.key

Exit codes: 0 copied and verified, 1 the source or the copy does not verify (the copy keeps the recorded versions), 2 usage.`

func runFetchCmd(ctx context.Context, args []string, io stdio) error {
	var o fetchOptions
	f := newFlags("fetch", "LOCATION --to DIR [--identity FILE]", fetchExample, io)
	f.StringVar(&o.to, "to", "", "copy the collection into `DIR` (same layout)")
	f.StringArrayVarP(&o.identities, "identity", "i", nil, "also decrypt every artifact into DIR/<case>/<host>/<id>.plaintext/ with the age identity or SSH key in `FILE`")
	o.s3.flags(f, false)
	if err := parseFlags(f, args); err != nil {
		return err
	}
	if f.NArg() != 1 {
		return usageErr("fetch takes one LOCATION: the s3:// URL or directory given to --to, or one collection in it")
	}
	if o.to == "" {
		return usageErr("--to DIR is required")
	}
	o.location = f.Arg(0)
	return runFetch(ctx, o, io)
}

func runFetch(ctx context.Context, o fetchOptions, io stdio) error {
	ids, err := loadIdentities(o.identities)
	if err != nil {
		return err
	}
	src, err := openForRead(ctx, o.location, &o.s3)
	if err != nil {
		return err
	}
	// The source is verified first: it says which version of each object
	// is the collection's (the first written), and what is wrong there.
	sr, err := custody.Verify(ctx, src.objs, src.prefix, custody.VerifyOptions{})
	if err != nil {
		return err
	}
	ds, err := dirstore.New(o.to)
	if err != nil {
		return fmt.Errorf("--to %s: %v", o.to, unwrapPath(err))
	}
	dst := &place{st: ds, objs: recordOf(ds, nil), prefix: src.prefix}
	keys := make([]string, 0, len(sr.Read))
	for rel := range sr.Read {
		keys = append(keys, rel)
	}
	sort.Strings(keys)
	var total int64
	for _, rel := range keys {
		n, err := copyObject(ctx, src.objs, ds, src.prefix+rel, sr.Read[rel])
		if err != nil {
			return fmt.Errorf("fetch %s: %w", rel, err)
		}
		total += n
	}
	fmt.Fprintf(io.err, "custos: fetched %d objects (%d bytes) from %s into %s\n", len(keys), total, src.st, dst.name())
	for _, p := range sr.Problems {
		fmt.Fprintf(io.err, "custos: FAIL at the source: %s\n", p)
	}
	// Check the copy, not the source: that is what the analyst will use.
	r, err := custody.Verify(ctx, dst.objs, dst.prefix, custody.VerifyOptions{Identities: ids})
	if err != nil {
		return err
	}
	printProblems(io, r)
	if !r.OK() {
		return &exitError{code: exitFatal, err: fmt.Errorf("the fetched collection does not verify (%d problems); nothing was decrypted", len(r.Problems))}
	}
	if len(ids) > 0 {
		if err := decryptAll(ctx, ds, dst.prefix, r.Manifest, ids); err != nil {
			return err
		}
		fmt.Fprintf(io.err, "custos: decrypted %d artifacts into %s.plaintext\n", r.Decrypted, dst.name())
	}
	details := map[string]string{"from": src.name(), "to": ds.Root()}
	if !sr.OK() {
		details["source_problems"] = fmt.Sprint(len(sr.Problems))
	}
	if _, err := custody.Append(ctx, dst.objs, r, custody.EventFetched, actor(""), details, nil); err != nil {
		return fmt.Errorf("fetched, but the custody log record was not written: %w", err)
	}
	if !sr.OK() {
		return &exitError{code: exitFatal, err: fmt.Errorf("the collection at %s does not verify (%d problems, above); the copy holds the version of each object the record names, and verifies", src.name(), len(sr.Problems))}
	}
	fmt.Fprintf(io.err, "custos: verify OK: case %s, collection %s\n", r.Manifest.Case.ID, r.Manifest.CollectionID)
	return nil
}

// copyObject copies one version of key from src to dst, checking its
// SHA-256 on the way in.
func copyObject(ctx context.Context, src custody.Objects, dst storage.Store, key, version string) (int64, error) {
	rc, err := src.Open(ctx, key, version)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	w, err := dst.Create(ctx, key, storage.CreateOptions{})
	if err != nil {
		return 0, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), rc)
	if err != nil {
		w.Abort()
		return n, err
	}
	var d storage.Digest
	h.Sum(d[:0])
	_, err = w.Commit(ctx, d)
	return n, err
}

// decryptAll writes each stored artifact's plaintext beside the fetched
// collection, on the analyst's workstation, never on the collected host.
func decryptAll(ctx context.Context, st *dirstore.Store, prefix string, m *custody.Manifest, ids []age.Identity) error {
	// Beside the collection, not in it: the collection stays as it was stored.
	dir := filepath.Join(st.Root(), filepath.FromSlash(strings.TrimSuffix(prefix, "/"))+".plaintext")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, a := range m.Artifacts {
		if !a.IsStored() {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(a.Key), ".zst.age")
		if err := decryptTo(ctx, st, prefix+a.Key, filepath.Join(dir, name), ids); err != nil {
			return fmt.Errorf("decrypt %s: %w", a.Name, err)
		}
	}
	return nil
}

func decryptTo(ctx context.Context, st storage.Store, key, path string, ids []age.Identity) error {
	rc, err := st.Open(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	dr, err := age.Decrypt(rc, ids...)
	if err != nil {
		return err
	}
	zr, err := zstd.NewReader(dr, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return err
	}
	defer zr.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, zr); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
