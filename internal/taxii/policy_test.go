package taxii

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/auth"
	"quadshare/internal/gate"
	"quadshare/internal/policy"
	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// Fixed ids of the TLP 2.0 marking definitions (MISSION.md, STIX 2.1 §7.2.1.4 for 1.0).
const (
	tlpAmberStrict = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
	tlpRed         = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
)

// marked is an indicator with object markings, a created_by_ref, an optional
// description and our sharing extension's named recipients.
func marked(n int, createdBy, description string, named []string, markings ...string) []byte {
	ext := ""
	if len(named) > 0 {
		ext = fmt.Sprintf(`,"extensions":{%q:{"extension_type":"property-extension","recipients":["%s"]}}`,
			policy.SharingExtension, strings.Join(named, `","`))
	}
	desc := ""
	if description != "" {
		desc = fmt.Sprintf(`,"description":%q`, description)
	}
	return []byte(fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":"2026-01-01T00:00:00.000Z",`+
		`"modified":"2026-01-01T00:00:00.000Z","name":"indicator %d","pattern":"[ipv4-addr:value = '198.51.100.%d']",`+
		`"pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","created_by_ref":%q,"object_marking_refs":["%s"]%s%s}`,
		sdoID("indicator", n), n, n%250, createdBy, strings.Join(markings, `","`), desc, ext))
}

// markedVersion is the version modified of indicator n, created by the agency,
// with one marking.
func markedVersion(t testing.TB, n int, modified, marking string) stix.Object {
	t.Helper()
	raw := strings.Replace(string(marked(n, gate.Identity(orgID("agency")), "", nil, marking)),
		`"modified":"2026-01-01T00:00:00.000Z"`, `"modified":"`+modified+`"`, 1)
	o, err := stix.Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// ids returns the ids of the objects of an envelope.
func ids(t *testing.T, r resp) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, o := range objectsOf(t, r) {
		out[o["id"].(string)] = true
	}
	return out
}

// TestPolicyOnTAXII checks the decision on the objects endpoint for each class of
// reader, and that every page disclosed is in the audit trail.
func TestPolicyOnTAXII(t *testing.T) {
	e := newEnv(t, Config{})
	agency := gate.Identity(orgID("agency"))
	other := "identity--0b7c7b6e-5d1a-4f7e-9d55-2f0ad1d6b0aa"
	strictOurs := marked(1, agency, "", nil, tlpAmberStrict)
	strictOther := marked(2, other, "", nil, tlpAmberStrict)
	redForReader := marked(3, agency, "", []string{"AU:" + e.userID("reader")}, tlpRed)
	redForJP := marked(4, agency, "", []string{"JP:someone"}, tlpRed)
	e.post("admin", collA, strictOurs, strictOther, redForReader, redForJP)

	url := e.root + "collections/" + collA + "/objects/"
	for _, tc := range []struct {
		user string
		want []int // indicators the user receives
	}{
		{"analyst", []int{1, 2}},   // own agency: AMBER+STRICT yes, RED only when named
		{"reader", []int{1, 2, 3}}, // named on 3
		{"peer", []int{1}},         // JP: AMBER+STRICT only when our agency authored it; RED is above the agreement
	} {
		r := e.get(tc.user, url)
		mustStatus(t, r, http.StatusOK)
		got := ids(t, r)
		if len(got) != len(tc.want) {
			t.Errorf("%s received %v, want indicators %v", tc.user, got, tc.want)
		}
		for _, n := range tc.want {
			if !got[sdoID("indicator", n)] {
				t.Errorf("%s did not receive indicator %d: %v", tc.user, n, got)
			}
		}
	}

	// An agreement up to RED lets the object that names JP go to JP, and only it.
	pc := testPolicy()
	pc.Revision, pc.Agreements[0].Version, pc.Agreements[0].MaxTLP = 2, 2, "red"
	engine, err := policy.New(pc, policy.DefaultScales())
	if err != nil {
		t.Fatal(err)
	}
	e.srv.gate.SetPolicy(engine)
	if got := ids(t, e.get("peer", url)); len(got) != 2 || !got[sdoID("indicator", 4)] {
		t.Errorf("peer under an agreement up to RED received %v, want indicators 1 and 4", got)
	}

	// Every disclosure above is in the trail, naming the reader and the versions.
	disclosed := map[string]map[string]bool{}
	recs, err := e.st.AuditRecords(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Kind != audit.Disclosure {
			continue
		}
		if disclosed[r.Actor] == nil {
			disclosed[r.Actor] = map[string]bool{}
		}
		for _, o := range r.Objects {
			disclosed[r.Actor][o.ID] = true
		}
	}
	if got := disclosed["user:"+e.userID("reader")]; !got[sdoID("indicator", 3)] || got[sdoID("indicator", 4)] {
		t.Errorf("trail of reader's disclosures: %v", got)
	}
	if got := disclosed["peer:JP:"+e.userID("peer")]; !got[sdoID("indicator", 4)] || got[sdoID("indicator", 2)] {
		t.Errorf("trail of the peer's disclosures: %v", got)
	}
}

