package stix

import "strings"

// TLPLevel orders the Traffic Light Protocol levels from least to most restricted.
// TLP 1.0 WHITE and TLP 2.0 CLEAR share the lowest level.
type TLPLevel uint8

// TLP levels.
const (
	TLPClear       TLPLevel = iota // TLP 2.0 CLEAR, TLP 1.0 WHITE
	TLPGreen                       // both versions
	TLPAmber                       // both versions
	TLPAmberStrict                 // TLP 2.0 only
	TLPRed                         // both versions
)

// TLP is one of the fixed TLP marking definitions.
type TLP struct {
	Version int      // 1 (STIX 2.1 §7.2.1.4) or 2 (FIRST TLP 2.0 extension)
	Level   TLPLevel //
	Name    string   // "TLP:WHITE", "TLP:AMBER+STRICT", ...
	value   string   // the value in the definition: "white", "amber+strict", ...
	created string
}

func (t TLP) String() string { return t.Name }

// TLP2Extension is the id of the extension definition of TLP 2.0 markings.
const TLP2Extension = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

const (
	tlp1Created = "2017-01-20T00:00:00.000Z"
	tlp2Created = "2022-10-01T00:00:00.000Z"
)

// tlpByID holds the only TLP marking definitions allowed (§7.2.1.4 for TLP 1.0; the
// OASIS TLP 2.0 extension definition for TLP 2.0).
var tlpByID = map[string]TLP{
	"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": {1, TLPClear, "TLP:WHITE", "white", tlp1Created},
	"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": {1, TLPGreen, "TLP:GREEN", "green", tlp1Created},
	"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": {1, TLPAmber, "TLP:AMBER", "amber", tlp1Created},
	"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": {1, TLPRed, "TLP:RED", "red", tlp1Created},

	"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": {2, TLPClear, "TLP:CLEAR", "clear", tlp2Created},
	"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": {2, TLPGreen, "TLP:GREEN", "green", tlp2Created},
	"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": {2, TLPAmber, "TLP:AMBER", "amber", tlp2Created},
	"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": {2, TLPAmberStrict, "TLP:AMBER+STRICT", "amber+strict", tlp2Created},
	"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": {2, TLPRed, "TLP:RED", "red", tlp2Created},
}

// TLPOf returns the TLP marking a marking-definition id stands for.
func TLPOf(id string) (TLP, bool) {
	t, ok := tlpByID[id]
	return t, ok
}

// TLPMarkings returns the ids of the TLP marking definitions of one version (1 or
// 2), from least to most restricted.
func TLPMarkings(version int) []string {
	var ids []string
	for l := TLPClear; l <= TLPRed; l++ {
		for id, t := range tlpByID {
			if t.Version == version && t.Level == l {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// TLPDefinition returns the official JSON of the marking definition with the given
// TLP id, compact, or nil for another id.
func TLPDefinition(id string) []byte {
	t, ok := tlpByID[id]
	if !ok {
		return nil
	}
	if t.Version == 1 {
		return []byte(`{"type":"marking-definition","spec_version":"2.1","id":"` + id + `","created":"` + t.created +
			`","definition_type":"tlp","name":"` + t.Name + `","definition":{"tlp":"` + t.value + `"}}`)
	}
	return []byte(`{"type":"marking-definition","spec_version":"2.1","id":"` + id + `","created":"` + t.created +
		`","name":"` + t.Name + `","extensions":{"` + TLP2Extension + `":{"extension_type":"property-extension","tlp_2_0":"` + t.value + `"}}}`)
}

// checkMarkingDefinition checks §7.2.1: definition_type and definition are present
// unless extensions is; a statement has a statement; TLP markings are only the
// fixed ones, with exactly their official content.
func (c *checker) checkMarkingDefinition() {
	r := c.root
	dt, def := r.get("definition_type"), r.get("definition")
	if r.get("extensions") == nil {
		if dt == nil {
			c.add("definition_type", RuleMarkingDef, "MUST be present when extensions is not")
		}
		if def == nil {
			c.add("definition", RuleMarkingDef, "MUST be present when extensions is not")
		}
	}
	if (dt == nil) != (def == nil) {
		c.add("definition", RuleMarkingDef, "definition_type and definition go together")
	}
	dts, _ := r.stringOf("definition_type")
	if dts == "statement" && def != nil && def.kind == kObject {
		if s := def.get("statement"); s == nil || s.kind != kString {
			c.add("definition.statement", RuleMarkingDef, "a statement marking MUST have a statement string (§7.2.1.3)")
		}
	}
	// object_marking_refs MUST NOT refer to the definition itself (§3.2).
	if om := r.get("object_marking_refs"); om != nil && om.kind == kArray {
		for i := range om.kids {
			if om.kids[i].kind == kString && om.kids[i].str == c.id {
				c.add(indexPath("object_marking_refs", i), RuleMarkingRef, "a marking definition MUST NOT mark itself (§3.2)")
			}
		}
	}

	tlp, official := tlpByID[c.id]
	ext := r.get("extensions").get(TLP2Extension)
	usesTLP := dts == "tlp" || ext != nil
	if !official {
		if usesTLP {
			c.add("id", RuleTLP, "only the TLP marking definitions of the specification may be used or created; this id is not one of them")
		}
		return
	}
	// An official id: the content must be the official definition.
	wrong := func(path, want string) {
		c.add(path, RuleTLP, "%s is %s; its official value is %q", c.id, quote(describe(r, path)), want)
	}
	if s, _ := r.stringOf("created"); s != tlp.created {
		wrong("created", tlp.created)
	}
	if s, _ := r.stringOf("name"); s != tlp.Name {
		wrong("name", tlp.Name)
	}
	if tlp.Version == 1 {
		if dts != "tlp" {
			wrong("definition_type", "tlp")
		}
		v, _ := def.stringOf("tlp")
		if v != tlp.value || def == nil || len(def.kids) != 1 {
			wrong("definition", `{"tlp":"`+tlp.value+`"}`)
		}
		if r.get("extensions") != nil {
			c.add("extensions", RuleTLP, "a TLP 1.0 marking definition has no extensions")
		}
		return
	}
	if dt != nil || def != nil {
		c.add("definition", RuleTLP, "a TLP 2.0 marking definition has no definition_type or definition")
	}
	et, _ := ext.stringOf("extension_type")
	v, _ := ext.stringOf("tlp_2_0")
	if ext == nil || et != "property-extension" || v != tlp.value || len(ext.kids) != 2 {
		c.add("extensions", RuleTLP, `%s MUST carry the extension %s with {"extension_type":"property-extension","tlp_2_0":%q}`, c.id, TLP2Extension, tlp.value)
	}
}

// describe renders a top-level property for a message.
func describe(r *node, path string) string {
	m := r.get(path)
	if m == nil {
		return "missing"
	}
	if m.kind == kString {
		return m.str
	}
	return strings.ToLower(m.kind.String())
}
