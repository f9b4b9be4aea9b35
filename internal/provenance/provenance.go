// Package provenance signs the object versions a node shares and verifies those it
// receives. The originating node signs each version with Ed25519 over the RFC 8785
// canonical form of the object carrying the provenance extension without its
// signature; the extension is a STIX 2.1 property-extension (§7.3) under our own
// extension-definition id, which a consumer that does not know it ignores. The format
// is in docs/federation.md.
package provenance

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"quadshare/internal/par"
	"quadshare/internal/stix"
)

// ExtensionID is the extension-definition of the provenance extension. Its definition
// object is Definition.
const ExtensionID = "extension-definition--a7cb03bc-3bad-4d14-ab8c-985272ee0902"

// Errors of Verify; compare with errors.Is.
var (
	ErrUnsigned   = errors.New("provenance: object carries no signature")
	ErrMalformed  = errors.New("provenance: malformed provenance extension")
	ErrUnknownKey = errors.New("provenance: signed with an unknown key")
	ErrBadSig     = errors.New("provenance: signature does not verify")
)

// Extension is the content of the provenance extension of one object version.
type Extension struct {
	Node      string // ISO 3166-1 alpha-2 nation of the originating node
	Agency    string // STIX identity of the originating node's agency
	KeyID     string // KeyID of the signing key
	Signature []byte // Ed25519, 64 bytes
}

// wire is the extension as it is written. extension_type is required by STIX 2.1
// §7.3 wherever the extension-definition facility is used.
type wire struct {
	ExtensionType string `json:"extension_type"`
	Node          string `json:"node"`
	Agency        string `json:"agency"`
	KeyID         string `json:"key_id"`
	Signature     string `json:"signature,omitempty"`
}

// KeyID names a public key: the lowercase hex of the first 16 bytes of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:16])
}

// Signer is the identity a node signs with.
type Signer struct {
	Nation string
	Agency string
	Key    ed25519.PrivateKey
	keyID  string
}

// NewSigner checks the identity and returns a Signer.
func NewSigner(nation, agency string, key ed25519.PrivateKey) (*Signer, error) {
	if !nationRE.MatchString(nation) {
		return nil, fmt.Errorf("provenance: nation %q: want ISO 3166-1 alpha-2", nation)
	}
	if !identityRE.MatchString(agency) {
		return nil, fmt.Errorf("provenance: agency %q: want a STIX identity id", agency)
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("provenance: want an Ed25519 private key")
	}
	return &Signer{Nation: nation, Agency: agency, Key: key, keyID: KeyID(key.Public().(ed25519.PublicKey))}, nil
}

// Public returns the public key that verifies this signer's signatures.
func (s *Signer) Public() ed25519.PublicKey { return s.Key.Public().(ed25519.PublicKey) }

// KeyID returns the key id written in every signature.
func (s *Signer) KeyID() string { return s.keyID }