// scrubDescriptions sets a policy under which personal data in descriptions is
// scrubbed for readers outside our agency.
func (e *env) scrubDescriptions(t *testing.T) {
	t.Helper()
	pc := testPolicy()
	pc.Revision = 2
	pc.Redaction.Properties = []string{"description"}
	engine, err := policy.New(pc, policy.DefaultScales())
	if err != nil {
		t.Fatal(err)
	}
	e.srv.gate.SetPolicy(engine)
}

// TestPolicyRedactsOnTAXII checks that a reader outside our agency receives
// personal data scrubbed, and that the redaction is recorded.
func TestPolicyRedactsOnTAXII(t *testing.T) {
	e := newEnv(t, Config{})
	e.scrubDescriptions(t)
	obj := marked(5, gate.Identity(orgID("agency")), "seen from alice@grid.example and 10.1.2.3", nil,
		"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb") // TLP:GREEN
	e.post("admin", collA, obj)
	url := e.root + "collections/" + collA + "/objects/"

	own := e.get("analyst", url)
	if !strings.Contains(string(own.body), "alice@grid.example") {
		t.Fatalf("our own agency reads the object as it is: %s", own.body)
	}
	peer := e.get("peer", url)
	mustStatus(t, peer, http.StatusOK)
	if strings.Contains(string(peer.body), "alice@") || strings.Contains(string(peer.body), "10.1.2.3") {
		t.Fatalf("the partner received personal or internal data: %s", peer.body)
	}
	if len(ids(t, peer)) != 1 {
		t.Fatalf("the partner should receive the redacted object: %s", peer.body)
	}
	recs, err := e.st.AuditRecords(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range recs {
		if r.Rule == "redacted" && r.Actor == "peer:JP:"+e.userID("peer") && strings.Contains(string(r.Detail), "email") {
			found = true
		}
	}
	if !found {
		t.Fatal("no record of the redaction in the audit trail")
	}
}

// TestPolicyClearance checks classification against a user's clearance.
func TestPolicyClearance(t *testing.T) {
	e := newEnv(t, Config{})
	secret := policy.ClassificationMarkingID("AU", 4) // SECRET
	e.post("admin", collA, marked(6, gate.Identity(orgID("agency")), "", nil, secret))
	ctx := context.Background()
	u := store.User{ID: "user-cleared", Name: "cleared", Org: orgID("agency"), Role: store.RoleAnalyst, Clearance: "SECRET"}
	if err := e.st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	e.tokenFor(u)
	if err := e.st.PutGrant(ctx, store.Grant{Collection: collA, Subject: e.userID("analyst"), Read: true, Write: true}); err != nil {
		t.Fatal(err)
	}
	url := e.root + "collections/" + collA + "/objects/"
	if got := ids(t, e.get("analyst", url)); len(got) != 0 {
		t.Fatalf("an analyst without clearance received a SECRET object: %v", got)
	}
	if got := ids(t, e.get("cleared", url)); !got[sdoID("indicator", 6)] {
		t.Fatalf("an analyst cleared SECRET did not receive it: %v", got)
	}
	// A delete may not touch what its author cannot see: 404, and the object stays.
	r := e.req(http.MethodDelete, "analyst", url+sdoID("indicator", 6)+"/", nil)
	mustStatus(t, r, http.StatusNotFound)
	if got := ids(t, e.get("cleared", url)); !got[sdoID("indicator", 6)] {
		t.Fatal("the object was deleted by someone who could not see it")
	}
}

var uuidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// TestNoRouteLeaks enumerates every route of the server and calls it, as each
// kind of reader, with a TLP:RED object that names none of them in the
// collection and in the path: no response may carry its id. A route that
// returned objects without the gate would fail here. The control at the end
// shows the probe sees the object where the policy lets it out.
func TestNoRouteLeaks(t *testing.T) {
	e := newEnv(t, Config{})
	secret := marked(7, gate.Identity(orgID("agency")), "", []string{"AU:" + e.userID("admin")}, tlpRed)
	secretID := sdoID("indicator", 7)
	e.post("admin", collA, secret)
	for _, g := range []store.Grant{
		{Collection: collA, Subject: e.userID("analyst"), Read: true, Write: true},
		{Collection: collA, Subject: e.orgs["operator-org"].ID, Read: true},
	} {
		if err := e.st.PutGrant(context.Background(), g); err != nil {
			t.Fatal(err)
		}
	}
	harmless := sdo("tool", 99, "2026-01-01T00:00:00.000Z")

	for _, user := range []string{"analyst", "reader", "peer", "operator"} {
		st := map[string]any{"id": "00000000-0000-4000-8000-000000000000"}
		if user == "analyst" || user == "peer" { // a status of the user's own, for the status route
			st = e.post(user, collA, harmless)
		}
		for _, rt := range e.srv.routes() {
			method, path, _ := strings.Cut(rt.pattern, " ")
			path = strings.TrimSuffix(path, "{$}")
			path = strings.NewReplacer("{collection}", collA, "{object}", secretID, "{status}", st["id"].(string)).Replace(path)
			var body []byte
			if method == http.MethodPost {
				body = envelopeOf(harmless)
			}
			r := e.req(method, user, e.base+path, body)
			if r.status >= 500 {
				t.Errorf("%s %s as %s: %d %s", method, path, user, r.status, r.body)
			}
			if strings.Contains(string(r.body), secretID) || strings.Contains(string(r.body), uuidPattern.FindString(secretID)) {
				t.Errorf("%s %s as %s lets out the TLP:RED object: %s", method, path, user, r.body)
			}
		}
	}
	// The secret is still there, and the one user it names receives it.
	r := e.get("admin", e.root+"collections/"+collA+"/objects/")
	if !strings.Contains(string(r.body), secretID) {
		t.Fatalf("control: the named recipient does not see the object, so the probe proves nothing: %s", r.body)
	}
}

const tlpGreen = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"

// putMarked stores indicators from, from+1, ... in this order (so in ascending
// date_added), TLP:GREEN, which the reader receives, or TLP:RED naming nobody,
// which is withheld from it.
func (e *env) putMarked(t *testing.T, from, n int, red bool) {
	t.Helper()
	marking := tlpGreen
	if red {
		marking = tlpRed
	}
	objs := make([]stix.Object, n)
	for i := range objs {
		o, err := stix.Parse(marked(from+i, gate.Identity(orgID("agency")), "", nil, marking))
		if err != nil {
			t.Fatal(err)
		}
		objs[i] = o
	}
	if _, err := e.st.Put(context.Background(), collA, orgID("agency"), objs); err != nil {
		t.Fatal(err)
	}
}

// manifestPage is one manifest page: the indicator numbers, more and next. Its
// X-TAXII-Date-Added-Last header must be the date_added of the last record.
func (e *env) manifestPage(t *testing.T, user, u string) (got []int, more bool, next string) {
	t.Helper()
	got, more, next, _ = e.manifestHeaders(t, user, u)
	return got, more, next
}

// manifestHeaders is manifestPage with the X-TAXII-Date-Added-First and -Last
// headers, as "first/last".
func (e *env) manifestHeaders(t *testing.T, user, u string) (got []int, more bool, next, added string) {
	t.Helper()
	r := e.get(user, u)
	mustStatus(t, r, http.StatusOK)
	var m struct {
		More    bool
		Next    string
		Objects []struct {
			ID        string
			DateAdded string `json:"date_added"`
		}
	}
	decode(t, r, &m)
	for _, o := range m.Objects {
		var n int
		if _, err := fmt.Sscanf(o.ID[len("indicator--"):], "%08x", &n); err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
	}
	if k := len(m.Objects); k > 0 && r.header.Get("X-TAXII-Date-Added-Last") != m.Objects[k-1].DateAdded {
		t.Errorf("X-TAXII-Date-Added-Last %s, last record added %s", r.header.Get("X-TAXII-Date-Added-Last"), m.Objects[k-1].DateAdded)
	}
	if m.More != (m.Next != "") {
		t.Errorf("more %v with next %q", m.More, m.Next)
	}
	return got, m.More, m.Next, r.header.Get("X-TAXII-Date-Added-First") + "/" + r.header.Get("X-TAXII-Date-Added-Last")
}

// TestPagingOverWithheld checks that neither the filling of a page nor more and
// next tell a reader that versions withheld from it exist (§1.6.9): a page is
// filled to the limit from what follows withheld versions, and ends the walk
// when only withheld versions follow.
func TestPagingOverWithheld(t *testing.T) {
	e := newEnv(t, Config{})
	// 1-2 released, 3-8 withheld, 9-13 released, 14-17 withheld.
	e.putMarked(t, 1, 2, false)
	e.putMarked(t, 3, 6, true)
	e.putMarked(t, 9, 5, false)
	e.putMarked(t, 14, 4, true)
	manifest := e.root + "collections/" + collA + "/manifest/"

	walk := func(t *testing.T, limit int) (pages [][]int) {
		e := e.with(t)
		u := fmt.Sprintf("%s?limit=%d", manifest, limit)
		for next := ""; ; {
			q := u
			if next != "" {
				q += "&next=" + url.QueryEscape(next)
			}
			got, more, n := e.manifestPage(t, "reader", q)
			pages = append(pages, got)
			if !more || len(pages) > 10 {
				return pages
			}
			next = n
		}
	}
	for _, tc := range []struct {
		limit int
		want  [][]int
	}{
		{4, [][]int{{1, 2, 9, 10}, {11, 12, 13}}},   // filled across 3-8, ends before 14-17
		{7, [][]int{{1, 2, 9, 10, 11, 12, 13}}},     // exactly what the reader receives: no more
		{3, [][]int{{1, 2, 9}, {10, 11, 12}, {13}}}, // a page reached with next is filled too
		{100, [][]int{{1, 2, 9, 10, 11, 12, 13}}},   // the whole collection in one page
		{1, [][]int{{1}, {2}, {9}, {10}, {11}, {12}, {13}}},
	} {
		t.Run(fmt.Sprint("limit=", tc.limit), func(t *testing.T) {
			if got := walk(t, tc.limit); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("pages %v, want %v", got, tc.want)
			}
		})
	}

}

