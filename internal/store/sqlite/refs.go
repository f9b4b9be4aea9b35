package sqlite

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/stix"
)

// The objects column of audit_records. A disclosure of a TAXII page names a
// hundred object versions; as JSON pairs that is 8 KB, a row that no longer
// shares its page, and every page read then wrote one more page to the WAL and
// later to the database. The compact form below keeps a page's list near 3 KB.
// Rows written before it, in JSON, are still read. Either way the column holds
// exactly the ids and versions as recorded: the record's hash is over those
// strings, not over the column.
//
// Compact form: "~" then, for each reference, its id and its version:
//
//	id       "=" UUID          the type of the previous id, "--", the UUID
//	         "+" N ":" TYPE UUID  TYPE (N bytes), "--", the UUID
//	         "'" N ":" TEXT    the id as written (N bytes), for any other id
//	version  "="               the previous version
//	         "@" MS            "2006-01-02T15:04:05.000Z" with MS milliseconds since 1970
//	         "'" N ":" TEXT    the version as written
//
// UUID is the 16 bytes of a lowercase canonical UUID in unpadded base64url (22
// characters), MS the milliseconds in 8 characters of the same alphabet, N a
// decimal length. Each form is used only when decoding gives back the same text.

const msLayout = "2006-01-02T15:04:05.000Z"

var b64 = base64.RawURLEncoding

// encodeRefs is the objects column for refs: "" for none.
func encodeRefs(refs []audit.ObjectRef) string {
	if len(refs) == 0 {
		return ""
	}
	var b strings.Builder
	b.Grow(1 + 34*len(refs))
	b.WriteByte('~')
	var prevType, prevVersion string
	var buf [24]byte
	for i, r := range refs {
		typ, uuid, ok := strings.Cut(r.ID, "--")
		var u [16]byte
		if ok && typ != "" && canonicalUUID(uuid, &u) {
			if i > 0 && typ == prevType {
				b.WriteByte('=')
			} else {
				b.WriteByte('+')
				writeText(&b, typ)
			}
			b.Write(b64.AppendEncode(buf[:0], u[:]))
			prevType = typ
		} else {
			b.WriteByte('\'')
			writeText(&b, r.ID)
			prevType = ""
		}
		ms, ok := int64(0), false
		if i == 0 || r.Version != prevVersion {
			ms, ok = millis(r.Version)
		}
		switch {
		case i > 0 && r.Version == prevVersion:
			b.WriteByte('=')
		case ok:
			b.WriteByte('@')
			var n [6]byte
			for j := range n {
				n[j] = byte(ms >> (8 * (5 - j)))
			}
			b.Write(b64.AppendEncode(buf[:0], n[:]))
		default:
			b.WriteByte('\'')
			writeText(&b, r.Version)
		}
		prevVersion = r.Version
	}
	return b.String()
}

func writeText(b *strings.Builder, s string) {
	var n [20]byte
	b.Write(strconv.AppendInt(n[:0], int64(len(s)), 10))
	b.WriteByte(':')
	b.WriteString(s)
}

// canonicalUUID reports whether s is a UUID in lowercase canonical form
// (8-4-4-4-12 hex digits) and puts its bytes in u.
func canonicalUUID(s string, u *[16]byte) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		hi, lo := hexDigit(s[i]), hexDigit(s[i+1])
		if hi > 15 || lo > 15 {
			return false
		}
		u[j] = hi<<4 | lo
		i, j = i+2, j+1
	}
	return true
}

func hexDigit(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return 16 // uppercase too: it would not come back as written
}

func uuidText(u []byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	hex.Encode(b[9:13], u[4:6])
	hex.Encode(b[14:18], u[6:8])
	hex.Encode(b[19:23], u[8:10])
	hex.Encode(b[24:36], u[10:16])
	b[8], b[13], b[18], b[23] = '-', '-', '-', '-'
	return string(b[:])
}

