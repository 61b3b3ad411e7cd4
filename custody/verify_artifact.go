package custody

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"iter"
	"strings"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"

	"github.com/custos-ir/custos/internal/iox"
)

// verifyArtifact checks one stored artifact: it is there, at the version
// the manifest records, of the recorded size, locked as recorded where the
// place keeps locks, and of the recorded ciphertext SHA-256; with
// identities, its plaintext and every stored file too.
func (r *Report) verifyArtifact(ctx context.Context, objs Objects, a *Artifact, o VerifyOptions) {
	thing := "artifact " + a.Name
	recorded := ""
	if a.Stored != nil {
		recorded = a.Stored.VersionID
	}
	v, ok := r.version(a.Key, recorded)
	if !ok {
		r.add(thing, "object %s is missing", a.Key)
		return
	}
	for _, l := range r.listing[a.Key] {
		if l.VersionID == v && l.Size != a.Cipher.Size {
			r.add(thing, "object %s is %d bytes, the manifest records %d", a.Key, l.Size, a.Cipher.Size)
		}
	}
	// Retention is checked where the place keeps it; a copy fetched to a
	// directory has none, and says nothing about the original's lock.
	if rt, ok := objs.(Retainer); ok && rt.Retains() {
		if info, err := objs.Stat(ctx, r.Prefix+a.Key, v); err != nil {
			r.add(thing, "cannot stat %s: %v", a.Key, err)
		} else {
			checkRetention(thing, a.Stored, info, r)
		}
	}
	if sum, ok := o.Arrived[a.Key]; ok && len(o.Identities) == 0 {
		r.Objects++
		r.Bytes += a.Cipher.Size
		if sum != a.Cipher.SHA256 {
			r.add(thing, "ciphertext sha256 %s as it arrived, the manifest records %s", sum, a.Cipher.SHA256)
		}
		return
	}
	rc, err := objs.Open(ctx, r.Prefix+a.Key, v)
	if err != nil {
		r.add(thing, "cannot read %s: %v", a.Key, err)
		return
	}
	defer rc.Close()
	r.Objects++
	ch := sha256.New()
	src := &iox.CountingReader{R: io.TeeReader(rc, ch)}
	if len(o.Identities) > 0 {
		verifyPlain(a, src, r.records(ctx, objs, a), o.Identities, thing, r)
	}
	// Whatever decryption left unread (all of it without identities, or
	// after a decryption error) is hashed here.
	if _, err := io.Copy(io.Discard, src); err != nil {
		r.add(thing, "read %s: %v", a.Key, err)
		return
	}
	r.Bytes += src.N
	var got Digest
	ch.Sum(got[:0])
	if got != a.Cipher.SHA256 {
		r.add(thing, "ciphertext sha256 %s, the manifest records %s: object %s was changed", got, a.Cipher.SHA256, a.Key)
	}
}

func checkRetention(thing string, rec *Object, info Object, r *Report) {
	if rec == nil || rec.Retention == nil {
		return
	}
	want := rec.Retention
	if info.Retention == nil {
		r.add(thing, "the manifest records %s retention until %s, the store reports none", want.Mode, want.Until.Format("2006-01-02"))
		return
	}
	if info.Retention.Mode != want.Mode {
		r.add(thing, "retention mode %s, the manifest records %s", info.Retention.Mode, want.Mode)
	}
	if info.Retention.Until.Before(want.Until) {
		r.add(thing, "retained until %s, earlier than the %s the manifest records", info.Retention.Until.Format("2006-01-02T15:04:05Z"), want.Until.Format("2006-01-02T15:04:05Z"))
	}
}