// TestPagingRecordsReturned checks that the version beyond a page, looked at to
// decide more, is not recorded as disclosed: only what was returned is.
func TestPagingRecordsReturned(t *testing.T) {
	e := newEnv(t, Config{})
	e.putMarked(t, 1, 2, false)
	e.putMarked(t, 3, 2, true)
	e.putMarked(t, 5, 2, false)
	if got, more, _ := e.manifestPage(t, "reader", e.root+"collections/"+collA+"/manifest/?limit=3"); fmt.Sprint(got) != "[1 2 5]" || !more {
		t.Fatalf("page %v, more %v", got, more)
	}
	recs, err := e.st.AuditRecords(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var disclosed []string
	for _, r := range recs {
		if r.Kind == audit.Disclosure && r.Actor == "user:"+e.userID("reader") {
			for _, o := range r.Objects {
				disclosed = append(disclosed, o.ID)
			}
		}
	}
	slices.Sort(disclosed)
	if want := []string{sdoID("indicator", 1), sdoID("indicator", 2), sdoID("indicator", 5)}; !slices.Equal(disclosed, want) {
		t.Errorf("disclosed %v, want %v", disclosed, want)
	}
}

// TestVersionsOverWithheld checks the versions endpoint: the versions of an object
// withheld from the reader neither fill nor continue its list.
func TestVersionsOverWithheld(t *testing.T) {
	e := newEnv(t, Config{})
	objs := []stix.Object{
		markedVersion(t, 1, "2026-01-01T00:00:00.000Z", tlpGreen),
		markedVersion(t, 1, "2026-01-02T00:00:00.000Z", tlpRed),
		markedVersion(t, 1, "2026-01-03T00:00:00.000Z", tlpGreen),
		markedVersion(t, 1, "2026-01-04T00:00:00.000Z", tlpRed),
	}
	if _, err := e.st.Put(context.Background(), collA, orgID("agency"), objs); err != nil {
		t.Fatal(err)
	}
	r := e.get("reader", e.root+"collections/"+collA+"/objects/"+sdoID("indicator", 1)+"/versions/?limit=2")
	mustStatus(t, r, http.StatusOK)
	var v struct {
		More     bool
		Next     string
		Versions []string
	}
	decode(t, r, &v)
	if fmt.Sprint(v.Versions) != "[2026-01-01T00:00:00.000Z 2026-01-03T00:00:00.000Z]" || v.More || v.Next != "" {
		t.Errorf("versions %v, more %v, next %q", v.Versions, v.More, v.Next)
	}
	// The object's first and last are those the reader receives: the newest version,
	// withheld, neither hides the one before nor shows by an empty answer.
	obj := e.root + "collections/" + collA + "/objects/" + sdoID("indicator", 1) + "/"
	for query, want := range map[string]string{
		"":                                   "[2026-01-03T00:00:00.000Z]",
		"?match[version]=last":               "[2026-01-03T00:00:00.000Z]",
		"?match[version]=first":              "[2026-01-01T00:00:00.000Z]",
		"?match[version]=first,last":         "[2026-01-01T00:00:00.000Z 2026-01-03T00:00:00.000Z]",
		"?match[version]=first,last&limit=1": "[2026-01-01T00:00:00.000Z]",
		"?match[version]=last,2026-01-04T00:00:00.000Z": "[2026-01-03T00:00:00.000Z]",
	} {
		var got []string
		for _, o := range objectsOf(t, e.get("reader", obj+query)) {
			got = append(got, o["modified"].(string))
		}
		if fmt.Sprint(got) != want {
			t.Errorf("object%s: versions %v, want %s", query, got, want)
		}
	}
	// And a next page of first,last continues with the last.
	r = e.get("reader", obj+"?match[version]=first,last&limit=1")
	env, err := ReadPage(r.body, 10)
	if err != nil || !env.More || env.Next == "" {
		t.Fatalf("first page of first,last: %s, %v", r.body, err)
	}
	second := objectsOf(t, e.get("reader", obj+"?match[version]=first,last&limit=1&next="+url.QueryEscape(env.Next)))
	if len(second) != 1 || second[0]["modified"] != "2026-01-03T00:00:00.000Z" {
		t.Fatalf("second page of first,last: %v", second)
	}
}

// TestManyWithheldVersions: an object of more versions withheld from the reader
// than a page examines answers 404 as a missing one does, on its versions and on
// the object with match[version]=all.
func TestManyWithheldVersions(t *testing.T) {
	e := newEnv(t, Config{})
	base := marked(1, gate.Identity(orgID("agency")), "", nil, tlpRed)
	var objs []stix.Object
	for i := range scanMin + 5 {
		modified := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute).Format("2006-01-02T15:04:05.000Z")
		o, err := stix.Parse([]byte(strings.Replace(string(base), `"modified":"2026-01-01T00:00:00.000Z"`, `"modified":"`+modified+`"`, 1)))
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o)
	}
	if _, err := e.st.Put(context.Background(), collA, orgID("agency"), objs); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{sdoID("indicator", 1), sdoID("indicator", 2)} { // withheld, missing
		for _, u := range []string{"/versions/?limit=2", "/?match[version]=all&limit=2"} {
			mustStatus(t, e.get("reader", e.root+"collections/"+collA+"/objects/"+id+u), http.StatusNotFound)
		}
	}
}

