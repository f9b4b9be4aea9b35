package stix

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// checker collects the errors of one object.
type checker struct {
	root *node
	id   string
	typ  string
	kind Kind
	errs Errors
	// top-level timestamps parsed once, for the ordering rules
	ts  [8]namedTS
	nts int
}

type namedTS struct {
	name string
	ts   Timestamp
}

func (c *checker) setTS(name string, ts Timestamp) {
	if c.nts < len(c.ts) {
		c.ts[c.nts] = namedTS{name, ts}
		c.nts++
	}
}

func (c *checker) getTS(name string) (Timestamp, bool) {
	for i := 0; i < c.nts; i++ {
		if c.ts[i].name == name {
			return c.ts[i].ts, true
		}
	}
	return Timestamp{}, false
}

func (c *checker) add(path, rule, format string, a ...any) {
	if len(c.errs) >= maxErrors {
		return
	}
	msg := format
	if len(a) > 0 {
		msg = fmt.Sprintf(format, a...)
	}
	// The tree's strings alias the input (see parser.borrow): clone what is kept.
	// A NUL of the input is written as its escape (checkNUL).
	c.errs = append(c.errs, &Error{ObjectID: noNUL.Replace(strings.Clone(c.id)), Path: noNUL.Replace(strings.Clone(path)),
		Rule: rule, Message: noNUL.Replace(strings.Clone(msg))})
}

func validateTree(root *node) Errors {
	var c checker
	c.root = root
	c.check()
	return c.errs
}

func (c *checker) check() {
	root := c.root
	// type (§3.2) and id (§2.9, §3.3)
	t := root.get("type")
	switch {
	case t == nil:
		c.add("type", RuleRequired, "missing")
	case t.kind != kString:
		c.add("type", RuleDataType, "is a %s, want a string", t.kind)
	default:
		c.typ = t.str
		if msg := typeNameProblem(t.str); msg != "" {
			c.add("type", RuleType, "%s: %s", quote(t.str), msg)
		}
	}
	if id := root.get("id"); id == nil {
		c.add("id", RuleRequired, "missing")
	} else if id.kind != kString {
		c.add("id", RuleDataType, "is a %s, want an identifier string", id.kind)
	} else {
		c.id = id.str
		if c.typ != "" {
			if msg := identifierProblem(id.str, c.typ); msg != "" {
				c.add("id", RuleID, "%s", msg)
			}
		}
	}
	if c.typ == "" {
		return
	}
	c.kind = KindOf(c.typ)
	if c.kind == KindCustom {
		c.kind = c.customKind()
	}
	table := specs[c.typ]

	// required properties: common (§3.2 table) and specific (each type's table)
	for _, name := range requiredCommon[c.kind] {
		if root.get(name) == nil {
			c.add(name, RuleRequired, "missing (required on %s)", kindName(c.kind, c.typ))
		}
	}
	for _, name := range requiredOf[c.typ] {
		if root.get(name) == nil {
			c.add(name, RuleRequired, "missing (required on %s)", c.typ)
		}
	}

	// every top-level property
	for i := range root.kids {
		m := &root.kids[i]
		name := m.key
		if name == "type" || name == "id" {
			continue
		}
		if msg := propertyNameProblem(name); msg != "" {
			c.add(name, RulePropertyName, "%s", msg)
			continue
		}
		switch name {
		case "severity", "username", "phone_number", "action":
			c.add(name, RuleReserved, "%q is reserved and MUST NOT be used", name)
			continue
		}
		if m.kind == kNull {
			c.add(name, RuleDataType, "null is not a STIX value; omit the property instead")
			continue
		}
		if c.kind == KindBundle && name == "objects" {
			c.checkBundleObjects(m)
			continue
		}
		if ps, ok := table[name]; ok {
			c.checkValue(name, m, ps)
			continue
		}
		if ps, ok := commonProps[name]; ok {
			c.checkCommon(name, m, ps)
			continue
		}
		c.checkCustom(name, m)
	}

	// §3.1: an _enc property MUST NOT be present without the property it encodes.
	for i := range root.kids {
		if base, ok := strings.CutSuffix(root.kids[i].key, "_enc"); ok && base != "" && root.get(base) == nil {
			c.add(root.kids[i].key, RuleProperty, "MUST NOT be present without %s (§3.1)", base)
		}
	}
	c.checkVersioning()
	c.checkSpecific()
	c.checkNUL()
}

