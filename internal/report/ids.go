package report

import (
	"crypto/sha256"
	"encoding/hex"

	"quadshare/internal/uuid"
)

// Namespace is the UUIDv5 namespace (RFC 9562 §5.5) of the ids of every STIX object
// derived from a report. It is the UUID of the report extension definition.
const Namespace = "35b8439b-7e85-4c0a-8dd0-8489777d408f"

var namespace = uuid.Must(Namespace)

// NewID returns a new random report id (a UUIDv4).
func NewID() string { return uuid.New() }

// derivedID returns "<typ>--" followed by the UUIDv5 of name in Namespace.
func derivedID(typ, name string) string { return typ + "--" + uuid.V5(namespace, []byte(name)) }

// isUUID reports whether s is a UUID in lower-case canonical form.
func isUUID(s string) bool { return uuid.Canonical(s) }

func sha256Text(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}
