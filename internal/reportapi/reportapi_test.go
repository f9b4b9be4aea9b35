package reportapi

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"quadshare/internal/report"
	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// doc returns a valid report detected at detected, with members replaced by over
// (a nil value removes the member).
func doc(t testing.TB, detected time.Time, over map[string]any) []byte {
	t.Helper()
	m := map[string]any{
		"title":       "Ransomware on the SCADA historian",
		"description": "Files on the historian were encrypted.\nThe control network is isolated.",
		"started_at":  detected.Add(-time.Hour).UTC().Format(time.RFC3339),
		"detected_at": detected.UTC().Format(time.RFC3339Nano),
		"impact":      "significant",
		"ongoing":     true,
		"indicators": []map[string]string{
			{"kind": "ip", "value": "198.51.100.7", "note": "C2 server"},
			{"kind": "domain", "value": "update-check.example.com"},
		},
		"techniques": []string{"T1486"},
		"tlp":        "amber",
	}
	for k, v := range over {
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
	return b
}

func receiptOf(t testing.TB, r resp) report.Receipt {
	t.Helper()
	var rc report.Receipt
	decode(t, r, &rc)
	return rc
}

func (e *env) submit(user string, body []byte, headers ...string) report.Receipt {
	e.t.Helper()
	return receiptOf(e.t, must(e.t, e.do(http.MethodPost, user, "/reports", body, headers...), http.StatusCreated))
}

func (e *env) view(user, id string) View {
	e.t.Helper()
	var v View
	decode(e.t, must(e.t, e.do(http.MethodGet, user, "/reports/"+id, nil), http.StatusOK), &v)
	return v
}

func (e *env) list(user, query string) List {
	e.t.Helper()
	var l List
	decode(e.t, must(e.t, e.do(http.MethodGet, user, "/reports"+query, nil), http.StatusOK), &l)
	return l
}

// inboxOf returns the inbox collection of an organisation.
func (e *env) inboxOf(org string) (store.Collection, bool) {
	e.t.Helper()
	cs, err := e.st.Collections(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range cs {
		if c.OwnerOrg == e.orgs[org].ID {
			return c, true
		}
	}
	return store.Collection{}, false
}

// entries returns every version of the objects of a type in a collection.
func (e *env) entries(collection, typ string, all bool) []store.Entry {
	e.t.Helper()
	q := store.Query{Collection: collection, Types: []string{typ}, Limit: 1000}
	q.Versions.All = all
	page, err := e.st.Query(context.Background(), q)
	if err != nil {
		e.t.Fatal(err)
	}
	return page.Entries
}

func publicKey(t testing.TB, e *env) ed25519.PublicKey {
	t.Helper()
	var k ReceiptKey
	decode(t, must(t, e.do(http.MethodGet, "grid", "/receipt-key", nil), http.StatusOK), &k)
	pub, err := base64.StdEncoding.DecodeString(k.PublicKey)
	if err != nil || k.Algorithm != "Ed25519" || k.Node != "test-node" {
		t.Fatalf("receipt key %+v: %v", k, err)
	}
	return pub
}

// An operator submits; the receipt is signed by the node and verifies with the key it
// publishes; the report is in its new inbox as STIX, and only its organisation and
// the analysts see it.
func TestSubmit(t *testing.T) {
	e := newEnv(t)
	detected := time.Now().Add(-2 * time.Hour)
	r := must(t, e.do(http.MethodPost, "grid", "/reports", doc(t, detected, nil)), http.StatusCreated)
	rc := receiptOf(t, r)
	if r.header.Get("Location") != Prefix+"reports/"+rc.ReportID || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", r.header)
	}
	pub := publicKey(t, e)
	if !pub.Equal(e.key.Public()) {
		t.Fatal("the published key is not the signing key")
	}
	if err := rc.Verify(pub); err != nil {
		t.Fatalf("receipt: %v", err)
	}
	wantDue := detected.UTC().Truncate(time.Millisecond).Add(12 * time.Hour)
	if rc.Version != 1 || rc.Node != "test-node" || !strings.HasPrefix(rc.ContentHash, "sha256:") ||
		rc.Rule != "soci-significant" || rc.Due == nil || !rc.Due.Equal(wantDue) || rc.OnTime == nil || !*rc.OnTime ||
		time.Since(rc.Received) > time.Minute {
		t.Fatalf("receipt %+v", rc)
	}
	// Tampering with any member breaks the signature.
	forged := rc
	late := false
	forged.OnTime = &late
	if forged.Verify(pub) == nil {
		t.Fatal("a forged receipt verifies")
	}

	v := e.view("grid", rc.ReportID)
	if v.Status != "new" || v.Title != "Ransomware on the SCADA historian" || v.TLP != "amber" || v.Versions != 1 ||
		v.OnTime == nil || !*v.OnTime || v.Overdue || len(v.Receipts) != 1 || v.Report == nil || v.Operator != nil || v.History != nil {
		t.Fatalf("operator's view %+v", v)
	}
	var shown report.Receipt
	if err := json.Unmarshal(v.Receipt, &shown); err != nil || shown.Verify(pub) != nil || shown.ContentHash != rc.ContentHash {
		t.Fatalf("receipt shown %s: %v", v.Receipt, err)
	}
	// The receipt hashes the report as stored.
	if !rc.Matches(v.Report) {
		t.Fatal("the receipt does not match the stored report")
	}
	if av := e.view("analyst", rc.ReportID); av.Operator == nil || av.Operator.Name != "gridco" || av.Operator.Jurisdiction != "AU" ||
		!slices.Equal(av.NextStatuses, []string{"triaged", "closed"}) {
		t.Fatalf("analyst's view %+v", av)
	}

	inbox, ok := e.inboxOf("gridco")
	if !ok {
		t.Fatal("no inbox was created")
	}
	incidents := e.entries(inbox.ID, "incident", false)
	if len(incidents) != 1 || incidents[0].Submitter != e.orgs["gridco"].ID || !strings.Contains(string(incidents[0].Object.Raw), rc.ReportID) {
		t.Fatalf("incident in the inbox: %+v", incidents)
	}
	if n := len(e.entries(inbox.ID, "indicator", false)); n != 2 {
		t.Fatalf("%d indicators in the inbox, want 2", n)
	}
	revs, err := e.st.ReportRevisions(context.Background(), rc.ReportID)
	if err != nil || len(revs) != 1 || !revs[0].Filed {
		t.Fatalf("revisions %+v, %v", revs, err)
	}

	// A second report goes to the same inbox.
	rc2 := e.submit("grid2", doc(t, detected, map[string]any{"title": "Phishing wave"}))
	if n := len(e.entries(inbox.ID, "incident", false)); n != 2 {
		t.Fatalf("%d incidents after a second report", n)
	}
	if l := e.list("grid", ""); len(l.Reports) != 2 || l.Reports[0].ID != rc2.ReportID {
		t.Fatalf("own list %+v", l)
	}
	// Others see nothing of it.
	if l := e.list("tel", ""); len(l.Reports) != 0 {
		t.Fatalf("another operator lists %+v", l)
	}
	must(t, e.do(http.MethodGet, "tel", "/reports/"+rc.ReportID, nil), http.StatusNotFound)
	must(t, e.do(http.MethodGet, "reader", "/reports/"+rc.ReportID, nil), http.StatusNotFound)
	must(t, e.do(http.MethodGet, "reader", "/reports", nil), http.StatusForbidden)
	must(t, e.do(http.MethodGet, "", "/reports", nil), http.StatusUnauthorized)
	// The published description is served.
	if r := must(t, e.do(http.MethodGet, "grid", "/schema.json", nil), http.StatusOK); !strings.Contains(string(r.body), report.SchemaID) {
		t.Fatalf("schema %s", r.body[:100])
	}
	must(t, e.do(http.MethodGet, "grid", "/openapi.json", nil), http.StatusOK)
	must(t, e.do(http.MethodDelete, "grid", "/reports", nil), http.StatusMethodNotAllowed)
	must(t, e.do(http.MethodGet, "grid", "/nothing", nil), http.StatusNotFound)
}

// Text that would be an injection elsewhere is kept as text, exactly.
func TestSubmitInjectionIsText(t *testing.T) {
	e := newEnv(t)
	title := `x'); DROP TABLE reports;-- <script>alert(1)</script>`
	desc := "{{.}} ${jndi:ldap://198.51.100.9/a} \"quoted\" \\ back"
	rc := e.submit("grid", doc(t, time.Now().Add(-time.Hour), map[string]any{"title": title, "description": desc,
		"indicators": []map[string]string{{"kind": "url", "value": "http://198.51.100.9/a?b='c'&d=<e>"}}}))
	v := e.view("analyst", rc.ReportID)
	if v.Title != title || v.Report.Description != desc {
		t.Fatalf("stored %q %q", v.Title, v.Report.Description)
	}
	inbox, _ := e.inboxOf("gridco")
	inds := e.entries(inbox.ID, "indicator", false)
	if len(inds) != 1 {
		t.Fatalf("%d indicators", len(inds))
	}
	var ind map[string]any
	if err := json.Unmarshal(inds[0].Object.Raw, &ind); err != nil || ind["pattern"] != `[url:value = 'http://198.51.100.9/a?b=\'c\'&d=<e>']` {
		t.Fatalf("indicator %s: %v", inds[0].Object.Raw, err)
	}
	if l := e.list("analyst", ""); len(l.Reports) != 1 {
		t.Fatalf("the store after the text: %+v", l)
	}
}

// Bad submissions get precise errors and leave nothing behind: no report, no inbox.
func TestSubmitBadInput(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	huge := doc(t, now, map[string]any{"notes": strings.Repeat("a", 1<<20)})
	for _, tc := range []struct {
		name    string
		user    string
		body    []byte
		headers []string
		status  int
		want    []string // field errors, "pointer: message" prefixes
	}{
		{"not JSON", "grid", []byte("hello"), nil, 400, []string{": "}},
		{"an array", "grid", []byte(`[1]`), nil, 400, []string{": the document must be a JSON object"}},
		{"duplicate names", "grid", []byte(`{"title":"a","title":"b"}`), nil, 400, []string{": "}},
		{"truncated", "grid", doc(t, now, nil)[:40], nil, 400, nil},
		{"oversized", "grid", huge, nil, 413, []string{": more than 1048576 bytes"}},
		{"wrong type", "grid", doc(t, now, map[string]any{"impact": 3, "ongoing": "yes"}), nil, 422,
			[]string{"/impact: must be a string, not number", "/ongoing: must be true or false, not string"}},
		{"unknown field", "grid", doc(t, now, map[string]any{"x_admin": true}), nil, 422, []string{"/x_admin: unknown field"}},
		{"missing fields", "grid", doc(t, now, map[string]any{"title": nil, "tlp": nil}), nil, 422, []string{"/title: required", "/tlp: required"}},
		{"bidi override", "grid", doc(t, now, map[string]any{"title": "invoice\u202egpj.exe"}), nil, 422, []string{"/title: bidirectional control"}},
		{"control character", "grid", doc(t, now, map[string]any{"title": "a\u0000b"}), nil, 422, []string{"/title: control character"}},
		{"future", "grid", doc(t, now.Add(time.Hour), nil), nil, 422, []string{"/detected_at: in the future"}},
		{"bad indicator", "grid", doc(t, now, map[string]any{"indicators": []map[string]string{{"kind": "ip", "value": "999.1.1.1"}}}), nil, 422,
			[]string{"/indicators/0/value: must be an IPv4 or IPv6 address"}},
		{"bad key header", "grid", doc(t, now, nil), []string{IdempotencyHeader, "not a key!"}, 422, []string{": Idempotency-Key: 1 to 128"}},
		{"key header differs", "grid", doc(t, now, map[string]any{"idempotency_key": "a"}), []string{IdempotencyHeader, "b"}, 422,
			[]string{"/idempotency_key: differs from the Idempotency-Key header"}},
		{"not JSON media type", "grid", doc(t, now, nil), []string{"Content-Type", "text/plain"}, 415, nil},
		{"update of an unknown report", "grid", doc(t, now, map[string]any{"id": report.NewID()}), nil, 404, []string{"/id: no report of yours"}},
		{"not an operator", "analyst", doc(t, now, nil), nil, 403, nil},
		{"unregistered operator", "nobody", doc(t, now, nil), nil, 403, nil},
		{"no credentials", "", doc(t, now, nil), nil, 401, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := must(t, e.do(http.MethodPost, tc.user, "/reports", tc.body, tc.headers...), tc.status)
			got := fieldErrors(t, r)
			for i, w := range tc.want {
				if i >= len(got) || !strings.HasPrefix(got[i], w) {
					t.Fatalf("errors %q, want prefixes %q", got, tc.want)
				}
			}
		})
	}
	if l := e.list("analyst", ""); len(l.Reports) != 0 {
		t.Fatalf("refused submissions left reports: %+v", l)
	}
	if _, ok := e.inboxOf("gridco"); ok {
		t.Fatal("refused submissions created an inbox")
	}
}

