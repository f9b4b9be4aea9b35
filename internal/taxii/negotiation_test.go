package taxii

import (
	"net/http"
	"testing"
	"time"
)

// Point 2: content negotiation and headers (§1.6.8, §3.1, §3.2).
func TestNegotiationAndHeaders(t *testing.T) {
	e := newEnv(t, Config{})
	e.post("admin", collA, sdo("tool", 1, "2020-01-01T00:00:00.000Z"), sdo("tool", 2, "2020-01-01T00:00:00.000Z"))
	objects := e.root + "collections/" + collA + "/objects/"

	t.Run("Accept", func(t *testing.T) {
		e := e.with(t)
		tests := []struct {
			accept string
			status int
		}{
			{"application/taxii+json;version=2.1", 200},
			{"application/taxii+json", 200},
			{"application/taxii+json; version=2.1; q=0.9, text/html;q=0.1", 200},
			{"*/*", 200},
			{"application/taxii+json;version=2.0", 406},
			{"application/json", 406},
			{"text/html", 406},
			{"application/taxii+json;q=0", 406},
		}
		for _, tt := range tests {
			for _, u := range []string{e.base + "/taxii2/", e.root, e.root + "collections/", objects} {
				r := e.get("reader", u, "Accept", tt.accept)
				mustStatus(t, r, tt.status)
			}
		}
		// No Accept header at all: TAXII requests MUST carry one (§3.1).
		mustStatus(t, e.get("reader", objects, "Accept", ""), http.StatusNotAcceptable)
	})
	t.Run("Content-Type of POST", func(t *testing.T) {
		e := e.with(t)
		body := envelopeOf(sdo("tool", 3, "2020-01-01T00:00:00.000Z"))
		for ct, status := range map[string]int{
			"application/taxii+json;version=2.1":                 202,
			"application/taxii+json":                             202,
			"application/taxii+json; charset=utf-8; version=2.1": 202,
			"application/json":                                   415,
			"application/stix+json;version=2.1":                  415,
			"application/taxii+json;version=2.0":                 415,
			"":                                                   415,
		} {
			r := e.req(http.MethodPost, "admin", objects, body, "Content-Type", ct)
			if r.status != status {
				t.Errorf("Content-Type %q: status %d, want %d", ct, r.status, status)
			}
			mustStatus(t, r, status)
		}
		// A POST with a bad Accept is 406 even with a good Content-Type.
		mustStatus(t, e.req(http.MethodPost, "admin", objects, body, "Accept", "application/xml"), http.StatusNotAcceptable)
	})
	t.Run("X-TAXII-Date-Added on every 200 of objects, object, manifest, versions", func(t *testing.T) {
		e := e.with(t)
		for _, u := range []string{
			objects,
			objects + "?match[type]=malware", // empty
			objects + "?added_after=2099-01-01T00:00:00Z",
			objects + sdoID("tool", 1) + "/",
			objects + sdoID("tool", 1) + "/versions/",
			e.root + "collections/" + collA + "/manifest/",
			e.root + "collections/" + collA + "/manifest/?match[id]=" + sdoID("tool", 2),
		} {
			r := e.get("reader", u)
			mustStatus(t, r, http.StatusOK)
			first, last := r.header.Get("X-TAXII-Date-Added-First"), r.header.Get("X-TAXII-Date-Added-Last")
			tf, err1 := time.Parse("2006-01-02T15:04:05.000000Z", first)
			tl, err2 := time.Parse("2006-01-02T15:04:05.000000Z", last)
			if err1 != nil || err2 != nil || tl.Before(tf) {
				t.Fatalf("%s: X-TAXII-Date-Added-First %q, -Last %q", u, first, last)
			}
		}
		// The headers name the first and last object returned.
		r := e.get("reader", e.root+"collections/"+collA+"/manifest/")
		var m struct {
			Objects []struct {
				DateAdded string `json:"date_added"`
			}
		}
		decode(t, r, &m)
		if len(m.Objects) < 2 || r.header.Get("X-TAXII-Date-Added-First") != m.Objects[0].DateAdded ||
			r.header.Get("X-TAXII-Date-Added-Last") != m.Objects[len(m.Objects)-1].DateAdded {
			t.Fatalf("headers %q %q for %s", r.header.Get("X-TAXII-Date-Added-First"), r.header.Get("X-TAXII-Date-Added-Last"), r.body)
		}
		// Errors carry neither header.
		r = e.get("reader", objects+"?limit=0")
		mustStatus(t, r, http.StatusBadRequest)
		if r.header.Get("X-TAXII-Date-Added-First") != "" {
			t.Fatal("error with X-TAXII-Date-Added-First")
		}
	})
	t.Run("401 carries WWW-Authenticate §1.6.9", func(t *testing.T) {
		e := e.with(t)
		r := e.get("", objects)
		mustStatus(t, r, http.StatusUnauthorized)
		if r.header.Get("WWW-Authenticate") == "" {
			t.Fatal("401 without WWW-Authenticate")
		}
		r = e.get("", objects, "Authorization", "Basic bm9ib2R5Om5vdGhpbmc=")
		mustStatus(t, r, http.StatusUnauthorized)
	})
}