// checkNUL refuses a string, value or member name, that holds U+0000. JSON
// allows it (as \u0000) and STIX does not forbid it, but PostgreSQL cannot
// store it as text, and an object that one node keeps must be one that every
// node it is shared with can keep, whatever its database. The objects of a
// bundle are checked as objects of their own.
func (c *checker) checkNUL() {
	for i := range c.root.kids {
		m := &c.root.kids[i]
		path, ok := m.key, strings.IndexByte(m.key, 0) >= 0
		if !ok && !(c.kind == KindBundle && m.key == "objects") {
			var under string
			if under, ok = nulAt(m); ok {
				path = joinPath(m.key, under)
			}
		}
		if ok {
			c.add(path, RuleNUL, "holds the character U+0000 (NUL), which is not accepted")
			return
		}
	}
}

// EscapeNUL writes each U+0000 of s as the JSON escape that stands for it, so
// that text quoting a refused input (an error, a path) holds no NUL.
func EscapeNUL(s string) string { return noNUL.Replace(s) }

var noNUL = strings.NewReplacer("\x00", `\u0000`)

// nulAt reports whether a string or a member name under n, or n itself,
// holds U+0000, and its path under n ("" for n itself).
func nulAt(n *node) (string, bool) {
	switch n.kind {
	case kString:
		return "", strings.IndexByte(n.str, 0) >= 0
	case kArray:
		for i := range n.kids {
			if p, ok := nulAt(&n.kids[i]); ok {
				return joinPath("["+strconv.Itoa(i)+"]", p), true
			}
		}
	case kObject:
		for i := range n.kids {
			k := &n.kids[i]
			if strings.IndexByte(k.key, 0) >= 0 {
				return k.key, true
			}
			if p, ok := nulAt(k); ok {
				return joinPath(k.key, p), true
			}
		}
	}
	return "", false
}

// customKind decides how a type the specification does not define is checked:
// as a new SCO or SRO when an extension definition in its extensions says so (§7.3),
// else by the SDO rules (§11.2.1).
func (c *checker) customKind() Kind {
	ext := c.root.get("extensions")
	if ext == nil || ext.kind != kObject {
		return KindCustom
	}
	for i := range ext.kids {
		et, _ := ext.kids[i].stringOf("extension_type")
		switch et {
		case "new-sco":
			return KindSCO
		case "new-sro":
			return KindSRO
		}
	}
	return KindCustom
}

func kindName(k Kind, typ string) string {
	switch k {
	case KindSDO:
		return "SDOs"
	case KindSRO:
		return "SROs"
	case KindSCO:
		return "SCOs"
	case KindCustom:
		return "custom objects (as SDOs, §11.2.1)"
	}
	return typ
}

// typeNameProblem checks a type name (§3.1, §7.3.2, §11.2.1): ASCII a-z, 0-9 and
// hyphen, 3 to 250 characters, beginning with a letter, no two hyphens in a row.
func typeNameProblem(s string) string {
	if len(s) < 3 || len(s) > 250 {
		return "must be 3 to 250 characters long"
	}
	if s[0] < 'a' || s[0] > 'z' {
		return "must begin with a lowercase letter a-z"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-':
			if i > 0 && s[i-1] == '-' {
				return "must not contain two hyphens in a row"
			}
		default:
			return "may contain only a-z, 0-9 and hyphen"
		}
	}
	return ""
}

