package taxii

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// manifestOf returns "id@version" of each record of a manifest response, in order, and
// checks date_added ascends (§3.3).
func manifestOf(t testing.TB, r resp) (recs []string, more bool, next string) {
	t.Helper()
	var m struct {
		More    bool   `json:"more"`
		Next    string `json:"next"`
		Objects []struct {
			ID        string `json:"id"`
			Version   string `json:"version"`
			DateAdded string `json:"date_added"`
		} `json:"objects"`
	}
	decode(t, r, &m)
	prev := ""
	for _, o := range m.Objects {
		if o.DateAdded <= prev {
			t.Fatalf("date_added not ascending: %s after %s", o.DateAdded, prev)
		}
		prev = o.DateAdded
		recs = append(recs, o.ID+"@"+o.Version)
	}
	return recs, m.More, m.Next
}

// An SCO that omits spec_version is STIX 2.1 (STIX 2.1 §3.2), so match[spec_version]=2.1
// finds it, on every endpoint that filters (TAXII 2.1 §3.4.1).
func TestSCOSpecVersionDefault(t *testing.T) {
	e := newEnv(t, Config{})
	const id = "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"
	e.post("admin", collA, []byte(`{"type":"ipv4-addr","id":"`+id+`","value":"198.51.100.3"}`))
	col := e.root + "collections/" + collA
	for _, u := range []string{col + "/objects/", col + "/objects/" + id + "/", col + "/objects/" + id + "/versions/", col + "/manifest/"} {
		for spec, want := range map[string]int{"2.1": 1, "2.0,2.1": 1, "2.0": 0} {
			r := e.get("admin", u+"?match[spec_version]="+spec)
			var got int
			switch {
			case r.status == http.StatusNotFound:
			case strings.Contains(u, "/versions/"):
				var v struct{ Versions []string }
				decode(t, r, &v)
				got = len(v.Versions)
			default:
				got = len(objectsOf(t, r))
			}
			if got != want {
				t.Errorf("%s?match[spec_version]=%s: %d objects (status %d), want %d", u, spec, got, r.status, want)
			}
		}
	}
}

// An SCO has no created or modified: the version the server gives it (its date_added,
// TAXII 2.1 §3.4.1) selects it in match[version], and deletes it.
func TestSCOVersionMatches(t *testing.T) {
	e := newEnv(t, Config{})
	const id = "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"
	e.post("admin", collA, []byte(`{"type":"ipv4-addr","id":"`+id+`","value":"198.51.100.3"}`))
	obj := e.root + "collections/" + collA + "/objects/" + id + "/"
	var v struct{ Versions []string }
	decode(t, e.get("admin", obj+"versions/"), &v)
	if len(v.Versions) != 1 {
		t.Fatalf("versions: %v", v.Versions)
	}
	r := e.get("admin", obj+"?match[version]="+url.QueryEscape(v.Versions[0]))
	if r.status != http.StatusOK || len(objectsOf(t, r)) != 1 {
		t.Fatalf("the object at the version it was given: %d %s", r.status, r.body)
	}
	recs, _, _ := manifestOf(t, e.get("admin", e.root+"collections/"+collA+"/manifest/?match[version]="+url.QueryEscape(v.Versions[0])))
	if len(recs) != 1 || recs[0] != id+"@"+v.Versions[0] {
		t.Fatalf("manifest at that version: %v", recs)
	}
	mustStatus(t, e.req(http.MethodDelete, "admin", obj+"?match[version]=2020-01-01T00:00:00Z", nil), http.StatusNotFound)
	mustStatus(t, e.req(http.MethodDelete, "admin", obj+"?match[version]="+url.QueryEscape(v.Versions[0]), nil), http.StatusOK)
	mustStatus(t, e.get("admin", obj), http.StatusNotFound)
}