// The same submission again under the same idempotency key gets the first receipt
// and stores nothing; other content under it is refused.
func TestIdempotency(t *testing.T) {
	e := newEnv(t)
	body := doc(t, time.Now().Add(-time.Hour), nil)
	first := must(t, e.do(http.MethodPost, "grid", "/reports", body, IdempotencyHeader, "batch-7:report-1"), http.StatusCreated)
	again := must(t, e.do(http.MethodPost, "grid", "/reports", body, IdempotencyHeader, "batch-7:report-1"), http.StatusOK)
	if string(again.body) != string(first.body) {
		t.Fatalf("retry receipt differs:\n%s\n%s", again.body, first.body)
	}
	// The key in the body is the same key.
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	m["idempotency_key"] = "batch-7:report-1"
	inBody, _ := json.Marshal(m)
	if r := must(t, e.do(http.MethodPost, "grid2", "/reports", inBody), http.StatusOK); string(r.body) != string(first.body) {
		t.Fatalf("retry with the key in the body: %s", r.body)
	}
	// Other content under the key.
	r := must(t, e.do(http.MethodPost, "grid", "/reports", doc(t, time.Now().Add(-time.Hour), map[string]any{"title": "Other"}),
		IdempotencyHeader, "batch-7:report-1"), http.StatusConflict)
	if got := fieldErrors(t, r); len(got) != 1 || !strings.HasPrefix(got[0], "/idempotency_key:") {
		t.Fatalf("errors %q", got)
	}
	// Another operator has its own keys.
	e.submit("tel", body, IdempotencyHeader, "batch-7:report-1")

	// Concurrent retries: one report, one receipt.
	const n = 6
	bodies := make([]resp, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bodies[i] = e.with(t).do(http.MethodPost, "grid", "/reports", body, IdempotencyHeader, "concurrent")
		}()
	}
	wg.Wait()
	created := 0
	for _, b := range bodies {
		switch b.status {
		case http.StatusCreated:
			created++
		case http.StatusOK:
		default:
			t.Fatalf("concurrent retry: %s", b)
		}
		if string(b.body) != string(bodies[0].body) {
			t.Fatalf("concurrent retries got different receipts:\n%s\n%s", b.body, bodies[0].body)
		}
	}
	if created != 1 {
		t.Fatalf("%d created, want 1", created)
	}
	if l := e.list("grid", ""); len(l.Reports) != 2 {
		t.Fatalf("%d reports, want 2", len(l.Reports))
	}
	if l := e.list("tel", ""); len(l.Reports) != 1 {
		t.Fatalf("%d reports of telco, want 1", len(l.Reports))
	}
}

