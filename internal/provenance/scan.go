package provenance

import (
	"bytes"
	"encoding/json"

	"quadshare/internal/stix"
)

// A scanner of compact JSON (no whitespace between tokens, as stix.Canonical and
// stix.Parse write it), to find one member of an object without decoding the rest:
// decoding every member into maps and writing them again was most of the cost of
// signing and verifying besides Ed25519. Anything it does not expect makes it
// report failure, and the callers fall back to decoding.

// skipValue returns the index after the value starting at b[i]: stix.SkipValue,
// which also checks it, but with no whitespace before it, which compact JSON
// does not have.
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r' {
		return 0, false
	}
	end, err := stix.SkipValue(b, i)
	return end, err == nil
}

// member is one member of a compact object: its name as written (between the
// quotes, escapes kept) and where its value lies.
type member struct {
	name       []byte
	start, end int // of the member, name included
	value      []byte
}

// members lists the members of the compact object obj, appended to out (callers
// pass a buffer on their stack: most objects have fewer than 16 members, and this
// ran for every object signed or verified); ok is false when obj is not one.
func members(obj []byte, out []member) ([]member, bool) {
	if len(obj) < 2 || obj[0] != '{' || obj[len(obj)-1] != '}' {
		return nil, false
	}
	i := 1
	if obj[i] == '}' {
		return out, i == len(obj)-1
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return nil, false
		}
		nameEnd, ok := skipValue(obj, i) // a string: obj[i] is '"'
		if !ok || nameEnd >= len(obj) || obj[nameEnd] != ':' {
			return nil, false
		}
		vEnd, ok := skipValue(obj, nameEnd+1)
		if !ok || vEnd >= len(obj) {
			return nil, false
		}
		out = append(out, member{name: obj[i+1 : nameEnd-1], start: i, end: vEnd, value: obj[nameEnd+1 : vEnd]})
		switch obj[vEnd] {
		case ',':
			i = vEnd + 1
		case '}':
			return out, vEnd == len(obj)-1
		default:
			return nil, false
		}
	}
}

// find returns the value of the member of obj named name (plain ASCII, no escapes).
// found is false when there is none; ok false when obj is not a compact object or
// a member name has escapes (it could spell name differently).
func find(obj []byte, name string) (value []byte, found, ok bool) {
	var buf [16]member
	ms, ok := members(obj, buf[:0])
	if !ok {
		return nil, false, false
	}
	for _, m := range ms {
		if bytes.IndexByte(m.name, '\\') >= 0 {
			return nil, false, false
		}
		if string(m.name) == name {
			return m.value, true, true
		}
	}
	return nil, false, true
}

// insertSorted returns the canonical object obj with the member `"name":value`
// added where RFC 8785 order puts it; ok is false when obj is not compact, already
// has name, or has a name that is not plain ASCII (whose UTF-16 order would need
// decoding).
func insertSorted(obj []byte, name string, value []byte) ([]byte, bool) {
	var buf [16]member
	ms, ok := members(obj, buf[:0])
	if !ok {
		return nil, false
	}
	// By default at the end: before the closing brace, after a comma if any member.
	at, lead, trail := len(obj)-1, len(ms) > 0, false
	for i, m := range ms {
		if !plainASCII(m.name) {
			return nil, false
		}
		c := bytes.Compare(m.name, []byte(name))
		if c == 0 {
			return nil, false
		}
		if c > 0 {
			at, lead, trail = ms[i].start, false, true
			break
		}
	}
	out := make([]byte, 0, len(obj)+len(name)+len(value)+4)
	out = append(out, obj[:at]...)
	if lead {
		out = append(out, ',')
	}
	out = append(out, '"')
	out = append(out, name...)
	out = append(out, '"', ':')
	out = append(out, value...)
	if trail {
		out = append(out, ',')
	}
	return append(out, obj[at:]...), true
}

func plainASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 || c == '\\' || c < 0x20 {
			return false
		}
	}
	return true
}

// withExtension returns the canonical object canon with our extension member (its
// value ours) added under extensions, in canonical order; ok is false when the fast
// way does not apply.
func withExtension(canon []byte, ours []byte) ([]byte, bool) {
	var buf [16]member
	ms, ok := members(canon, buf[:0])
	if !ok {
		return nil, false
	}
	for _, m := range ms {
		if string(m.name) != "extensions" {
			continue
		}
		exts, ok := insertSorted(m.value, ExtensionID, ours)
		if !ok {
			return nil, false
		}
		start := m.end - len(m.value)
		out := make([]byte, 0, len(canon)+len(exts)-len(m.value))
		out = append(out, canon[:start]...)
		out = append(out, exts...)
		return append(out, canon[m.end:]...), true
	}
	wrapped := make([]byte, 0, len(ExtensionID)+len(ours)+5)
	wrapped = append(wrapped, `{"`+ExtensionID+`":`...)
	wrapped = append(wrapped, ours...)
	return insertSorted(canon, "extensions", append(wrapped, '}'))
}

// scanExtension reads our extension from the compact object obj without decoding
// the rest; handled is false when obj is not one the scanner reads (the caller
// decodes then).
func scanExtension(obj []byte) (w wire, ext Extension, handled bool, err error) {
	exts, found, ok := find(obj, "extensions")
	if !ok {
		return w, ext, false, nil
	}
	if !found {
		return w, ext, true, ErrUnsigned
	}
	v, found, ok := find(exts, ExtensionID)
	if !ok {
		return w, ext, false, nil
	}
	if !found {
		return w, ext, true, ErrUnsigned
	}
	if fw, ok := scanWire(v); ok {
		ext, err = check(fw)
		return fw, ext, true, err
	}
	w, ext, err = extension(map[string]json.RawMessage{ExtensionID: v})
	return w, ext, true, err
}

// scanWire reads our extension when it is exactly as Sign writes it: its five
// members in canonical order, each a string without escapes (every valid value is
// of a character set JSON does not escape). Anything else is left to the strict
// decoder, which gives the reason.
func scanWire(v []byte) (wire, bool) {
	var buf [16]member
	ms, ok := members(v, buf[:0])
	if !ok || len(ms) != 5 {
		return wire{}, false
	}
	var vals [5]string
	for i, name := range [5]string{"agency", "extension_type", "key_id", "node", "signature"} {
		m := ms[i]
		if string(m.name) != name || len(m.value) < 2 || m.value[0] != '"' || bytes.IndexByte(m.value[1:len(m.value)-1], '\\') >= 0 {
			return wire{}, false
		}
		vals[i] = string(m.value[1 : len(m.value)-1])
	}
	return wire{Agency: vals[0], ExtensionType: vals[1], KeyID: vals[2], Node: vals[3], Signature: vals[4]}, true
}
