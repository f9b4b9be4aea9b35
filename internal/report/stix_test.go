package report

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"quadshare/internal/policy"
	"quadshare/internal/stix"
	"quadshare/internal/stix/pattern"
)

func testOperator() *Operator {
	return &Operator{
		ID: "op-0042", Name: "Southern Grid Pty Ltd", Jurisdiction: "AU",
		Sectors: []string{"energy"}, SizeBand: SizeLarge, Consent: ConsentGovernment,
		Created: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), Modified: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
	}
}

func richReport(t *testing.T) *Report {
	t.Helper()
	rep, err := decodeString(encode(t, validDoc()))
	if err != nil {
		t.Fatal(err)
	}
	// Indicators with characters that need escaping in a pattern and HTML-like text.
	rep.Indicators = append(rep.Indicators, Indicator{Kind: KindURL, Value: `http://a.example/x\y'z<b>`, Note: "<script>"})
	return rep
}

var (
	received1 = time.Date(2026, 11, 21, 14, 0, 0, 0, time.UTC)
	received2 = time.Date(2026, 11, 21, 18, 30, 0, 500e6, time.UTC)
)

// parsed is one produced object with its properties decoded for inspection.
type parsed struct {
	obj   stix.Object
	props map[string]any
}

func convert(t *testing.T, rep *Report, opts STIXOptions) map[string]parsed {
	t.Helper()
	objs, err := ToSTIX(rep, opts)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]parsed{}
	for _, o := range objs {
		// Every object on its own must be valid STIX 2.1.
		if _, err := stix.Parse(o.Raw); err != nil {
			t.Errorf("%s: %v", o.ID, err)
		}
		var m map[string]any
		if err := json.Unmarshal(o.Raw, &m); err != nil {
			t.Fatal(err)
		}
		if _, dup := out[o.ID]; dup {
			t.Errorf("%s produced twice", o.ID)
		}
		out[o.ID] = parsed{o, m}
	}
	return out
}

func ofType(objs map[string]parsed, typ string) []parsed {
	var out []parsed
	for _, p := range objs {
		if p.obj.Type == typ {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b parsed) int { return strings.Compare(a.obj.ID, b.obj.ID) })
	return out
}

