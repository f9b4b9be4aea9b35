package stix

import (
	"strconv"
	"strings"
)

// checkSpecific applies the rules of each type that go beyond property types.
func (c *checker) checkSpecific() {
	r := c.root
	switch c.typ {
	case "indicator":
		c.order("valid_from", "valid_until", true, "§4.7.1")
		c.checkIndicatorPattern()
	case "campaign", "intrusion-set", "threat-actor", "infrastructure", "malware":
		c.order("first_seen", "last_seen", false, "§4."+sectionOf[c.typ])
	case "observed-data":
		c.order("first_observed", "last_observed", false, "§4.14.1")
		if n := r.get("number_observed"); n != nil && n.kind == kNumber {
			if v, err := strconv.ParseInt(n.str, 10, 64); err == nil && (v < 1 || v > 999999999) {
				c.add("number_observed", RuleRange, "%d is outside 1 to 999,999,999 (§4.14.1)", v)
			}
		}
		objs, refs := r.get("objects"), r.get("object_refs")
		if (objs == nil) == (refs == nil) {
			c.add("object_refs", RuleProperty, "exactly one of objects or object_refs MUST be present (§4.14)")
		}
		if objs != nil && objs.kind == kObject && len(objs.kids) == 0 {
			c.add("objects", RuleProperty, "the observable container MUST contain at least one object (§4.14.1)")
		}
	case "relationship":
		c.order("start_time", "stop_time", true, "§5.1.2")
		if rt, ok := r.stringOf("relationship_type"); ok && !isVocabWord(rt) {
			c.add("relationship_type", RuleProperty, "%s: MUST be ASCII a-z, 0-9 and hyphen (§5.1.2)", quote(rt))
		}
		for _, p := range []string{"source_ref", "target_ref"} {
			if s, ok := r.stringOf(p); ok && identifierProblem(s, "") == "" {
				switch k := KindOf(s[:len(s)-38]); k {
				case KindSRO, KindBundle, KindLanguage, KindMarking, KindExtension:
					c.add(p, RuleRef, "MUST refer to an SDO or SCO, not a %s (§5.1.2)", s[:len(s)-38])
				}
			}
		}
	case "sighting":
		c.order("first_seen", "last_seen", false, "§5.2.1")
		if n := r.get("count"); n != nil && n.kind == kNumber {
			if v, err := strconv.ParseInt(n.str, 10, 64); err == nil && (v < 0 || v > 999999999) {
				c.add("count", RuleRange, "%d is outside 0 to 999,999,999 (§5.2.1)", v)
			}
		}
		if s, ok := r.stringOf("sighting_of_ref"); ok && identifierProblem(s, "") == "" {
			if k := KindOf(s[:len(s)-38]); k != KindSDO && k != KindCustom {
				c.add("sighting_of_ref", RuleRef, "MUST refer to an SDO, not a %s (§5.2.1)", s[:len(s)-38])
			}
		}
	case "location":
		c.checkLocation()
	case "malware-analysis":
		if r.get("result") == nil && r.get("analysis_sco_refs") == nil {
			c.add("result", RuleProperty, "one of result or analysis_sco_refs MUST be present (§4.12)")
		}
	case "opinion":
		if s, ok := r.stringOf("opinion"); ok {
			switch s {
			case "strongly-disagree", "disagree", "neutral", "agree", "strongly-agree":
			default:
				c.add("opinion", RuleProperty, "%s is not a value of opinion-enum (§10.18)", quote(s))
			}
		}
	case "artifact":
		bin, url := r.get("payload_bin"), r.get("url")
		if bin != nil && url != nil {
			c.add("url", RuleProperty, "payload_bin and url MUST NOT both be present (§6.1)")
		}
		if url != nil && r.get("hashes") == nil {
			c.add("hashes", RuleProperty, "hashes MUST be present when url is present (§6.1.1)")
		}
		if r.get("decryption_key") != nil && r.get("encryption_algorithm") == nil {
			c.add("decryption_key", RuleProperty, "MUST NOT be present without encryption_algorithm (§6.1.1)")
		}
	case "file":
		if r.get("hashes") == nil && r.get("name") == nil {
			c.add("name", RuleProperty, "a File MUST contain at least one of hashes or name (§6.7)")
		}
		if n := r.get("size"); n != nil && n.kind == kNumber && strings.HasPrefix(n.str, "-") {
			c.add("size", RuleRange, "MUST NOT be negative (§6.7.1)")
		}
	case "email-message":
		mp := r.get("is_multipart")
		if mp != nil && mp.kind == kTrue && r.get("body") != nil {
			c.add("body", RuleProperty, "MUST NOT be used when is_multipart is true (§6.6.1)")
		}
		if mp != nil && mp.kind == kFalse && r.get("body_multipart") != nil {
			c.add("body_multipart", RuleProperty, "MUST NOT be used when is_multipart is false (§6.6.1)")
		}
	case "network-traffic":
		c.order("start", "end", false, "§6.12.1")
		for _, p := range []string{"src_port", "dst_port"} {
			if n := r.get(p); n != nil && n.kind == kNumber {
				if v, err := strconv.ParseInt(n.str, 10, 64); err == nil && (v < 0 || v > 65535) {
					c.add(p, RuleRange, "%d is outside 0 to 65535 (§6.12.1)", v)
				}
			}
		}
		if r.get("src_ref") == nil && r.get("dst_ref") == nil {
			c.add("src_ref", RuleProperty, "at least one of src_ref or dst_ref MUST be present (§6.12.1)")
		}
	case "process", "windows-registry-key", "x509-certificate":
		if !c.hasOwnProperty() {
			c.add("", RuleProperty, "a %s MUST contain at least one property of its own (§6)", c.typ)
		}
	case "marking-definition":
		c.checkMarkingDefinition()
	case "extension-definition":
		c.checkExtensionDefinition()
	case "language-content":
		if ct := r.get("contents"); ct != nil && ct.kind == kObject {
			for i := range ct.kids {
				k := &ct.kids[i]
				if !isLangTag(k.key) {
					c.add("contents."+k.key, RuleProperty, "keys of contents MUST be RFC 5646 language codes (§7.1.1)")
				}
				if k.kind != kObject {
					c.add("contents."+k.key, RuleDataType, "is a %s, want an object", k.kind)
				}
			}
		}
	}
	// §4.11: a malware family MUST have a name.
	if c.typ == "malware" {
		if f := r.get("is_family"); f != nil && f.kind == kTrue && r.get("name") == nil {
			c.add("name", RuleRequired, "a malware family (is_family true) MUST have a name (§4.11.1)")
		}
	}
}