// verifyPlain decrypts and decompresses src, checks the plaintext SHA-256
// and for tar artifacts each stored file's SHA-256.
func verifyPlain(a *Artifact, src io.Reader, files iter.Seq2[*File, error], ids []age.Identity, thing string, r *Report) {
	dr, err := age.Decrypt(src, ids...)
	if err != nil {
		r.add(thing, "cannot decrypt: %v", err)
		return
	}
	zr, err := zstd.NewReader(dr, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(64<<20))
	if err != nil {
		r.add(thing, "zstd: %v", err)
		return
	}
	defer zr.Close()
	ph := sha256.New()
	cr := &iox.CountingReader{R: io.TeeReader(zr, ph)}
	if a.Format == "tar" {
		verifyTar(storedOnly(files), cr, thing, r)
	}
	if _, err := io.Copy(io.Discard, cr); err != nil {
		r.add(thing, "decrypt/decompress: %v", err)
		return
	}
	r.Decrypted++
	var got Digest
	ph.Sum(got[:0])
	if a.Plain.SHA256.IsZero() {
		// Unknown (an object that arrived without its record): it
		// decrypts and decompresses whole, which is all there is to check.
		return
	}
	if cr.N != a.Plain.Size {
		r.add(thing, "plaintext is %d bytes, the manifest records %d", cr.N, a.Plain.Size)
	}
	if got != a.Plain.SHA256 {
		r.add(thing, "plaintext sha256 %s, the manifest records %s", got, a.Plain.SHA256)
	}
}

// verifyTar checks each stored file in the tar against its record. The
// tar holds the stored files in the order the manifest lists them (custos
// writes a record as it writes the file), so the two are read in step and
// nothing is held per file: a tar of a million files verifies in the
// memory of one.
func verifyTar(stored iter.Seq2[*File, error], src io.Reader, thing string, r *Report) {
	next, stop := iter.Pull2(stored)
	defer stop()
	want, name, ok := nextStored(next, thing, r)
	tr := tar.NewReader(src)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			r.add(thing, "tar: %v", err)
			return
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if !ok {
			r.add(thing, "tar holds %s, which the manifest does not list", h.Name)
			continue
		}
		if h.Name != name {
			// The plaintext digest still covers every byte; the files
			// after this one cannot be matched to their records.
			r.add(thing, "tar holds %s where the manifest lists %s next: the tar is not the one the manifest describes", h.Name, name)
			return
		}
		// A redacted copy is checked against the copy's digest; the
		// original's is kept for comparison with the host's file.
		size, sum := want.Read, want.SHA256
		if want.StoredSHA256 != "" {
			size, sum = want.StoredSize, want.StoredSHA256
		}
		fh := sha256.New()
		n, err := io.Copy(fh, io.LimitReader(tr, size))
		if err != nil {
			r.add(thing, "tar %s: %v", h.Name, err)
			return
		}
		r.Files++
		if got := hex.EncodeToString(fh.Sum(nil)); n != size || got != sum {
			r.add(thing, "file %s: sha256 %s, the manifest records %s", want.Path, got, sum)
		}
		want, name, ok = nextStored(next, thing, r)
	}
	for missing := 0; ok; missing++ {
		if missing < 20 {
			r.add(thing, "file %s is listed as stored but not in the tar", name)
		} else if missing == 20 {
			r.add(thing, "more files are listed as stored but not in the tar")
		}
		_, name, ok = nextStored(next, thing, r)
	}
}

func nextStored(next func() (*File, error, bool), thing string, r *Report) (*File, string, bool) {
	f, err, ok := next()
	if err != nil {
		r.add(thing, "file records: %v", err)
		return nil, "", false
	}
	if !ok {
		return nil, "", false
	}
	name := TarName(f.Path)
	if f.StoredAs != "" {
		name = f.StoredAs
	}
	return f, name, true
}

// TarName maps a recorded host path to its name inside an artifact's tar:
// a POSIX path (leading "/") is the host's bytes (see EscapePath) without
// the leading slash; in a Windows path a drive letter becomes the first
// directory (C:\Windows\x → C/Windows/x).
func TarName(p string) string {
	if strings.HasPrefix(p, "/") {
		return strings.TrimLeft(UnescapePath(p), "/")
	}
	p = strings.ReplaceAll(p, "\\", "/")
	if len(p) >= 2 && p[1] == ':' {
		p = p[:1] + p[2:]
	}
	return strings.TrimLeft(p, "/")
}