// TestPagingScanBudget checks the one case where a page may be short: when more
// versions are withheld in a row than a page examines, it answers with what it
// has, more, and a next that continues after its last entry (continuing after
// what it examined would tell how many it withheld: the bound less the page's
// length); an empty page continues after what it examined. An empty page shows
// in its headers the last date_added the walk has shown, not the cursor, which is
// the date_added of a withheld version.
func TestPagingScanBudget(t *testing.T) {
	e := newEnv(t, Config{})
	e.putMarked(t, 1, 1, false)
	e.putMarked(t, 2, 2*scanMin+10, true)
	e.putMarked(t, 5000, 1, false)
	u := e.root + "collections/" + collA + "/manifest/?limit=2"
	got, more, next, first := e.manifestHeaders(t, "reader", u)
	if fmt.Sprint(got) != "[1]" || !more {
		t.Fatalf("first page %v, more %v", got, more)
	}
	u += "&next="
	got, more, next, added := e.manifestHeaders(t, "reader", u+url.QueryEscape(next))
	if len(got) != 0 || !more {
		t.Fatalf("second page %v, more %v", got, more)
	}
	if _, last, _ := strings.Cut(first, "/"); added != last+"/"+last {
		t.Errorf("empty page headers %s, want the last shown, %s", added, last)
	}
	// The first page examined 1 and scanMin-1 withheld, the second page the next
	// scanMin: were it after what the first examined, 11 would be left.
	if got, more, next = e.manifestPage(t, "reader", u+url.QueryEscape(next)); len(got) != 0 || !more {
		t.Fatalf("third page %v, more %v", got, more)
	}
	if got, more, _ = e.manifestPage(t, "reader", u+url.QueryEscape(next)); fmt.Sprint(got) != "[5000]" || more {
		t.Fatalf("fourth page %v, more %v", got, more)
	}
}