var sectionOf = map[string]string{"campaign": "2.1", "intrusion-set": "9.1", "threat-actor": "17.1", "infrastructure": "8.1", "malware": "11.1"}

// hasOwnProperty reports whether the object has a property beyond the common ones.
func (c *checker) hasOwnProperty() bool {
	for i := range c.root.kids {
		switch c.root.kids[i].key {
		case "type", "id", "spec_version", "object_marking_refs", "granular_markings", "defanged":
		default:
			return true
		}
	}
	return false
}

func isVocabWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-') {
			return false
		}
	}
	return true
}

func (c *checker) checkLocation() {
	r := c.root
	lat, lon := r.get("latitude"), r.get("longitude")
	if r.get("region") == nil && r.get("country") == nil && (lat == nil || lon == nil) {
		c.add("", RuleProperty, "a Location MUST have region, country, or latitude and longitude (§4.10)")
	}
	if (lat == nil) != (lon == nil) {
		c.add("latitude", RuleProperty, "latitude and longitude MUST be present together (§4.10.1)")
	}
	if r.get("precision") != nil && (lat == nil || lon == nil) {
		c.add("precision", RuleProperty, "precision requires latitude and longitude (§4.10.1)")
	}
	for _, f := range []struct {
		name string
		lim  float64
	}{{"latitude", 90}, {"longitude", 180}} {
		if n := r.get(f.name); n != nil && n.kind == kNumber {
			if v, err := strconv.ParseFloat(n.str, 64); err == nil && (v < -f.lim || v > f.lim) {
				c.add(f.name, RuleRange, "%s is outside -%g to %g (§4.10.1)", n.str, f.lim, f.lim)
			}
		}
	}
}

