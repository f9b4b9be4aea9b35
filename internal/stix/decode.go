package stix

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"
)

// ErrDecode is wrapped by every Decode error that is not about JSON syntax.
var ErrDecode = errors.New("stix: decode")

// Decode parses one STIX object from raw and fills the common properties the store
// indexes. Nothing is lost: Raw is the compact form of the input (whitespace between
// tokens removed, every byte of every member kept, member order kept), so custom
// properties and x- types survive.
//
// Decode rejects, with an error wrapping ErrJSON: input that is not exactly one JSON
// object, invalid UTF-8 (RFC 8259 §8.1), lone surrogate escapes (RFC 7493 §2.1),
// duplicate member names within one object (RFC 7493 §2.3: parsers disagree on which
// one wins, so we accept neither), nesting deeper than MaxDepth, and input larger than
// MaxObjectSize. It rejects, wrapping ErrDecode, an object whose type or id is not a
// non-empty string, or whose created or modified is not a timestamp (§2.16), because
// it could not fill Object from them. Every other rule is Validate's.
func Decode(raw []byte) (Object, error) {
	return decode(raw, false)
}

// decode parses raw, fills an Object and, when validate is set, validates it.
func decode(raw []byte, validate bool) (Object, error) {
	return decodeCanonical(raw, validate, nil)
}

// decodeCanonical is decode, and when canon is not nil, sets *canon to the
// canonical form of the object from the same tree (nil when it has none).
func decodeCanonical(raw []byte, validate bool, canon *[]byte) (Object, error) {
	var o Object
	var jsonErr bool
	err := withTree(raw, func(root *node, compact []byte) error {
		var err error
		if o, err = fill(root, compact); err != nil {
			return err
		}
		if validate {
			if errs := validateTree(root); len(errs) > 0 {
				return errs
			}
		}
		if canon != nil {
			if c, err := appendCanonical(make([]byte, 0, len(compact)), root); err == nil {
				*canon = c
			}
		}
		return nil
	})
	if _, jsonErr = err.(*jsonError); jsonErr {
		return Object{}, fmt.Errorf("stix: decode: %w", err)
	}
	if err != nil {
		return Object{}, err
	}
	return o, nil
}

// fill takes the indexed fields from the tree. The tree's strings alias the
// input (see parser.borrow), so the ones kept are copied, in one allocation.
func fill(root *node, compact []byte) (Object, error) {
	var o Object
	o.Raw = compact
	bad := func(format string, a ...any) (Object, error) {
		return Object{}, fmt.Errorf("%w: %s", ErrDecode, fmt.Sprintf(format, a...))
	}
	t := root.get("type")
	if t == nil {
		return bad("no type property")
	}
	if t.kind != kString || t.str == "" {
		return bad("type is not a non-empty string")
	}
	id := root.get("id")
	if id == nil {
		return bad("%s: no id property", t.str)
	}
	if id.kind != kString || id.str == "" {
		return bad("%s: id is not a non-empty string", t.str)
	}
	var err error
	if o.Created, err = timestampOf(root, "created", id.str); err != nil {
		return Object{}, err
	}
	if o.Modified, err = timestampOf(root, "modified", id.str); err != nil {
		return Object{}, err
	}
	if r := root.get("revoked"); r != nil && r.kind == kTrue {
		o.Revoked = true
	}
	name, ok := root.stringOf("name")
	if !ok {
		name, _ = root.stringOf("value")
	}
	desc, _ := root.stringOf("description")
	sv, _ := root.stringOf("spec_version")
	if sv == "2.1" || root.get("spec_version") == nil {
		// Only an SCO may omit it, and then it is 2.1 (STIX 2.1 §3.2): stored as
		// such, a match[spec_version]=2.1 finds it.
		o.SpecVersion = "2.1"
	} else {
		o.SpecVersion = strings.Clone(sv)
	}
	if k, ok := typeNames[t.str]; ok {
		o.Type = k
	} else {
		o.Type = strings.Clone(t.str)
	}
	// One copy for the three strings; a plain concatenation could return the
	// input's own bytes when two of them are empty.
	buf := make([]byte, 0, len(id.str)+len(name)+len(desc))
	buf = append(append(append(buf, id.str...), name...), desc...)
	all := unsafe.String(unsafe.SliceData(buf), len(buf))
	o.ID = all[:len(id.str)]
	o.Name = all[len(id.str) : len(id.str)+len(name)]
	o.Description = all[len(id.str)+len(name):]
	return o, nil
}

// timestampOf parses an optional top-level timestamp for fill.
func timestampOf(root *node, name, id string) (Timestamp, error) {
	m := root.get(name)
	if m == nil {
		return Timestamp{}, nil
	}
	if m.kind != kString {
		return Timestamp{}, fmt.Errorf("%w: %s: %s is a %s, not a timestamp", ErrDecode, id, name, m.kind)
	}
	ts, err := ParseTimestamp(m.str)
	if err != nil {
		_, err = ParseTimestamp(strings.Clone(m.str)) // the error keeps the text
		return Timestamp{}, fmt.Errorf("%w: %s: %s: %w", ErrDecode, id, name, err)
	}
	return ts, nil
}

// typeNames holds the specification's type names, so that decoding them does not
// allocate.
var typeNames = func() map[string]string {
	m := make(map[string]string, len(kindOf))
	for k := range kindOf {
		m[k] = k
	}
	return m
}()

// Parse is Decode followed by Validate: it returns the object only when it is valid
// STIX 2.1 and holds no U+0000, which not every store can keep (RuleNUL). A
// validation failure is returned as Errors.
func Parse(raw []byte) (Object, error) {
	return decode(raw, true)
}

// ParseCanonical is Parse, and returns besides the canonical form of the object
// (what Canonical returns for it) from the same parse: a verifier of signatures
// over the canonical form does not parse the object twice. canon is nil when the
// object has none (Canonical fails on it: a number that is not a finite double).
func ParseCanonical(raw []byte) (o Object, canon []byte, err error) {
	o, err = decodeCanonical(raw, true, &canon)
	if err != nil {
		return Object{}, nil, err
	}
	return o, canon, nil
}

// Validate checks o.Raw against the rules of STIX 2.1 and returns nil or Errors.
// It also checks that the indexed fields of o agree with Raw.
func Validate(o *Object) error {
	var errs Errors
	err := withTree(o.Raw, func(root *node, compact []byte) error {
		errs = validateTree(root)
		if d, err := fill(root, compact); err == nil {
			if d.ID != o.ID || d.Type != o.Type || d.SpecVersion != o.SpecVersion || d.Name != o.Name ||
				d.Description != o.Description || d.Created != o.Created || d.Modified != o.Modified || d.Revoked != o.Revoked {
				errs = append(errs, &Error{ObjectID: o.ID, Rule: RuleProperty, Message: "the indexed fields of the Object do not match its JSON"})
			}
		}
		return nil
	})
	if err != nil {
		return Errors{{ObjectID: o.ID, Rule: RuleJSON, Message: err.Error()}}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
