package web_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/policy"
	"quadshare/internal/provenance"
	"quadshare/internal/stix"
	"quadshare/internal/store"
	"quadshare/internal/web"
)

func TestSignInAndSession(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	p := must(t, b.get("/ui/objects?type=indicator"), http.StatusSeeOther)
	if loc := p.header.Get("Location"); loc != "/ui/signin?next="+url.QueryEscape("/ui/objects?type=indicator") {
		t.Fatalf("redirect to %q", loc)
	}
	must(t, b.get("/ui/signin"), http.StatusOK)

	// Wrong or malformed tokens, a user that does not own the token.
	for _, f := range []url.Values{
		{"user": {"ana"}, "token": {"qs_0000000000000000_" + strings.Repeat("0", 64)}},
		{"user": {"ana"}, "token": {"not a token"}},
		{"user": {"ana"}, "token": {e.tokens["cleared"]}},
		{"user": {""}, "token": {e.tokens["ana"]}},
	} {
		p := b.post("/ui/signin", f)
		if p.status != http.StatusUnauthorized || len(p.header.Values("Set-Cookie")) != 0 {
			t.Fatalf("bad sign-in %v: %d %v", f, p.status, p.header.Values("Set-Cookie"))
		}
	}
	// A peer node has no web interface.
	must(t, b.post("/ui/signin", url.Values{"user": {"jp"}, "token": {e.tokens["jp"]}}), http.StatusForbidden)

	p = b.post("/ui/signin", url.Values{"user": {"ana"}, "token": {e.tokens["ana"]}, "next": {"/ui/objects?type=indicator"}})
	must(t, p, http.StatusSeeOther)
	if loc := p.header.Get("Location"); loc != "/ui/objects?type=indicator" {
		t.Fatalf("after sign-in: %q", loc)
	}
	cookies := p.header.Values("Set-Cookie")
	if len(cookies) != 1 {
		t.Fatalf("cookies %v", cookies)
	}
	c := cookies[0]
	for _, want := range []string{"__Host-quadshare-session=", "Path=/", "HttpOnly", "Secure", "SameSite=Strict"} {
		if !strings.Contains(c, want) {
			t.Errorf("session cookie lacks %s: %s", want, c)
		}
	}
	if strings.Contains(c, e.tokens["ana"][20:]) {
		t.Error("the cookie carries the token secret")
	}
	must(t, b.get("/ui/objects"), http.StatusOK)
	must(t, b.get("/ui/"), http.StatusSeeOther)

	// An open redirect is not followed.
	p = e.browser().post("/ui/signin", url.Values{"user": {"ana"}, "token": {e.tokens["ana"]}, "next": {"//evil.example/x"}})
	if loc := p.header.Get("Location"); loc != "/ui/dashboard" {
		t.Fatalf("next=//evil.example: redirect to %q", loc)
	}

	// A forged cookie is refused.
	forged := e.browser()
	u, _ := url.Parse(e.n.URL)
	value := strings.SplitN(strings.TrimPrefix(c, "__Host-quadshare-session="), ";", 2)[0]
	payload, mac, _ := strings.Cut(value, ".")
	forged.c.Jar.SetCookies(u, []*http.Cookie{{Name: "__Host-quadshare-session", Value: payload + "x." + mac, Path: "/", Secure: true}})
	must(t, forged.get("/ui/objects"), http.StatusSeeOther)

	// The same cookie replayed works until sign-out, then no more.
	replay := e.browser()
	replay.c.Jar.SetCookies(u, []*http.Cookie{{Name: "__Host-quadshare-session", Value: value, Path: "/", Secure: true}})
	must(t, replay.get("/ui/objects"), http.StatusOK)
	must(t, b.post("/ui/signout", url.Values{}), http.StatusSeeOther)
	must(t, b.get("/ui/objects"), http.StatusSeeOther)
	must(t, replay.get("/ui/objects"), http.StatusSeeOther)

	// Revoking the token ends the sessions made with it.
	s := e.as("rdr")
	must(t, s.get("/ui/objects"), http.StatusOK)
	tokID := strings.Split(e.tokens["rdr"], "_")[1]
	if err := e.st.RevokeToken(context.Background(), tokID, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	must(t, s.get("/ui/objects"), http.StatusSeeOther)
}

// Cross-origin writes are refused (CSRF), whatever the cookie.
func TestCrossOriginRefused(t *testing.T) {
	e := newEnv(t)
	b := e.as("op")
	form := reportForm()
	b.site = "cross-site"
	must(t, b.post("/ui/reports", form), http.StatusForbidden)
	b.site, b.origin = "", "https://evil.example"
	must(t, b.post("/ui/reports", form), http.StatusForbidden)
	must(t, b.post("/ui/signout", url.Values{}), http.StatusForbidden)
	// Nothing was filed, and the session still stands.
	b.origin, b.site = "", "same-origin"
	p := must(t, b.get("/ui/reports"), http.StatusOK)
	if !strings.Contains(p.body, "No reports.") {
		t.Fatal("a cross-origin submission was filed")
	}
	// A cross-site sign-in is refused too (login CSRF).
	o := e.browser()
	o.site = "cross-site"
	must(t, o.post("/ui/signin", url.Values{"user": {"ana"}, "token": {e.tokens["ana"]}}), http.StatusForbidden)
}

var (
	inlineScript = regexp.MustCompile(`<script(?:\s[^>]*)?>`)
	inlineStyle  = regexp.MustCompile(`(?i)<style|\sstyle=|\son[a-z]+=|javascript:`)
)

// Every page carries the strict policy and gives the browser nothing inline to run.
func TestContentSecurityPolicy(t *testing.T) {
	e := newEnv(t)
	e.put(indicator(1, "green thing", tlpGreen))
	pages := map[string][]string{
		"":     {"/ui/signin"},
		"root": {"/ui/dashboard", "/ui/objects", "/ui/objects?q=green", "/ui/collections/" + collIntel + "/objects/" + indicatorID(1), "/ui/audit", "/ui/audit?verify=1", "/ui/admin", "/ui/reports", "/ui/nothing"},
		"op":   {"/ui/reports/new", "/ui/reports"},
	}
	for user, paths := range pages {
		b := e.browser()
		if user != "" {
			b.signIn(user)
		}
		for _, path := range paths {
			p := b.get(path)
			if p.status != http.StatusOK && p.status != http.StatusNotFound {
				t.Fatalf("%s %s: %d %.300s", user, path, p.status, p.body)
			}
			if got := p.header.Get("Content-Security-Policy"); got != web.ContentSecurityPolicy {
				t.Errorf("%s: CSP %q", path, got)
			}
			if p.header.Get("X-Frame-Options") != "DENY" || p.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s: headers %v", path, p.header)
			}
			for _, s := range inlineScript.FindAllString(p.body, -1) {
				if !strings.Contains(s, `src="/ui/static/`) {
					t.Errorf("%s: inline script %s", path, s)
				}
			}
			if m := inlineStyle.FindString(p.body); m != "" {
				t.Errorf("%s: inline style or handler %q", path, m)
			}
		}
	}
	if !strings.Contains(web.ContentSecurityPolicy, "script-src 'self'") || strings.Contains(web.ContentSecurityPolicy, "unsafe") {
		t.Fatalf("policy %s", web.ContentSecurityPolicy)
	}
	b := e.browser()
	p := must(t, b.get("/ui/static/htmx.min.js"), http.StatusOK)
	if !strings.Contains(p.body, "htmx") || !strings.HasPrefix(p.header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("htmx: %s", p.header.Get("Content-Type"))
	}
	must(t, b.get("/ui/static/"), http.StatusNotFound)
}