// millis returns v as milliseconds since 1970 when v is a time in msLayout
// that formats back to v, in 1970 … 9999. ParseTimestamp checks every digit
// and the range of every field, so a value of msLayout's fixed width parses
// only from its one spelling (time.Parse and a format back cost twice as much:
// a page read through the gate writes one per object).
func millis(v string) (int64, bool) {
	if len(v) != len(msLayout) || v[19] != '.' || v[0] < '1' {
		return 0, false
	}
	ts, err := stix.ParseTimestamp(v)
	if err != nil || ts.Time().Unix() < 0 {
		return 0, false
	}
	return ts.Time().UnixMilli(), true
}

// unreadable stands for an objects column that is not what encodeRefs writes:
// the record then fails its hash, and Verify reports it edited at its seq.
var unreadable = []audit.ObjectRef{{ID: "(the objects column is unreadable)"}}

func decodeRefs(s string) []audit.ObjectRef {
	switch {
	case s == "":
		return nil
	case s[0] == '[':
		return decodeJSONRefs(s)
	case s[0] != '~' || len(s) == 1:
		return unreadable
	}
	d := refDecoder{s: s, i: 1}
	var out []audit.ObjectRef
	var prevType, prevVersion string
	for d.i < len(d.s) && len(out) <= audit.MaxObjects {
		var r audit.ObjectRef
		switch d.next() {
		case '=':
			if prevType == "" {
				return unreadable
			}
			r.ID = prevType + "--" + d.uuid()
		case '+':
			prevType = d.text()
			r.ID = prevType + "--" + d.uuid()
		case '\'':
			r.ID, prevType = d.text(), ""
		default:
			return unreadable
		}
		switch d.next() {
		case '=':
			if len(out) == 0 {
				return unreadable
			}
			r.Version = prevVersion
		case '@':
			var n [6]byte
			if _, err := b64.Decode(n[:], []byte(d.take(8))); err != nil {
				d.bad = true
			}
			var ms int64
			for _, c := range n {
				ms = ms<<8 | int64(c)
			}
			r.Version = time.UnixMilli(ms).UTC().Format(msLayout)
		case '\'':
			r.Version = d.text()
		default:
			return unreadable
		}
		if d.bad {
			return unreadable
		}
		prevVersion = r.Version
		out = append(out, r)
	}
	if d.i != len(d.s) {
		return unreadable
	}
	return out
}

// refDecoder reads the compact form; bad is set, and reading stops making
// sense, at the first thing that is not as encodeRefs writes it.
type refDecoder struct {
	s   string
	i   int
	bad bool
}

func (d *refDecoder) next() byte {
	if d.i >= len(d.s) {
		d.bad = true
		return 0
	}
	d.i++
	return d.s[d.i-1]
}

func (d *refDecoder) take(n int) string {
	if n < 0 || n > len(d.s)-d.i {
		d.bad = true
		d.i = len(d.s)
		return ""
	}
	d.i += n
	return d.s[d.i-n : d.i]
}

func (d *refDecoder) text() string {
	colon := strings.IndexByte(d.s[d.i:], ':')
	if colon < 1 || colon > 5 {
		d.bad = true
		return ""
	}
	n, err := strconv.Atoi(d.s[d.i : d.i+colon])
	if err != nil || strconv.Itoa(n) != d.s[d.i:d.i+colon] {
		d.bad = true
		return ""
	}
	d.i += colon + 1
	return d.take(n)
}

func (d *refDecoder) uuid() string {
	var u [16]byte
	if _, err := b64.Decode(u[:], []byte(d.take(22))); err != nil {
		d.bad = true
	}
	return uuidText(u[:])
}

// decodeJSONRefs reads the objects column as written before the compact form: a
// JSON array of [id, version] pairs.
func decodeJSONRefs(s string) []audit.ObjectRef {
	var pairs [][2]string
	if err := json.Unmarshal([]byte(s), &pairs); err != nil || len(pairs) == 0 {
		return unreadable
	}
	refs := make([]audit.ObjectRef, len(pairs))
	for i, p := range pairs {
		refs[i] = audit.ObjectRef{ID: p[0], Version: p[1]}
	}
	return refs
}