// Point 3: filters (§3.4) and pagination (§3.5).
func TestFilters(t *testing.T) {
	e := newEnv(t, Config{MaxPageSize: 5})
	v1, v2, v3 := "2020-01-01T00:00:00.000Z", "2021-01-01T00:00:00.000Z", "2022-01-01T00:00:00.000Z"
	// Added one request at a time, so date_added follows this order.
	e.post("admin", collA, sdo("tool", 1, v1))
	e.post("admin", collA, sdo("malware", 2, v1))
	e.post("admin", collA, sdo("tool", 1, v2))
	e.post("admin", collA, sdo("campaign", 3, v1))
	e.post("admin", collA, sdo("tool", 1, v3))
	e.post("admin", collA, sdo("malware", 2, v2))
	mid := e.get("reader", e.root+"collections/"+collA+"/manifest/?match[version]=all&limit=3").header.Get("X-TAXII-Date-Added-Last")

	t1, m2, c3 := sdoID("tool", 1), sdoID("malware", 2), sdoID("campaign", 3)
	at := func(id, v string) string { return id + "@" + v }
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{at(c3, v1), at(t1, v3), at(m2, v2)}}, // last versions, ascending date_added
		{"match[version]=last", []string{at(c3, v1), at(t1, v3), at(m2, v2)}},
		{"match[version]=first", []string{at(t1, v1), at(m2, v1), at(c3, v1)}},
		{"match[version]=all", []string{at(t1, v1), at(m2, v1), at(t1, v2), at(c3, v1), at(t1, v3)}}, // capped at 5
		{"match[version]=first,last", []string{at(t1, v1), at(m2, v1), at(c3, v1), at(t1, v3), at(m2, v2)}},
		{"match[version]=" + v2, []string{at(t1, v2), at(m2, v2)}},
		{"match[version]=" + v2 + "," + v3, []string{at(t1, v2), at(t1, v3), at(m2, v2)}},
		{"match[version]=first," + v2, []string{at(t1, v1), at(m2, v1), at(t1, v2), at(c3, v1), at(m2, v2)}},
		{"match[version]=2021-01-01T00:00:00Z", []string{at(t1, v2), at(m2, v2)}}, // same instant, other precision
		{"match[type]=tool", []string{at(t1, v3)}},
		{"match[type]=tool,campaign&match[version]=all", []string{at(t1, v1), at(t1, v2), at(c3, v1), at(t1, v3)}},
		{"match[type]=indicator", nil},
		{"match[id]=" + m2 + "&match[version]=all", []string{at(m2, v1), at(m2, v2)}},
		{"match[id]=" + m2 + "," + c3, []string{at(c3, v1), at(m2, v2)}},
		{"match[id]=" + m2 + "&match[type]=tool", nil},
		{"match[spec_version]=2.1", []string{at(c3, v1), at(t1, v3), at(m2, v2)}},
		{"match[spec_version]=2.0", nil},
		{"match[version]=all&added_after=" + url.QueryEscape(mid), []string{at(c3, v1), at(t1, v3), at(m2, v2)}},
		{"match[version]=all&limit=2", []string{at(t1, v1), at(m2, v1)}},
		{"match[unknown]=x", []string{at(c3, v1), at(t1, v3), at(m2, v2)}},
	}
	for _, tt := range tests {
		r := e.get("reader", e.root+"collections/"+collA+"/manifest/?"+tt.query)
		mustStatus(t, r, http.StatusOK)
		got, _, _ := manifestOf(t, r)
		if !slices.Equal(got, tt.want) {
			t.Errorf("manifest ?%s\n got %v\nwant %v", tt.query, got, tt.want)
		}
		// The objects endpoint filters identically (§5.3).
		r = e.get("reader", e.root+"collections/"+collA+"/objects/?"+tt.query)
		mustStatus(t, r, http.StatusOK)
		var ids []string
		for _, o := range objectsOf(t, r) {
			ids = append(ids, o["id"].(string)+"@"+o["modified"].(string))
		}
		if !slices.Equal(ids, tt.want) {
			t.Errorf("objects ?%s\n got %v\nwant %v", tt.query, ids, tt.want)
		}
	}
	// The object endpoint takes version filters too (§5.6).
	r := e.get("reader", e.root+"collections/"+collA+"/objects/"+t1+"/?match[version]=first,"+v3)
	mustStatus(t, r, http.StatusOK)
	if objs := objectsOf(t, r); len(objs) != 2 || objs[0]["modified"] != v1 || objs[1]["modified"] != v3 {
		t.Fatalf("object versions: %s", r.body)
	}

	t.Run("malformed parameters give 400", func(t *testing.T) {
		e := e.with(t)
		for _, q := range []string{"limit=0", "limit=-3", "limit=x", "added_after=2020-13-01T00:00:00Z",
			"added_after=2020-01-01", "added_after=2020-01-01T00:00:00Z&added_after=2020-01-01T00:00:00Z",
			"match[version]=all,last", "match[version]=newest", "match[version]=first,first", "match[id]=nope",
			"match[type]=Tool", "match[type]=", "match[spec_version]=latest", "next=bogus", "match[type]=tool&match[type]=malware"} {
			for _, ep := range []string{"objects/", "manifest/"} {
				mustStatus(t, e.get("reader", e.root+"collections/"+collA+"/"+ep+"?"+q), http.StatusBadRequest)
			}
		}
		mustStatus(t, e.get("reader", e.root+"collections/"+collA+"/objects/"+t1+"/?match[type]=tool"), http.StatusBadRequest)
		mustStatus(t, e.get("reader", e.root+"collections/"+collA+"/objects/"+t1+"/versions/?match[version]=all"), http.StatusBadRequest)
	})
}

