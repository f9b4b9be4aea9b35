package taxii

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// Point 6: every error is a TAXII error object whose http_status matches; nothing tells
// a collection the client may not see from one that does not exist (Appendix B).
func TestErrorsDoNotLeak(t *testing.T) {
	e := newEnv(t, Config{})
	e.post("admin", collHid, sdo("tool", 1, "2020-01-01T00:00:00.000Z"))
	missing := "0a0a0a0a-0000-4000-8000-000000000000"

	paths := []struct{ method, path string }{
		{http.MethodGet, "/"},
		{http.MethodGet, "/objects/"},
		{http.MethodGet, "/manifest/"},
		{http.MethodGet, "/objects/" + sdoID("tool", 1) + "/"},
		{http.MethodGet, "/objects/" + sdoID("tool", 1) + "/versions/"},
		{http.MethodPost, "/objects/"},
		{http.MethodDelete, "/objects/" + sdoID("tool", 1) + "/"},
		{http.MethodGet, "/objects/?match[type]=tool&limit=5"},
	}
	for _, p := range paths {
		var body []byte
		if p.method == http.MethodPost {
			body = envelopeOf(sdo("tool", 2, "2020-01-01T00:00:00.000Z"))
		}
		hidden := e.req(p.method, "reader", e.root+"collections/"+collHid+p.path, body)
		absent := e.req(p.method, "reader", e.root+"collections/"+missing+p.path, body)
		mustStatus(t, hidden, http.StatusNotFound)
		mustStatus(t, absent, http.StatusNotFound)
		if !sameError(t, hidden, absent) {
			t.Errorf("%s %s: a hidden collection answers %s, a missing one %s", p.method, p.path, hidden.body, absent.body)
		}
		for _, h := range []string{"Content-Type", "Content-Length", "Www-Authenticate", "Allow"} {
			if hidden.header.Get(h) != absent.header.Get(h) {
				t.Errorf("%s %s: header %s differs: %q, %q", p.method, p.path, h, hidden.header.Get(h), absent.header.Get(h))
			}
		}
	}
	// A collection the principal may only write to reads like a missing one too.
	for _, p := range []string{"/objects/", "/manifest/", "/objects/" + sdoID("tool", 1) + "/", "/objects/" + sdoID("tool", 1) + "/versions/"} {
		writeOnly := e.get("peer", e.root+"collections/"+collB+p)
		absent := e.get("peer", e.root+"collections/"+missing+p)
		mustStatus(t, writeOnly, http.StatusNotFound)
		if !sameError(t, writeOnly, absent) {
			t.Errorf("GET %s: write-only %s, missing %s", p, writeOnly.body, absent.body)
		}
	}
	// The collection list does not name it either.
	r := e.get("reader", e.root+"collections/")
	var cs struct{ Collections []struct{ ID string } }
	decode(t, r, &cs)
	for _, c := range cs.Collections {
		if c.ID == collHid {
			t.Fatal("hidden collection listed")
		}
	}
	// An unauthenticated client learns nothing either: 401 everywhere, before any lookup.
	a := e.get("", e.root+"collections/"+collHid+"/")
	b := e.get("", e.root+"collections/"+missing+"/")
	mustStatus(t, a, http.StatusUnauthorized)
	if !sameError(t, a, b) {
		t.Fatalf("unauthenticated: %s vs %s", a.body, b.body)
	}
}

// sameError compares two error bodies but for error_id, which is the request's own.
func sameError(t *testing.T, a, b resp) bool {
	t.Helper()
	var ma, mb map[string]any
	if json.Unmarshal(a.body, &ma) != nil || json.Unmarshal(b.body, &mb) != nil {
		t.Fatalf("error bodies %q %q", a.body, b.body)
	}
	if ma["error_id"] == "" || ma["error_id"] == mb["error_id"] {
		t.Fatalf("error_id %v %v: want distinct request ids", ma["error_id"], mb["error_id"])
	}
	delete(ma, "error_id")
	delete(mb, "error_id")
	return reflect.DeepEqual(ma, mb)
}