func (e *env) with(t testing.TB) *env {
	c := *e
	c.t = t
	return &c
}

// An update is a new version of the report and new versions of the same STIX
// objects; indicators it drops are revoked.
func TestUpdate(t *testing.T) {
	e := newEnv(t)
	detected := time.Now().Add(-3 * time.Hour)
	rc1 := e.submit("grid", doc(t, detected, map[string]any{"impact": "minor"}))
	if rc1.Rule != "soci-relevant" || !rc1.Due.Equal(detected.UTC().Truncate(time.Millisecond).Add(72*time.Hour)) {
		t.Fatalf("first receipt %+v", rc1)
	}
	upd := doc(t, detected, map[string]any{"id": rc1.ReportID, "impact": "severe", "ongoing": false,
		"indicators": []map[string]string{{"kind": "ip", "value": "198.51.100.7", "note": "C2 server"}}})
	rc2 := e.submit("grid2", upd)
	if rc2.ReportID != rc1.ReportID || rc2.Version != 2 || !rc2.Received.After(rc1.Received) || rc2.Rule != "soci-significant" ||
		!*rc2.OnTime || rc2.Verify(publicKey(t, e)) != nil {
		t.Fatalf("update receipt %+v", rc2)
	}
	v := e.view("grid", rc1.ReportID)
	if v.Versions != 2 || v.Impact != "severe" || len(v.Receipts) != 2 || !v.Created.Equal(rc1.Received) || !v.Modified.Equal(rc2.Received) {
		t.Fatalf("view after update %+v", v)
	}
	inbox, _ := e.inboxOf("gridco")
	incidents := e.entries(inbox.ID, "incident", true)
	if len(incidents) != 2 || incidents[0].Object.ID != incidents[1].Object.ID ||
		incidents[0].Object.Created != incidents[1].Object.Created || incidents[0].Object.Modified == incidents[1].Object.Modified {
		t.Fatalf("incident versions %+v", incidents)
	}
	var revoked int
	for _, en := range e.entries(inbox.ID, "indicator", false) {
		if en.Object.Revoked {
			revoked++
			if !strings.Contains(string(en.Object.Raw), "update-check.example.com") {
				t.Errorf("revoked the wrong indicator: %s", en.Object.Raw)
			}
		}
	}
	if revoked != 1 {
		t.Fatalf("%d indicators revoked, want 1", revoked)
	}
	// Not another organisation's report, not a closed one.
	must(t, e.do(http.MethodPost, "tel", "/reports", upd), http.StatusNotFound)
	must(t, e.do(http.MethodPost, "analyst", "/reports/"+rc1.ReportID+"/notes", []byte(`{"status":"closed","text":"duplicate of another"}`)), http.StatusOK)
	r := must(t, e.do(http.MethodPost, "grid", "/reports", upd), http.StatusConflict)
	if got := fieldErrors(t, r); len(got) != 1 || got[0] != "/id: the report is closed" {
		t.Fatalf("errors %q", got)
	}
}