// Each role reaches its pages and no other.
func TestRoles(t *testing.T) {
	e := newEnv(t)
	cases := map[string]map[string]int{
		"root":    {"/ui/dashboard": 200, "/ui/objects": 200, "/ui/audit": 200, "/ui/admin": 200, "/ui/reports": 200, "/ui/reports/new": 403},
		"ana":     {"/ui/dashboard": 200, "/ui/objects": 200, "/ui/audit": 200, "/ui/admin": 403, "/ui/reports": 200, "/ui/reports/new": 403},
		"rdr":     {"/ui/dashboard": 403, "/ui/objects": 200, "/ui/audit": 403, "/ui/admin": 403, "/ui/reports": 403, "/ui/reports/new": 403},
		"op":      {"/ui/dashboard": 403, "/ui/objects": 200, "/ui/audit": 403, "/ui/admin": 403, "/ui/reports": 200, "/ui/reports/new": 200},
		"cleared": {"/ui/admin": 403},
	}
	for user, paths := range cases {
		b := e.as(user)
		for path, want := range paths {
			if got := b.get(path).status; got != want {
				t.Errorf("%s %s: %d, want %d", user, path, got, want)
			}
		}
	}
	// The operator does not see the intelligence collection it has no grant on.
	if p := must(t, e.as("op").get("/ui/objects?collection="+collIntel), http.StatusOK); strings.Contains(p.body, collIntel) {
		t.Fatal("the operator is offered a collection it may not read")
	}
	// The API still wants HTTP Basic: a session cookie does not open it.
	b := e.as("root")
	if got := b.get("/taxii2/").status; got != http.StatusUnauthorized {
		t.Fatalf("TAXII with a session cookie only: %d", got)
	}
}

