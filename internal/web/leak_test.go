package web_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"quadshare/internal/store"
	"quadshare/internal/web"
)

// A filter sees each version as the gate would release it to the user: versions
// the user may not receive neither fill a page, nor make a link to the next one,
// nor set its cursor, whether the page is filtered or not.
func TestFilterWithheldVersions(t *testing.T) {
	e := newEnv(t)
	const red = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1" // TLP 2.0 RED
	var hidden []string
	for i := range web.PageSize + 10 { // more than a page: SECRET, which ana may not receive
		hidden = append(hidden, indicator(100+i, "secret green", tlpGreen, secret))
	}
	e.put(hidden...)
	ana := e.as("ana")
	list := "/ui/objects?collection=" + collIntel
	nextLink := regexp.MustCompile(`href="/ui/objects\?[^"]*" rel="next"`)
	for _, q := range []string{"", "&tlp=green"} {
		p := must(t, ana.get(list+q), http.StatusOK)
		if strings.Contains(p.body, "secret green") || nextLink.MatchString(p.body) {
			t.Errorf("%q: only withheld versions, yet a row or a next page: %s", q, p.body)
		}
	}
	// A visible version after them is found, and still no next page.
	e.put(indicator(1, "green one", tlpGreen))
	for _, q := range []string{"", "&tlp=green"} {
		p := must(t, ana.get(list+q), http.StatusOK)
		if !strings.Contains(p.body, indicatorID(1)) || nextLink.MatchString(p.body) {
			t.Errorf("%q: the visible version after the withheld ones: %s", q, p.body)
		}
	}
	// The cleared analyst, who receives them, pages through them.
	if p := must(t, e.as("cleared").get(list+"&tlp=green"), http.StatusOK); !nextLink.MatchString(p.body) {
		t.Errorf("the cleared analyst has no next page: %s", p.body)
	}
	// An operator granted the collection sees no RED, and learns nothing of it.
	var reds []string
	for i := range web.PageSize + 10 {
		reds = append(reds, indicator(300+i, "red one", red))
	}
	e.put(reds...)
	if err := e.st.PutGrant(context.Background(), store.Grant{Collection: collIntel, Subject: e.users["op"].ID, Read: true}); err != nil {
		t.Fatal(err)
	}
	op := e.as("op")
	if p := must(t, op.get(list+"&tlp=red"), http.StatusOK); strings.Contains(p.body, "red one") || nextLink.MatchString(p.body) {
		t.Errorf("the operator's RED page: %s", p.body)
	}
	// Paging what it may see never names the date_added of a withheld version.
	var dates []string
	for _, id := range []int{100, 100 + web.PageSize - 1, 300, 300 + web.PageSize - 1} {
		vs, err := e.st.Query(context.Background(), store.Query{Collection: collIntel, IDs: []string{indicatorID(id)}, Limit: 1})
		if err != nil || len(vs.Entries) != 1 {
			t.Fatalf("%d: %v", id, err)
		}
		dates = append(dates, vs.Entries[0].DateAdded.UTC().Format(time.RFC3339Nano))
	}
	for _, u := range []*browser{ana, op} {
		for _, q := range []string{"", "&tlp=red", "&tlp=green"} {
			p := must(t, u.get(list+q), http.StatusOK)
			for _, d := range dates {
				if strings.Contains(p.body, d) || strings.Contains(p.body, strings.ReplaceAll(d, ":", "%3A")) {
					t.Errorf("%q names the date of a withheld version %s", q, d)
				}
			}
		}
	}
}

// Matches the user may not receive do not crowd out those they may: the visible
// beacons, older than a page of withheld ones (a search lists the newest first),
// are found.
func TestSearchPastWithheldMatches(t *testing.T) {
	e := newEnv(t)
	e.put(indicator(1, "beacon visible one", tlpGreen), indicator(2, "beacon visible two", tlpGreen))
	var hidden []string
	for i := range 2 * web.PageSize {
		hidden = append(hidden, indicator(100+i, "beacon secret", tlpGreen, secret))
	}
	e.put(hidden...)
	p := must(t, e.as("ana").get("/ui/objects?q=beacon"), http.StatusOK)
	if !strings.Contains(p.body, "beacon visible one") || !strings.Contains(p.body, "beacon visible two") || strings.Contains(p.body, "beacon secret") {
		t.Errorf("ana's search for beacon: %s", p.body)
	}
}

