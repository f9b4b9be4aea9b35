package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"quadshare/internal/audit"
)

// markedIndicator is an indicator of our agency under one TLP marking.
func markedIndicator(n int, createdBy, marking string) string {
	return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--%08x-1111-4000-8000-000000000000",`+
		`"created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"gridwiper beacon","pattern":"[ipv4-addr:value = '198.51.100.%d']",`+
		`"pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","created_by_ref":%q,"object_marking_refs":[%q]}`, n, n, createdBy, marking)
}

func TestPolicyCommands(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := run(t, dir, "", "policy", "check"); code != 1 || !strings.Contains(errOut, "policy init") {
		t.Fatalf("check without a policy: code %d: %s", code, errOut)
	}
	out, _ := mustRun(t, dir, "policy", "init", "--nation", "AU", "--agency", "ACSC")
	if !strings.Contains(out, "no partner agreements") {
		t.Fatalf("init: %s", out)
	}
	if code, _, errOut := run(t, dir, "", "policy", "init"); code != 1 || !strings.Contains(errOut, "exists") {
		t.Fatalf("a second init must refuse: code %d: %s", code, errOut)
	}
	out, _ = mustRun(t, dir, "user", "add", "alice", "--org", "ACSC", "--role", "analyst")
	if !strings.Contains(out, "cleared OFFICIAL (AU)") {
		t.Fatalf("default clearance: %s", out)
	}
	if code, _, errOut := run(t, dir, "", "user", "add", "eve", "--org", "ACSC", "--role", "analyst", "--clearance", "COSMIC"); code != 2 || !strings.Contains(errOut, "not a label of the AU scale") {
		t.Fatalf("unknown clearance: code %d: %s", code, errOut)
	}

	var pc map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "policy.json"))
	if err != nil || json.Unmarshal(b, &pc) != nil {
		t.Fatalf("policy file: %v", err)
	}
	agency := pc["agency"].(string)
	ours := markedIndicator(1, agency, "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421") // AMBER
	red := markedIndicator(2, agency, "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1")
	mustRun(t, dir, "import", writeFile(t, "b.json", `[`+ours+`,`+red+`]`))

	// A new revision with an agreement with Japan, audited.
	pc["revision"] = 2
	pc["agreements"] = []any{map[string]any{"partner": "JP", "version": 1, "object_types": []string{"*"}, "sectors": []string{"*"},
		"max_tlp": "amber", "max_level": 2, "embargo": "0s", "share_attribution": false}}
	next, _ := json.Marshal(pc)
	out, _ = mustRun(t, dir, "policy", "set", writeFile(t, "p.json", string(next)))
	if !strings.Contains(out, "revision 2 in force") {
		t.Fatalf("set: %s", out)
	}
	if code, _, errOut := run(t, dir, "", "policy", "set", writeFile(t, "p.json", string(next))); code != 1 || !strings.Contains(errOut, "does not follow") {
		t.Fatalf("the same revision again: code %d: %s", code, errOut)
	}

	out, _ = mustRun(t, dir, "policy", "check", "--object", "indicator--00000001-1111-4000-8000-000000000000")
	rows := map[string]string{}
	for _, r := range columns(out) {
		if len(r) >= 3 {
			rows[strings.Fields(r[0])[0]] = r[1] + " " + r[2]
		}
	}
	if rows["partner"] == "" || strings.HasPrefix(rows["partner"], "deny") || !strings.HasPrefix(rows["alice"], "allow") {
		t.Fatalf("check --object:\n%s", out)
	}
	out, _ = mustRun(t, dir, "policy", "check", "--object", "indicator--00000002-1111-4000-8000-000000000000")
	if !strings.Contains(out, "tlp.red.named") {
		t.Fatalf("a TLP:RED object naming nobody goes to nobody:\n%s", out)
	}

	for _, tc := range []struct {
		forWhom string
		want    []string
	}{
		{"partner:JP", []string{"00000001"}},
		{"user:alice", []string{"00000001"}},
		{"agency", []string{"00000001"}},
	} {
		out, _ := mustRun(t, dir, "export", "--for", tc.forWhom)
		got := strings.Count(out, `"type":"indicator"`)
		if got != len(tc.want) || !strings.Contains(out, tc.want[0]) || strings.Contains(out, "00000002-1111") {
			t.Errorf("export --for %s: %s", tc.forWhom, out)
		}
	}
	// Search goes through the same decision: the RED object is found for nobody.
	out, _ = mustRun(t, dir, "search", "--for", "user:alice", "gridwiper")
	if !strings.Contains(out, "00000001-1111") || strings.Contains(out, "00000002-1111") {
		t.Errorf("search as alice:\n%s", out)
	}
	if code, _, _ := run(t, dir, "", "export", "--for", "partner:japan"); code != 2 {
		t.Errorf("a bad --for is a usage error, got %d", code)
	}

	st := openTestStore(t, dir)
	recs, err := st.AuditRecords(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	changes, disclosedToJP := 0, false
	for _, r := range recs {
		switch {
		case r.Kind == audit.PolicyChange:
			changes++
		case r.Kind == audit.Disclosure && r.Actor == "peer:JP":
			disclosedToJP = true
		}
	}
	if changes != 2 || !disclosedToJP {
		t.Fatalf("trail: %d policy changes (want init and set), export to JP recorded %v", changes, disclosedToJP)
	}
}