// TestUpdateBounded: a report takes updates up to its most versions, then 409.
func TestUpdateBounded(t *testing.T) {
	e := newEnv(t)
	e.srv.cfg.MaxVersions = 2
	detected := time.Now().Add(-time.Hour)
	rc := e.submit("grid", doc(t, detected, nil))
	upd := doc(t, detected, map[string]any{"id": rc.ReportID, "impact": "severe"})
	if rc2 := e.submit("grid", upd); rc2.Version != 2 {
		t.Fatalf("update receipt %+v", rc2)
	}
	r := must(t, e.do(http.MethodPost, "grid", "/reports", upd), http.StatusConflict)
	if got := fieldErrors(t, r); len(got) != 1 || got[0] != "/id: the report has as many versions as it may have" {
		t.Fatalf("errors %q", got)
	}
	if v := e.view("grid", rc.ReportID); v.Versions != 2 {
		t.Fatalf("%d versions after a refused update, want 2", v.Versions)
	}
}

// Analysts move a report through new, triaged, shared and closed, with notes; correct
// its marking; and release it to a collection partners read.
func TestTriage(t *testing.T) {
	e := newEnv(t)
	rc := e.submit("grid", doc(t, time.Now().Add(-time.Hour), nil))
	path := "/reports/" + rc.ReportID
	post := func(user, action, body string, status int) resp {
		t.Helper()
		return must(t, e.do(http.MethodPost, user, path+"/"+action, []byte(body)), status)
	}
	post("grid", "notes", `{"text":"mine"}`, http.StatusForbidden)
	post("reader", "notes", `{"text":"x"}`, http.StatusNotFound)
	post("analyst", "notes", `{"text":"Called the operator; confirmed."}`, http.StatusOK)
	for _, tc := range []struct {
		action, body string
		status       int
		want         string
	}{
		{"notes", `{"status":"shared"}`, 422, "/status: use release to share a report"},
		{"notes", `{"status":"new"}`, 409, "/status: a new report cannot become new"},
		{"notes", `{"status":"lost"}`, 422, "/status: must be one of"},
		{"notes", `{"text":3,"colour":"red"}`, 422, "/colour: unknown field"},
		{"notes", `{}`, 422, "/text: required"},
		{"notes", `{"text":"a\u202eb"}`, 422, "/text: bidirectional control"},
		{"notes", `{"text":"a","text":"b"}`, 400, ": "},
		{"notes", `["text"]`, 400, ": the document must be a JSON object"},
		{"marking", `{"tlp":"amber"}`, 422, "/tlp: is already the report's TLP"},
		{"marking", `{"tlp":"purple"}`, 422, "/tlp: must be one of"},
		{"release", `{"collection":"partners"}`, 409, ""},
	} {
		r := post("analyst", tc.action, tc.body, tc.status)
		if got := fieldErrors(t, r); tc.want != "" && (len(got) == 0 || !strings.HasPrefix(got[0], tc.want)) {
			t.Errorf("%s %s: errors %q, want %q", tc.action, tc.body, got, tc.want)
		}
	}
	var v View
	decode(t, post("analyst", "notes", `{"status":"triaged","text":"Real; energy sector."}`, http.StatusOK), &v)
	if v.Status != "triaged" || !slices.Equal(v.NextStatuses, []string{"shared", "closed"}) {
		t.Fatalf("after triage %+v", v)
	}
	decode(t, post("analyst", "marking", `{"tlp":"red","note":"Names a person."}`, http.StatusOK), &v)
	if v.TLP != "red" || v.OperatorTLP != "amber" {
		t.Fatalf("after the marking %+v", v)
	}
	red, _ := report.TLPRed.Marking()
	inbox, _ := e.inboxOf("gridco")
	latest := e.entries(inbox.ID, "incident", false)
	if len(latest) != 1 || !strings.Contains(string(latest[0].Object.Raw), red) {
		t.Fatalf("the inbox incident does not carry the corrected marking: %s", latest[0].Object.Raw)
	}
	// The operator sees the correction, not the analysts' notes.
	if ov := e.view("grid", rc.ReportID); ov.TLP != "red" || ov.History != nil || ov.Status != "triaged" {
		t.Fatalf("operator's view %+v", ov)
	}

	post("analyst", "release", `{"collection":"`+collClosed+`"}`, http.StatusForbidden)
	post("analyst", "release", `{"collection":"`+inbox.ID+`"}`, http.StatusUnprocessableEntity)
	post("analyst", "release", `{"collection":"nowhere"}`, http.StatusUnprocessableEntity)
	post("analyst", "release", `{}`, http.StatusUnprocessableEntity)
	decode(t, post("analyst", "release", `{"collection":"partners","note":"For the partners' energy desks."}`, http.StatusOK), &v)
	if v.Status != "shared" {
		t.Fatalf("after release %+v", v)
	}
	shared := e.entries(collPartners, "incident", false)
	if len(shared) != 1 || shared[0].Submitter != e.orgs["agency"].ID || !strings.Contains(string(shared[0].Object.Raw), red) {
		t.Fatalf("released incident %+v", shared)
	}
	if n := len(e.entries(collPartners, "indicator", false)); n != 2 {
		t.Fatalf("%d indicators released, want 2", n)
	}
	// An update after the release is not released by itself.
	if av := e.view("analyst", rc.ReportID); av.UpdatedSinceRelease {
		t.Fatal("updated since release, right after the release")
	}
	e.submit("grid", doc(t, time.Now().Add(-time.Hour), map[string]any{"id": rc.ReportID, "ongoing": false}))
	if av := e.view("analyst", rc.ReportID); !av.UpdatedSinceRelease || av.Status != "shared" {
		t.Fatalf("after an update of a shared report: %+v", av)
	}
	if n := len(e.entries(collPartners, "incident", true)); n != 1 {
		t.Fatalf("the update reached the partners' collection: %d incident versions", n)
	}
	decode(t, post("analyst", "release", `{"collection":"partners"}`, http.StatusOK), &v)
	if v.UpdatedSinceRelease || len(e.entries(collPartners, "incident", true)) != 2 {
		t.Fatalf("after releasing again: %+v", v)
	}
	// A marking corrected after release reaches the released copy too.
	post("analyst", "marking", `{"tlp":"amber+strict"}`, http.StatusOK)
	strict, _ := report.TLPAmberStrict.Marking()
	if shared := e.entries(collPartners, "incident", false); !strings.Contains(string(shared[0].Object.Raw), strict) {
		t.Fatalf("released incident after the correction: %s", shared[0].Object.Raw)
	}
	decode(t, post("analyst", "notes", `{"status":"closed"}`, http.StatusOK), &v)
	post("analyst", "notes", `{"status":"triaged"}`, http.StatusConflict)
	post("analyst", "release", `{"collection":"partners"}`, http.StatusConflict)
	var actions []string
	for _, h := range v.History {
		actions = append(actions, h.Action+":"+h.From+">"+h.To)
		if h.Actor != "user-analyst" {
			t.Errorf("actor %q", h.Actor)
		}
	}
	want := []string{"note:>", "status:new>triaged", "marking:>red", "release:triaged>shared", "release:shared>shared",
		"marking:red>amber+strict", "status:shared>closed"}
	if !slices.Equal(actions, want) {
		t.Fatalf("history %q, want %q", actions, want)
	}
}