// propertyNameProblem checks a property name (§3.1, §11.1.1, §7.3.2): ASCII a-z,
// 0-9 and underscore, 3 to 250 characters, beginning with a letter. Every property
// the specification defines satisfies this, except id.
func propertyNameProblem(s string) string {
	if len(s) < 3 || len(s) > 250 {
		return fmt.Sprintf("%s: property names must be 3 to 250 characters long", quote(s))
	}
	if s[0] < 'a' || s[0] > 'z' {
		return fmt.Sprintf("%s: property names must begin with a lowercase letter", quote(s))
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return fmt.Sprintf("%s: property names may contain only a-z, 0-9 and underscore", quote(s))
		}
	}
	return ""
}

// identifierProblem checks "type--UUID" (§2.9): the type part must be wantType
// when given, else a valid type name; the UUID an RFC 4122 UUID (variant 10xx,
// version 1 to 5).
func identifierProblem(s, wantType string) string {
	if len(s) < 36+2+3 || s[len(s)-38:len(s)-36] != "--" {
		return fmt.Sprintf("%s is not of the form type--UUID", quote(s))
	}
	typ, u := s[:len(s)-38], s[len(s)-36:]
	if wantType != "" && typ != wantType {
		return fmt.Sprintf("%s: the type part must be %q, the object's type", quote(s), wantType)
	}
	if msg := typeNameProblem(typ); msg != "" {
		return fmt.Sprintf("%s: type part %s", quote(s), msg)
	}
	if msg := uuidProblem(u); msg != "" {
		return fmt.Sprintf("%s: %s", quote(s), msg)
	}
	return ""
}

func uuidProblem(u string) string {
	if len(u) != 36 {
		return "UUID must be 36 characters"
	}
	const form = "UUID must be of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
	if u[8] != '-' || u[13] != '-' || u[18] != '-' || u[23] != '-' {
		return form
	}
	// RFC 4122 §3: hex digits are case-insensitive on input, and the OASIS examples
	// use both cases. Every id of every object comes here: a table, not a switch.
	for i := range 36 {
		if !hexDigit[u[i]] && i != 8 && i != 13 && i != 18 && i != 23 {
			return form
		}
	}
	if v := u[14]; v < '1' || v > '5' {
		return fmt.Sprintf("UUID version %c is not an RFC 4122 version (1 to 5)", v)
	}
	switch u[19] {
	case '8', '9', 'a', 'b', 'A', 'B':
	default:
		return "UUID variant is not RFC 4122's (10xx)"
	}
	return ""
}

// hexDigit tells the bytes that are hexadecimal digits, in either case.
var hexDigit = func() (t [256]bool) {
	for _, c := range "0123456789abcdefABCDEF" {
		t[c] = true
	}
	return t
}()

// refProblem checks an identifier used as a reference and its allowed types.
func refProblem(s string, targets []string) string {
	if msg := identifierProblem(s, ""); msg != "" {
		return msg
	}
	if len(targets) == 0 {
		return ""
	}
	typ := s[:len(s)-38]
	for _, t := range targets {
		if t == typ {
			return ""
		}
	}
	return fmt.Sprintf("%s must refer to an object of type %s", quote(s), strings.Join(targets, " or "))
}