// A user without the clearance does not see a SECRET object in the list, the search
// or its page; a cleared one does, and that disclosure is in the audit trail.
func TestClearance(t *testing.T) {
	e := newEnv(t)
	e.put(indicator(1, "plain green", tlpGreen), indicator(2, "classified thing", tlpGreen, secret))
	list := "/ui/objects?collection=" + collIntel
	search := "/ui/objects?q=classified"
	objPage := "/ui/collections/" + collIntel + "/objects/" + indicatorID(2)

	ana := e.as("ana")
	p := must(t, ana.get(list), http.StatusOK)
	if !strings.Contains(p.body, indicatorID(1)) || strings.Contains(p.body, indicatorID(2)) || strings.Contains(p.body, "classified thing") {
		t.Fatalf("uncleared analyst, list: %s", p.body)
	}
	if p := must(t, ana.get(search), http.StatusOK); strings.Contains(p.body, "classified thing") {
		t.Fatal("uncleared analyst found the SECRET object by search")
	}
	must(t, ana.get(objPage), http.StatusNotFound)

	cl := e.as("cleared")
	if p := must(t, cl.get(list), http.StatusOK); !strings.Contains(p.body, indicatorID(2)) {
		t.Fatalf("cleared analyst, list: %s", p.body)
	}
	if p := must(t, cl.get(search), http.StatusOK); !strings.Contains(p.body, indicatorID(2)) {
		t.Fatalf("cleared analyst, search: %s", p.body)
	}
	p = must(t, cl.get(objPage), http.StatusOK)
	if !strings.Contains(p.body, "classified thing") || !strings.Contains(p.body, secret) || !strings.Contains(p.body, "TLP:GREEN") {
		t.Fatalf("cleared analyst, object page: %s", p.body)
	}

	// The trail names who received what, through which page.
	seen := map[string]map[string]bool{} // actor -> endpoint of disclosures of object 2
	recs, err := e.st.AuditRecords(context.Background(), 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Kind != audit.Disclosure {
			continue
		}
		for _, o := range r.Objects {
			if o.ID == indicatorID(2) {
				if seen[r.Actor] == nil {
					seen[r.Actor] = map[string]bool{}
				}
				seen[r.Actor][string(r.Detail)] = true
			}
		}
	}
	if len(seen["user:user-ana"]) != 0 {
		t.Errorf("a disclosure to the uncleared analyst is recorded: %v", seen["user:user-ana"])
	}
	for _, ep := range []string{"web-objects", "web-search", "web-object"} {
		if !seen["user:user-cleared"][`{"endpoint":"`+ep+`"}`] {
			t.Errorf("no disclosure of the SECRET object recorded for %s: %v", ep, seen)
		}
	}
	// And the trail verifies, as its page says.
	p = must(t, e.as("root").get("/ui/audit?verify=1"), http.StatusOK)
	if !strings.Contains(p.body, "Intact") {
		t.Fatalf("audit page: %s", p.body)
	}
}

func reportForm() url.Values {
	return url.Values{
		"idempotency_key": {"web-test-1"},
		"title":           {"Ransomware on the billing servers"},
		"description":     {"Files encrypted on <b>three</b> servers."},
		"detected_at":     {time.Now().UTC().Add(-2 * time.Hour).Format("2006-01-02T15:04")},
		"impact":          {"significant"},
		"tlp":             {"amber"},
		"ongoing":         {"on"},
		"indicators":      {"ip 203.0.113.7\ndomain Evil.Example\nhash SHA-256 " + strings.Repeat("ab", 32)},
		"techniques":      {"T1486, T1566.001"},
	}
}

