package custody

import (
	"context"
	"strings"
	"testing"

	"filippo.io/age"
)

func TestVerifyIntact(t *testing.T) {
	f := newFixture(t, newMem(false))
	r := f.verify(t, VerifyOptions{Identities: []age.Identity{f.id}})
	if !r.OK() {
		t.Fatalf("problems:\n%s", problems(r))
	}
	if r.Objects != 2 || r.Decrypted != 2 || r.Files != 2 {
		t.Fatalf("checked %d objects, decrypted %d, %d files", r.Objects, r.Decrypted, r.Files)
	}
}

// TestTamperAnyByte flips one byte at several offsets of every object of a
// collection: verify must fail and name the damaged thing each time.
func TestTamperAnyByte(t *testing.T) {
	f := newFixture(t, newMem(false))
	var keys []string
	f.objs.List(context.Background(), f.prefix, func(o Object) error { keys = append(keys, o.Key); return nil })
	if len(keys) != 9 {
		t.Fatalf("collection holds %d objects: %v", len(keys), keys)
	}
	for _, k := range keys {
		orig := f.objs.get(k)
		rel := strings.TrimPrefix(k, f.prefix)
		for _, off := range []int{0, 1, len(orig) / 2, len(orig) - 1} {
			b := append([]byte(nil), orig...)
			b[off] ^= 0x01
			f.objs.set(k, b)
			r := f.verify(t, VerifyOptions{}) // without identity: hashes alone must catch it
			if r.OK() {
				t.Errorf("%s: byte %d flipped, verify passed", rel, off)
			} else if !mentions(r, rel) {
				t.Errorf("%s: byte %d flipped, problems do not name it:\n%s", rel, off, problems(r))
			}
			f.objs.set(k, orig)
		}
	}
	if r := f.verify(t, VerifyOptions{Identities: []age.Identity{f.id}}); !r.OK() {
		t.Fatalf("restored collection fails:\n%s", problems(r))
	}
}

func mentions(r *Report, rel string) bool {
	base := rel[strings.LastIndex(rel, "/")+1:]
	for _, p := range r.Problems {
		s := p.String()
		if strings.Contains(s, base) || strings.Contains(s, strings.SplitN(base, ".", 2)[0]) ||
			base == ManifestDigestName && strings.Contains(s, "does not match manifest.json.sha256") ||
			strings.HasPrefix(rel, ArtifactDir) && strings.Contains(s, "artifact ") {
			return true
		}
	}
	return false
}

func TestVerifyMissingAndUnlisted(t *testing.T) {
	f := newFixture(t, newMem(false))
	f.objs.remove(f.prefix + "artifacts/02-logs.tar.zst.age")
	f.objs.forge(f.prefix+"artifacts/99-planted.jsonl.zst.age", []byte("x"))
	f.objs.forge(f.prefix+".tmp-manifest.json-1234", []byte("{}"))
	got := problems(f.verify(t, VerifyOptions{}))
	for _, want := range []string{
		"artifact logs: object artifacts/02-logs.tar.zst.age is missing",
		"object artifacts/99-planted.jsonl.zst.age: is in the collection but not in the manifest",
		"object .tmp-manifest.json-1234: is in the collection but not in the manifest",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
}

func TestVerifyWrongIdentity(t *testing.T) {
	f := newFixture(t, newMem(false))
	other, _ := age.GenerateX25519Identity()
	r := f.verify(t, VerifyOptions{Identities: []age.Identity{other}})
	if r.OK() || !strings.Contains(problems(r), "cannot decrypt") {
		t.Fatalf("problems:\n%s", problems(r))
	}
}

// Issue 13, item 1: a consistent forgery put as new versions under every
// key of a collection. verify names every key written twice and checks
// the first version of each, so the original still verifies beneath.
func TestVerifyNewVersionsNamed(t *testing.T) {
	objs := newMem(true)
	f := newFixture(t, objs)
	forged := newFixture(t, newMem(true))
	var keys []string
	forged.objs.List(context.Background(), forged.prefix, func(o Object) error { keys = append(keys, o.Key); return nil })
	for _, k := range keys {
		objs.forge(f.prefix+strings.TrimPrefix(k, forged.prefix), forged.objs.get(k))
	}
	r := f.verify(t, VerifyOptions{Identities: []age.Identity{f.id}})
	got := problems(r)
	for _, k := range keys {
		rel := strings.TrimPrefix(k, forged.prefix)
		if !strings.Contains(got, "object "+rel+": has 2 versions") {
			t.Errorf("%s written twice, not named:\n%s", rel, got)
		}
	}
	// Apart from the versions, the original holds: every problem is one.
	for _, p := range r.Problems {
		if !strings.Contains(p.What, "versions in the store") {
			t.Errorf("the first versions do not verify: %s", p)
		}
	}
	if r.Manifest.CollectionID != f.m.CollectionID {
		t.Errorf("verify read the forged manifest %s", r.Manifest.CollectionID)
	}
	for rel, v := range r.Read {
		if v != objs.objs[f.prefix+rel][0].id {
			t.Errorf("%s: read version %s, not the first", rel, v)
		}
	}
	// A delete marker over a key is named too.
	objs2 := newMem(true)
	g := newFixture(t, objs2)
	objs2.mu.Lock()
	objs2.put(g.prefix+SumsName, nil, true)
	objs2.mu.Unlock()
	if got := problems(g.verify(t, VerifyOptions{})); !strings.Contains(got, "object SHA256SUMS: has a delete marker") {
		t.Errorf("delete marker not named:\n%s", got)
	}
}

// Issue 13, item 7: verify reads the manifest once, and sign and
// countersign act on those bytes.
func TestVerifyReadsManifestOnce(t *testing.T) {
	f := newFixture(t, newMem(false))
	f.objs.opens = map[string]int{}
	r := f.verify(t, VerifyOptions{})
	if !r.OK() {
		t.Fatal(problems(r))
	}
	alice := sshKey(t)
	if err := Sign(context.Background(), f.objs, r, alice, Actor{User: "alice"}); err != nil {
		t.Fatal(err)
	}
	if n := f.objs.opens[f.prefix+ManifestName]; n != 1 {
		t.Fatalf("manifest.json opened %d times by verify and sign", n)
	}
}