// The reporting clock of the operator's jurisdiction: on time, late, none; analysts
// list what is due and what is overdue, earliest first.
func TestDeadlines(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	onTime := e.submit("tel", doc(t, now.Add(-time.Hour), map[string]any{"impact": "minor"}))
	late := e.submit("tel", doc(t, now.Add(-7*time.Hour), map[string]any{"impact": "none"}))
	none := e.submit("port", doc(t, now.Add(-100*time.Hour), nil))
	noRule := e.submit("grid", doc(t, now.Add(-100*time.Hour), map[string]any{"impact": "none"}))
	grid := e.submit("grid", doc(t, now.Add(-2*time.Hour), nil))
	if onTime.Rule != "cert-in" || !*onTime.OnTime || *late.OnTime || late.Rule != "cert-in" {
		t.Fatalf("India: %+v / %+v", onTime, late)
	}
	if none.Due != nil || none.OnTime != nil || noRule.Due != nil {
		t.Fatalf("no deadline: %+v / %+v", none, noRule)
	}
	if v := e.view("tel", late.ReportID); v.OnTime == nil || *v.OnTime || !v.Overdue || v.Rule != "cert-in" {
		t.Fatalf("late report %+v", v)
	}
	if v := e.view("port", none.ReportID); v.Due != nil || v.OnTime != nil || v.Overdue {
		t.Fatalf("report without deadline %+v", v)
	}
	ids := func(l List) []string {
		var out []string
		for _, v := range l.Reports {
			out = append(out, v.ID)
		}
		return out
	}
	if got := ids(e.list("analyst", "?due=1")); !slices.Equal(got, []string{late.ReportID, onTime.ReportID, grid.ReportID}) {
		t.Fatalf("due: %v", got)
	}
	if got := ids(e.list("analyst", "?overdue=true")); !slices.Equal(got, []string{late.ReportID}) {
		t.Fatalf("overdue: %v", got)
	}
	if got := ids(e.list("tel", "?due=1")); !slices.Equal(got, []string{late.ReportID, onTime.ReportID}) {
		t.Fatalf("an operator's due: %v", got)
	}
	// Pages.
	p1 := e.list("analyst", "?due=1&limit=2")
	if len(p1.Reports) != 2 || p1.Next == "" {
		t.Fatalf("first page %+v", p1)
	}
	if got := ids(e.list("analyst", "?due=1&limit=2&after="+p1.Next)); !slices.Equal(got, []string{grid.ReportID}) {
		t.Fatalf("second page %v", got)
	}
	if l := e.list("analyst", "?limit=200"); len(l.Reports) != 5 || l.Next != "" {
		t.Fatalf("all: %d, next %q", len(l.Reports), l.Next)
	}
	// Closed reports are no longer due.
	must(t, e.do(http.MethodPost, "analyst", "/reports/"+late.ReportID+"/notes", []byte(`{"status":"closed","text":"handled"}`)), http.StatusOK)
	if got := ids(e.list("analyst", "?overdue=1")); len(got) != 0 {
		t.Fatalf("overdue after closing: %v", got)
	}
	if got := ids(e.list("analyst", "?status=closed")); !slices.Equal(got, []string{late.ReportID}) {
		t.Fatalf("closed: %v", got)
	}
	for _, q := range []string{"?limit=0", "?limit=x", "?status=lost", "?due=maybe", "?colour=red", "?after=zzz", "?limit=1&limit=2"} {
		must(t, e.do(http.MethodGet, "analyst", "/reports"+q, nil), http.StatusUnprocessableEntity)
	}
	must(t, e.do(http.MethodGet, "tel", "/reports?operator="+e.orgs["gridco"].ID, nil), http.StatusUnprocessableEntity)
	if got := ids(e.list("analyst", "?operator="+e.orgs["portco"].ID)); !slices.Equal(got, []string{none.ReportID}) {
		t.Fatalf("by operator: %v", got)
	}
}