// An operator's inbox holds reports as filed: an export or a search for a partner
// leaves it out (a report goes to partners once an analyst releases it into
// another collection) and refuses it by name; our agency still has it.
func TestExportForPartnerLeavesInboxesOut(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, dir, "policy", "init", "--nation", "AU", "--agency", "ACSC")
	var pc map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "policy.json"))
	if err != nil || json.Unmarshal(b, &pc) != nil {
		t.Fatalf("policy file: %v", err)
	}
	pc["revision"] = 2
	pc["agreements"] = []any{map[string]any{"partner": "JP", "version": 1, "object_types": []string{"*"}, "sectors": []string{"*"},
		"max_tlp": "green", "max_level": 3, "embargo": "0s", "share_attribution": false}}
	next, _ := json.Marshal(pc)
	mustRun(t, dir, "policy", "set", writeFile(t, "p.json", string(next)))
	mustRun(t, dir, "user", "add", "op", "--org", "Grid Co", "--org-kind", "operator", "--nation", "AU", "--role", "operator")
	mustRun(t, dir, "collection", "add", "Grid Co reports", "--alias", "grid-inbox", "--owner-org", "Grid Co")
	mustRun(t, dir, "collection", "add", "Shared", "--alias", "shared")
	const green = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
	mustRun(t, dir, "import", "--quiet", "--collection", "grid-inbox", writeFile(t, "filed.json", markedIndicator(1, "identity--0d3c7a52-4d0e-4c55-8f57-2b1b3a1c0001", green)))
	mustRun(t, dir, "import", "--quiet", "--collection", "shared", writeFile(t, "released.json", markedIndicator(2, "identity--0d3c7a52-4d0e-4c55-8f57-2b1b3a1c0001", green)))
	// A user reads as on the API: a reader only where granted.
	mustRun(t, dir, "user", "add", "rd", "--org", "ACSC", "--org-kind", "agency", "--nation", "AU", "--role", "reader")
	mustRun(t, dir, "collection", "grant", "shared", "user:rd=r")
	// The federation's collections (which serve creates) go to partners only
	// through federation: its deletion notices, and what partners sent us, which
	// goes on to a third nation only under the onward rule.
	mustRun(t, dir, "collection", "add", "Federation deletions", "--alias", "federation-deletions")
	mustRun(t, dir, "import", "--quiet", "--collection", "federation-deletions", writeFile(t, "notice.json", markedIndicator(3, "identity--0d3c7a52-4d0e-4c55-8f57-2b1b3a1c0001", green)))
	mustRun(t, dir, "collection", "add", "Federation inbound", "--alias", "federation-inbound")
	mustRun(t, dir, "import", "--quiet", "--collection", "federation-inbound", writeFile(t, "inbound.json", markedIndicator(4, "identity--0d3c7a52-4d0e-4c55-8f57-2b1b3a1c0001", green)))
	filed, released, notice, inbound := "00000001-1111", "00000002-1111", "00000003-1111", "00000004-1111"

	for _, tc := range []struct {
		args       []string
		has, hasnt string
	}{
		{[]string{"export", "--for", "partner:JP"}, released, filed},
		{[]string{"export", "--for", "partner:JP"}, released, notice},
		{[]string{"export", "--for", "partner:JP"}, released, inbound},
		{[]string{"export", "--for", "agency"}, inbound, ""},
		{[]string{"export", "--for", "agency"}, filed, ""},
		{[]string{"export", "--for", "user:rd"}, released, filed},
		{[]string{"search", "--for", "partner:JP", "gridwiper"}, released, filed},
		{[]string{"search", "--for", "partner:JP", "gridwiper"}, released, notice},
		{[]string{"search", "--for", "partner:JP", "gridwiper"}, released, inbound},
		{[]string{"search", "--for", "agency", "gridwiper"}, filed, ""},
		{[]string{"search", "--for", "user:rd", "gridwiper"}, released, filed},
	} {
		out, _ := mustRun(t, dir, tc.args...)
		if !strings.Contains(out, tc.has) || tc.hasnt != "" && strings.Contains(out, tc.hasnt) {
			t.Errorf("%s: want %s and not %q:\n%s", strings.Join(tc.args, " "), tc.has, tc.hasnt, out)
		}
	}
	for _, cmd := range [][]string{{"export"}, {"search", "gridwiper"}} {
		args := append([]string{cmd[0], "--for", "partner:JP", "--collection", "grid-inbox"}, cmd[1:]...)
		if code, out, errOut := run(t, dir, "", args...); code != 2 || !strings.Contains(errOut, "inbox") || strings.Contains(out, filed) {
			t.Errorf("%s names an inbox for a partner: code %d: %s%s", strings.Join(args, " "), code, out, errOut)
		}
	}
}
