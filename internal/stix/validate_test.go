package stix

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// Valid objects the broken ones are made from.
const (
	validIndicator = `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
"created_by_ref":"identity--f431f809-377b-45e0-aa1c-6a4751cae5ff","created":"2016-04-29T14:09:00.000Z","modified":"2016-04-29T14:09:00.000Z",
"name":"Poison Ivy Malware","description":"This file is part of Poison Ivy","labels":["malicious","poison-ivy"],"confidence":80,
"indicator_types":["malicious-activity"],"pattern":"[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
"pattern_type":"stix","valid_from":"2016-04-29T14:09:00Z","valid_until":"2017-04-29T14:09:00Z",
"kill_chain_phases":[{"kill_chain_name":"lockheed-martin-cyber-kill-chain","phase_name":"delivery"}],
"external_references":[{"source_name":"capec","external_id":"CAPEC-163","url":"https://capec.mitre.org/data/definitions/163.html","hashes":{"SHA-256":"6db12788c37247f2316052e142f42f4b259d6561751e5f401a1ae2a6df9c674b"}},{"source_name":"cve","external_id":"CVE-2016-1234"}],
"object_marking_refs":["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"],
"granular_markings":[{"marking_ref":"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82","selectors":["description","labels.[1]","external_references.[0].url"]}],
"extensions":{"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e":{"extension_type":"property-extension","rank":5,"toxicity":8}},
"x_acme_score":10}`
	validRelationship = `{"type":"relationship","spec_version":"2.1","id":"relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad",
"created":"2016-04-06T20:06:37.000Z","modified":"2016-04-06T20:06:37.000Z","relationship_type":"indicates",
"source_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","target_ref":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"}`
	validSighting = `{"type":"sighting","spec_version":"2.1","id":"sighting--ee20065d-2555-424f-ad9e-0f8428623c75",
"created":"2016-04-06T20:08:31.000Z","modified":"2016-04-06T20:08:31.000Z","first_seen":"2015-12-21T19:00:00Z","last_seen":"2015-12-21T19:00:00Z",
"count":50,"sighting_of_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","where_sighted_refs":["identity--b67d30ff-02ac-498a-92f9-32f845f448ff"]}`
	validExtDef = `{"type":"extension-definition","spec_version":"2.1","id":"extension-definition--71736db5-10db-43d3-b0e3-65cf81601fe1",
"created_by_ref":"identity--11b76a96-5d2b-45e0-8a5a-f6994f370731","created":"2014-02-20T09:16:08.989Z","modified":"2014-02-20T09:16:08.989Z",
"name":"Extension Foo Bar","schema":"https://www.example.com/schema-foo-1/v1/","version":"1.2.1",
"extension_types":["toplevel-property-extension"],"extension_properties":["toxicity","rank"]}`
	validObserved = `{"type":"observed-data","spec_version":"2.1","id":"observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
"created":"2016-04-06T19:58:16.000Z","modified":"2016-04-06T19:58:16.000Z","first_observed":"2015-12-21T19:00:00Z","last_observed":"2015-12-21T19:00:00Z",
"number_observed":50,"object_refs":["ipv4-addr--efcd5e80-570d-4131-b213-62cb18eaa6a8"]}`
)

