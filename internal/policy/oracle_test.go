package policy

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// The oracle: a second, deliberately naive reading of the rules table in doc.go,
// sharing no code with Engine.Decide. Cases are drawn at random as plain
// descriptions, written out as STIX JSON, extracted with Scales.Extract and decided
// with Engine.Decide; the oracle decides from the description alone.

// TLP names in order of restriction, from MISSION.md and STIX 2.1 §7.2.1.4.
var oracleTLPRank = map[string]int{"CLEAR": 0, "GREEN": 1, "AMBER": 2, "AMBER+STRICT": 3, "RED": 4}

// The marking definition ids, copied by hand from MISSION.md.
var oracleTLPIDs = []struct{ id, name string }{
	{"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", "CLEAR"}, // TLP 1.0 WHITE
	{"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "GREEN"},
	{"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "AMBER"},
	{"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "RED"},
	{"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "CLEAR"},
	{"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "GREEN"},
	{"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "AMBER"},
	{"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", "AMBER+STRICT"},
	{"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "RED"},
}

type oMarking struct {
	id    string
	tlp   string // "" when not a TLP marking
	level int    // -1 when not a classification marking
}

type oGranular struct {
	marking   oMarking
	lang      bool
	selectors []string
}

type oCase struct {
	// object
	typ, id     string
	markings    []oMarking
	granular    []oGranular
	sectors     []string // STIX "sectors"
	extSectors  []string // our extension's sectors
	createdBy   string
	reporter    string
	consent     string // "", "never", "government", "partners", or garbage
	named       []string
	modified    time.Time
	hasModified bool
	// configuration
	cfg Config
	// recipient
	r Recipient
	// time
	now time.Time
}

const (
	oAgency = "identity--0a000000-0000-4000-8000-000000000001" // our agency (AU)
	oGov    = "identity--0a000000-0000-4000-8000-000000000002" // another AU agency
	oOpA    = "identity--0a000000-0000-4000-8000-000000000003" // an AU operator
	oOpB    = "identity--0a000000-0000-4000-8000-000000000004" // another AU operator
	oJP     = "identity--0a000000-0000-4000-8000-000000000005" // JP agency
	oUS     = "identity--0a000000-0000-4000-8000-000000000006" // US agency
)

var (
	oOrgs        = []string{oAgency, oGov, oOpA, oOpB, oJP, oUS, ""}
	oNations     = []string{"AU", "AU", "JP", "US", "IN", "GB", "a1", ""}
	oUsers       = []string{"alice", "bob", "kenji", "sam", ""}
	oNamedPool   = []string{"AU:alice", "AU:bob", "JP:kenji", "US:sam", "IN:ravi"}
	oSectorPool  = []string{"energy", "healthcare", "water", "financial-services", "widgets"}
	oTypes       = []string{"indicator", "malware", "identity", "report", "x-acme-thing"}
	oSelectors   = []string{"description", "name", "labels", "labels.[0]", "labels.[1]", "external_references.[0].url", "id", "modified"}
	oReportTLPs  = []string{"clear", "green", "amber", "amber+strict", "red"}
	oConsentPool = []string{"", "never", "government", "partners", "maybe"}
)

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

func subset[T any](rng *rand.Rand, xs []T, max int) []T {
	n := rng.IntN(max + 1)
	var out []T
	for range n {
		out = append(out, pick(rng, xs))
	}
	return out
}

func oRandomMarking(rng *rand.Rand) oMarking {
	switch rng.IntN(10) {
	case 0, 1, 2, 3, 4:
		t := pick(rng, oracleTLPIDs)
		return oMarking{id: t.id, tlp: t.name, level: -1}
	case 5, 6, 7, 8:
		n, l := pick(rng, []string{"AU", "IN", "JP", "US"}), rng.IntN(6)
		return oMarking{id: ClassificationMarkingID(n, Level(l)), level: l}
	}
	return oMarking{id: fmt.Sprintf("marking-definition--%08x-0000-4000-8000-000000000000", rng.Uint32()), level: -1}
}

func oRandomCase(rng *rand.Rand, now time.Time) oCase {
	var c oCase
	c.now = now
	c.typ = pick(rng, oTypes)
	c.id = fmt.Sprintf("%s--%08x-1111-4111-8111-111111111111", c.typ, rng.Uint32())
	for range rng.IntN(4) {
		c.markings = append(c.markings, oRandomMarking(rng))
	}
	for range rng.IntN(4) {
		g := oGranular{lang: rng.IntN(6) == 0, marking: oRandomMarking(rng)}
		g.selectors = subset(rng, oSelectors, 2)
		if len(g.selectors) == 0 {
			g.selectors = []string{"description"}
		}
		c.granular = append(c.granular, g)
	}
	if c.typ == "identity" {
		c.sectors = subset(rng, oSectorPool, 2)
	}
	if rng.IntN(2) == 0 {
		c.extSectors = subset(rng, oSectorPool, 2)
	}
	c.createdBy = pick(rng, oOrgs)
	if rng.IntN(2) == 0 {
		c.reporter = pick(rng, []string{oOpA, oOpB})
		c.consent = pick(rng, oConsentPool)
		if c.typ == "identity" && rng.IntN(2) == 0 {
			c.id = c.reporter
		}
	}
	if rng.IntN(2) == 0 {
		c.named = subset(rng, oNamedPool, 3)
	}
	if rng.IntN(8) != 0 {
		c.hasModified = true
		c.modified = now.Add(-time.Duration(rng.IntN(200)) * time.Hour).Truncate(time.Millisecond)
	}

	c.cfg = Config{
		Format: 1, Revision: 1, Nation: "AU", Agency: oAgency,
		DefaultTLP:          pick(rng, oReportTLPs),
		DefaultLevel:        rng.IntN(6),
		NodeLevel:           2 + rng.IntN(4),
		DenyUnknownMarkings: rng.IntN(2) == 0,
	}
	if rng.IntN(2) == 0 {
		c.cfg.Redaction.Properties = []string{"description"}
	}
	for _, p := range []string{"JP", "US", "IN"} {
		if rng.IntN(5) == 0 {
			continue
		}
		a := Agreement{Partner: p, Version: 1 + rng.IntN(3), MaxTLP: pick(rng, oReportTLPs), MaxLevel: rng.IntN(6),
			ShareAttribution: rng.IntN(2) == 0}
		if rng.IntN(3) == 0 {
			a.ObjectTypes = []string{"*"}
		} else {
			a.ObjectTypes = subset(rng, oTypes, 3)
			if len(a.ObjectTypes) == 0 {
				a.ObjectTypes = []string{"indicator"}
			}
		}
		if rng.IntN(3) == 0 {
			a.Sectors = []string{"*"}
		} else {
			a.Sectors = []string{pick(rng, oSectorPool[:4])}
			a.Sectors = append(a.Sectors, subset(rng, oSectorPool[:4], 2)...)
		}
		if rng.IntN(2) == 0 {
			a.Embargo = Duration(time.Duration(rng.IntN(150)) * time.Hour)
		}
		c.cfg.Agreements = append(c.cfg.Agreements, a)
	}

	c.r = oRandomRecipient(rng)
	return c
}

// oRandomRecipient draws mostly well-formed recipients of every class, and some
// ill-formed ones.
func oRandomRecipient(rng *rand.Rand) Recipient {
	r := Recipient{Clearance: Level(rng.IntN(6)), User: pick(rng, oUsers)}
	for _, s := range subset(rng, oSectorPool, 2) {
		r.Sectors |= SectorOf(s)
	}
	switch rng.IntN(10) {
	case 0: // anything at all
		r.Kind, r.Nation, r.Org, r.OrgKind = RecipientKind(rng.IntN(4)), pick(rng, oNations), pick(rng, oOrgs), OrgKind(rng.IntN(3))
	case 1, 2: // a partner node
		r = Recipient{Kind: KindPartner, Nation: pick(rng, []string{"JP", "US", "IN", "GB", "AU"})}
	case 3: // a foreign agency's user or organisation
		r.Kind, r.Nation, r.Org, r.OrgKind = pick(rng, []RecipientKind{KindUser, KindOrganisation}), pick(rng, []string{"JP", "US", "IN"}), pick(rng, []string{oJP, oUS}), OrgAgency
	case 4, 5: // our agency
		r.Kind, r.Nation, r.Org, r.OrgKind = pick(rng, []RecipientKind{KindUser, KindUser, KindOrganisation}), "AU", oAgency, OrgAgency
	case 6: // another agency of our government
		r.Kind, r.Nation, r.Org, r.OrgKind = pick(rng, []RecipientKind{KindUser, KindOrganisation}), "AU", oGov, OrgAgency
	default: // an operator
		r.Kind, r.Nation, r.Org, r.OrgKind = pick(rng, []RecipientKind{KindUser, KindOrganisation}), "AU", pick(rng, []string{oOpA, oOpB}), OrgOperator
	}
	return r
}

// json writes the case's object.
func (c *oCase) json(t testing.TB) []byte {
	obj := map[string]any{
		"type": c.typ, "spec_version": "2.1", "id": c.id,
		"created": "2020-01-01T00:00:00.000Z",
		"name":    "n", "description": "d", "labels": []string{"a", "b"},
		"external_references": []any{map[string]any{"source_name": "x", "url": "https://example.org/"}},
	}
	if c.hasModified {
		obj["modified"] = c.modified.UTC().Format("2006-01-02T15:04:05.000Z")
	} else {
		delete(obj, "created")
	}
	var refs []string
	for _, m := range c.markings {
		refs = append(refs, m.id)
	}
	if refs != nil {
		obj["object_marking_refs"] = refs
	}
	var gms []any
	for _, g := range c.granular {
		if g.lang {
			gms = append(gms, map[string]any{"lang": "en", "selectors": g.selectors})
		} else {
			gms = append(gms, map[string]any{"marking_ref": g.marking.id, "selectors": g.selectors})
		}
	}
	if gms != nil {
		obj["granular_markings"] = gms
	}
	if c.sectors != nil {
		obj["sectors"] = c.sectors
	}
	if c.createdBy != "" {
		obj["created_by_ref"] = c.createdBy
	}
	ext := map[string]any{"extension_type": "property-extension"}
	if c.extSectors != nil {
		ext["sectors"] = c.extSectors
	}
	if c.named != nil {
		ext["recipients"] = c.named
	}
	if c.reporter != "" {
		rep := map[string]any{"ref": c.reporter, "sector": "energy", "size_band": "large"}
		if c.consent != "" {
			rep["consent"] = c.consent
		}
		ext["reporter"] = rep
	}
	if len(ext) > 1 {
		obj["extensions"] = map[string]any{SharingExtension: ext}
	}
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// oracle decides a case straight from the rules table.
func oracle(c *oCase) Decision {
	cfg := &c.cfg
	r := &c.r

	// Who is the recipient?
	validNat := len(r.Nation) == 2 && strings.ToUpper(r.Nation) == r.Nation && r.Nation[0] >= 'A' && r.Nation[1] >= 'A' && r.Nation[0] <= 'Z' && r.Nation[1] <= 'Z'
	cls := "invalid"
	if validNat {
		if r.Kind == KindPartner && r.Nation != cfg.Nation {
			cls = "partner"
		}
		if r.Kind == KindUser || r.Kind == KindOrganisation {
			if r.Kind == KindUser && r.User == "" {
				cls = "invalid"
			} else if r.Nation != cfg.Nation && r.OrgKind == OrgAgency {
				cls = "foreign"
			} else if r.Nation == cfg.Nation && r.OrgKind == OrgAgency && r.Org == cfg.Agency {
				cls = "own"
			} else if r.Nation == cfg.Nation && r.OrgKind == OrgAgency {
				cls = "government"
			} else if r.Nation == cfg.Nation && r.OrgKind == OrgOperator {
				cls = "operator"
			}
		}
	}
	deny := func(rule string) Decision { return Decision{Verdict: Deny, Rule: rule} }
	if cls == "invalid" {
		return deny(RuleRecipient)
	}
	crossBorder := cls == "partner" || cls == "foreign"
	var ag *Agreement
	for i := range cfg.Agreements {
		if cfg.Agreements[i].Partner == r.Nation {
			ag = &cfg.Agreements[i]
		}
	}
	if crossBorder && ag == nil {
		return deny(RuleNoAgreement)
	}

	// The object's sectors.
	var sectors []string
	sectors = append(sectors, c.sectors...)
	sectors = append(sectors, c.extSectors...)

	if crossBorder {
		if !slices.Contains(ag.ObjectTypes, "*") && !slices.Contains(ag.ObjectTypes, c.typ) {
			return deny(RuleType)
		}
		if !slices.Contains(ag.Sectors, "*") {
			for _, s := range sectors {
				if !slices.Contains(ag.Sectors, s) {
					return deny(RuleSector)
				}
			}
		}
		if ag.Embargo > 0 {
			if !c.hasModified || c.now.Before(c.modified.Add(time.Duration(ag.Embargo))) {
				return deny(RuleEmbargo)
			}
		}
	}

	// Effective object markings: the most restrictive; a granular marking on a
	// property that cannot be removed counts as an object marking.
	objMarks := append([]oMarking(nil), c.markings...)
	var content []oGranular
	for _, g := range c.granular {
		if g.lang {
			continue
		}
		fixed := false
		for _, s := range g.selectors {
			top := strings.Split(s, ".")[0]
			if top == "id" || top == "type" || top == "spec_version" || top == "created" || top == "modified" ||
				top == "object_marking_refs" || top == "granular_markings" {
				fixed = true
			}
		}
		if fixed {
			objMarks = append(objMarks, g.marking)
		} else {
			content = append(content, g)
		}
	}
	consent := c.consent
	if consent != "government" && consent != "partners" {
		consent = "never"
	}
	isAuthor := r.Org != "" && (r.Org == c.createdBy || r.Org == c.reporter)

	// The marking rules, for a set of markings (object, or object + granular).
	// The object's own markings give its TLP and level, or the defaults; a
	// granular marking (extra) can only make its content more restricted.
	markingRule := func(marks []oMarking, extra *oMarking) string {
		tlp, level, unknown := "", -1, false
		for _, m := range marks {
			switch {
			case m.tlp != "":
				if tlp == "" || oracleTLPRank[m.tlp] > oracleTLPRank[tlp] {
					tlp = m.tlp
				}
			case m.level >= 0:
				if m.level > level {
					level = m.level
				}
			default:
				unknown = true
			}
		}
		if tlp == "" {
			tlp = strings.ToUpper(cfg.DefaultTLP)
		}
		if level < 0 {
			level = cfg.DefaultLevel
		}
		if extra != nil {
			if extra.tlp != "" && oracleTLPRank[extra.tlp] > oracleTLPRank[tlp] {
				tlp = extra.tlp
			}
			if extra.level > level {
				level = extra.level
			}
			unknown = extra.tlp == "" && extra.level < 0
		}
		if level > cfg.NodeLevel {
			return RuleNodeLevel
		}
		if crossBorder && oracleTLPRank[tlp] > oracleTLPRank[strings.ToUpper(ag.MaxTLP)] {
			return RuleAgreementTLP
		}
		if crossBorder && level > ag.MaxLevel {
			return RuleAgreementLevel
		}
		if unknown && cfg.DenyUnknownMarkings {
			return RuleUnknownMarking
		}
		switch tlp {
		case "RED":
			ok := false
			for _, n := range c.named {
				nat, user, _ := strings.Cut(n, ":")
				if cls == "partner" && nat == r.Nation {
					ok = true
				}
				if cls != "partner" && r.Kind == KindUser && nat == r.Nation && user == r.User {
					ok = true
				}
			}
			if !ok {
				return RuleRedNamed
			}
		case "AMBER", "AMBER+STRICT":
			switch {
			case cls == "own" || isAuthor:
			case crossBorder:
				if c.createdBy != cfg.Agency {
					return RuleOriginator
				}
			case cls == "government":
				if tlp == "AMBER+STRICT" {
					return RuleStrict
				}
			case cls == "operator":
				if tlp == "AMBER+STRICT" {
					return RuleStrict
				}
				shared := false
				for _, s := range sectors {
					if s != "widgets" && r.Sectors&SectorOf(s) != 0 {
						shared = true
					}
				}
				if !shared {
					return RuleNeedToKnow
				}
			}
		}
		if cls != "partner" && int(r.Clearance) < level {
			return RuleClearance
		}
		return ""
	}
	if rule := markingRule(objMarks, nil); rule != "" {
		return deny(rule)
	}

	// Attribution.
	named := false
	switch {
	case c.reporter == "":
		named = true
	case r.Org != "" && r.Org == c.reporter:
		named = true
	case cls == "own":
		named = true
	case cls == "government":
		named = consent == "government" || consent == "partners"
	case cls == "operator":
		named = consent == "partners"
	case crossBorder:
		named = consent == "partners" && ag.ShareAttribution
	}
	if !named && c.typ == "identity" && c.id == c.reporter {
		return deny(RuleAnonIdentity)
	}

	d := Decision{Verdict: Allow, Rule: RuleAllow}
	for i, g := range content {
		if markingRule(objMarks, &g.marking) != "" {
			d.Redact |= 1 << i
		}
	}
	d.Anonymise = !named
	d.Scrub = len(cfg.Redaction.Properties) > 0 && cls != "own" && !isAuthor
	if d.Redact != 0 {
		d.Verdict, d.Rule = Redact, RuleGranular
	} else if d.Anonymise {
		d.Verdict, d.Rule = Redact, RuleAnonymise
	} else if d.Scrub {
		d.Verdict, d.Rule = Redact, RuleScrub
	}
	return d
}

var oracleSeed = flag.Uint64("oracle.seed", 0, "seed of TestOracle's cases (0: from the clock)")

// TestOracle compares Engine.Decide with the oracle on random cases: every
// difference is a disclosure the rules forbid or a refusal they do not ask for.
func TestOracle(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	seed := *oracleSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d, %d cases", seed, n)
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	scales := DefaultScales()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	rules := map[string]int{}
	var (
		cfg Config
		e   *Engine
		err error
	)
	leaks, refusals, other := 0, 0, 0
	for i := range n {
		c := oRandomCase(rng, now)
		if i%16 == 0 { // a new configuration now and then: New is not what is under test here
			cfg = c.cfg
			if e, err = New(cfg, scales); err != nil {
				t.Fatalf("case %d: config: %v", i, err)
			}
		}
		c.cfg = cfg
		f, err := scales.Extract(c.json(t))
		if err != nil {
			t.Fatalf("case %d: extract: %v\n%s", i, err, c.json(t))
		}
		got := e.Decide(&f, &c.r, c.now)
		want := oracle(&c)
		rules[got.Rule]++
		if got.Verdict == Redact && i%4 == 0 {
			checkApplied(t, e, &c, &f, got)
		}
		if got == want {
			continue
		}
		sent := got.Verdict != Deny
		switch {
		case sent && (want.Verdict == Deny || want.Redact&^got.Redact != 0 ||
			want.Anonymise && !got.Anonymise || want.Scrub && !got.Scrub):
			leaks++ // sent, or sent with less removed, than the rules allow
		case !sent && want.Verdict != Deny || got.Redact&^want.Redact != 0 ||
			got.Anonymise && !want.Anonymise || got.Scrub && !want.Scrub:
			refusals++ // withheld more than the rules ask
		default:
			other++ // the same outcome, another rule named
		}
		if leaks+refusals+other <= 5 {
			t.Errorf("case %d: Decide = %+v, oracle = %+v\nrecipient %+v\nobject %s\nconfig %+v", i, got, want, c.r, c.json(t), c.cfg)
		}
	}
	if leaks+refusals+other > 0 {
		t.Errorf("%d of %d cases differ: %d disclosures the rules forbid, %d refusals they do not ask for, %d other", leaks+refusals+other, n, leaks, refusals, other)
	}
	// The generator must reach every rule, or the comparison proves little.
	for _, rule := range []string{RuleRecipient, RuleNoAgreement, RuleType, RuleSector, RuleEmbargo, RuleNodeLevel,
		RuleAgreementTLP, RuleAgreementLevel, RuleUnknownMarking, RuleNeedToKnow, RuleOriginator, RuleStrict,
		RuleRedNamed, RuleClearance, RuleAnonIdentity, RuleAllow, RuleGranular, RuleAnonymise, RuleScrub} {
		if rules[rule] == 0 {
			t.Errorf("no case was decided by rule %s", rule)
		}
	}
	t.Logf("decisions by rule: %v", rules)
}

// checkApplied applies a Redact decision and decides again on what would be
// sent: nothing may be left to remove.
func checkApplied(t *testing.T, e *Engine, c *oCase, f *Facts, d Decision) {
	t.Helper()
	raw := c.json(t)
	out, recs, err := e.Apply(raw, f, d)
	if err != nil {
		t.Fatalf("Apply: %v\n%s", err, raw)
	}
	f2, err := e.Extract(out)
	if err != nil {
		t.Fatalf("Extract after Apply: %v\n%s", err, out)
	}
	d2 := e.Decide(&f2, &c.r, c.now)
	if d2.Verdict == Deny || d2.Redact != 0 || d2.Anonymise {
		t.Errorf("after Apply the object still needs %+v (first %+v)\nbefore %s\nafter  %s", d2, d, raw, out)
	}
	if d.Anonymise && strings.Contains(string(out), c.reporter) {
		t.Errorf("the reporter %s is still in the object sent:\n%s", c.reporter, out)
	}
	if d.Redact != 0 && len(recs) == 0 {
		t.Errorf("granular redaction without a record")
	}
}