// An operator reads back only its own organisation's submissions (auth.Rights
// OnlySubmitter), on every reading endpoint.
func TestOperatorSeesOnlyOwnSubmissions(t *testing.T) {
	e := newEnv(t, Config{})
	e.post("admin", collInbox, sdo("tool", 1, "2020-01-01T00:00:00.000Z"))
	st := e.post("operator", collInbox, sdo("tool", 2, "2020-01-01T00:00:00.000Z"))
	base := e.root + "collections/" + collInbox + "/"
	r := e.get("operator2", base+"objects/") // same organisation, another user
	objs := objectsOf(t, r)
	if len(objs) != 1 || objs[0]["id"] != sdoID("tool", 2) {
		t.Fatalf("operator sees %s", r.body)
	}
	recs, _, _ := manifestOf(t, e.get("operator", base+"manifest/"))
	if len(recs) != 1 {
		t.Fatalf("operator manifest %v", recs)
	}
	mustStatus(t, e.get("operator", base+"objects/"+sdoID("tool", 1)+"/"), http.StatusNotFound)
	mustStatus(t, e.get("operator", base+"objects/"+sdoID("tool", 1)+"/versions/"), http.StatusNotFound)
	// The admin sees both.
	if n := len(objectsOf(t, e.get("admin", base+"objects/"))); n != 2 {
		t.Fatalf("admin sees %d", n)
	}
	// Its status is its own: the other user of its organisation cannot read it.
	mustStatus(t, e.get("operator", e.root+"status/"+st["id"].(string)+"/"), http.StatusOK)
	mustStatus(t, e.get("operator2", e.root+"status/"+st["id"].(string)+"/"), http.StatusNotFound)

	// A newer version of its object added by someone else neither hides its own
	// (the latest it may read) nor shows.
	e.post("admin", collInbox, sdo("tool", 2, "2021-01-01T00:00:00.000Z"))
	for _, u := range []string{base + "objects/", base + "objects/" + sdoID("tool", 2) + "/"} {
		objs := objectsOf(t, e.get("operator", u))
		if len(objs) != 1 || objs[0]["modified"] != "2020-01-01T00:00:00.000Z" {
			t.Fatalf("%s after another's newer version: %v; want its own", u, objs)
		}
	}
	if recs, _, _ := manifestOf(t, e.get("operator", base+"manifest/")); len(recs) != 1 {
		t.Fatalf("operator manifest after another's newer version: %v", recs)
	}
}

// A failure inside the server is a generic 500 TAXII error: no internal detail.
func TestInternalErrorIsGeneric(t *testing.T) {
	e := newEnv(t, Config{})
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{e.root + "collections/", e.root + "collections/" + collA + "/objects/"} {
		r := e.get("admin", u)
		mustStatus(t, r, http.StatusInternalServerError) // checkError refuses "sql", "sqlite", ".go:" in the body
		if id := r.json(t)["error_id"]; id != r.header.Get("X-Request-Id") || id == "" {
			t.Fatalf("error_id %v, X-Request-Id %q", id, r.header.Get("X-Request-Id"))
		}
	}
}

// TestUntextualInput: text that not every database can hold (U+0000, bytes
// that are not UTF-8) is answered as any other bad input, on either store: a
// collection so named does not exist, and an object holding U+0000 is refused
// with its reason while the rest of its envelope is stored.
func TestUntextualInput(t *testing.T) {
	e := newEnv(t, Config{})
	for _, c := range []string{"%00", "a%00b", "%ff", "%c3%28"} {
		for _, p := range []struct{ method, path string }{
			{http.MethodGet, "/"}, {http.MethodGet, "/objects/"}, {http.MethodGet, "/manifest/"},
			{http.MethodPost, "/objects/"}, {http.MethodDelete, "/objects/" + sdoID("tool", 1) + "/"},
		} {
			var body []byte
			if p.method == http.MethodPost {
				body = envelopeOf(sdo("tool", 1, "2020-01-01T00:00:00.000Z"))
			}
			mustStatus(t, e.req(p.method, "admin", e.root+"collections/"+c+p.path, body), http.StatusNotFound)
		}
	}
	nul := []byte(`{"type":"tool","spec_version":"2.1","id":"tool--00000002-0000-4000-8000-000000000002","created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:00.000Z","name":"a\u0000b"}`)
	// Refused before they are objects, quoted in the status: an id, a version.
	nulID := []byte(`{"type":"tool","spec_version":"2.1","id":"tool--0000000\u0000-0000-4000-8000-000000000003","created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:00.000Z","name":"x"}`)
	nulVersion := []byte(`{"type":"tool","spec_version":"2.1","id":"tool--00000004-0000-4000-8000-000000000004","created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:00.000Z\u0000","name":"x"}`)
	st := e.post("admin", collA, sdo("tool", 1, "2020-01-01T00:00:00.000Z"), nul, nulID, nulVersion)
	if st["success_count"] != float64(1) || st["failure_count"] != float64(3) {
		t.Fatalf("status %v", st)
	}
	if f := st["failures"].([]any)[0].(map[string]any); f["id"] != sdoID("tool", 2) || !strings.Contains(f["message"].(string), "U+0000") {
		t.Errorf("failure %v: want the object holding U+0000, with the reason", f)
	}
	for _, f := range st["failures"].([]any)[1:] {
		for k, v := range f.(map[string]any) {
			if strings.ContainsRune(v.(string), 0) {
				t.Errorf("failure %v: %s holds U+0000", f, k)
			}
		}
	}
	if r := e.get("admin", e.root+"collections/"+collA+"/objects/"+sdoID("tool", 1)+"/"); r.status != http.StatusOK {
		t.Errorf("the valid object of the envelope: %d %s", r.status, r.body)
	}
}