// A revision whose filing failed is filed by the next write.
func TestUnfiledRevisionIsFiledLater(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rc := e.submit("grid", doc(t, time.Now().Add(-time.Hour), nil))
	// Record a second version by hand, as if the node stopped before filing it.
	rec, err := e.st.Report(ctx, rc.ReportID)
	if err != nil {
		t.Fatal(err)
	}
	revs, _ := e.st.ReportRevisions(ctx, rc.ReportID)
	objs, err := parseObjects(revs[0].Objects)
	if err != nil {
		t.Fatal(err)
	}
	later := rec.Modified.Add(time.Second)
	var arr []json.RawMessage
	for _, o := range objs {
		raw := o.Raw
		if o.Type == "incident" {
			raw = []byte(strings.Replace(string(raw), `"modified":"`+stix.NewTimestamp(rec.Modified, 3).String()+`"`,
				`"modified":"`+stix.NewTimestamp(later, 3).String()+`"`, 1))
			arr = append(arr, raw)
		}
	}
	objects, _ := json.Marshal(arr)
	rec.Versions, rec.Modified = 2, later
	vs, _ := e.st.ReportVersions(ctx, rc.ReportID)
	v2 := vs[0]
	v2.Version, v2.Received, v2.IdempotencyKey = 2, later, ""
	if err := e.st.SubmitReport(ctx, rec, v2, store.ReportRevision{Report: rec.ID, Modified: later, Objects: objects}); err != nil {
		t.Fatal(err)
	}
	inbox, _ := e.inboxOf("gridco")
	if n := len(e.entries(inbox.ID, "incident", true)); n != 1 {
		t.Fatalf("%d incident versions before the next write", n)
	}
	e.submit("grid", doc(t, time.Now().Add(-time.Hour), map[string]any{"title": "next"}))
	if n := len(e.entries(inbox.ID, "incident", true)); n != 3 {
		t.Fatalf("%d incident versions after the next write, want 3", n)
	}
	if un, err := e.st.UnfiledRevisions(ctx, 10); err != nil || len(un) != 0 {
		t.Fatalf("unfiled: %+v, %v", un, err)
	}
}

