package provenance

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"quadshare/internal/stix"
)

const agency = "identity--0b4c4fd6-2f8e-4b3a-9c1e-4a5b6c7d8e9f"

const indicator = `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",` +
	`"created":"2026-01-01T00:00:00.000Z","modified":"2026-01-02T00:00:00.000Z","name":"bad domain \u00e9",` +
	`"pattern":"[domain-name:value = 'evil.example']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z",` +
	`"extensions":{"extension-definition--11111111-2222-4333-8444-555555555555":{"extension_type":"property-extension","rank":1.50}}}`

func newSigner(t testing.TB, nation string) *Signer {
	t.Helper()
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	s, err := NewSigner(nation, agency, k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func keysOf(signers ...*Signer) Keys {
	return func(id string) (ed25519.PublicKey, string, bool) {
		for _, s := range signers {
			if s.KeyID() == id {
				return s.Public(), s.Nation, true
			}
		}
		return nil, "", false
	}
}

func TestSignVerify(t *testing.T) {
	jp := newSigner(t, "JP")
	signed, err := jp.Sign([]byte(indicator))
	if err != nil {
		t.Fatal(err)
	}
	// Still valid STIX 2.1: a consumer that does not know the extension keeps it as is.
	if _, err := stix.Parse(signed); err != nil {
		t.Fatalf("signed object is not valid STIX: %v\n%s", err, signed)
	}
	ext, err := Verify(signed, keysOf(jp))
	if err != nil {
		t.Fatal(err)
	}
	if ext.Node != "JP" || ext.Agency != agency || ext.KeyID != jp.KeyID() {
		t.Errorf("extension %+v", ext)
	}
	// Re-encoding that keeps the meaning (whitespace, member order) keeps the signature.
	var v any
	_ = json.Unmarshal(signed, &v)
	pretty, _ := json.MarshalIndent(v, "", "  ")
	if _, err := Verify(pretty, keysOf(jp)); err != nil {
		t.Errorf("re-encoded: %v", err)
	}
	// The other extension survives, and stripping gives back the author's object.
	stripped, err := Strip(signed)
	if err != nil {
		t.Fatal(err)
	}
	c1, _ := stix.Canonical(stripped)
	c2, _ := stix.Canonical([]byte(indicator))
	if !bytes.Equal(c1, c2) {
		t.Errorf("strip:\n%s\n%s", c1, c2)
	}
	// Signing again (a forwarding node would not, a local re-share does) replaces the signature.
	au := newSigner(t, "AU")
	again, err := au.Sign(signed)
	if err != nil {
		t.Fatal(err)
	}
	if ext, err := Verify(again, keysOf(au)); err != nil || ext.Node != "AU" {
		t.Errorf("re-signed: %+v %v", ext, err)
	}
	if strings.Count(string(again), ExtensionID) != 1 {
		t.Errorf("two provenance extensions: %s", again)
	}
}

func TestVerifyRejects(t *testing.T) {
	jp, us := newSigner(t, "JP"), newSigner(t, "US")
	signed, err := jp.Sign([]byte(indicator))
	if err != nil {
		t.Fatal(err)
	}
	// a US key registered as belonging to JP is still not JP's key
	liar := func(id string) (ed25519.PublicKey, string, bool) {
		if id == jp.KeyID() {
			return us.Public(), "JP", true
		}
		return nil, "", false
	}
	s := string(signed)
	cases := []struct {
		name string
		raw  string
		keys Keys
		want error
	}{
		{"unsigned", indicator, keysOf(jp), ErrUnsigned},
		{"name changed", strings.Replace(s, "bad domain", "good domain", 1), keysOf(jp), ErrBadSig},
		{"pattern changed", strings.Replace(s, "evil.example", "evil.example.org", 1), keysOf(jp), ErrBadSig},
		{"number changed", strings.Replace(s, "1.5", "1.25", 1), keysOf(jp), ErrBadSig},
		{"member added", strings.Replace(s, `"type":"indicator"`, `"type":"indicator","labels":["x"]`, 1), keysOf(jp), ErrBadSig},
		{"node changed", strings.Replace(s, `"node":"JP"`, `"node":"US"`, 1), keysOf(jp), ErrBadSig},
		{"unknown key", s, keysOf(us), ErrUnknownKey},
		{"wrong key for the id", s, liar, ErrBadSig},
		{"duplicate member", strings.Replace(s, `"type":"indicator"`, `"type":"indicator","type":"indicator"`, 1), keysOf(jp), ErrMalformed},
		{"unknown field", strings.Replace(s, `"node":"JP"`, `"node":"JP","extra":1`, 1), keysOf(jp), ErrMalformed},
		{"not an object", `[1,2]`, keysOf(jp), ErrMalformed},
		{"extensions not an object", `{"type":"x","extensions":[1]}`, keysOf(jp), ErrMalformed},
		{"short signature", strings.Replace(s, `"signature":"`, `"signature":"AA`, 1), keysOf(jp), ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.raw == s && c.name != "unknown key" && c.name != "wrong key for the id" {
				t.Fatal("the case did not change the object")
			}
			_, err := Verify([]byte(c.raw), c.keys)
			if !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
		})
	}
}

// An object carrying a copy of the provenance extension elsewhere (a custom
// property) is still signed, and the copy cannot stand in for the real one.
func TestExtensionCopyElsewhere(t *testing.T) {
	jp := newSigner(t, "JP")
	signed, err := jp.Sign([]byte(indicator))
	if err != nil {
		t.Fatal(err)
	}
	ext := `"` + ExtensionID + `":` + string(signed[bytes.Index(signed, []byte(`{"agency"`)):bytes.Index(signed, []byte(`"}}`))+2])
	// the copy nested in a custom property: verification refuses the ambiguity
	nested := bytes.Replace(signed, []byte(`"type":"indicator"`), []byte(`"type":"indicator","x_copy":{`+ext+`}`), 1)
	if _, err := Verify(nested, keysOf(jp)); !errors.Is(err, ErrMalformed) {
		t.Errorf("nested copy: %v", err)
	}
	// signing such an object takes the slow path and still verifies
	unsigned := strings.Replace(indicator, `"type":"indicator"`, `"type":"indicator","x_copy":{"`+ExtensionID+`":{"agency":"`+agency+`","extension_type":"property-extension","key_id":"`+jp.KeyID()+`","node":"JP"}}`, 1)
	again, err := jp.Sign([]byte(unsigned))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(again, keysOf(jp)); err != nil {
		t.Errorf("slow path: %v", err)
	}
}

func TestDefinitionIsValidSTIX(t *testing.T) {
	if _, err := stix.Parse([]byte(Definition)); err != nil {
		t.Fatal(err)
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", KeyFile)
	k1, created, err := LoadOrCreateKey(path)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	k2, created, err := LoadOrCreateKey(path)
	if err != nil || created || !k1.Equal(k2) {
		t.Fatalf("reload: %v %v", created, err)
	}
	_ = os.Chmod(path, 0o644)
	if _, _, err := LoadOrCreateKey(path); err == nil {
		t.Error("a world-readable key was used")
	}
	bad := filepath.Join(t.TempDir(), KeyFile)
	_ = os.WriteFile(bad, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600)
	if _, _, err := LoadOrCreateKey(bad); err == nil {
		t.Error("garbage key accepted")
	}
	pub := k1.Public().(ed25519.PublicKey)
	got, err := ParsePublic(EncodePublic(pub))
	if err != nil || !got.Equal(pub) {
		t.Errorf("public key round trip: %v", err)
	}
	if _, err := ParsePublic("AAAA"); err == nil {
		t.Error("short public key accepted")
	}
}

// FuzzVerify feeds the verifier hostile objects: it must never panic, and whatever it
// accepts must be exactly what was signed.
func FuzzVerify(f *testing.F) {
	jp := newSigner(f, "JP")
	signed, _ := jp.Sign([]byte(indicator))
	f.Add(signed)
	f.Add([]byte(indicator))
	f.Add([]byte(`{"extensions":{"` + ExtensionID + `":{"extension_type":"property-extension","node":"JP","agency":"` + agency + `","key_id":"00000000000000000000000000000000","signature":""}}}`))
	f.Add([]byte(`{}`))
	want, _ := stix.Canonical(signed)
	f.Fuzz(func(t *testing.T, raw []byte) {
		ext, err := Verify(raw, keysOf(jp))
		if err != nil {
			return
		}
		got, cerr := stix.Canonical(raw)
		if cerr != nil || ext.Node != "JP" || !bytes.Equal(got, want) {
			t.Fatalf("accepted something not signed:\n%s", raw)
		}
	})
}

// Processes starting at once on one data directory end with one key.
func TestKeyCreatedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), KeyFile)
	const n = 8
	keys := make(chan ed25519.PrivateKey, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			k, _, err := LoadOrCreateKey(path)
			errs <- err
			keys <- k
		}()
	}
	var first ed25519.PrivateKey
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		k := <-keys
		if first == nil {
			first = k
		} else if !first.Equal(k) {
			t.Fatal("two keys")
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("files left: %d", len(entries))
	}
}