// extensionTypes is extension-type-enum (§10.5).
var extensionTypes = map[string]bool{
	"new-sdo": true, "new-sco": true, "new-sro": true, "property-extension": true, "toplevel-property-extension": true,
}

// checkExtensions checks the extensions property (§3.2, §3.10, §7.3, §11.3).
// Keys are either the id of an extension definition, whose value MUST carry an
// extension_type from extension-type-enum, or the name of a predefined (§3.10) or
// custom (§11.3) object extension, which ends in "-ext".
func (c *checker) checkExtensions(path string, m *node) {
	if m.kind != kObject {
		c.add(path, RuleDataType, "is a %s, want a dictionary", m.kind)
		return
	}
	if len(m.kids) == 0 {
		c.add(path, RuleExtensions, "must not be empty")
		return
	}
	for i := range m.kids {
		k := &m.kids[i]
		p := path + "." + k.key
		if k.kind != kObject {
			c.add(p, RuleDataType, "is a %s, want an extension object", k.kind)
			continue
		}
		if strings.HasPrefix(k.key, "extension-definition--") {
			if msg := identifierProblem(k.key, "extension-definition"); msg != "" {
				c.add(p, RuleExtensions, "%s", msg)
			}
			et := k.get("extension_type")
			switch {
			case et == nil:
				c.add(p+".extension_type", RuleExtensions, "MUST be present when the extension definition facility is used (§3.2)")
			case et.kind != kString || !extensionTypes[et.str]:
				c.add(p+".extension_type", RuleExtensions, "MUST be a value of extension-type-enum (§10.5)")
			case et.str == "new-sdo" || et.str == "new-sco" || et.str == "new-sro":
				if KindOf(c.typ) != KindCustom {
					c.add(p+".extension_type", RuleExtensions, "%s MUST NOT redefine the existing type %q (§7.3)", et.str, c.typ)
				}
			}
			c.checkExtensionProps(p, k)
			continue
		}
		if msg := extensionNameProblem(k.key); msg != "" {
			c.add(p, RuleExtensions, "%s", msg)
			continue
		}
		if len(k.kids) == 0 {
			c.add(p, RuleExtensions, "an object extension MUST have at least one property (§11.3.1)")
		}
		c.checkExtensionProps(p, k)
	}
}

// checkExtensionProps checks the property names inside one extension (§7.3.2,
// §11.3.1) and the suffix rules of §3.1.
func (c *checker) checkExtensionProps(path string, k *node) {
	for j := range k.kids {
		f := &k.kids[j]
		if f.key == "extension_type" {
			continue
		}
		p := path + "." + f.key
		if msg := propertyNameProblem(f.key); msg != "" {
			c.add(p, RulePropertyName, "%s", msg)
			continue
		}
		switch {
		case f.kind == kNull:
			c.add(p, RuleDataType, "null is not a STIX value")
		case strings.HasSuffix(f.key, "_hex"):
			c.checkHex(p, f)
		case strings.HasSuffix(f.key, "_bin"):
			c.checkBinary(p, f)
		case f.key == "hashes":
			c.checkHashes(p, f)
		case f.kind == kArray:
			c.list(p, f)
		}
	}
}

// extensionNameProblem checks the name of a predefined or custom object extension
// (§3.10, §11.3.1): a-z, 0-9 and hyphen, 3 to 250 characters, ending in "-ext".
func extensionNameProblem(s string) string {
	if !strings.HasSuffix(s, "-ext") {
		return quote(s) + ": extension keys MUST be the id of an extension definition or an extension name ending in \"-ext\""
	}
	if msg := typeNameProblem(s); msg != "" {
		return quote(s) + ": " + msg
	}
	return ""
}

