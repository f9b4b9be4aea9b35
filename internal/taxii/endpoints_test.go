package taxii

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"quadshare/internal/httpx"
)

// Point 1: every endpoint, with the exact resource shapes (§4, §5).
func TestEndpointShapes(t *testing.T) {
	e := newEnv(t, Config{Title: "Node", Description: "Test node", MaxContentLength: 1 << 20})

	t.Run("discovery §4.1", func(t *testing.T) {
		e := e.with(t)
		r := e.get("reader", e.base+"/taxii2/")
		mustStatus(t, r, http.StatusOK)
		want := map[string]any{"title": "Node", "description": "Test node", "default": "/api/", "api_roots": []any{"/api/"}}
		if got := r.json(t); !reflect.DeepEqual(got, want) {
			t.Fatalf("discovery %v, want %v", got, want)
		}
	})
	t.Run("api root §4.2", func(t *testing.T) {
		e := e.with(t)
		r := e.get("reader", e.root)
		mustStatus(t, r, http.StatusOK)
		want := map[string]any{"title": "Node", "description": "Test node",
			"versions": []any{"application/taxii+json;version=2.1"}, "max_content_length": float64(1 << 20)}
		if got := r.json(t); !reflect.DeepEqual(got, want) {
			t.Fatalf("api root %v, want %v", got, want)
		}
	})
	t.Run("collections §5.1", func(t *testing.T) {
		e := e.with(t)
		r := e.get("reader", e.root+"collections/")
		mustStatus(t, r, http.StatusOK)
		var res struct{ Collections []map[string]any }
		_ = json.Unmarshal(r.body, &res)
		if len(res.Collections) != 1 {
			t.Fatalf("reader sees %d collections, want 1 (alpha): %s", len(res.Collections), r.body)
		}
		want := map[string]any{"id": collA, "title": "Alpha", "description": "Shared indicators", "alias": "alpha",
			"can_read": true, "can_write": false, "media_types": []any{"application/stix+json;version=2.1"}}
		if !reflect.DeepEqual(res.Collections[0], want) {
			t.Fatalf("collection %v, want %v", res.Collections[0], want)
		}
		// The admin sees every collection, in a consistent order (§3.3).
		r1, r2 := e.get("admin", e.root+"collections/"), e.get("admin", e.root+"collections/")
		if string(r1.body) != string(r2.body) || strings.Count(string(r1.body), `"id"`) != 4 {
			t.Fatalf("admin collections: %s", r1.body)
		}
		// No collection at all: {} (§5.1.1: the key MUST be omitted).
		r = e.get("outsider", e.root+"collections/")
		mustStatus(t, r, http.StatusOK)
		if string(r.body) != "{}" {
			t.Fatalf("no collections: %s, want {}", r.body)
		}
	})
	t.Run("collection §5.2 by id and alias", func(t *testing.T) {
		e := e.with(t)
		for _, ref := range []string{collA, "alpha"} {
			r := e.get("peer", e.root+"collections/"+ref+"/")
			mustStatus(t, r, http.StatusOK)
			m := r.json(t)
			if m["id"] != collA || m["can_read"] != true || m["can_write"] != true {
				t.Fatalf("collection %s: %v", ref, m)
			}
		}
		r := e.get("peer", e.root+"collections/"+collB+"/")
		mustStatus(t, r, http.StatusOK)
		if m := r.json(t); m["can_read"] != false || m["can_write"] != true || m["description"] != nil {
			t.Fatalf("write-only collection: %v", m)
		}
	})

	st := e.post("admin", collA, sdo("tool", 1, "2020-01-01T00:00:00.000Z"), sdo("tool", 1, "2021-01-01T00:00:00.000Z"),
		sdo("campaign", 2, "2020-06-01T00:00:00.000Z"))
	t.Run("status §4.3.1 from POST §5.5", func(t *testing.T) {
		e := e.with(t)
		if st["status"] != "complete" || st["total_count"] != float64(3) || st["success_count"] != float64(3) ||
			st["failure_count"] != float64(0) || st["pending_count"] != float64(0) {
			t.Fatalf("status %v", st)
		}
		for _, k := range []string{"failures", "pendings"} {
			if _, ok := st[k]; ok {
				t.Fatalf("empty list %s present: %v", k, st)
			}
		}
		if !strings.HasSuffix(st["request_timestamp"].(string), "Z") || len(st["request_timestamp"].(string)) != len("2016-11-02T12:34:34.123456Z") {
			t.Fatalf("request_timestamp %v: want microseconds", st["request_timestamp"])
		}
		r := e.get("admin", e.root+"status/"+st["id"].(string)+"/")
		mustStatus(t, r, http.StatusOK)
		if got := r.json(t); !reflect.DeepEqual(got, st) {
			t.Fatalf("GET status %v, want the POST answer %v", got, st)
		}
	})
	t.Run("objects §5.4", func(t *testing.T) {
		e := e.with(t)
		r := e.get("reader", e.root+"collections/"+collA+"/objects/")
		mustStatus(t, r, http.StatusOK)
		m := r.json(t)
		if _, ok := m["more"]; ok {
			t.Fatalf("more present when false: %v", m)
		}
		objs := objectsOf(t, r)
		if len(objs) != 2 || objs[0]["id"] != sdoID("tool", 1) || objs[0]["modified"] != "2021-01-01T00:00:00.000Z" {
			t.Fatalf("objects (last versions): %s", r.body)
		}
		// Objects come back byte for byte as they were sent.
		if !strings.Contains(string(r.body), string(sdo("campaign", 2, "2020-06-01T00:00:00.000Z"))) {
			t.Fatalf("object not returned as sent: %s", r.body)
		}
	})
	t.Run("empty envelope", func(t *testing.T) {
		e := e.with(t)
		r := e.get("reader", e.root+"collections/"+collA+"/objects/?match[type]=malware")
		mustStatus(t, r, http.StatusOK)
		if string(r.body) != "{}" {
			t.Fatalf("empty envelope %s, want {}", r.body)
		}
	})
	t.Run("object §5.6", func(t *testing.T) {
		e := e.with(t)
		r := e.get("reader", e.root+"collections/"+collA+"/objects/"+sdoID("tool", 1)+"/?match[version]=all")
		mustStatus(t, r, http.StatusOK)
		if objs := objectsOf(t, r); len(objs) != 2 {
			t.Fatalf("versions of tool 1: %s", r.body)
		}
		r = e.get("reader", e.root+"collections/"+collA+"/objects/"+sdoID("tool", 9)+"/")
		mustStatus(t, r, http.StatusNotFound)
		// An object that is there, with filters that exclude all its versions: an
		// empty envelope, and versions {} (§5.6, §5.8.1), not 404.
		for _, u := range []string{"/", "/versions/"} {
			r = e.get("reader", e.root+"collections/"+collA+"/objects/"+sdoID("tool", 1)+u+"?added_after=2999-01-01T00:00:00Z")
			if r.status != http.StatusOK || string(r.body) != "{}" {
				t.Fatalf("%s filtered to nothing: %d %s, want {}", u, r.status, r.body)
			}
		}
	})
	t.Run("manifest §5.3", func(t *testing.T) {
		e := e.with(t)
		r := e.get("reader", e.root+"collections/"+collA+"/manifest/?match[version]=all")
		mustStatus(t, r, http.StatusOK)
		var m struct{ Objects []map[string]any }
		_ = json.Unmarshal(r.body, &m)
		if len(m.Objects) != 3 {
			t.Fatalf("manifest: %s", r.body)
		}
		rec := m.Objects[0]
		if rec["id"] != sdoID("tool", 1) || rec["version"] != "2020-01-01T00:00:00.000Z" ||
			rec["media_type"] != "application/stix+json;version=2.1" || len(rec["date_added"].(string)) != len("2016-11-02T12:34:34.123456Z") {
			t.Fatalf("manifest record %v", rec)
		}
		if len(rec) != 4 {
			t.Fatalf("manifest record has extra keys: %v", rec)
		}
	})
	t.Run("versions §5.8", func(t *testing.T) {
		e := e.with(t)
		r := e.get("reader", e.root+"collections/"+collA+"/objects/"+sdoID("tool", 1)+"/versions/")
		mustStatus(t, r, http.StatusOK)
		want := map[string]any{"versions": []any{"2020-01-01T00:00:00.000Z", "2021-01-01T00:00:00.000Z"}}
		if got := r.json(t); !reflect.DeepEqual(got, want) {
			t.Fatalf("versions %v, want %v", got, want)
		}
		r = e.get("reader", e.root+"collections/"+collA+"/objects/"+sdoID("tool", 9)+"/versions/")
		mustStatus(t, r, http.StatusNotFound)
	})
	t.Run("unknown routes and methods", func(t *testing.T) {
		e := e.with(t)
		mustStatus(t, e.get("reader", e.base+"/nope/"), http.StatusNotFound)
		mustStatus(t, e.get("reader", e.root+"collections"), http.StatusNotFound) // §3.1: paths end in "/"
		r := e.req(http.MethodPut, "reader", e.root+"collections/"+collA+"/objects/", []byte("{}"))
		mustStatus(t, r, http.StatusMethodNotAllowed)
		if r.header.Get("Allow") != "GET, HEAD, POST" {
			t.Fatalf("Allow %q", r.header.Get("Allow"))
		}
		if r := e.req(http.MethodHead, "reader", e.root+"collections/"+collA+"/objects/", nil); r.status != http.StatusOK {
			t.Fatalf("HEAD, which Allow names: %d", r.status)
		}
	})
	t.Run("every response has the TAXII Content-Type §3.1", func(t *testing.T) {
		e := e.with(t)
		for _, u := range []string{e.base + "/taxii2/", e.root, e.root + "collections/", e.root + "status/00000000-0000-4000-8000-000000000000/"} {
			r := e.get("", u)
			mustStatus(t, r, http.StatusUnauthorized)
			if r.header.Get("Content-Type") != httpx.MediaType {
				t.Fatalf("%s: Content-Type %q", u, r.header.Get("Content-Type"))
			}
		}
	})
}