// edit returns raw with properties set (a nil value deletes the property).
func edit(t testing.TB, raw string, set map[string]any) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("test object: %v", err)
	}
	for k, v := range set {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type broken struct {
	name string
	raw  string
	rule string // a rule our validator must report
	// schema says whether the OASIS JSON schemas reject the object too; when they
	// do not, why says why the spec text is stricter than the schema.
	schema bool
	why    string
}

func brokenObjects(t testing.TB) []broken {
	ind := func(set map[string]any) string { return edit(t, validIndicator, set) }
	return []broken{
		{"id not a UUID", ind(map[string]any{"id": "indicator--1234"}), RuleID, true, ""},
		{"id of another type", ind(map[string]any{"id": "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}), RuleID, true, ""},
		{"id with UUID version 0", ind(map[string]any{"id": "indicator--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f"}), RuleID, true, ""},
		{"id with a non-RFC 4122 variant", ind(map[string]any{"id": "indicator--8e2e2d2b-17d4-4cbf-c38f-98ee46b3cd3f"}), RuleID, true, ""},
		{"timestamp with a space", ind(map[string]any{"valid_from": "2016-04-29 14:09:00Z"}), RuleTimestamp, true, ""},
		{"timestamp with an offset", ind(map[string]any{"valid_from": "2016-04-29T14:09:00+01:00"}), RuleTimestamp, true, ""},
		{"created without milliseconds", ind(map[string]any{"created": "2016-04-29T14:09:00Z"}), RulePrecision, true, ""},
		{"missing pattern", ind(map[string]any{"pattern": nil}), RuleRequired, true, ""},
		{"missing spec_version", ind(map[string]any{"spec_version": nil}), RuleRequired, true, ""},
		{"missing modified", ind(map[string]any{"modified": nil}), RuleRequired, true, ""},
		{"relationship without target_ref", edit(t, validRelationship, map[string]any{"target_ref": nil}), RuleRequired, true, ""},
		{"type name too short", `{"type":"xy","spec_version":"2.1","id":"xy--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-29T14:09:00.000Z","modified":"2016-04-29T14:09:00.000Z"}`, RuleType, true, ""},
		{"type name in upper case", `{"type":"x-Acme","spec_version":"2.1","id":"x-Acme--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-29T14:09:00.000Z","modified":"2016-04-29T14:09:00.000Z"}`, RuleType, true, ""},
		{"marking ref not an identifier", ind(map[string]any{"object_marking_refs": []string{"marking-definition--tlp-green"}}), RuleRef, true, ""},
		{"empty labels", ind(map[string]any{"labels": []string{}}), RuleList, true, ""},
		{"confidence above 100", ind(map[string]any{"confidence": 101}), RuleRange, true, ""},
		{"external reference without source_name", ind(map[string]any{"external_references": []any{map[string]any{"url": "https://example.com"}}}), RuleExternalRef, true, ""},
		{"external reference with only source_name", ind(map[string]any{"external_references": []any{map[string]any{"source_name": "acme"}}}), RuleExternalRef, true, ""},
		{"cve reference with a bad id", ind(map[string]any{"external_references": []any{map[string]any{"source_name": "cve", "external_id": "CVE-16-1"}}}), RuleExternalRef, true, ""},
		{"MD5 of the wrong length", ind(map[string]any{"external_references": []any{map[string]any{"source_name": "acme", "url": "https://example.com", "hashes": map[string]any{"MD5": "abc"}}}}), RuleHashes, true, ""},
		{"external reference hash name outside the vocabulary", ind(map[string]any{"external_references": []any{map[string]any{"source_name": "acme", "url": "https://example.com", "hashes": map[string]any{"sha256": "6db12788c37247f2316052e142f42f4b259d6561751e5f401a1ae2a6df9c674b"}}}}), RuleHashes, true, ""},
		{"TLSH of the wrong length", `{"type":"file","spec_version":"2.1","id":"file--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","hashes":{"TLSH":"abc"}}`, RuleHashes, true, ""},
		{"kill chain phase without phase_name", ind(map[string]any{"kill_chain_phases": []any{map[string]any{"kill_chain_name": "x"}}}), RuleKillChain, true, ""},
		{"reserved property", ind(map[string]any{"severity": "high"}), RuleReserved, true, ""},
		{"custom property name with a hyphen", ind(map[string]any{"x-acme-score": 1}), RulePropertyName, true, ""},
		{"null property", ind(map[string]any{"name": json.RawMessage("null")}), RuleDataType, true, ""},
		{"selector in upper case", ind(map[string]any{"granular_markings": []any{map[string]any{"marking_ref": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "selectors": []string{"Description"}}}}), RuleGranular, true, ""},
		{"granular marking with neither lang nor marking_ref", ind(map[string]any{"granular_markings": []any{map[string]any{"selectors": []string{"description"}}}}), RuleGranular, true, ""},
		{"extension key that is neither an id nor a name", ind(map[string]any{"extensions": map[string]any{"acme": map[string]any{"x": 1}}}), RuleExtensions, true, ""},
		{"extension without extension_type", ind(map[string]any{"extensions": map[string]any{"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": map[string]any{"rank": 5}}}), RuleExtensions, true, ""},
		{"extension_types value not in the enumeration", edit(t, validExtDef, map[string]any{"extension_types": []string{"new-thing"}}), RuleExtDef, true, ""},
		{"TLP id with the wrong content", edit(t, string(TLPDefinition("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9")), map[string]any{"definition": map[string]any{"tlp": "red"}}), RuleTLP, true, ""},
		{"a TLP marking that is not one of the official ones", `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:WHITE","definition":{"tlp":"white"}}`, RuleTLP, true, ""},
		{"sighting of a relationship", edit(t, validSighting, map[string]any{"sighting_of_ref": "relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad"}), RuleRef, true, ""},
		{"observed data with objects and object_refs", edit(t, validObserved, map[string]any{"objects": map[string]any{"0": map[string]any{"type": "ipv4-addr", "value": "198.51.100.3"}}}), RuleProperty, true, ""},
		{"versioned SCO with the deterministic id", `{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","value":"198.51.100.3","created":"2016-04-29T14:09:00.000Z","modified":"2016-04-29T14:09:00.000Z"}`, RuleVersioning, false, "the schemas cannot compute a UUIDv5 (§3.6)"},
		{"revoked marking definition", edit(t, string(TLPDefinition("marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da")), map[string]any{"revoked": true}), RuleVersioning, true, ""},
		{"_enc without its property", `{"type":"file","spec_version":"2.1","id":"file--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","hashes":{"MD5":"3773a88f65a5e780c8dff9cdc3a056f3"},"name_enc":"windows-1252"}`, RuleProperty, false, "file.json does not tie name_enc to name (§3.1)"},
		{"dictionary key with a space", `{"type":"process","spec_version":"2.1","id":"process--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","pid":1,"environment_variables":{"MY VAR":"x"}}`, RuleDictionary, true, ""},
		{"relationship_type with upper case", edit(t, validRelationship, map[string]any{"relationship_type": "Indicates"}), RuleProperty, true, ""},
		{"relationship to a marking definition", edit(t, validRelationship, map[string]any{"target_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"}), RuleRef, true, ""},
		{"extension_properties without toplevel-property-extension", edit(t, validExtDef, map[string]any{"extension_types": []string{"property-extension"}}), RuleExtDef, true, ""},
		{"sighting count below zero", edit(t, validSighting, map[string]any{"count": -1}), RuleRange, true, ""},

		// The schemas are looser than the text of the specification here.
		{"modified before created", ind(map[string]any{"modified": "2016-04-28T14:09:00.000Z"}), RuleVersioning, false, "JSON Schema cannot compare two properties (§3.6)"},
		{"valid_until before valid_from", ind(map[string]any{"valid_until": "2016-04-28T14:09:00Z"}), RuleOrder, false, "JSON Schema cannot compare two properties (§4.7.1)"},
		{"last_seen before first_seen", edit(t, validSighting, map[string]any{"last_seen": "2015-12-20T19:00:00Z"}), RuleOrder, false, "JSON Schema cannot compare two properties (§5.2.1)"},
		{"object marking that is an identity", ind(map[string]any{"object_marking_refs": []string{"identity--f431f809-377b-45e0-aa1c-6a4751cae5ff"}}), RuleRef, false, "core.json types object_marking_refs as any identifier (§3.2 requires marking definitions)"},
		{"selector beyond the list", ind(map[string]any{"granular_markings": []any{map[string]any{"marking_ref": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "selectors": []string{"labels.[5]"}}}}), RuleGranular, false, "a schema checks the selector's syntax, not that it resolves in the object (§7.2.3)"},
		{"selector of a missing property", ind(map[string]any{"granular_markings": []any{map[string]any{"marking_ref": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "selectors": []string{"pattern_version"}}}}), RuleGranular, false, "a schema checks the selector's syntax, not that it resolves in the object (§7.2.3)"},
		{"granular marking with lang and marking_ref", ind(map[string]any{"granular_markings": []any{map[string]any{"lang": "en", "marking_ref": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "selectors": []string{"name"}}}}), RuleGranular, false, "granular-marking.json does not forbid both (§7.2.3: exactly one)"},
		{"pattern that does not parse", ind(map[string]any{"pattern": "[file:hashes.'SHA-256' = 'aec0'"}), RulePattern, false, "the schemas do not parse patterns (§9)"},
		{"spec_version 2.0", ind(map[string]any{"spec_version": "2.0"}), RuleSpecVersion, false, `core.json allows "2.0" (§3.2: MUST be 2.1)`},
		{"defanged on an SDO", ind(map[string]any{"defanged": true}), RuleProperty, false, "the schemas do not forbid it (§3.2: MUST NOT be used on other than SCOs)"},
		{"reserved name phone_number", ind(map[string]any{"phone_number": "1"}), RuleReserved, false, `core.json reserves "phone_numbers", a misspelling of §3.8's "phone_number"`},
	}
}

// validObjects are valid; the schemas accept them too.
var validObjects = []string{validIndicator, validRelationship, validSighting, validExtDef, validObserved}

// schemaStricter are valid by the specification's text, but the schemas reject
// them; each with the reason.
var schemaStricter = []struct{ name, raw, why string }{
	{
		"language granular marking",
		`{"type":"identity","spec_version":"2.1","id":"identity--311b2d2d-f010-4473-83ec-1edf84858f4c","created":"2017-01-01T00:00:00.000Z","modified":"2017-01-01T00:00:00.000Z","name":"ACME","description":"Eine Firma","lang":"en","granular_markings":[{"lang":"de","selectors":["description"]}]}`,
		"granular-marking.json requires marking_ref, but §7.2.3 makes lang and marking_ref alternatives (its own example marks description as German)",
	},
}

func TestValidObjects(t *testing.T) {
	all := append([]string{}, validObjects...)
	for _, s := range schemaStricter {
		all = append(all, s.raw)
	}
	for _, raw := range all {
		if _, err := Parse([]byte(raw)); err != nil {
			t.Errorf("valid object rejected: %v", err)
		}
	}
}

func TestBrokenObjects(t *testing.T) {
	for _, b := range brokenObjects(t) {
		_, err := Parse([]byte(b.raw))
		var errs Errors
		if !errors.As(err, &errs) {
			t.Errorf("%s: err = %v, want Errors", b.name, err)
			continue
		}
		found := false
		for _, e := range errs {
			if e.Rule == b.rule {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: want rule %q, got %v", b.name, b.rule, errs)
		}
	}
}

func TestErrorNamesObjectPathAndRule(t *testing.T) {
	raw := edit(t, validIndicator, map[string]any{"valid_from": "yesterday"})
	_, err := Parse([]byte(raw))
	want := `indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f: valid_from: timestamp (§2.16): invalid timestamp "yesterday"`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %q\nwant prefix %q", err, want)
	}
	raw = edit(t, validIndicator, map[string]any{"external_references": []any{map[string]any{"source_name": "x", "url": 5}}})
	_, err = Parse([]byte(raw))
	if err == nil || !strings.Contains(err.Error(), "external_references.[0].url: data type (§2)") {
		t.Fatalf("error %q does not name the nested path", err)
	}
}

// TestNULRefused: U+0000 anywhere in an object's text, a value or a member
// name, at any depth, is refused with its path; the error holds no NUL of its
// own. Decode (which reads stored objects) still reads it.
func TestNULRefused(t *testing.T) {
	for _, c := range []struct {
		edit map[string]any
		path string
	}{
		{map[string]any{"name": "a\x00b"}, "name"},
		{map[string]any{"labels": []any{"ok", "\x00"}}, "labels.[1]"},
		{map[string]any{"external_references": []any{map[string]any{"source_name": "x", "description": "d\x00"}}}, "external_references.[0].description"},
		{map[string]any{"x_custom": map[string]any{"k\x00": "v"}}, "x_custom.k\\u0000"},
	} {
		raw := edit(t, validIndicator, c.edit)
		if !strings.Contains(raw, `\u0000`) {
			t.Fatalf("%s: the test object has no NUL: %s", c.path, raw)
		}
		_, err := Parse([]byte(raw))
		var errs Errors
		if !errors.As(err, &errs) || !slices.ContainsFunc(errs, func(e *Error) bool { return e.Rule == RuleNUL && e.Path == c.path }) {
			t.Errorf("%s: %v, want %q at %s", c.path, err, RuleNUL, c.path)
		}
		if err != nil && strings.Contains(err.Error(), "\x00") {
			t.Errorf("%s: the error holds a NUL: %q", c.path, err)
		}
		if _, err := Decode([]byte(raw)); err != nil {
			t.Errorf("%s: Decode: %v", c.path, err)
		}
	}
	bundle := `{"type":"bundle","id":"bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","objects":[` + edit(t, validIndicator, map[string]any{"name": "\x00"}) + `]}`
	_, err := Parse([]byte(bundle))
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 || errs[0].Rule != RuleNUL || errs[0].Path != "objects.[0].name" {
		t.Errorf("bundle: %v, want one %q at objects.[0].name", err, RuleNUL)
	}
}

func TestValidateChecksIndexedFields(t *testing.T) {
	o, err := Parse([]byte(validIndicator))
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(&o); err != nil {
		t.Fatalf("Validate of a parsed object: %v", err)
	}
	o.ID = "indicator--00000000-0000-4000-8000-000000000000"
	if err := Validate(&o); err == nil {
		t.Fatal("Validate accepts an Object whose ID differs from its JSON")
	}
}

func TestTLP(t *testing.T) {
	for _, v := range []int{1, 2} {
		ids := TLPMarkings(v)
		want := map[int]int{1: 4, 2: 5}[v]
		if len(ids) != want {
			t.Fatalf("TLP %d: %d markings, want %d", v, len(ids), want)
		}
		prev := TLPLevel(0)
		for i, id := range ids {
			tl, ok := TLPOf(id)
			if !ok || tl.Version != v {
				t.Fatalf("TLPOf(%s) = %v, %v", id, tl, ok)
			}
			if i > 0 && tl.Level <= prev {
				t.Errorf("TLP %d levels not increasing at %s", v, tl)
			}
			prev = tl.Level
			// The official definition is valid, and nothing else with its id is.
			def := TLPDefinition(id)
			if _, err := Parse(def); err != nil {
				t.Errorf("official %s: %v", tl, err)
			}
			changed := strings.Replace(string(def), `"name":"`+tl.Name+`"`, `"name":"TLP:X"`, 1)
			if _, err := Parse([]byte(changed)); err == nil {
				t.Errorf("%s with another name accepted", tl)
			}
		}
	}
	if tl, _ := TLPOf("marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"); tl.Level != TLPAmberStrict || tl.Name != "TLP:AMBER+STRICT" {
		t.Errorf("AMBER+STRICT: %+v", tl)
	}
	if _, ok := TLPOf("marking-definition--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"); ok {
		t.Error("TLPOf accepts an arbitrary id")
	}
	// A TLP 2.0 definition without its extension content is refused.
	bad := `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1","created":"2022-10-01T00:00:00.000Z","name":"TLP:RED","extensions":{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":{"extension_type":"property-extension","tlp_2_0":"amber"}}}`
	if _, err := Parse([]byte(bad)); err == nil {
		t.Error("TLP:RED with tlp_2_0 amber accepted")
	}
}

func TestSelectors(t *testing.T) {
	// The object of §7.2.3's selector examples.
	root, _, err := parseJSON([]byte(`{"description":"The (1) TLS...","external_references":[{"source_name":"cve","external_id":"CVE-2014-0160"}],"labels":["heartbleed","has-logo"]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"description", "external_references.[0].source_name", "labels.[0]", "labels", "external_references"} {
		if msg := selectorProblem(root, s); msg != "" {
			t.Errorf("valid selector %q: %s", s, msg)
		}
	}
	for _, s := range []string{"pattern", "external_references.[3]", "description.[0]", "labels.name", "", "labels.", "[0]", "labels.[-1]", "labels.[x]", "labels.[01x]"} {
		if msg := selectorProblem(root, s); msg == "" {
			t.Errorf("invalid selector %q accepted", s)
		}
	}
}

func TestCustomObjects(t *testing.T) {
	custom := `{"type":"x-acme-widget","spec_version":"2.1","id":"x-acme-widget--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-29T14:09:00.000Z","modified":"2016-04-29T14:09:00.000Z","x_size":3}`
	if _, err := Parse([]byte(custom)); err != nil {
		t.Errorf("custom object: %v", err)
	}
	// A new SCO defined by an extension needs only type and id (§3.2 SCO column).
	newSCO := `{"type":"my-sensor","id":"my-sensor--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","reading":3,"extensions":{"extension-definition--9c59fd79-4215-4ba2-920d-3e4f320e1e62":{"extension_type":"new-sco"}}}`
	if _, err := Parse([]byte(newSCO)); err != nil {
		t.Errorf("new SCO: %v", err)
	}
	// new-sdo may not redefine a specification type (§7.3).
	redefine := edit(t, validIndicator, map[string]any{"extensions": map[string]any{"extension-definition--9c59fd79-4215-4ba2-920d-3e4f320e1e62": map[string]any{"extension_type": "new-sdo"}}})
	if _, err := Parse([]byte(redefine)); err == nil {
		t.Error("indicator with a new-sdo extension accepted")
	}
}

func TestBundleAsOneObject(t *testing.T) {
	b := `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[` + validRelationship + `,` + edit(t, validIndicator, map[string]any{"confidence": 200}) + `]}`
	_, err := Parse([]byte(b))
	if err == nil || !strings.Contains(err.Error(), "objects.[1].confidence") {
		t.Fatalf("bundle with a bad object: %v", err)
	}
}

func TestVersionedSCO(t *testing.T) {
	// §3.6 allows versioning an SCO when its id is not the deterministic one.
	ok := `{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","value":"198.51.100.3","created":"2016-04-29T14:09:00.000Z","modified":"2016-04-29T14:09:00.000Z","revoked":true}`
	if _, err := Parse([]byte(ok)); err != nil {
		t.Errorf("versioned SCO with a UUIDv4 id: %v", err)
	}
}

// TestUUIDProblem checks the form of a UUID (RFC 4122 §3) character by character:
// the dashes only at their places, hex digits of either case elsewhere.
func TestUUIDProblem(t *testing.T) {
	const good = "8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
	if msg := uuidProblem(good); msg != "" {
		t.Fatalf("%s: %s", good, msg)
	}
	if msg := uuidProblem("8E2E2D2B-17D4-4CBF-938F-98EE46B3CD3F"); msg != "" {
		t.Fatalf("upper case: %s", msg)
	}
	for i := range len(good) {
		for _, c := range []byte("-g G/:`@\x00\xff") {
			if c == good[i] {
				continue
			}
			bad := good[:i] + string(c) + good[i+1:]
			if msg := uuidProblem(bad); msg == "" {
				t.Errorf("%q accepted", bad)
			}
		}
	}
}