// An operator files a report through the form; refused fields come back marked;
// a double submission files once; the analyst sees it on the dashboard.
func TestOperatorFilesReport(t *testing.T) {
	e := newEnv(t)
	op := e.as("op")
	p := must(t, op.get("/ui/reports/new"), http.StatusOK)
	if !strings.Contains(p.body, "soci-significant") && !strings.Contains(p.body, "12 hours") {
		t.Fatalf("the form does not show the deadlines: %s", p.body)
	}
	bad := reportForm()
	bad.Set("title", "")
	bad.Set("indicators", "ip not-an-ip")
	bad.Set("detected_at", "yesterday")
	p = must(t, op.post("/ui/reports", bad), http.StatusUnprocessableEntity)
	if !strings.Contains(p.body, `id="detected_at-error"`) {
		t.Fatalf("the refused time is not marked: %s", p.body)
	}
	bad.Set("detected_at", reportForm().Get("detected_at"))
	p = must(t, op.post("/ui/reports", bad), http.StatusUnprocessableEntity)
	for _, id := range []string{`id="title-error"`, `id="indicators-error"`} {
		if !strings.Contains(p.body, id) {
			t.Errorf("refusal not marked %s: %s", id, p.body)
		}
	}
	if !strings.Contains(p.body, "Files encrypted on &lt;b&gt;three&lt;/b&gt; servers.") {
		t.Error("the form does not keep what was typed, escaped")
	}

	p = must(t, op.post("/ui/reports", reportForm()), http.StatusSeeOther)
	loc := p.header.Get("Location")
	if !strings.HasPrefix(loc, "/ui/reports/") || !strings.HasSuffix(loc, "?filed=1") {
		t.Fatalf("after filing: %q", loc)
	}
	again := must(t, op.post("/ui/reports", reportForm()), http.StatusSeeOther)
	if again.header.Get("Location") != loc {
		t.Fatalf("a double submission filed twice: %q then %q", loc, again.header.Get("Location"))
	}
	p = must(t, op.get(loc), http.StatusOK)
	for _, want := range []string{"Your report was received", "Ransomware on the billing servers", "signature", "soci-significant", "203.0.113.7", "evil.example"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("report page lacks %q", want)
		}
	}
	reportPath := strings.TrimSuffix(loc, "?filed=1")
	id := strings.TrimPrefix(reportPath, "/ui/reports/")

	// A follow-up: the update form carries the report's id and its content.
	p = must(t, op.get(reportPath+"/update"), http.StatusOK)
	for _, want := range []string{`name="id" value="` + id + `"`, "ip 203.0.113.7", "hash SHA-256 " + strings.Repeat("ab", 32), "T1486, T1566.001"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("update form lacks %q", want)
		}
	}
	upd := reportForm()
	upd.Set("id", id)
	upd.Set("idempotency_key", "web-test-2")
	upd.Set("description", "Now contained.")
	upd.Set("indicators", "ip 203.0.113.7 # C2 server")
	p = must(t, op.post("/ui/reports", upd), http.StatusSeeOther)
	if p.header.Get("Location") != loc {
		t.Fatalf("the update went to %q", p.header.Get("Location"))
	}
	p = must(t, op.get(reportPath), http.StatusOK)
	if !strings.Contains(p.body, "2 version(s)") || !strings.Contains(p.body, "Now contained.") {
		t.Fatalf("after the update: %s", p.body)
	}
	// Nobody else's report can be updated from the form.
	must(t, e.as("ana").get(reportPath+"/update"), http.StatusForbidden)

	ana := e.as("ana")
	p = must(t, ana.get("/ui/dashboard"), http.StatusOK)
	if !strings.Contains(p.body, reportPath) || !strings.Contains(p.body, "<svg") {
		t.Fatalf("dashboard: %s", p.body)
	}
	if !strings.Contains(p.body, "Grid Co") {
		t.Error("the analyst does not see the operator")
	}
	p = must(t, ana.get(reportPath), http.StatusOK)
	if !strings.Contains(p.body, `action="/ui/reports/`+id+`/release"`) || !strings.Contains(p.body, "Shared with partners") {
		t.Fatalf("the analyst is not offered the triage forms: %s", p.body)
	}
	// Triage through the API's own rules: a wrong TLP and a release before triage
	// are refused with the API's message; a note with a status, then a release, work.
	p = must(t, ana.post(reportPath+"/marking", url.Values{"tlp": {"purple"}}), http.StatusUnprocessableEntity)
	if !strings.Contains(p.body, "tlp") || !strings.Contains(p.body, `role="alert"`) {
		t.Fatalf("refused marking: %s", p.body)
	}
	must(t, ana.post(reportPath+"/release", url.Values{"collection": {collShared}}), http.StatusConflict)
	p = must(t, ana.post(reportPath+"/notes", url.Values{"text": {"Confirmed with the operator."}, "status": {"triaged"}}), http.StatusSeeOther)
	if p.header.Get("Location") != reportPath+"?done=notes" {
		t.Fatalf("after the note: %q", p.header.Get("Location"))
	}
	must(t, ana.post(reportPath+"/release", url.Values{"collection": {collShared}, "note": {"To partners."}}), http.StatusSeeOther)
	p = must(t, ana.get(reportPath), http.StatusOK)
	for _, want := range []string{"<dd>shared</dd>", "Confirmed with the operator.", "To partners."} {
		if !strings.Contains(p.body, want) {
			t.Errorf("after the release the report page lacks %q", want)
		}
	}
	p = must(t, e.as("cleared").get("/ui/objects?collection="+collShared+"&type=incident"), http.StatusOK)
	if !strings.Contains(p.body, "Ransomware on the billing servers") {
		t.Fatalf("the released incident is not in the collection: %s", p.body)
	}
	// Neither an operator nor a reader may triage.
	must(t, op.post(reportPath+"/notes", url.Values{"text": {"x"}}), http.StatusForbidden)
	// Another user of no operator and no analyst role does not.
	must(t, e.as("rdr").get(reportPath), http.StatusForbidden)
}