// checkValue checks a property against its declared type.
func (c *checker) checkValue(path string, m *node, ps propSpec) {
	switch ps.typ {
	case pString:
		if m.kind != kString {
			c.add(path, RuleDataType, "is a %s, want a string", m.kind)
		}
	case pTimestamp:
		if m.kind != kString {
			c.add(path, RuleDataType, "is a %s, want a timestamp string", m.kind)
			return
		}
		ts, err := ParseTimestamp(m.str)
		if err != nil {
			c.add(path, RuleTimestamp, "%v", err)
			return
		}
		if !strings.Contains(path, ".") {
			c.setTS(path, ts)
		}
	case pBool:
		if m.kind != kTrue && m.kind != kFalse {
			c.add(path, RuleDataType, "is a %s, want a boolean", m.kind)
		}
	case pInt:
		if _, ok := c.integer(path, m); !ok {
			return
		}
	case pFloat:
		if m.kind != kNumber {
			c.add(path, RuleDataType, "is a %s, want a number", m.kind)
		}
	case pStringList:
		if c.list(path, m) {
			for i := range m.kids {
				if m.kids[i].kind != kString {
					c.add(indexPath(path, i), RuleDataType, "is a %s, want a string", m.kids[i].kind)
				}
			}
		}
	case pRef:
		if m.kind != kString {
			c.add(path, RuleDataType, "is a %s, want an identifier", m.kind)
			return
		}
		if msg := refProblem(m.str, ps.targets); msg != "" {
			c.add(path, RuleRef, "%s", msg)
		}
	case pRefs:
		if !c.list(path, m) {
			return
		}
		for i := range m.kids {
			k := &m.kids[i]
			if k.kind != kString {
				c.add(indexPath(path, i), RuleDataType, "is a %s, want an identifier", k.kind)
				continue
			}
			if msg := refProblem(k.str, ps.targets); msg != "" {
				c.add(indexPath(path, i), RuleRef, "%s", msg)
			}
		}
	case pKillChain:
		c.checkKillChain(path, m)
	case pHashes:
		c.checkHashes(path, m)
	case pDict:
		if m.kind != kObject {
			c.add(path, RuleDataType, "is a %s, want a dictionary", m.kind)
		} else if len(m.kids) == 0 {
			c.add(path, RuleDictionary, "must not be empty")
		}
		for i := range m.kids {
			if !isDictKey(m.kids[i].key) {
				c.add(path+"."+m.kids[i].key, RuleDictionary, "dictionary keys are 1 to 250 ASCII letters, digits, hyphens and underscores")
			} else if m.kids[i].kind == kNull {
				c.add(path+"."+m.kids[i].key, RuleDictionary, "null is not a STIX value")
			}
		}
	case pObject:
		if m.kind != kObject {
			c.add(path, RuleDataType, "is a %s, want an object", m.kind)
		}
	case pObjectList:
		if c.list(path, m) {
			for i := range m.kids {
				if m.kids[i].kind != kObject {
					c.add(indexPath(path, i), RuleDataType, "is a %s, want an object", m.kids[i].kind)
				}
			}
		}
	case pBinary:
		c.checkBinary(path, m)
	case pHex:
		c.checkHex(path, m)
	case pExtRefs:
		c.checkExternalRefs(path, m)
	case pGranular:
		c.checkGranular(path, m)
	}
}

func indexPath(path string, i int) string { return path + ".[" + strconv.Itoa(i) + "]" }

// list checks that m is a non-empty list (§2.12).
func (c *checker) list(path string, m *node) bool {
	if m.kind != kArray {
		c.add(path, RuleDataType, "is a %s, want a list", m.kind)
		return false
	}
	if len(m.kids) == 0 {
		c.add(path, RuleList, "empty lists are prohibited; omit the property")
		return false
	}
	return true
}

// integer parses an integer property (§2.10: within ±(2^53-1)).
func (c *checker) integer(path string, m *node) (int64, bool) {
	if m.kind != kNumber {
		c.add(path, RuleDataType, "is a %s, want an integer", m.kind)
		return 0, false
	}
	v, err := strconv.ParseInt(m.str, 10, 64)
	if err != nil {
		// 1.0 and 1e2 are integers in value; STIX producers write plain digits,
		// and RFC 7493 does not promise more, so we require them.
		c.add(path, RuleDataType, "%s is not an integer written in plain digits", m.str)
		return 0, false
	}
	const lim = 1<<53 - 1
	if v > lim || v < -lim {
		c.add(path, RuleRange, "%d is outside the integer range ±(2^53-1) (§2.10)", v)
		return 0, false
	}
	return v, true
}