// An observable released under one marking is withdrawn when the marking is
// corrected: it has no versions, so it cannot be replaced, and must not stay shared
// under the old marking.
func TestMarkingAfterReleaseWithdrawsObservables(t *testing.T) {
	e := newEnv(t)
	rc := e.submit("grid", doc(t, time.Now().Add(-time.Hour), map[string]any{"tlp": "green"}))
	path := "/reports/" + rc.ReportID
	must(t, e.do(http.MethodPost, "analyst", path+"/notes", []byte(`{"status":"triaged"}`)), http.StatusOK)
	must(t, e.do(http.MethodPost, "analyst", path+"/release", []byte(`{"collection":"partners"}`)), http.StatusOK)
	green, _ := report.TLPGreen.Marking()
	scos := func() []store.Entry {
		return append(e.entries(collPartners, "ipv4-addr", true), e.entries(collPartners, "domain-name", true)...)
	}
	if got := scos(); len(got) != 2 || !strings.Contains(string(got[0].Object.Raw), green) {
		t.Fatalf("released observables %+v", got)
	}
	must(t, e.do(http.MethodPost, "analyst", path+"/marking", []byte(`{"tlp":"red"}`)), http.StatusOK)
	red, _ := report.TLPRed.Marking()
	for _, en := range scos() {
		if !strings.Contains(string(en.Object.Raw), red) {
			t.Fatalf("an observable stays shared under the old marking: %s", en.Object.Raw)
		}
	}
	if n := len(e.entries(collPartners, "indicator", false)); n != 2 {
		t.Fatalf("%d indicators in the partners' collection, want 2", n)
	}
	for _, en := range e.entries(collPartners, "indicator", false) {
		if !strings.Contains(string(en.Object.Raw), red) {
			t.Fatalf("indicator not corrected: %s", en.Object.Raw)
		}
	}
}