func TestPagination(t *testing.T) {
	e := newEnv(t, Config{MaxPageSize: 4})
	var all []string
	for i := range 23 {
		e.post("admin", collA, sdo("tool", i, "2020-01-01T00:00:00.000Z"))
		all = append(all, sdoID("tool", i)+"@2020-01-01T00:00:00.000Z")
	}
	manifest := e.root + "collections/" + collA + "/manifest/"

	walk := func(t *testing.T, user, first string, limit int) (got []string, pages int) {
		e := e.with(t)
		u := first
		for {
			r := e.get(user, u)
			mustStatus(t, r, http.StatusOK)
			recs, more, next := manifestOf(t, r)
			if limit > 0 && len(recs) > limit {
				t.Fatalf("page of %d records for limit %d", len(recs), limit)
			}
			got = append(got, recs...)
			pages++
			if !more {
				if next != "" {
					t.Fatal("next without more")
				}
				return got, pages
			}
			if next == "" {
				t.Fatal("more without next")
			}
			sep := "?"
			if strings.Contains(first, "?") {
				sep = "&"
			}
			u = first + sep + "next=" + url.QueryEscape(next)
		}
	}
	t.Run("limit and next", func(t *testing.T) {
		got, pages := walk(t, "reader", manifest+"?limit=3", 3)
		if !slices.Equal(got, all) || pages != 8 {
			t.Fatalf("walked %d pages: %v", pages, got)
		}
	})
	t.Run("server maximum", func(t *testing.T) {
		e := e.with(t)
		r := e.get("reader", manifest+"?limit=100")
		recs, more, _ := manifestOf(t, r)
		if len(recs) != 4 || !more {
			t.Fatalf("limit above the maximum: %d records, more %v", len(recs), more)
		}
		got, _ := walk(t, "reader", manifest, 4)
		if !slices.Equal(got, all) {
			t.Fatalf("walk without limit: %v", got)
		}
	})
	t.Run("filters apply on every page", func(t *testing.T) {
		q := "?match[id]=" + sdoID("tool", 3) + "," + sdoID("tool", 7) + "," + sdoID("tool", 20) + "&limit=1"
		got, _ := walk(t, "reader", manifest+q, 1)
		if len(got) != 3 || got[0] != all[3] || got[2] != all[20] {
			t.Fatalf("filtered walk: %v", got)
		}
	})
	t.Run("tokens cannot be edited or reused elsewhere", func(t *testing.T) {
		e := e.with(t)
		r := e.get("reader", manifest+"?limit=2&match[type]=tool")
		_, _, next := manifestOf(t, r)
		raw, _ := base64.RawURLEncoding.DecodeString(next)
		raw[5] ^= 0x40 // move the cursor
		bad := base64.RawURLEncoding.EncodeToString(raw)
		for name, u := range map[string]string{
			"edited":          manifest + "?limit=2&match[type]=tool&next=" + bad,
			"other filter":    manifest + "?limit=2&match[type]=malware,tool&next=" + next,
			"other endpoint":  e.root + "collections/" + collA + "/objects/?limit=2&match[type]=tool&next=" + next,
			"no filter":       manifest + "?next=" + next,
			"other principal": "", // below
		} {
			user := "reader"
			if u == "" {
				user, u = "peer", manifest+"?limit=2&match[type]=tool&next="+next
			}
			r := e.get(user, u)
			if r.status != http.StatusBadRequest {
				t.Errorf("%s token: status %d, want 400", name, r.status)
			}
			mustStatus(t, r, http.StatusBadRequest)
		}
		// The same query with another limit keeps working.
		mustStatus(t, e.get("reader", manifest+"?limit=3&match[type]=tool&next="+next), http.StatusOK)
	})
	t.Run("objects, object and versions paginate", func(t *testing.T) {
		e := e.with(t)
		for i := range 5 {
			e.post("admin", collA, sdo("tool", 1000, fmt.Sprintf("2021-01-0%dT00:00:00.000Z", i+1)))
		}
		obj := e.root + "collections/" + collA + "/objects/" + sdoID("tool", 1000) + "/"
		for _, u := range []string{obj + "versions/?limit=2", obj + "?match[version]=all&limit=2"} {
			var n, pages int
			next := ""
			for {
				q := u
				if next != "" {
					q += "&next=" + url.QueryEscape(next)
				}
				r := e.get("reader", q)
				mustStatus(t, r, http.StatusOK)
				var m struct {
					More     bool
					Next     string
					Versions []string
					Objects  []any
				}
				decode(t, r, &m)
				n += len(m.Versions) + len(m.Objects)
				pages++
				if !m.More {
					break
				}
				next = m.Next
			}
			if n != 5 || pages != 3 {
				t.Fatalf("%s: %d versions in %d pages", u, n, pages)
			}
		}
	})
}