// checkCommon checks a common property (§3.2) on any kind of object.
func (c *checker) checkCommon(name string, m *node, ps propSpec) {
	switch name {
	case "spec_version":
		if m.kind != kString {
			c.add(name, RuleDataType, "is a %s, want a string", m.kind)
		} else if m.str != "2.1" {
			c.add(name, RuleSpecVersion, "is %s; objects of STIX 2.1 MUST use \"2.1\"", quote(m.str))
		}
		return
	case "defanged":
		if c.kind != KindSCO {
			c.add(name, RuleProperty, "defanged MUST NOT be used on objects other than SCOs (§3.2)")
			return
		}
	case "confidence":
		if v, ok := c.integer(name, m); ok && (v < 0 || v > 100) {
			c.add(name, RuleRange, "%d is outside 0-100 (§3.2)", v)
		}
		return
	case "lang":
		if m.kind == kString && !isLangTag(m.str) {
			c.add(name, RuleProperty, "%s is not an RFC 5646 language tag (§3.2)", quote(m.str))
			return
		}
	case "extensions":
		c.checkExtensions(name, m)
		return
	case "created", "modified":
		c.checkValue(name, m, ps)
		if ts, ok := c.getTS(name); ok && ts.Digits() < 3 {
			c.add(name, RulePrecision, "%s: the minimum precision of %s is milliseconds (three digits after the decimal point)", quote(ts.String()), name)
		}
		return
	}
	c.checkValue(name, m, ps)
}

// checkCustom checks a property the specification does not define for this type
// (§11.1.1, or a toplevel-property-extension, §7.3): its name was already checked;
// a _hex or _bin value must be of that type (§11.1.1), and lists must not be empty
// (§2.12). The _ref and _refs suffixes are not checked on custom properties: §3.1
// says a reference MUST be named so, not that every such name holds a valid
// reference, and real producers (ATT&CK: x_mitre_data_source_ref "") rely on it.
func (c *checker) checkCustom(name string, m *node) {
	switch {
	case strings.HasSuffix(name, "_hex"):
		c.checkHex(name, m)
	case strings.HasSuffix(name, "_bin"):
		c.checkBinary(name, m)
	case m.kind == kArray:
		c.list(name, m)
	}
}

// isDictKey checks a dictionary key (§2.3).
func isDictKey(k string) bool {
	if k == "" || len(k) > 250 {
		return false
	}
	for i := 0; i < len(k); i++ {
		ch := k[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
			return false
		}
	}
	return true
}

// checkHex checks the hex type (§2.8): an even number of lowercase hex digits.
func (c *checker) checkHex(path string, m *node) {
	if m.kind != kString {
		c.add(path, RuleDataType, "is a %s, want a hex string", m.kind)
		return
	}
	s := m.str
	if len(s)%2 != 0 {
		c.add(path, RuleHex, "must have an even number of hex digits")
		return
	}
	for i := 0; i < len(s); i++ {
		if ch := s[i]; !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f') {
			c.add(path, RuleHex, "may contain only 0-9 and a-f")
			return
		}
	}
}

// checkBinary checks the binary type (§2.1): base64 (RFC 4648 §4).
func (c *checker) checkBinary(path string, m *node) {
	if m.kind != kString {
		c.add(path, RuleDataType, "is a %s, want a base64 string", m.kind)
		return
	}
	if _, err := base64.StdEncoding.DecodeString(m.str); err != nil {
		c.add(path, RuleBinary, "not valid base64: %v", err)
	}
}

// isLangTag is a light RFC 5646 check: subtags of 1-8 letters or digits joined by
// hyphens, the first of letters.
func isLangTag(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, sub := range strings.Split(s, "-") {
		if len(sub) < 1 || len(sub) > 8 {
			return false
		}
		for j := 0; j < len(sub); j++ {
			ch := sub[j] | 0x20
			letter := ch >= 'a' && ch <= 'z'
			digit := sub[j] >= '0' && sub[j] <= '9'
			if !letter && !(digit && i > 0) {
				return false
			}
		}
	}
	return true
}

