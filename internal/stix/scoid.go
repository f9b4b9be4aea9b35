package stix

import (
	"errors"
	"fmt"
	"slices"
	"unicode/utf16"

	"quadshare/internal/uuid"
)

// SCONamespace is the UUIDv5 namespace of deterministic SCO ids (§2.9).
const SCONamespace = "00abedb4-aa42-466c-9c01-fed23315a9b7"

var scoNamespace = uuid.Must(SCONamespace)

// ErrNoContributing is returned by SCOID when none of the ID Contributing
// Properties of the type are present: §2.9 then requires a UUIDv4.
var ErrNoContributing = errors.New("stix: no ID contributing properties present")

// contributing lists the ID Contributing Properties of each SCO (§6, the table
// at the start of each object's properties). Process has none (§6.13.1).
var contributing = map[string][]string{
	"artifact":             {"hashes", "payload_bin"},
	"autonomous-system":    {"number"},
	"directory":            {"path"},
	"domain-name":          {"value"},
	"email-addr":           {"value"},
	"email-message":        {"from_ref", "subject", "body"},
	"file":                 {"hashes", "name", "extensions", "parent_directory_ref"},
	"ipv4-addr":            {"value"},
	"ipv6-addr":            {"value"},
	"mac-addr":             {"value"},
	"mutex":                {"name"},
	"network-traffic":      {"start", "end", "src_ref", "dst_ref", "src_port", "dst_port", "protocols", "extensions"},
	"process":              nil,
	"software":             {"name", "cpe", "swid", "vendor", "version"},
	"url":                  {"value"},
	"user-account":         {"account_type", "user_id", "account_login"},
	"windows-registry-key": {"key", "values"},
	"x509-certificate":     {"hashes", "serial_number"},
}

// hashPreference is the order in which one hash is chosen for the id (§6.1.1,
// §6.7.1, §6.18.1). When none of them is present we take the first name in
// UTF-16 order, so that the choice is deterministic.
var hashPreference = []string{"MD5", "SHA-1", "SHA-256", "SHA-512"}

// SCOID computes the deterministic id of an SCO of type scoType whose properties are
// the JSON object raw (other properties, id and type among them, are ignored):
// a UUIDv5 in the namespace SCONamespace over the RFC 8785 form of an object holding
// the ID Contributing Properties that are present (§2.9, §3.4). It returns
// ErrNoContributing when none is present, and an error for a type that is not a
// specification SCO.
func SCOID(scoType string, raw []byte) (string, error) {
	root, _, err := parseJSON(raw)
	if err != nil {
		return "", fmt.Errorf("stix: sco id: %w", err)
	}
	return scoID(scoType, root)
}

func scoID(scoType string, root *node) (string, error) {
	props, ok := contributing[scoType]
	if !ok {
		return "", fmt.Errorf("stix: sco id: %q is not an SCO type of the specification", scoType)
	}
	sel := node{kind: kObject}
	for _, name := range props {
		m := root.get(name)
		if m == nil {
			continue
		}
		v := *m
		if name == "hashes" && m.kind == kObject && len(m.kids) > 0 {
			v.kids = []node{chooseHash(m)}
		}
		sel.kids = append(sel.kids, v)
	}
	if len(sel.kids) == 0 {
		return "", ErrNoContributing
	}
	canon, err := appendCanonical(nil, &sel)
	if err != nil {
		return "", fmt.Errorf("stix: sco id: %w", err)
	}
	return scoType + "--" + uuid.V5(scoNamespace, canon), nil
}

func chooseHash(h *node) node {
	for _, want := range hashPreference {
		if m := h.get(want); m != nil {
			return *m
		}
	}
	best := 0
	for i := 1; i < len(h.kids); i++ {
		if slices.Compare(utf16.Encode([]rune(h.kids[i].key)), utf16.Encode([]rune(h.kids[best].key))) < 0 {
			best = i
		}
	}
	return h.kids[best]
}

// CheckSCOID compares the id of an SCO with its deterministic id. §2.9 says SCOs
// SHOULD use it, so Validate does not; callers that want to flag or deduplicate
// call this. It returns nil when the id is the deterministic one, or when the type
// is not a specification SCO or has no contributing properties present; otherwise
// an *Error naming the expected id.
func CheckSCOID(raw []byte) error {
	root, _, err := parseJSON(raw)
	if err != nil {
		return fmt.Errorf("stix: sco id: %w", err)
	}
	typ, _ := root.stringOf("type")
	id, _ := root.stringOf("id")
	if KindOf(typ) != KindSCO {
		return nil
	}
	want, err := scoID(typ, root)
	if errors.Is(err, ErrNoContributing) {
		return nil
	}
	if err != nil {
		return err
	}
	if id != want {
		return &Error{ObjectID: id, Path: "id", Rule: RuleSCOID, Message: "the deterministic id is " + want}
	}
	return nil
}