// Point 3: paging while another client writes returns every object that existed at
// the first page exactly once, and ends. The writer adds new objects, and in the second
// case also new versions of the objects being paged (the default match[version]=last
// must then be decided among the versions that existed at the first page).
func TestPaginationWhileWriting(t *testing.T) {
	for _, newVersions := range []bool{false, true} {
		t.Run(fmt.Sprintf("new versions %v", newVersions), func(t *testing.T) {
			pageWhileWriting(t, newVersions)
		})
	}
}

func pageWhileWriting(t *testing.T, newVersions bool) {
	e := newEnv(t, Config{})
	existing := map[string]bool{}
	var batch [][]byte
	for i := range 300 {
		batch = append(batch, sdo("tool", i, "2020-01-01T00:00:00.000Z"))
		existing[sdoID("tool", i)] = true
	}
	e.post("admin", collA, batch...)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	written := 0
	go func() {
		defer wg.Done()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			objs := [][]byte{sdo("campaign", 10000+n, "2020-01-01T00:00:00.000Z")}
			if newVersions {
				// Versions of the objects not yet paged: from the end.
				objs = append(objs, sdo("tool", 299-n%300, fmt.Sprintf("2021-01-01T00:00:%02d.%03dZ", n/1000%60, n%1000)))
			}
			e.post("peer", collA, objs...)
			written++
		}
	}()
	seen := map[string]int{}
	u := e.root + "collections/" + collA + "/objects/?limit=7"
	next, pages := "", 0
	for ; pages < 1000; pages++ {
		q := u
		if next != "" {
			q += "&next=" + url.QueryEscape(next)
		}
		r := e.get("reader", q)
		mustStatus(t, r, http.StatusOK)
		var m struct {
			More    bool
			Next    string
			Objects []struct{ ID string }
		}
		decode(t, r, &m)
		for _, o := range m.Objects {
			seen[o.ID]++
		}
		if !m.More {
			break
		}
		next = m.Next
		time.Sleep(2 * time.Millisecond) // let the writer in between pages
	}
	close(stop)
	wg.Wait()
	if pages == 1000 {
		t.Fatal("paging did not end")
	}
	if written == 0 {
		t.Fatal("the writer wrote nothing while paging")
	}
	var wrong []string
	for id, n := range seen {
		if n != 1 || !existing[id] && !strings.HasPrefix(id, "campaign--") {
			wrong = append(wrong, fmt.Sprintf("%s×%d", id, n))
		}
	}
	for id := range existing {
		if seen[id] != 1 {
			wrong = append(wrong, fmt.Sprintf("%s×%d", id, seen[id]))
		}
	}
	sort.Strings(wrong)
	if len(wrong) > 0 {
		t.Fatalf("objects not seen exactly once (%d pages, %d writes): %v", pages+1, written, wrong)
	}
	t.Logf("%d pages, %d writes during paging", pages+1, written)
}