// checkKillChain checks a list of kill-chain-phase (§2.11).
func (c *checker) checkKillChain(path string, m *node) {
	if !c.list(path, m) {
		return
	}
	for i := range m.kids {
		k := &m.kids[i]
		p := indexPath(path, i)
		if k.kind != kObject {
			c.add(p, RuleKillChain, "is a %s, want a kill-chain-phase object", k.kind)
			continue
		}
		for _, req := range []string{"kill_chain_name", "phase_name"} {
			v := k.get(req)
			switch {
			case v == nil:
				c.add(p+"."+req, RuleKillChain, "missing")
			case v.kind != kString:
				c.add(p+"."+req, RuleDataType, "is a %s, want a string", v.kind)
			case v.str == "":
				c.add(p+"."+req, RuleKillChain, "must not be empty")
			}
		}
	}
}

// hashLen gives the hex length of the hash-algorithm-ov values that define one
// (§10.7; TLSH: "a valid 35 byte long hash"). SSDEEP is checked for its alphabet.
var hashLen = map[string]int{"MD5": 32, "SHA-1": 40, "SHA-256": 64, "SHA-512": 128, "SHA3-256": 64, "SHA3-512": 128, "TLSH": 70}

// hashVocab is hash-algorithm-ov (§10.7).
var hashVocab = map[string]struct{}{"MD5": {}, "SHA-1": {}, "SHA-256": {}, "SHA-512": {}, "SHA3-256": {}, "SHA3-512": {}, "SSDEEP": {}, "TLSH": {}}

// checkHashes checks the hashes type (§2.7).
func (c *checker) checkHashes(path string, m *node) {
	if m.kind != kObject {
		c.add(path, RuleDataType, "is a %s, want a hashes dictionary", m.kind)
		return
	}
	if len(m.kids) == 0 {
		c.add(path, RuleHashes, "must hold at least one hash")
		return
	}
	for i := range m.kids {
		k := &m.kids[i]
		p := path + "." + k.key
		if len(k.key) < 3 || len(k.key) > 250 {
			c.add(p, RuleHashes, "hash names must be 3 to 250 characters long")
			continue
		}
		for j := 0; j < len(k.key); j++ {
			ch := k.key[j]
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
				c.add(p, RuleHashes, "hash names may contain only a-z, A-Z, 0-9, hyphen and underscore")
				break
			}
		}
		if k.kind != kString {
			c.add(p, RuleDataType, "is a %s, want a string", k.kind)
			continue
		}
		if n, ok := hashLen[k.key]; ok {
			if len(k.str) != n || !isHex(k.str) {
				c.add(p, RuleHashes, "a %s hash is %d hexadecimal digits", k.key, n)
			}
		} else if k.str == "" {
			c.add(p, RuleHashes, "must not be empty")
		} else if k.key == "SSDEEP" && !isSSDEEP(k.str) {
			c.add(p, RuleHashes, "an SSDEEP hash is blocksize:hash:hash in base64 characters")
		}
	}
}

func isSSDEEP(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '/' || ch == '+' || ch == ':' || ch == '.') {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f' || ch >= 'A' && ch <= 'F') {
			return false
		}
	}
	return true
}

// checkExternalRefs checks external_references (§2.5).
func (c *checker) checkExternalRefs(path string, m *node) {
	if !c.list(path, m) {
		return
	}
	for i := range m.kids {
		k := &m.kids[i]
		p := indexPath(path, i)
		if k.kind != kObject {
			c.add(p, RuleDataType, "is a %s, want an external-reference object", k.kind)
			continue
		}
		for j := range k.kids {
			f := &k.kids[j]
			switch f.key {
			case "source_name", "description", "url", "external_id":
				if f.kind != kString {
					c.add(p+"."+f.key, RuleDataType, "is a %s, want a string", f.kind)
				}
			case "hashes":
				c.checkHashes(p+".hashes", f)
				// §2.5.1: the keys of an external reference's hashes MUST come
				// from hash-algorithm-ov.
				if f.kind == kObject {
					for j := range f.kids {
						if _, ok := hashVocab[f.kids[j].key]; !ok {
							c.add(p+".hashes."+f.kids[j].key, RuleHashes, "hash names of an external reference MUST come from hash-algorithm-ov (§10.7)")
						}
					}
				}
			}
		}
		src, ok := k.stringOf("source_name")
		if !ok {
			if k.get("source_name") == nil {
				c.add(p+".source_name", RuleExternalRef, "missing")
			}
			continue
		}
		if k.get("description") == nil && k.get("url") == nil && k.get("external_id") == nil {
			c.add(p, RuleExternalRef, "at least one of description, url or external_id MUST be present (§2.5.2)")
		}
		// The identifiers of two well-known sources have a fixed form; the OASIS
		// schemas enforce them and so do we.
		ext, hasExt := k.stringOf("external_id")
		switch src {
		case "cve":
			if !hasExt || !isCVE(ext) {
				c.add(p+".external_id", RuleExternalRef, "a cve reference needs an external_id of the form CVE-YYYY-NNNN")
			}
		case "capec":
			if !hasExt || !isCAPEC(ext) {
				c.add(p+".external_id", RuleExternalRef, "a capec reference needs an external_id of the form CAPEC-N")
			}
		}
	}
}