// Failed sign-ins count against the same limits as the API's failed logins.
func TestSignInRateLimited(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	bad := url.Values{"user": {"ana"}, "token": {"qs_0000000000000000_" + strings.Repeat("0", 64)}}
	status := 0
	for range 12 {
		if status = b.post("/ui/signin", bad).status; status == http.StatusTooManyRequests {
			break
		}
	}
	if status != http.StatusTooManyRequests {
		t.Fatalf("after 12 failed sign-ins: %d", status)
	}
	// Good credentials from the limited client wait too.
	p := b.post("/ui/signin", url.Values{"user": {"ana"}, "token": {e.tokens["ana"]}})
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" {
		t.Fatalf("good credentials while limited: %d", p.status)
	}
}

// putFrom stores raw objects in the intelligence collection as a partner's
// federation receiver does: the peer is the actor of the receipt, its
// organisation the submitter.
func (e *env) putFrom(peerName, submitter string, raws ...[]byte) {
	e.t.Helper()
	var objs []stix.Object
	for _, r := range raws {
		o, err := stix.Parse(r)
		if err != nil {
			e.t.Fatalf("%v: %s", err, r)
		}
		objs = append(objs, o)
	}
	if _, err := e.st.Put(store.WithActor(context.Background(), "peer:"+peerName), e.coll, submitter, objs); err != nil {
		e.t.Fatal(err)
	}
}

const peerOrgID = "0d3c7a52-4d0e-4c55-8f57-2b1b3a1c0002" // the JP node's organisation in newEnv