// checkExtensionDefinition checks §7.3.1.
func (c *checker) checkExtensionDefinition() {
	r := c.root
	types := map[string]bool{}
	if et := r.get("extension_types"); et != nil && et.kind == kArray {
		for i := range et.kids {
			k := &et.kids[i]
			if k.kind == kString && !extensionTypes[k.str] {
				c.add(indexPath("extension_types", i), RuleExtDef, "%s is not a value of extension-type-enum (§10.5)", quote(k.str))
			}
			types[k.str] = true
		}
	}
	if ep := r.get("extension_properties"); ep != nil && !types["toplevel-property-extension"] {
		c.add("extension_properties", RuleExtDef, "MUST only be used when extension_types includes toplevel-property-extension (§7.3.1)")
	}
	if r.get("extensions") != nil {
		c.add("extensions", RuleExtDef, "extensions is not applicable to an extension definition (§7.3.1)")
	}
}

// checkGranular checks granular_markings (§7.2.3).
func (c *checker) checkGranular(path string, m *node) {
	if !c.list(path, m) {
		return
	}
	for i := range m.kids {
		g := &m.kids[i]
		p := indexPath(path, i)
		if g.kind != kObject {
			c.add(p, RuleDataType, "is a %s, want a granular-marking object", g.kind)
			continue
		}
		lang, ref := g.get("lang"), g.get("marking_ref")
		if (lang == nil) == (ref == nil) {
			c.add(p, RuleGranular, "exactly one of lang or marking_ref MUST be present")
		}
		if ref != nil {
			if ref.kind != kString {
				c.add(p+".marking_ref", RuleDataType, "is a %s, want an identifier", ref.kind)
			} else if msg := refProblem(ref.str, []string{"marking-definition"}); msg != "" {
				c.add(p+".marking_ref", RuleGranular, "%s", msg)
			} else if ref.str == c.id {
				c.add(p+".marking_ref", RuleGranular, "a marking definition MUST NOT mark itself (§3.2)")
			}
		}
		if lang != nil && (lang.kind != kString || !isLangTag(lang.str)) {
			c.add(p+".lang", RuleGranular, "MUST be an RFC 5646 language code")
		}
		sel := g.get("selectors")
		if sel == nil {
			c.add(p+".selectors", RuleGranular, "missing")
			continue
		}
		if !c.list(p+".selectors", sel) {
			continue
		}
		for j := range sel.kids {
			s := &sel.kids[j]
			sp := indexPath(p+".selectors", j)
			if s.kind != kString {
				c.add(sp, RuleDataType, "is a %s, want a selector string", s.kind)
				continue
			}
			if msg := selectorProblem(c.root, s.str); msg != "" {
				c.add(sp, RuleGranular, "selector %s: %s", quote(s.str), msg)
			}
		}
	}
}

// selectorProblem resolves a selector in the object (§7.2.3): components separated
// by ".", each a property name or dictionary key, or a zero-based list index in
// square brackets; it MUST refer to content present in the object.
func selectorProblem(root *node, sel string) string {
	if sel == "" {
		return "empty selector"
	}
	cur := root
	for i, comp := range strings.Split(sel, ".") {
		if comp == "" {
			return "empty component"
		}
		if comp[0] == '[' {
			if i == 0 {
				return "the first component must be a property name"
			}
			if len(comp) < 3 || comp[len(comp)-1] != ']' || !allDigits(comp[1:len(comp)-1]) {
				return "list index " + quote(comp) + " is not a non-negative integer in square brackets"
			}
			if cur.kind != kArray {
				return quote(comp) + " indexes a " + cur.kind.String() + ", not a list"
			}
			n, err := strconv.Atoi(comp[1 : len(comp)-1])
			if err != nil || n >= len(cur.kids) {
				return "index " + comp + " is beyond the end of the list"
			}
			cur = &cur.kids[n]
			continue
		}
		if cur.kind != kObject {
			return quote(comp) + " selects in a " + cur.kind.String() + ", not an object"
		}
		next := cur.get(comp)
		if next == nil {
			return "no property " + quote(comp) + " in the object"
		}
		cur = next
	}
	return ""
}
