// Package stix holds STIX 2.1 objects: decoding without loss, identifiers, timestamps,
// markings and the validation rules of the specification.
package stix

// Object is one STIX object: the exact JSON it arrived as, and the common properties
// that the store indexes. Raw is never re-encoded, so custom properties, x- types and
// unknown properties survive every round trip.
type Object struct {
	ID          string    // "type--uuid" (§2.9)
	Type        string    // the type property
	SpecVersion string    // "2.1", also for an SCO that omits it (the default, §3.2)
	Created     Timestamp // zero when absent (SCOs)
	Modified    Timestamp // zero when absent (SCOs, marking definitions)
	Revoked     bool
	Name        string // name or value, for full-text search; may be empty
	Description string // description, for full-text search; may be empty
	Raw         []byte // the object's JSON, compact, exactly one JSON object
}

// Version is the timestamp that identifies this version of the object for TAXII
// (TAXII 2.1 §3.4.2): modified, else created, else the zero Timestamp.
func (o *Object) Version() Timestamp {
	if !o.Modified.IsZero() {
		return o.Modified
	}
	return o.Created
}