// jpPeer pins a JP partner node whose objects are signed by the returned signer.
func jpPeer(t testing.TB, e *env) *provenance.Signer {
	t.Helper()
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	sg, err := provenance.NewSigner("JP", "identity--7a1b2c3d-0000-4000-8000-000000000001", key)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.CreatePeer(context.Background(), store.Peer{Name: "jp-node", Nation: "JP", URL: "https://127.0.0.1:1/api/",
		Fingerprint: strings.Repeat("ab", 32), PublicKey: sg.Public(), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return sg
}

func sign(t testing.TB, sg *provenance.Signer, raw string) []byte {
	t.Helper()
	b, err := sg.Sign([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The dashboard counts, per partner, the versions sent and received in the last
// day and week from the trail, and shows the link's state.
func TestDashboardPartners(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	jpPeer(t, e)
	now := time.Now().UTC()
	refs := func(n int) []audit.ObjectRef {
		out := make([]audit.ObjectRef, n)
		for i := range out {
			out[i] = audit.ObjectRef{ID: indicatorID(100 + i), Version: "2026-01-01T00:00:00.000Z"}
		}
		return out
	}
	entries := []audit.Entry{
		{Kind: audit.Disclosure, Time: now.Add(-2 * time.Hour), Actor: "peer:JP", Subject: "collection:" + collShared, Rule: "agreement:jp/1", Objects: refs(3)},
		// the redactions of that disclosure list its versions again: not counted twice
		{Kind: audit.Disclosure, Time: now.Add(-2 * time.Hour), Actor: "peer:JP", Subject: "collection:" + collShared, Rule: "redacted", Objects: refs(3)},
		// the partner's own read over TAXII, three days ago
		{Kind: audit.Disclosure, Time: now.Add(-72 * time.Hour), Actor: "peer:JP:user-jp", Subject: "collection:" + collShared, Rule: "agreement:jp/1", Objects: refs(5)},
		{Kind: audit.Disclosure, Time: now.Add(-240 * time.Hour), Actor: "peer:JP", Subject: "collection:" + collShared, Rule: "agreement:jp/1", Objects: refs(7)},
		{Kind: audit.Receipt, Time: now.Add(-120 * time.Hour), Actor: "peer:jp-node", Subject: "collection:" + collIntel, Objects: refs(6)},
		// other recipients
		{Kind: audit.Disclosure, Time: now.Add(-time.Hour), Actor: "peer:IN", Subject: "collection:" + collShared, Rule: "agreement:in/1", Objects: refs(11)},
		{Kind: audit.Disclosure, Time: now.Add(-time.Hour), Actor: "user:user-ana", Subject: "collection:" + collShared, Rule: "own-agency", Objects: refs(13)},
	}
	if err := e.st.AppendAudit(ctx, entries...); err != nil {
		t.Fatal(err)
	}
	// four versions received now, through the store's own receipt
	var raws [][]byte
	for i := range 4 {
		raws = append(raws, []byte(indicator(200+i, "received", tlpGreen)))
	}
	e.putFrom("jp-node", peerOrgID, raws...)
	success := now.Add(-time.Minute).Truncate(time.Second)
	if err := e.st.RecordPeer(ctx, "jp-node", store.PeerEvent{Success: true, At: success}); err != nil {
		t.Fatal(err)
	}

	p := must(t, e.as("ana").get("/ui/dashboard"), http.StatusOK)
	row := regexp.MustCompile(`(?s)<th scope="row">jp-node <span class="muted">\(JP\)</span></th>\s*` +
		`<td class="num">(\d+)</td><td class="num">(\d+)</td><td class="num">(\d+)</td><td class="num">(\d+)</td>`).FindStringSubmatch(p.body)
	if row == nil {
		t.Fatalf("no row for the partner: %s", p.body)
	}
	if got, want := row[1:], []string{"3", "8", "4", "10"}; !slices.Equal(got, want) {
		t.Errorf("sent day, week, received day, week: %v, want %v", got, want)
	}
	if !strings.Contains(p.body, success.Format("2006-01-02 15:04:05Z")) {
		t.Error("the last success is not shown")
	}
	if !strings.Contains(p.body, "jp-node sent 8; jp-node received 10") {
		t.Errorf("the partner chart does not describe the week: %s", p.body)
	}
	// No partner: the section says so.
	if err := e.st.DeletePeer(ctx, "jp-node"); err != nil {
		t.Fatal(err)
	}
	if p := must(t, e.as("ana").get("/ui/dashboard"), http.StatusOK); !strings.Contains(p.body, "federates with no partner") {
		t.Error("without partners the dashboard does not say so")
	}
}

// The object page shows the agency's analysts where a version came from, with
// its signature checked against the pinned partner keys, and the disclosures of
// the object; others see neither, and a withheld object shows nothing of them.
func TestObjectProvenanceAndDisclosures(t *testing.T) {
	e := newEnv(t)
	sg := jpPeer(t, e)
	stranger, err := provenance.NewSigner("JP", "identity--7a1b2c3d-0000-4000-8000-000000000002", ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Replace(sign(t, sg, indicator(7, "original name", tlpGreen)), []byte("original name"), []byte("altered name!"), 1)
	e.putFrom("jp-node", peerOrgID, sign(t, sg, indicator(5, "from japan", tlpGreen)), sign(t, stranger, indicator(6, "unknown signer", tlpGreen)), tampered)
	e.put(indicator(1, "made here", tlpGreen), indicator(2, "classified thing", tlpGreen, secret))
	if err := e.st.AppendAudit(context.Background(),
		audit.Entry{Kind: audit.Disclosure, Time: time.Now(), Actor: "peer:JP", Subject: "collection:" + collShared, Rule: "agreement:jp/7",
			Objects: []audit.ObjectRef{{ID: indicatorID(5), Version: "2026-01-01T00:00:00.000Z"}}, Detail: []byte(`{"endpoint":"push"}`)},
		audit.Entry{Kind: audit.Disclosure, Time: time.Now(), Actor: "peer:IN", Subject: "collection:" + collShared, Rule: "agreement:in/2",
			Objects: []audit.ObjectRef{{ID: indicatorID(6), Version: "2026-01-01T00:00:00.000Z"}}},
	); err != nil {
		t.Fatal(err)
	}
	obj := func(n int) string { return "/ui/collections/" + collIntel + "/objects/" + indicatorID(n) }
	cl := e.as("cleared")
	p := must(t, cl.get(obj(5)), http.StatusOK)
	for _, want := range []string{"Provenance", "the node of JP", `<span class="verified">verified</span> with the pinned key of partner jp-node`,
		provenance.KeyID(sg.Public()), "Disclosures", "<code>peer:JP</code>", "agreement:jp/7", "push", "<code>user:user-cleared</code>", "web-object"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("object 5 lacks %q", want)
		}
	}
	if strings.Contains(p.body, "peer:IN") {
		t.Error("object 5 lists a disclosure of another object")
	}
	if p := must(t, cl.get(obj(6)), http.StatusOK); !strings.Contains(p.body, "not verified</span>: signed with a key of no pinned partner") || !strings.Contains(p.body, "peer:IN") {
		t.Errorf("object 6: %s", p.body)
	}
	if p := must(t, cl.get(obj(7)), http.StatusOK); !strings.Contains(p.body, "the signature does not verify") {
		t.Errorf("the altered object 7: %s", p.body)
	}
	if p := must(t, cl.get(obj(1)), http.StatusOK); !strings.Contains(p.body, "this node (AU)") {
		t.Errorf("the local object 1: %s", p.body)
	}
	must(t, cl.get(obj(2)), http.StatusOK) // the cleared analyst's view of the SECRET object is a disclosure

	// A version whose provenance a granular marking withholds from an analyst
	// shows that analyst no origin, though it is verified on the stored form.
	withheld := strings.Replace(indicator(8, "origin withheld", tlpGreen), `"type":"indicator"`,
		`"granular_markings":[{"marking_ref":"`+secret+`","selectors":["extensions.`+provenance.ExtensionID+`"]}],"type":"indicator"`, 1)
	e.putFrom("jp-node", peerOrgID, sign(t, sg, withheld))
	if p := must(t, e.as("ana").get(obj(8)), http.StatusOK); strings.Contains(p.body, "the node of JP") || strings.Contains(p.body, provenance.KeyID(sg.Public())) ||
		!strings.Contains(p.body, "withheld") {
		t.Errorf("the uncleared analyst sees the withheld provenance: %s", p.body)
	}
	if p := must(t, cl.get(obj(8)), http.StatusOK); !strings.Contains(p.body, "the node of JP") {
		t.Errorf("the cleared analyst does not see the provenance: %s", p.body)
	}

	// A reader sees the object but neither its provenance nor who received it.
	p = must(t, e.as("rdr").get(obj(5)), http.StatusOK)
	if !strings.Contains(p.body, "from japan") || strings.Contains(p.body, "Disclosures") || strings.Contains(p.body, "Provenance") || strings.Contains(p.body, "peer:JP") {
		t.Errorf("the reader's object page: %s", p.body)
	}
	// The uncleared analyst gets nothing of the SECRET object, not even its disclosures.
	p = must(t, e.as("ana").get(obj(2)), http.StatusNotFound)
	if strings.Contains(p.body, "user:user-cleared") || strings.Contains(p.body, "classified") {
		t.Errorf("the withheld object's page shows: %s", p.body)
	}
	// Every record the page lists names the object.
	p = must(t, e.as("ana").get(obj(1)), http.StatusOK)
	listed := regexp.MustCompile(`<a href="/ui/audit\?after=\d+">(\d+)</a>`).FindAllStringSubmatch(p.body, -1)
	if len(listed) < 2 { // the cleared analyst's view and the uncleared one's
		t.Fatalf("object 1 lists %d disclosures: %s", len(listed), p.body)
	}
	recs, err := e.st.AuditRecords(context.Background(), 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range listed {
		seq, _ := strconv.ParseInt(m[1], 10, 64)
		i := slices.IndexFunc(recs, func(r audit.Record) bool { return r.Seq == seq })
		if i < 0 || recs[i].Kind != audit.Disclosure || !slices.ContainsFunc(recs[i].Objects, func(o audit.ObjectRef) bool { return o.ID == indicatorID(1) }) {
			t.Errorf("object 1 lists record %d, which does not disclose it", seq)
		}
	}
}

// The TLP, sector and origin filters select among what the gate releases: a
// withheld version never shows, a bounded scan links on to later versions, and
// bad values are refused.
func TestObjectFilters(t *testing.T) {
	e := newEnv(t)
	sg := jpPeer(t, e)
	const amber = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
	energy := `{"type":"identity","spec_version":"2.1","id":"identity--00000000-0000-4000-8000-000000000042","created":"2026-01-01T00:00:00.000Z",` +
		`"modified":"2026-01-01T00:00:00.000Z","name":"Energy Co","identity_class":"organization","sectors":["energy"],"object_marking_refs":["` + tlpGreen + `"]}`
	e.put(indicator(1, "green one", tlpGreen), indicator(2, "amber one", amber), indicator(3, "secret green", tlpGreen, secret), energy)
	// A version signed by JP in the inbound collection comes from JP; the same
	// claim in a collection anyone of ours may fill was checked by nobody.
	e.putFrom("jp-node", peerOrgID, sign(t, sg, indicator(6, "claims japan", tlpGreen)))
	inbound := e.inbound()
	e.coll = inbound
	e.putFrom("jp-node", peerOrgID, sign(t, sg, indicator(4, "from japan", tlpGreen)))
	e.coll = collIntel
	energyID := "identity--00000000-0000-4000-8000-000000000042"

	for _, tc := range []struct {
		user, query string
		want, not   []string
	}{
		{"ana", "nation=JP", []string{indicatorID(4)}, []string{indicatorID(6), indicatorID(1)}},
		{"ana", "nation=AU", nil, []string{indicatorID(4)}},
		{"ana", "nation=AU&q=japan", nil, []string{indicatorID(4)}},
	} {
		p := must(t, e.as(tc.user).get("/ui/objects?collection="+inbound+"&"+tc.query), http.StatusOK)
		for _, w := range tc.want {
			if !strings.Contains(p.body, w) {
				t.Errorf("inbound %s %s: %s not listed", tc.user, tc.query, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(p.body, n) {
				t.Errorf("inbound %s %s: %s listed", tc.user, tc.query, n)
			}
		}
	}
	// A search over every collection tells the origins apart as well.
	if p := must(t, e.as("ana").get("/ui/objects?nation=JP&q=japan"), http.StatusOK); !strings.Contains(p.body, indicatorID(4)) || strings.Contains(p.body, indicatorID(6)) {
		t.Errorf("search nation=JP: %s", p.body)
	}

	list := "/ui/objects?collection=" + collIntel + "&"
	for _, tc := range []struct {
		user, query string
		want, not   []string
	}{
		{"ana", "tlp=green", []string{indicatorID(1), indicatorID(6), energyID}, []string{indicatorID(2), indicatorID(3), "secret green"}},
		{"cleared", "tlp=green", []string{indicatorID(1), indicatorID(3), indicatorID(6)}, []string{indicatorID(2)}},
		{"ana", "tlp=amber", []string{indicatorID(2)}, []string{indicatorID(1), indicatorID(3), indicatorID(6), energyID}},
		{"ana", "sector=energy", []string{energyID}, []string{indicatorID(1), indicatorID(2), indicatorID(6)}},
		{"ana", "nation=JP", nil, []string{indicatorID(1), indicatorID(2), indicatorID(6), energyID}},
		{"ana", "nation=AU&tlp=green", []string{indicatorID(1), indicatorID(6), energyID}, []string{indicatorID(2), indicatorID(3)}},
		{"ana", "nation=AU&tlp=green&q=green", []string{indicatorID(1)}, []string{indicatorID(3), "secret green", energyID}},
		{"cleared", "tlp=green&q=green", []string{indicatorID(1), indicatorID(3)}, []string{indicatorID(2)}},
		{"ana", "tlp=red", nil, []string{indicatorID(1), indicatorID(2), indicatorID(3), indicatorID(6)}},
	} {
		p := must(t, e.as(tc.user).get(list+tc.query), http.StatusOK)
		for _, w := range tc.want {
			if !strings.Contains(p.body, w) {
				t.Errorf("%s %s: %s not listed", tc.user, tc.query, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(p.body, n) {
				t.Errorf("%s %s: %s listed", tc.user, tc.query, n)
			}
		}
	}
	// The form keeps the choices and offers the partners' nations.
	p := must(t, e.as("ana").get(list+"tlp=amber&sector=energy&nation=JP"), http.StatusOK)
	for _, want := range []string{`<option value="amber" selected>`, `<option value="energy" selected>`, `<option value="JP" selected>`, `<option value="AU">`, `<label for="sector">`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("filter form lacks %s", want)
		}
	}
	for _, bad := range []string{"tlp=purple", "sector=nonsense", "nation=jp", "nation=JPN"} {
		must(t, e.as("ana").get(list+bad), http.StatusBadRequest)
	}

	// A filter examines a bounded number of versions, then links on.
	var many []string
	for i := range 1100 {
		many = append(many, indicator(1000+i, "filler", tlpGreen))
	}
	e.put(many...)
	e.put(indicator(5000, "late amber", amber))
	ana := e.as("ana")
	p = must(t, ana.get(list+"tlp=amber"), http.StatusOK)
	if !strings.Contains(p.body, indicatorID(2)) || strings.Contains(p.body, indicatorID(5000)) || !strings.Contains(p.body, "Look at later versions") {
		t.Fatalf("first filtered page: %s", p.body)
	}
	next := regexp.MustCompile(`href="/ui/objects\?([^"]+)" rel="next"`).FindStringSubmatch(p.body)
	if next == nil {
		t.Fatal("no link on")
	}
	p = must(t, ana.get("/ui/objects?"+html.UnescapeString(next[1])), http.StatusOK)
	if !strings.Contains(p.body, indicatorID(5000)) || strings.Contains(p.body, "filler") {
		t.Fatalf("the page after the scan: %s", p.body)
	}
}

// An object without a TLP marking matches the TLP filter of the policy's
// default level however the policy file writes it ("TLP:AMBER" as well as
// "amber"), and no other.
func TestFilterDefaultTLP(t *testing.T) {
	e := newEnv(t)
	pc := e.n.Gate.Policy().Config()
	pc.Revision++
	pc.DefaultTLP = "TLP:AMBER"
	engine, err := policy.New(pc, e.n.Gate.Policy().Scales())
	if err != nil {
		t.Fatal(err)
	}
	e.n.Gate.SetPolicy(engine)
	unmarked := strings.Replace(indicator(9, "no tlp marking"), `,"object_marking_refs":[""]`, "", 1)
	e.put(unmarked)
	list := "/ui/objects?collection=" + collIntel + "&tlp="
	if p := must(t, e.as("cleared").get(list+"amber"), http.StatusOK); !strings.Contains(p.body, "no tlp marking") {
		t.Error("the unmarked object does not match the default level, TLP:AMBER")
	}
	if p := must(t, e.as("cleared").get(list+"clear"), http.StatusOK); strings.Contains(p.body, "no tlp marking") {
		t.Error("the unmarked object matches TLP:CLEAR")
	}
}