// A field removed by a granular marking is not matched: the sector filter reads
// the identity as released to the user.
func TestFilterRedactedSector(t *testing.T) {
	e := newEnv(t)
	ident := func(n int, granular string) string {
		return fmt.Sprintf(`{"type":"identity","spec_version":"2.1","id":"identity--00000000-0000-4000-8000-%012d","created":"2026-01-01T00:00:00.000Z",`+
			`"modified":"2026-01-01T00:00:00.000Z","name":"Energy Co %d","identity_class":"organization","sectors":["energy"],"object_marking_refs":["%s"]%s}`,
			n, n, tlpGreen, granular)
	}
	e.put(ident(1, ""), ident(2, `,"granular_markings":[{"marking_ref":"`+secret+`","selectors":["sectors"]}]`))
	list := "/ui/objects?collection=" + collIntel + "&sector=energy"
	p := must(t, e.as("ana").get(list), http.StatusOK)
	if !strings.Contains(p.body, "Energy Co 1") || strings.Contains(p.body, "Energy Co 2") {
		t.Errorf("ana, who may not see the SECRET sectors: %s", p.body)
	}
	if p := must(t, e.as("ana").get("/ui/objects?sector=energy&q=energy"), http.StatusOK); !strings.Contains(p.body, "Energy Co 1") || strings.Contains(p.body, "Energy Co 2") {
		t.Errorf("ana's search: %s", p.body)
	}
	p = must(t, e.as("cleared").get(list), http.StatusOK)
	if !strings.Contains(p.body, "Energy Co 1") || !strings.Contains(p.body, "Energy Co 2") {
		t.Errorf("the cleared analyst: %s", p.body)
	}
}

// Our agency is the policy's agency, not any organisation of kind agency: the
// analysts of a partner's agency and of another agency of our government see no
// provenance, disclosures, partner table, audit trail or origin choices.
func TestOurAgencyOnly(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sg := jpPeer(t, e)
	for _, o := range []store.Organisation{
		{ID: "0d3c7a52-4d0e-4c55-8f57-2b1b3a1c0010", Name: "JP agency", Nation: "JP", Kind: store.KindAgency},
		{ID: "0d3c7a52-4d0e-4c55-8f57-2b1b3a1c0011", Name: "Other AU agency", Nation: "AU", Kind: store.KindAgency},
	} {
		if err := e.st.PutOrganisation(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	e.user("kenji", "0d3c7a52-4d0e-4c55-8f57-2b1b3a1c0010", store.RoleAnalyst, "SECRET")
	e.user("gus", "0d3c7a52-4d0e-4c55-8f57-2b1b3a1c0011", store.RoleAnalyst, "SECRET")
	e.user("gusadmin", "0d3c7a52-4d0e-4c55-8f57-2b1b3a1c0011", store.RoleAdmin, "SECRET")
	e.putFrom("jp-node", peerOrgID, sign(t, sg, indicator(5, "from japan", tlpGreen)))
	obj := "/ui/collections/" + collIntel + "/objects/" + indicatorID(5)

	ana := e.as("ana")
	if p := must(t, ana.get(obj), http.StatusOK); !strings.Contains(p.body, "Provenance") || !strings.Contains(p.body, "Disclosures") {
		t.Errorf("our analyst sees no provenance: %s", p.body)
	}
	if p := must(t, ana.get("/ui/dashboard"), http.StatusOK); !strings.Contains(p.body, "Partner nodes") || !strings.Contains(p.body, `href="/ui/audit"`) {
		t.Errorf("our analyst's dashboard: %s", p.body)
	}
	must(t, ana.get("/ui/audit"), http.StatusOK)
	if p := must(t, ana.get("/ui/objects"), http.StatusOK); !strings.Contains(p.body, `<option value="JP">`) {
		t.Errorf("our analyst is offered no origins: %s", p.body)
	}

	for _, name := range []string{"gus", "gusadmin", "kenji"} {
		b := e.as(name)
		if p := b.get(obj); strings.Contains(p.body, "Provenance") || strings.Contains(p.body, "Disclosures") || strings.Contains(p.body, "peer:JP") {
			t.Errorf("%s sees provenance or disclosures: %s", name, p.body)
		}
		// The dashboard lists operators' reports, which only our agency triages.
		p := must(t, b.get("/ui/dashboard"), http.StatusForbidden)
		if strings.Contains(p.body, "Partner nodes") || strings.Contains(p.body, "jp-node") || strings.Contains(p.body, `href="/ui/audit"`) {
			t.Errorf("%s's dashboard shows the partners or the audit trail: %s", name, p.body)
		}
		if p := must(t, b.get("/ui/audit"), http.StatusForbidden); strings.Contains(p.body, "user:") {
			t.Errorf("%s's audit page: %s", name, p.body)
		}
		// Nor the node's configuration (users, organisations, partners, the policy).
		if p := b.get("/ui/admin"); p.status == http.StatusOK || strings.Contains(p.body, "jp-node") {
			t.Errorf("%s's configuration page: %d %s", name, p.status, p.body)
		}
		if p := must(t, b.get("/ui/objects"), http.StatusOK); strings.Contains(p.body, `<label for="nation">`) || strings.Contains(p.body, `<option value="JP">`) {
			t.Errorf("%s is offered the origins: %s", name, p.body)
		}
	}
	// The object page of the other agency's analyst is shown, only without them.
	if p := must(t, e.as("gus").get(obj), http.StatusOK); !strings.Contains(p.body, "from japan") {
		t.Errorf("gus's object page: %s", p.body)
	}
	// Operators and readers are not offered the partners' nations either.
	for _, name := range []string{"op", "rdr"} {
		if p := must(t, e.as(name).get("/ui/objects"), http.StatusOK); strings.Contains(p.body, `<option value="JP">`) {
			t.Errorf("%s is offered the origins: %s", name, p.body)
		}
	}
}