func isCVE(s string) bool {
	rest, ok := strings.CutPrefix(s, "CVE-")
	if !ok || len(rest) < 9 || rest[4] != '-' || !allDigits(rest[:4]) {
		return false
	}
	seq := rest[5:]
	if !allDigits(seq) || len(seq) < 4 {
		return false
	}
	return len(seq) == 4 || seq[0] != '0'
}

func isCAPEC(s string) bool {
	rest, ok := strings.CutPrefix(s, "CAPEC-")
	return ok && rest != "" && allDigits(rest)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkVersioning checks §3.6: modified not earlier than created; revoked only on
// versioned objects.
func (c *checker) checkVersioning() {
	cr, okc := c.getTS("created")
	mo, okm := c.getTS("modified")
	if okc && okm && mo.Compare(cr) < 0 {
		c.add("modified", RuleVersioning, "modified %s is earlier than created %s", mo, cr)
	}
	if r := c.root.get("revoked"); r != nil {
		switch c.kind {
		case KindMarking, KindBundle:
			// §7.2.1: marking definitions cannot be versioned; §8: a bundle is
			// not a STIX object.
			c.add("revoked", RuleVersioning, "%s objects are not versioned and cannot be revoked", kindName(c.kind, c.typ))
		}
	}
	// §3.6: an SCO may be versioned, but then its id MUST NOT be the deterministic
	// one of the STIX namespace, or producers would conflict.
	if c.kind == KindSCO && KindOf(c.typ) == KindSCO {
		if c.root.get("created") != nil || c.root.get("modified") != nil || c.root.get("revoked") != nil {
			if want, err := scoID(c.typ, c.root); err == nil && want == c.id {
				c.add("id", RuleVersioning, "a versioned SCO (with created, modified or revoked) MUST NOT use the deterministic id of the STIX namespace")
			}
		}
	}
}

// order adds an error when both timestamps are present and later is before
// earlier (strict: later must be strictly after earlier).
func (c *checker) order(earlier, later string, strict bool, section string) {
	a, oka := c.getTS(earlier)
	b, okb := c.getTS(later)
	if !oka || !okb {
		return
	}
	cmp := b.Compare(a)
	if cmp < 0 || (strict && cmp == 0) {
		rel := "later than or equal to"
		if strict {
			rel = "later than"
		}
		c.add(later, RuleOrder, "%s %s MUST be %s %s %s (%s)", later, b, rel, earlier, a, section)
	}
}

// checkBundleObjects validates the objects of a bundle given as one object.
func (c *checker) checkBundleObjects(m *node) {
	if !c.list("objects", m) {
		return
	}
	for i := range m.kids {
		k := &m.kids[i]
		p := indexPath("objects", i)
		if k.kind != kObject {
			c.add(p, RuleBundle, "is a %s, want a STIX object", k.kind)
			continue
		}
		for _, e := range validateTree(k) {
			if len(c.errs) >= maxErrors {
				return
			}
			e.Path = joinPath(p, e.Path)
			c.errs = append(c.errs, e)
		}
	}
}

func joinPath(a, b string) string {
	if b == "" {
		return a
	}
	return a + "." + b
}