var (
	nationRE   = regexp.MustCompile(`^[A-Z]{2}$`)
	identityRE = regexp.MustCompile(`^identity--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	keyIDRE    = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// Sign returns raw with a provenance extension signed by s, replacing any provenance
// extension raw carried (a local object cannot claim another origin). raw must be one
// I-JSON object (stix objects are).
func (s *Signer) Sign(raw []byte) ([]byte, error) {
	w := wire{ExtensionType: "property-extension", Node: s.Nation, Agency: s.Agency, KeyID: s.keyID}
	msg, err := s.message(raw, w)
	if err != nil {
		return nil, err
	}
	w.Signature = base64.RawURLEncoding.EncodeToString(ed25519.Sign(s.Key, msg))
	// The signed object is the canonical form with the signature added: the last
	// member of our extension in canonical order, so a splice keeps it canonical.
	withSig, without := needles(w)
	keyAt := len(without) - len(`","node":"`+w.Node+`"}`) - len(w.KeyID)
	if out, ok := replaceOnce(msg, without, withSig, keyAt, len(w.KeyID)); ok {
		return out, nil
	}
	top, exts, err := decode(raw)
	if err != nil {
		return nil, err
	}
	return join(top, exts, w)
}

// message is what Sign signs: the canonical form of raw carrying w without its
// signature. The usual object, which carries no provenance yet, has the member
// spliced into its canonical form; any other is decoded and written again.
func (s *Signer) message(raw []byte, w wire) ([]byte, error) {
	if !bytes.Contains(raw, []byte(ExtensionID)) {
		if canon, err := stix.Canonical(raw); err == nil {
			_, without := needles(w)
			ours := without[len(ExtensionID)+3:] // the member's value: after "ID":
			if msg, ok := withExtension(canon, ours); ok {
				return msg, nil
			}
		}
	}
	top, exts, err := decode(raw) // our own stored objects: I-JSON already
	if err != nil {
		return nil, err
	}
	return message(top, exts, w)
}

// needles are our extension as a member in canonical form, with and without its
// signature. Every value is of a character set JSON does not escape (checked by
// NewSigner and extension), so these are exactly the bytes Canonical writes.
func needles(w wire) (withSig, without []byte) {
	base := `"` + ExtensionID + `":{"agency":"` + w.Agency + `","extension_type":"property-extension","key_id":"` +
		w.KeyID + `","node":"` + w.Node + `"`
	return []byte(base + `,"signature":"` + w.Signature + `"}`), []byte(base + "}")
}

// Keys finds the public key of a key id; ok is false for an unknown key. The nation
// returned is the node the key belongs to, which the signature must name.
type Keys func(keyID string) (pub ed25519.PublicKey, nation string, ok bool)

// Read returns the provenance extension of raw without verifying it: ErrUnsigned
// when there is none, ErrMalformed when it is not one this package writes.
func Read(raw []byte) (Extension, error) {
	if len(raw) <= stix.MaxObjectSize {
		if _, ext, ok, err := scanExtension(raw); ok {
			return ext, err
		}
	}
	_, exts, _, err := split(raw)
	if err != nil {
		return Extension{}, err
	}
	_, ext, err := extension(exts)
	return ext, err
}

// Verify checks the signature of raw with the key named in it and returns the
// extension. It fails on anything not exactly as Sign writes it.
func Verify(raw []byte, keys Keys) (Extension, error) {
	c, ext, err := prepare(raw, nil, keys)
	if err != nil {
		return ext, err
	}
	if !ed25519.Verify(c.pub, c.msg, c.sig) {
		return ext, ErrBadSig
	}
	return ext, nil
}

// VerifyAll verifies each of raws as Verify does, and returns the extension and the
// error of each. The Ed25519 signatures that pass every other check are verified
// together (batch.go), which costs far less per signature than one by one when most
// are signed by few keys; what fails the batch is verified singly, and refused
// exactly as Verify refuses it. Only a signature whose R has a component of small
// order (which no signer following RFC 8032 writes) may be accepted here (when its
// batch passes) and is refused by Verify: see docs/federation.md.
//
// canons, when not nil, holds for each object its canonical form as
// stix.ParseCanonical returns it, or nil; an object that has one is not parsed
// again to write it (the caller has parsed it to check it is STIX).
func VerifyAll(raws, canons [][]byte, keys Keys) ([]Extension, []error) {
	exts, errs := make([]Extension, len(raws)), make([]error, len(raws))
	checks := make([]sigCheck, len(raws))
	par.Each(len(raws), 32, func(i int) {
		var canon []byte
		if canons != nil {
			canon = canons[i]
		}
		checks[i], exts[i], errs[i] = prepare(raws[i], canon, keys)
	})
	var batch []sigCheck
	var at []int
	for i, err := range errs {
		if err == nil {
			batch, at = append(batch, checks[i]), append(at, i)
		}
	}
	for j, ok := range verifyBatch(batch) {
		if !ok {
			errs[at[j]] = ErrBadSig
		}
	}
	return exts, errs
}

// prepare makes every check of Verify but the Ed25519 signature, and returns the
// signature to verify. canon is the canonical form of raw, or nil to write it here.
func prepare(raw, canon []byte, keys Keys) (sigCheck, Extension, error) {
	if len(raw) > stix.MaxObjectSize {
		return sigCheck{}, Extension{}, fmt.Errorf("%w: object larger than %d bytes", ErrMalformed, stix.MaxObjectSize)
	}
	if canon == nil {
		var err error
		if canon, err = stix.Canonical(raw); err != nil { // I-JSON first: duplicate names above all
			return sigCheck{}, Extension{}, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
	}
	w, ext, ok, err := scanExtension(canon)
	if !ok {
		var exts map[string]json.RawMessage
		if _, exts, err = decode(canon); err == nil {
			w, ext, err = extension(exts)
		}
	}
	if err != nil {
		return sigCheck{}, ext, err
	}
	pub, nation, ok := keys(ext.KeyID)
	if !ok || len(pub) != ed25519.PublicKeySize {
		return sigCheck{}, ext, fmt.Errorf("%w: %s", ErrUnknownKey, ext.KeyID)
	}
	if nation != ext.Node {
		return sigCheck{}, ext, fmt.Errorf("%w: key %s belongs to %s, not %s", ErrBadSig, ext.KeyID, nation, ext.Node)
	}
	// The message is the canonical form without the signature member, which is the
	// last of our extension's: cut it out of the canonical form of the whole. The
	// extension read above is the top-level one; it must be the only place these
	// bytes occur, or the cut could fall elsewhere.
	withSig, without := needles(w)
	sigAt := len(withSig) - len(w.Signature) - len(`"}`)
	msg, ok := replaceOnce(canon, withSig, without, sigAt, min(32, len(w.Signature)))
	if !ok {
		return sigCheck{}, ext, fmt.Errorf("%w: the provenance extension occurs more than once", ErrMalformed)
	}
	return sigCheck{pub: pub, msg: msg, sig: ext.Signature}, ext, nil
}

// replaceOnce returns b with old replaced by repl when old occurs in b exactly once;
// ok is false otherwise. key, the keyLen bytes of old at keyAt, is looked for first:
// every occurrence of old holds it there, so when key occurs once, old occurs at
// most once, at one place to compare. (bytes.Count and bytes.Replace with a needle
// as long as our extension fall back to a slow search: that was a third of the cost
// of Verify besides Ed25519.) When key occurs more than once, old is counted.
func replaceOnce(b, old, repl []byte, keyAt, keyLen int) ([]byte, bool) {
	key := old[keyAt : keyAt+keyLen]
	i := bytes.Index(b, key)
	if i < 0 {
		return nil, false
	}
	if bytes.Contains(b[i+1:], key) {
		if bytes.Count(b, old) != 1 {
			return nil, false
		}
		return bytes.Replace(b, old, repl, 1), true
	}
	start := i - keyAt
	if start < 0 || !bytes.HasPrefix(b[start:], old) {
		return nil, false
	}
	out := make([]byte, 0, len(b)-len(old)+len(repl))
	out = append(append(append(out, b[:start]...), repl...), b[start+len(old):]...)
	return out, true
}

// Strip returns raw without the provenance extension (and without extensions when it
// was the only one): the object as its author wrote it.
func Strip(raw []byte) ([]byte, error) {
	top, exts, _, err := split(raw)
	if err != nil {
		return nil, err
	}
	delete(exts, ExtensionID)
	if len(exts) == 0 {
		delete(top, "extensions")
		return json.Marshal(top)
	}
	e, err := json.Marshal(exts)
	if err != nil {
		return nil, err
	}
	top["extensions"] = e
	return json.Marshal(top)
}

// split decodes the top level of raw and its extensions, and returns its canonical
// form. It rejects what is not I-JSON first (duplicate names above all: a verifier
// and a consumer must not see different values).
func split(raw []byte) (map[string]json.RawMessage, map[string]json.RawMessage, []byte, error) {
	if len(raw) > stix.MaxObjectSize {
		return nil, nil, nil, fmt.Errorf("%w: object larger than %d bytes", ErrMalformed, stix.MaxObjectSize)
	}
	canon, err := stix.Canonical(raw)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	top, exts, err := decode(raw)
	return top, exts, canon, err
}

// decode reads the top level of raw and its extensions.
func decode(raw []byte) (map[string]json.RawMessage, map[string]json.RawMessage, error) {
	if len(raw) > stix.MaxObjectSize {
		return nil, nil, fmt.Errorf("%w: object larger than %d bytes", ErrMalformed, stix.MaxObjectSize)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil || top == nil {
		return nil, nil, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	exts := map[string]json.RawMessage{}
	if e, ok := top["extensions"]; ok {
		if err := json.Unmarshal(e, &exts); err != nil || exts == nil {
			return nil, nil, fmt.Errorf("%w: extensions is not an object", ErrMalformed)
		}
	}
	return top, exts, nil
}

// extension reads our extension from exts, strictly.
func extension(exts map[string]json.RawMessage) (wire, Extension, error) {
	b, ok := exts[ExtensionID]
	if !ok {
		return wire{}, Extension{}, ErrUnsigned
	}
	var w wire
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return w, Extension{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	ext, err := check(w)
	return w, ext, err
}

// check checks the members of our extension.
func check(w wire) (Extension, error) {
	sig, err := base64.RawURLEncoding.DecodeString(w.Signature)
	switch {
	case w.ExtensionType != "property-extension":
		return Extension{}, fmt.Errorf("%w: extension_type %q", ErrMalformed, w.ExtensionType)
	case !nationRE.MatchString(w.Node):
		return Extension{}, fmt.Errorf("%w: node %q", ErrMalformed, w.Node)
	case !identityRE.MatchString(w.Agency):
		return Extension{}, fmt.Errorf("%w: agency %q", ErrMalformed, w.Agency)
	case !keyIDRE.MatchString(w.KeyID):
		return Extension{}, fmt.Errorf("%w: key_id %q", ErrMalformed, w.KeyID)
	case err != nil || len(sig) != ed25519.SignatureSize:
		return Extension{}, fmt.Errorf("%w: signature is not 64 bytes of base64url", ErrMalformed)
	}
	return Extension{Node: w.Node, Agency: w.Agency, KeyID: w.KeyID, Signature: sig}, nil
}

// message is what is signed: the canonical form of the object carrying w (whose
// Signature the caller has emptied).
func message(top, exts map[string]json.RawMessage, w wire) ([]byte, error) {
	b, err := join(top, exts, w)
	if err != nil {
		return nil, err
	}
	c, err := stix.Canonical(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return c, nil
}

// join writes top with w as our extension. top and exts are changed.
func join(top, exts map[string]json.RawMessage, w wire) ([]byte, error) {
	wb, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	exts[ExtensionID] = wb
	eb, err := json.Marshal(exts)
	if err != nil {
		return nil, err
	}
	top["extensions"] = eb
	return json.Marshal(top)
}

// Definition is the STIX extension-definition object of ExtensionID, for consumers
// that want to know what the extension is.
const Definition = `{"type":"extension-definition","spec_version":"2.1","id":"` + ExtensionID + `",` +
	`"created_by_ref":"identity--a7cb03bc-3bad-4d14-ab8c-985272ee0902",` +
	`"created":"2026-11-30T00:00:00.000Z","modified":"2026-11-30T00:00:00.000Z",` +
	`"name":"quadshare provenance","description":"Ed25519 signature of the originating national node over the RFC 8785 canonical form of the object carrying this extension without its signature member.",` +
	`"schema":"quadshare docs/federation.md, section Provenance","version":"1.0.0","extension_types":["property-extension"]}`
