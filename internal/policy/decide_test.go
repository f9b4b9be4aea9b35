package policy

import (
	"strings"
	"testing"
	"time"
)

// Marking ids for readable tests.
const (
	tlp2Clear  = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
	tlp2Green  = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
	tlp2Amber  = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
	tlp2Strict = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
	tlp2Red    = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
	tlp1White  = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
	tlp1Amber  = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
	tlp1Red    = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"

	tAgency = "identity--a7c1d0e2-3b4f-4c5d-9e6f-708192a3b4c5" // testdata/policy.json
	tOther  = "identity--11111111-1111-4111-8111-111111111111" // another AU agency
	tOpA    = "identity--22222222-2222-4222-8222-222222222222"
	tOpB    = "identity--33333333-3333-4333-8333-333333333333"
	tJPAgcy = "identity--44444444-4444-4444-8444-444444444444"
)

var (
	ownUser  = Recipient{Kind: KindUser, Nation: "AU", Org: tAgency, OrgKind: OrgAgency, User: "alice", Clearance: 4}
	govUser  = Recipient{Kind: KindUser, Nation: "AU", Org: tOther, OrgKind: OrgAgency, User: "gus", Clearance: 4}
	opAUser  = Recipient{Kind: KindUser, Nation: "AU", Org: tOpA, OrgKind: OrgOperator, User: "olga", Clearance: 2, Sectors: SectorOf("energy")}
	opBUser  = Recipient{Kind: KindUser, Nation: "AU", Org: tOpB, OrgKind: OrgOperator, User: "bert", Clearance: 2, Sectors: SectorOf("water")}
	opAOrg   = Recipient{Kind: KindOrganisation, Nation: "AU", Org: tOpA, OrgKind: OrgOperator, Clearance: 2, Sectors: SectorOf("energy")}
	jpNode   = Recipient{Kind: KindPartner, Nation: "JP"}
	usNode   = Recipient{Kind: KindPartner, Nation: "US"}
	inNode   = Recipient{Kind: KindPartner, Nation: "IN"}
	gbNode   = Recipient{Kind: KindPartner, Nation: "GB"}
	jpUser   = Recipient{Kind: KindUser, Nation: "JP", Org: tJPAgcy, OrgKind: OrgAgency, User: "kenji", Clearance: 3}
	testNow  = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	dayAgo   = "2026-11-21T11:00:00.000Z"
	weekAgo  = "2026-11-15T12:00:00.000Z"
	classAU3 = ClassificationMarkingID("AU", 3)
	classUS4 = ClassificationMarkingID("US", 4)
	classJP2 = ClassificationMarkingID("JP", 2)
)

// obj writes an indicator with the given extra top-level JSON members.
func obj(extra string) []byte {
	s := `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",` +
		`"created":"` + weekAgo + `","modified":"` + weekAgo + `","name":"n","description":"d","labels":["a","b"],` +
		`"pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"` + weekAgo + `"`
	if extra != "" {
		s += "," + extra
	}
	return []byte(s + "}")
}

func marks(ids ...string) string { return `"object_marking_refs":["` + strings.Join(ids, `","`) + `"]` }

func sharing(body string) string {
	return `"extensions":{"` + SharingExtension + `":{"extension_type":"property-extension",` + body + `}}`
}