// countingStore counts the queries of pages.
type countingStore struct {
	store.Store
	queries atomic.Int32
}

func (c *countingStore) Query(ctx context.Context, q store.Query) (store.Page, error) {
	c.queries.Add(1)
	return c.Store.Query(ctx, q)
}

// TestPageOneQuery checks that a page where nothing is withheld costs one query of
// the store, whether or not more follow: the entry beyond the page comes with it.
func TestPageOneQuery(t *testing.T) {
	e := newEnv(t, Config{})
	e.putMarked(t, 1, 10, false)
	ctx := context.Background()
	cs := &countingStore{Store: e.st}
	srv, err := New(e.srv.cfg, cs, e.srv.authz, e.srv.gate, e.srv.log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(ctx) })
	reader, c := e.readerIn(t, collA)
	for _, tc := range []struct {
		limit int
		more  bool
	}{{5, true}, {9, true}, {10, false}, {20, false}} {
		cs.queries.Store(0)
		res, err := srv.page(ctx, epManifest, reader, c, auth.Rights{Read: true}, "", filter{Limit: tc.limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.entries) != min(tc.limit, 10) || res.more != tc.more {
			t.Errorf("limit %d: %d entries, more %v", tc.limit, len(res.entries), res.more)
		}
		if n := cs.queries.Load(); n != 1 {
			t.Errorf("limit %d: %d queries", tc.limit, n)
		}
	}
}

// readerIn is the principal of user "reader" and collection id, for a test that
// asks Server.page for pages directly.
func (e *env) readerIn(t *testing.T, id string) (*auth.Principal, store.Collection) {
	t.Helper()
	ctx := context.Background()
	u, err := e.st.User(ctx, "reader")
	if err != nil {
		t.Fatal(err)
	}
	o, err := e.st.Organisation(ctx, u.Org)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.st.Collection(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return &auth.Principal{User: u, Org: o}, c
}
