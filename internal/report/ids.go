package report

import (
	"crypto/rand"
	"crypto/sha1" // #nosec G505 -- UUIDv5 (RFC 9562 §5.5) is defined on SHA-1; not used for security.
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Namespace is the UUIDv5 namespace (RFC 9562 §5.5) of the ids of every STIX object
// derived from a report. It is the UUID of the report extension definition.
const Namespace = "35b8439b-7e85-4c0a-8dd0-8489777d408f"

var namespace = mustUUID(Namespace)

// NewID returns a new random report id (a UUIDv4).
func NewID() string {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		panic(fmt.Sprintf("report: crypto/rand: %v", err)) // never fails on supported systems
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return formatUUID(u)
}

// derivedID returns "<typ>--" followed by the UUIDv5 of name in Namespace.
func derivedID(typ, name string) string {
	h := sha1.New()
	h.Write(namespace[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return typ + "--" + formatUUID(u)
}

func formatUUID(u [16]byte) string {
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

// isUUID reports whether s is a UUID in lower-case canonical form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
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

func mustUUID(s string) [16]byte {
	var u [16]byte
	if !isUUID(s) {
		panic("report: bad UUID constant " + s)
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	if _, err := hex.Decode(u[:], []byte(h)); err != nil {
		panic("report: bad UUID constant " + s)
	}
	return u
}

func sha256Text(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}
