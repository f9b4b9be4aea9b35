// Package uuid makes the UUIDs of STIX identifiers (STIX 2.1 §2.9): random ones
// (RFC 9562 version 4) and name-based ones (version 5, as deterministic SCO ids use).
package uuid

import (
	"crypto/rand"
	"crypto/sha1" // #nosec G505 -- UUIDv5 (RFC 9562 §5.5) is defined on SHA-1; not used for security.
	"encoding/hex"
)

// UUID is the 16 bytes of a UUID.
type UUID [16]byte

// New returns a random version 4 UUID in canonical form.
func New() string {
	var u UUID
	_, _ = rand.Read(u[:]) // never fails (crypto/rand documents it)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u.String()
}

// V5 returns the name-based (SHA-1) UUID of name in namespace ns (RFC 9562 §5.5).
func V5(ns UUID, name []byte) string {
	h := sha1.New()
	h.Write(ns[:])
	h.Write(name)
	var u UUID
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return u.String()
}

// String is the canonical lower-case form "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx".
func (u UUID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// Canonical reports whether s is a UUID in canonical lower-case form.
func Canonical(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range 36 {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// Must parses a canonical UUID constant, and panics on anything else: it is for
// namespaces written in code.
func Must(s string) UUID {
	var u UUID
	if !Canonical(s) {
		panic("uuid: bad constant " + s)
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	if _, err := hex.Decode(u[:], []byte(h)); err != nil {
		panic("uuid: bad constant " + s)
	}
	return u
}