func TestDecide(t *testing.T) {
	e := loadTestEngine(t)
	tests := []struct {
		name      string
		raw       []byte
		r         Recipient
		verdict   Verdict
		rule      string
		anonymise bool
	}{
		// TLP meanings (MISSION.md; package documentation).
		{"clear to an operator", obj(marks(tlp2Clear)), opBUser, Redact, RuleScrub, false},
		{"white is clear", obj(marks(tlp1White)), opBUser, Redact, RuleScrub, false},
		{"green to a partner node", obj(marks(tlp2Green)), inNode, Redact, RuleScrub, false},
		{"amber to our agency", obj(marks(tlp2Amber)), ownUser, Allow, RuleAllow, false},
		{"amber to another agency", obj(marks(tlp2Amber)), govUser, Redact, RuleScrub, false},
		{"amber to operator sharing the sector", obj(marks(tlp2Amber) + "," + sharing(`"sectors":["energy"]`)), opAUser, Redact, RuleScrub, false},
		{"amber to operator of another sector", obj(marks(tlp2Amber) + "," + sharing(`"sectors":["energy"]`)), opBUser, Deny, RuleNeedToKnow, false},
		{"amber unsectored to an operator", obj(marks(tlp2Amber)), opAUser, Deny, RuleNeedToKnow, false},
		{"amber to its author operator", obj(marks(tlp2Amber) + `,"created_by_ref":"` + tOpB + `"`), opBUser, Allow, RuleAllow, false},
		{"amber by our agency to a partner", obj(marks(tlp2Amber) + `,"created_by_ref":"` + tAgency + `"`), usNode, Redact, RuleScrub, false},
		{"amber from an operator to a partner", obj(marks(tlp2Amber) + `,"created_by_ref":"` + tOpA + `"`), usNode, Deny, RuleOriginator, false},
		{"amber from a partner to another partner", obj(marks(tlp2Amber) + `,"created_by_ref":"` + tJPAgcy + `"`), usNode, Deny, RuleOriginator, false},
		{"amber+strict to our agency", obj(marks(tlp2Strict)), ownUser, Allow, RuleAllow, false},
		{"amber+strict to another agency", obj(marks(tlp2Strict)), govUser, Deny, RuleStrict, false},
		{"amber+strict to operator of the sector", obj(marks(tlp2Strict) + "," + sharing(`"sectors":["energy"]`)), opAUser, Deny, RuleStrict, false},
		{"tlp1 amber is not strict", obj(marks(tlp1Amber)), govUser, Redact, RuleScrub, false},
		{"red to a named user", obj(marks(tlp2Red) + "," + sharing(`"recipients":["AU:alice"]`)), ownUser, Allow, RuleAllow, false},
		{"red to our agency unnamed", obj(marks(tlp2Red) + "," + sharing(`"recipients":["AU:bob"]`)), ownUser, Deny, RuleRedNamed, false},
		{"red same user id other nation", obj(marks(tlp2Red) + "," + sharing(`"recipients":["JP:alice"]`)), ownUser, Deny, RuleRedNamed, false},
		{"red to an organisation", obj(marks(tlp1Red) + "," + sharing(`"recipients":["AU:olga"]`)), opAOrg, Deny, RuleRedNamed, false},
		{"red to a partner naming its user", obj(marks(tlp2Red) + `,"created_by_ref":"` + tAgency + `",` + sharing(`"recipients":["US:sam"]`)), usNode, Deny, RuleAgreementTLP, false},
		{"red to a foreign user named", obj(marks(tlp2Red) + "," + sharing(`"recipients":["JP:kenji"]`)), jpUser, Deny, RuleAgreementTLP, false},
		// Most restrictive wins; defaults.
		{"most restrictive of several", obj(marks(tlp2Green, tlp1Amber, tlp2Clear)), inNode, Deny, RuleAgreementTLP, false},
		{"strict beats tlp1 amber", obj(marks(tlp1Amber, tlp2Strict) + `,"created_by_ref":"` + tAgency + `"`), jpNode, Deny, RuleAgreementTLP, false},
		{"no tlp takes the default amber", obj(""), inNode, Deny, RuleAgreementTLP, false},
		{"no tlp default to our agency", obj(""), ownUser, Allow, RuleAllow, false},
		// Classification.
		{"clearance below the level", obj(marks(tlp2Green, classAU3)), opAUser, Deny, RuleClearance, false},
		{"clearance at the level", obj(marks(tlp2Green, classJP2)), opAUser, Redact, RuleScrub, false},
		{"highest classification wins", obj(marks(tlp2Green, classJP2, classAU3)), opAUser, Deny, RuleClearance, false},
		{"channel accreditation", obj(marks(tlp2Green, classUS4) + "," + sharing(`"sectors":["energy"]`)), jpNode, Deny, RuleAgreementLevel, false},
		{"channel accreditation allows", obj(marks(tlp2Green, classAU3) + "," + sharing(`"sectors":["energy"]`)), jpNode, Redact, RuleScrub, false},
		{"above the node", obj(marks(tlp2Green, ClassificationMarkingID("US", 5))), ownUser, Deny, RuleNodeLevel, false},
		{"unclassified takes the default", obj(marks(tlp2Green)), Recipient{Kind: KindUser, Nation: "AU", Org: tAgency, OrgKind: OrgAgency, User: "zed", Clearance: 0}, Deny, RuleClearance, false},
		// Agreements.
		{"no agreement", obj(marks(tlp2Green)), gbNode, Deny, RuleNoAgreement, false},
		{"type not agreed", []byte(strings.ReplaceAll(string(obj(marks(tlp2Green))), `indicator`, `malware`)), inNode, Deny, RuleType, false},
		{"sector not agreed", obj(marks(tlp2Green) + "," + sharing(`"sectors":["water"]`)), inNode, Deny, RuleSector, false},
		{"unknown sector needs *", obj(marks(tlp2Green) + "," + sharing(`"sectors":["widgets"]`)), jpNode, Deny, RuleSector, false},
		{"unknown sector with *", obj(marks(tlp2Green) + "," + sharing(`"sectors":["widgets"]`)), usNode, Redact, RuleScrub, false},
		{"embargo running", []byte(strings.Replace(string(obj(marks(tlp2Green))), `"modified":"`+weekAgo, `"modified":"`+dayAgo, 1)), inNode, Deny, RuleEmbargo, false},
		{"embargo over", []byte(strings.Replace(string(obj(marks(tlp2Green))), `"modified":"`+weekAgo, `"modified":"`+dayAgo, 1)), usNode, Redact, RuleScrub, false},
		// Anonymity.
		{"reporter without consent to a partner", obj(marks(tlp2Green) + "," + sharing(`"reporter":{"ref":"`+tOpA+`","sector":"energy","size_band":"large"}`)), usNode, Redact, RuleAnonymise, true},
		{"reporter consent partners to a partner sharing attribution", obj(marks(tlp2Green) + "," + sharing(`"reporter":{"ref":"`+tOpA+`","consent":"partners"}`)), usNode, Redact, RuleScrub, false},
		{"reporter consent partners, agreement without attribution", obj(marks(tlp2Green) + "," + sharing(`"reporter":{"ref":"`+tOpA+`","consent":"partners"}`)), inNode, Redact, RuleAnonymise, true},
		{"reporter consent government to government", obj(marks(tlp2Green) + "," + sharing(`"reporter":{"ref":"`+tOpA+`","consent":"government"}`)), govUser, Redact, RuleScrub, false},
		{"reporter consent government to an operator", obj(marks(tlp2Green) + "," + sharing(`"reporter":{"ref":"`+tOpA+`","consent":"government"}`)), opBUser, Redact, RuleAnonymise, true},
		{"reporter sees own report", obj(marks(tlp2Green) + "," + sharing(`"reporter":{"ref":"`+tOpA+`"}`)), opAUser, Allow, RuleAllow, false},
		{"our agency sees the reporter", obj(marks(tlp2Green) + "," + sharing(`"reporter":{"ref":"`+tOpA+`"}`)), ownUser, Allow, RuleAllow, false},
		// Recipients that cannot be served.
		{"zero recipient", obj(marks(tlp2Clear)), Recipient{}, Deny, RuleRecipient, false},
		{"partner node of our nation", obj(marks(tlp2Clear)), Recipient{Kind: KindPartner, Nation: "AU"}, Deny, RuleRecipient, false},
		{"foreign operator", obj(marks(tlp2Clear)), Recipient{Kind: KindUser, Nation: "JP", Org: tOpA, OrgKind: OrgOperator, User: "x"}, Deny, RuleRecipient, false},
		{"lower-case nation", obj(marks(tlp2Clear)), Recipient{Kind: KindPartner, Nation: "us"}, Deny, RuleRecipient, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := e.Extract(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			d := e.Decide(&f, &tc.r, testNow)
			if d.Verdict != tc.verdict || d.Rule != tc.rule || d.Anonymise != tc.anonymise {
				t.Errorf("Decide = %v by %s (anonymise %v), want %v by %s (anonymise %v)\n%s",
					d.Verdict, d.Rule, d.Anonymise, tc.verdict, tc.rule, tc.anonymise, e.reason(&f, &tc.r, d, testNow))
			}
		})
	}
}
