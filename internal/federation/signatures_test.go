package federation

import (
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"

	"quadshare/internal/provenance"
)

// An object signed again comes from the cache (the same bytes, not a copy),
// signed as Sign signs it; another key signs afresh; the cache keeps at most two
// generations.
func TestSignaturesCached(t *testing.T) {
	signer := func(seed byte) *provenance.Signer {
		key := ed25519.NewKeyFromSeed(append(make([]byte, ed25519.SeedSize-1), seed))
		s, err := provenance.NewSigner("JP", "identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	obj := func(i int) []byte {
		return fmt.Appendf(nil, `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-%012d","name":"n"}`, i)
	}
	var c signatures
	a, b := signer(1), signer(2)
	first, err := c.sign(a, obj(0))
	if err != nil {
		t.Fatal(err)
	}
	want, err := a.Sign(obj(0))
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != string(want) {
		t.Fatalf("cached signing differs from Sign:\n%s\n%s", first, want)
	}
	if again, _ := c.sign(a, obj(0)); &again[0] != &first[0] {
		t.Error("signed again instead of taken from the cache")
	}
	if other, _ := c.sign(b, obj(0)); string(other) == string(first) {
		t.Error("another key got the first key's signature")
	}
	for i := 1; i <= 2*signaturesKept; i++ {
		if _, err := c.sign(a, obj(i)); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.cur)+len(c.prev) > 2*signaturesKept {
		t.Errorf("the cache holds %d signatures", len(c.cur)+len(c.prev))
	}
	if again, _ := c.sign(a, obj(0)); &again[0] == &first[0] {
		t.Error("the oldest signature is still kept")
	}
	// Large objects: bounded by bytes too.
	big := strings.Repeat("a", 1<<20)
	for i := range 3 * signaturesBytes >> 20 {
		raw := fmt.Appendf(nil, `{"type":"note","spec_version":"2.1","id":"note--8e2e2d2b-17d4-4cbf-938f-%012d","content":"%s"}`, i, big)
		if _, err := c.sign(a, raw); err != nil {
			t.Fatal(err)
		}
	}
	held := c.curBytes
	for _, v := range c.prev {
		held += len(v)
	}
	if held > 2*signaturesBytes {
		t.Errorf("the cache holds %d bytes", held)
	}
}