func TestToSTIXContent(t *testing.T) {
	rep := richReport(t)
	op := testOperator()
	objs := convert(t, rep, STIXOptions{Operator: op, Created: received1, Modified: received1})
	amber := "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"

	if _, ok := objs[amber]; !ok {
		t.Errorf("the TLP:AMBER marking definition is missing")
	}
	ids := ofType(objs, "identity")
	if len(ids) != 1 {
		t.Fatalf("%d identities", len(ids))
	}
	idn := ids[0]
	if idn.obj.ID != OperatorIdentityID("op-0042") || idn.props["name"] != op.Name || idn.props["identity_class"] != "organization" {
		t.Errorf("identity = %s", idn.obj.Raw)
	}
	if got := idn.props["sectors"]; !equalJSON(got, []string{"energy", "utilities"}) {
		t.Errorf("identity sectors = %v", got)
	}
	if got := idn.props["object_marking_refs"]; !equalJSON(got, []string{amber}) { // consent government → AMBER
		t.Errorf("identity markings = %v", got)
	}

	incs := ofType(objs, "incident")
	if len(incs) != 1 {
		t.Fatalf("%d incidents", len(incs))
	}
	inc := incs[0]
	if inc.props["name"] != rep.Title || inc.props["description"] != rep.Description {
		t.Errorf("incident name/description = %v / %v", inc.props["name"], inc.props["description"])
	}
	ext := inc.props["extensions"].(map[string]any)[Extension].(map[string]any)
	wantExt := map[string]any{
		"extension_type": "property-extension", "report_id": rep.ID, "jurisdiction": "AU",
		"detected_at": "2026-11-21T12:30:00.123Z", "started_at": "2026-11-21T10:15:00.000Z",
		"impact": "significant", "ongoing": true, "affected_services": []string{"billing", "customer portal"},
		"ransom":      map[string]any{"demanded": true, "extortion": true, "paid": true, "paid_at": "2026-11-21T13:00:00.000Z"},
		"notes":       rep.Notes,
		"attachments": []any{map[string]any{"name": "ransom-note.txt", "sha256": strings.Repeat("c", 64), "size": 1234, "media_type": "text/plain"}},
	}
	if !equalJSON(ext, wantExt) {
		t.Errorf("incident extension =\n%v\nwant\n%v", ext, wantExt)
	}
	refs := inc.props["external_references"].([]any)
	if len(refs) != 2 || refs[1].(map[string]any)["external_id"] != "T1566.001" ||
		refs[1].(map[string]any)["url"] != "https://attack.mitre.org/techniques/T1566/001/" {
		t.Errorf("external references = %v", refs)
	}

	// Common properties of everything the operator authored.
	for _, p := range objs {
		switch p.obj.Type {
		case "marking-definition", "identity":
			continue
		}
		if got := p.props["object_marking_refs"]; !equalJSON(got, []string{amber}) {
			t.Errorf("%s: markings %v, want TLP:AMBER", p.obj.ID, got)
		}
		if stix.KindOf(p.obj.Type) == stix.KindSCO {
			if _, ok := p.props["extensions"]; ok {
				t.Errorf("%s: an SCO carries extensions", p.obj.ID)
			}
			continue
		}
		if p.props["created_by_ref"] != idn.obj.ID {
			t.Errorf("%s: created_by_ref %v", p.obj.ID, p.props["created_by_ref"])
		}
		if p.obj.Created.Time() != received1 || p.obj.Modified.Time() != received1 {
			t.Errorf("%s: created %v modified %v", p.obj.ID, p.obj.Created, p.obj.Modified)
		}
		facts, err := policy.DefaultScales().Extract(p.obj.Raw)
		if err != nil {
			t.Fatalf("%s: policy cannot read the facts: %v", p.obj.ID, err)
		}
		if facts.Reporter != idn.obj.ID || facts.Consent != policy.ConsentGovernment ||
			facts.Sectors != policy.SectorOf("energy")|policy.SectorOf("utilities") {
			t.Errorf("%s: policy facts %+v", p.obj.ID, facts)
		}
	}

	// One indicator per indicator, its pattern matching exactly the value, related to
	// the incident and based on the observed data.
	inds := ofType(objs, "indicator")
	if len(inds) != len(rep.Indicators) {
		t.Fatalf("%d indicators, want %d", len(inds), len(rep.Indicators))
	}
	rels := ofType(objs, "relationship")
	obs := ofType(objs, "observed-data")
	if len(obs) != 1 {
		t.Fatalf("%d observed-data", len(obs))
	}
	scoRefs := obs[0].props["object_refs"].([]any)
	hasRel := func(src, typ, dst string) bool {
		for _, r := range rels {
			if r.props["source_ref"] == src && r.props["relationship_type"] == typ && r.props["target_ref"] == dst {
				return true
			}
		}
		return false
	}
	for _, ind := range rep.Indicators {
		var found *parsed
		for i := range inds {
			if inds[i].obj.ID == derivedID("indicator", rep.ID+"/indicator/"+ind.key()) {
				found = &inds[i]
			}
		}
		if found == nil {
			t.Errorf("no indicator for %v", ind)
			continue
		}
		pat, err := pattern.Parse(found.props["pattern"].(string))
		if err != nil {
			t.Fatal(err)
		}
		var values []string
		for cmp := range pat.Comparisons() {
			values = append(values, cmp.Path.String()+"="+cmp.Value.String())
			if ind.Kind != KindHash && cmp.Value.Str != ind.Value {
				t.Errorf("pattern %s compares to %q, want %q", pat, cmp.Value.Str, ind.Value)
			}
		}
		if len(values) != 1 || (ind.Kind == KindHash && !strings.Contains(values[0], ind.Value)) {
			t.Errorf("pattern %s for %v", pat, ind)
		}
		if ind.Note != "" && found.props["description"] != ind.Note {
			t.Errorf("description %v, want %q", found.props["description"], ind.Note)
		}
		if found.props["valid_from"] != "2026-11-21T10:15:00.000Z" {
			t.Errorf("valid_from %v", found.props["valid_from"])
		}
		if !hasRel(found.obj.ID, "related-to", inc.obj.ID) || !hasRel(found.obj.ID, "based-on", obs[0].obj.ID) {
			t.Errorf("%s is not linked to the incident and observed data", found.obj.ID)
		}
		// Its observable is referenced by the observed data, with the value.
		_, raw, err := sco(ind, amber)
		if err != nil {
			t.Fatal(err)
		}
		o, _ := stix.Parse(raw)
		if !slices.Contains(scoRefs, any(o.ID)) || objs[o.ID].obj.ID == "" {
			t.Errorf("observable %s of %v missing", o.ID, ind)
		}
	}
	if !hasRel(obs[0].obj.ID, "related-to", inc.obj.ID) {
		t.Error("observed data is not related to the incident")
	}
	if obs[0].props["first_observed"] != "2026-11-21T10:15:00.000Z" || obs[0].props["last_observed"] != "2026-11-21T14:00:00.000Z" {
		t.Errorf("observed %v .. %v", obs[0].props["first_observed"], obs[0].props["last_observed"])
	}
	if want := 1 + 1 + 1 + len(rep.Indicators)*(2+2) + 1 + 1; len(objs) != want {
		t.Errorf("%d objects, want %d", len(objs), want)
	}
	// HTML-like text stays as written.
	if !strings.Contains(string(objs[derivedID("indicator", rep.ID+"/indicator/"+rep.Indicators[7].key())].obj.Raw), `"description":"<script>"`) {
		t.Error("text was escaped")
	}
}

func equalJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return false
	}
	var va, vb any
	_ = json.Unmarshal(ja, &va)
	_ = json.Unmarshal(jb, &vb)
	ca, _ := json.Marshal(va)
	cb, _ := json.Marshal(vb)
	return string(ca) == string(cb)
}

func TestToSTIXUpdate(t *testing.T) {
	op := testOperator()
	v1 := richReport(t)
	first := convert(t, v1, STIXOptions{Operator: op, Created: received1, Modified: received1})

	// The update drops one indicator, adds another, and changes the impact.
	v2 := richReport(t)
	dropped := v2.Indicators[0]
	v2.Indicators = append(v2.Indicators[1:], Indicator{Kind: KindIP, Value: "198.51.100.9"})
	v2.Impact = ImpactSevere
	v2.Ongoing = false
	second := convert(t, v2, STIXOptions{Operator: op, Created: received1, Modified: received2, History: []*Report{v1}})

	_, droppedSCO, _ := sco(dropped, "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421")
	droppedObs, _ := stix.Parse(droppedSCO)
	for id, p1 := range first {
		p2, ok := second[id]
		if !ok && id == droppedObs.ID {
			continue // an observable that no longer belongs to the report is left alone
		}
		if !ok {
			t.Errorf("%s is missing from the update", id)
			continue
		}
		switch {
		case p1.obj.Type == "marking-definition" || p1.obj.Type == "identity" || stix.KindOf(p1.obj.Type) == stix.KindSCO:
			if string(p1.obj.Raw) != string(p2.obj.Raw) {
				t.Errorf("%s changed: %s", id, p2.obj.Raw)
			}
		default:
			if p2.obj.Created != p1.obj.Created || p2.obj.Modified.Compare(p1.obj.Modified) <= 0 {
				t.Errorf("%s: created %v→%v modified %v→%v", id, p1.obj.Created, p2.obj.Created, p1.obj.Modified, p2.obj.Modified)
			}
		}
	}
	droppedID := derivedID("indicator", v1.ID+"/indicator/"+dropped.key())
	if second[droppedID].props["revoked"] != true {
		t.Errorf("the dropped indicator is not revoked: %s", second[droppedID].obj.Raw)
	}
	if first[droppedID].props["revoked"] != nil {
		t.Error("revoked in the first version")
	}
	for _, r := range ofType(second, "relationship") {
		if r.props["source_ref"] == droppedID && r.props["revoked"] != true {
			t.Errorf("relationship %s of the dropped indicator not revoked", r.obj.ID)
		}
		if r.props["source_ref"] != droppedID && r.props["revoked"] != nil {
			t.Errorf("relationship %s revoked", r.obj.ID)
		}
	}
	newID := derivedID("indicator", v1.ID+"/indicator/ip//198.51.100.9")
	if _, ok := second[newID]; !ok {
		t.Error("the added indicator is missing")
	}
	inc := ofType(second, "incident")[0]
	if ext := inc.props["extensions"].(map[string]any)[Extension].(map[string]any); ext["impact"] != "severe" || ext["ongoing"] != false {
		t.Errorf("update extension %v", ext)
	}

	// Dropping every indicator revokes the observed data too.
	v3 := richReport(t)
	v3.Indicators = nil
	third := convert(t, v3, STIXOptions{Operator: op, Created: received1, Modified: received2.Add(time.Hour), History: []*Report{v1, v2}})
	obs := ofType(third, "observed-data")
	if len(obs) != 1 || obs[0].props["revoked"] != true {
		t.Errorf("observed data after removing every indicator: %v", obs)
	}

	// Adding back what was revoked: new ids (the next generation), nothing revoked.
	v4 := richReport(t)
	fourth := convert(t, v4, STIXOptions{Operator: op, Created: received1, Modified: received2.Add(2 * time.Hour), History: []*Report{v1, v2, v3}})
	readded := derivedID("indicator", v1.ID+"/indicator/"+dropped.key()+"#1")
	if p, ok := fourth[readded]; !ok || p.props["revoked"] != nil {
		t.Errorf("re-added indicator %s: %v", readded, ok)
	}
	if _, ok := fourth[droppedID]; ok {
		t.Error("a revoked indicator got a new version")
	}
	other := derivedID("indicator", v1.ID+"/indicator/"+v1.Indicators[1].key()+"#1")
	if _, ok := fourth[other]; !ok {
		t.Error("an indicator dropped with the rest in v3 did not get a new generation")
	}
	if o := ofType(fourth, "observed-data"); len(o) != 1 || o[0].obj.ID == obs[0].obj.ID || o[0].props["revoked"] != nil {
		t.Errorf("observed data after adding back: %v", o)
	}
	for _, p := range fourth {
		if p.props["revoked"] != nil {
			t.Errorf("%s revoked in v4", p.obj.ID)
		}
	}

	// Converting the same version twice gives the same bytes.
	again := convert(t, v2, STIXOptions{Operator: op, Created: received1, Modified: received2, History: []*Report{v1}})
	for id, p := range second {
		if string(again[id].obj.Raw) != string(p.obj.Raw) {
			t.Errorf("%s differs between two conversions", id)
		}
	}
}

