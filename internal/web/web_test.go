package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"quadshare/internal/audit"
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