// First reports of one organisation at the same moment make one inbox.
func TestConcurrentFirstReportsShareOneInbox(t *testing.T) {
	e := newEnv(t)
	const n = 6
	res := make([]resp, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = e.with(t).do(http.MethodPost, "tel", "/reports", doc(t, time.Now().Add(-time.Hour), map[string]any{"title": fmt.Sprint("report ", i)}))
		}()
	}
	wg.Wait()
	for _, r := range res {
		must(t, r, http.StatusCreated)
	}
	cs, err := e.st.Collections(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	inboxes := 0
	for _, c := range cs {
		if c.OwnerOrg == e.orgs["telco"].ID {
			inboxes++
		}
	}
	inbox, _ := e.inboxOf("telco")
	if inboxes != 1 || len(e.entries(inbox.ID, "incident", false)) != n {
		t.Fatalf("%d inboxes, %d incidents", inboxes, len(e.entries(inbox.ID, "incident", false)))
	}
}

// Reports are triaged by our own agency: staff of another agency (a partner
// nation's, whatever their role) neither list nor read nor triage them, and so
// never learn the operator behind one.
func TestOtherAgencyDoesNotTriage(t *testing.T) {
	e := newEnv(t)
	e.org("jp-agency", "JP", store.KindAgency)
	e.user("jp-analyst", "jp-agency", store.RoleAnalyst)
	e.user("jp-admin", "jp-agency", store.RoleAdmin)
	rc := e.submit("grid", doc(t, time.Now().Add(-time.Hour), nil))
	path := "/reports/" + rc.ReportID
	for _, user := range []string{"jp-analyst", "jp-admin"} {
		for _, c := range []struct {
			method, path, body string
			status             int
		}{
			{http.MethodGet, "/reports", "", http.StatusForbidden},
			{http.MethodGet, path, "", http.StatusNotFound},
			{http.MethodPost, path + "/notes", `{"text":"x"}`, http.StatusNotFound},
			{http.MethodPost, path + "/release", `{"collection":"partners"}`, http.StatusNotFound},
		} {
			var body []byte
			if c.body != "" {
				body = []byte(c.body)
			}
			r := must(t, e.do(c.method, user, c.path, body), c.status)
			if strings.Contains(string(r.body), "gridco") {
				t.Errorf("%s %s %s: names the operator: %s", user, c.method, c.path, r.body)
			}
		}
	}
	// Our analyst still does.
	must(t, e.do(http.MethodGet, "analyst", path, nil), http.StatusOK)
}