func TestToSTIXMinimalAndErrors(t *testing.T) {
	rep, err := decodeString(`{"title":"t","description":"d","detected_at":"2026-11-22T03:00:00Z","impact":"none","ongoing":false,"tlp":"red"}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ToSTIX(rep, STIXOptions{Operator: testOperator(), Created: received1, Modified: received1}); err == nil {
		t.Error("converted a report without an id")
	}
	rep.ID = NewID()
	objs := convert(t, rep, STIXOptions{Operator: testOperator(), Created: received1, Modified: received1})
	if len(objs) != 3 || len(ofType(objs, "incident")) != 1 {
		t.Errorf("minimal report gave %d objects", len(objs))
	}
	red := "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
	if got := ofType(objs, "incident")[0].props["object_marking_refs"]; !equalJSON(got, []string{red}) {
		t.Errorf("markings %v", got)
	}
	bad := []STIXOptions{
		{Created: received1, Modified: received1},
		{Operator: testOperator(), Modified: received1},
		{Operator: testOperator(), Created: received2, Modified: received1},
		{Operator: &Operator{ID: "x", Name: "x", Jurisdiction: "AU", Sectors: []string{"nuclear"}, SizeBand: SizeSmall, Consent: ConsentNever, Created: received1, Modified: received1}, Created: received1, Modified: received1},
		{Operator: testOperator(), Created: received1, Modified: received1, History: []*Report{{ID: NewID()}}},
	}
	for i, o := range bad {
		if _, err := ToSTIX(rep, o); err == nil {
			t.Errorf("options %d accepted", i)
		}
	}
}

func TestExtensionDefinition(t *testing.T) {
	o, err := stix.Parse(ExtensionDefinition())
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != Extension {
		t.Errorf("id %s, want %s", o.ID, Extension)
	}
}

func TestIdentityMarkingFollowsConsent(t *testing.T) {
	rep := richReport(t)
	want := map[Consent]string{
		ConsentPartners:   "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
		ConsentGovernment: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
		ConsentNever:      "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
	}
	for c, m := range want {
		op := testOperator()
		op.Consent = c
		idn := ofType(convert(t, rep, STIXOptions{Operator: op, Created: received1, Modified: received1}), "identity")[0]
		if !equalJSON(idn.props["object_marking_refs"], []string{m}) {
			t.Errorf("consent %s: markings %v", c, idn.props["object_marking_refs"])
		}
	}
}
