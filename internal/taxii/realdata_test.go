package taxii

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"testing"

	"quadshare/internal/realdata"
)

// Point 9: the ATT&CK for ICS bundle, added over TAXII in envelopes, paged back with
// small limits: every object version comes back exactly once, in the order added.
func TestPageThroughATTACKICS(t *testing.T) {
	path := realdata.Path(t, "stix/ics-attack-18.1.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct{ Objects []json.RawMessage }
	if err := json.Unmarshal(raw, &bundle); err != nil {
		t.Fatal(err)
	}
	if len(bundle.Objects) < 1000 {
		t.Fatalf("bundle has %d objects", len(bundle.Objects))
	}
	e := newEnv(t, Config{MaxPageSize: 50})

	// Add in envelopes of 500; record the order of the successes.
	var added []string
	for start := 0; start < len(bundle.Objects); start += 500 {
		var objs [][]byte
		for _, o := range bundle.Objects[start:min(start+500, len(bundle.Objects))] {
			objs = append(objs, o)
		}
		st := e.post("admin", collA, objs...)
		if st["failure_count"] != float64(0) {
			t.Errorf("failures adding ATT&CK objects: %v", st["failures"])
		}
		for _, s := range st["successes"].([]any) {
			d := s.(map[string]any)
			added = append(added, d["id"].(string)+"@"+d["version"].(string))
		}
	}
	if len(added) != len(bundle.Objects) {
		t.Fatalf("%d of %d objects added", len(added), len(bundle.Objects))
	}

	for _, limit := range []string{"1", "7", "50"} {
		u := e.root + "collections/" + collA + "/objects/?match[version]=all&limit=" + limit
		var got []string
		seen := map[string]bool{}
		prevLast := ""
		next := ""
		for pages := 0; ; pages++ {
			if pages > len(added)+1 {
				t.Fatal("paging does not end")
			}
			q := u
			if next != "" {
				q += "&next=" + url.QueryEscape(next)
			}
			r := e.get("reader", q)
			mustStatus(t, r, http.StatusOK)
			var env struct {
				More    bool
				Next    string
				Objects []struct {
					ID, Modified, Created string
				}
			}
			decode(t, r, &env)
			first := r.header.Get("X-TAXII-Date-Added-First")
			if len(env.Objects) > 0 && first <= prevLast {
				t.Fatalf("limit %s: page starts at %s, not after the previous page's %s", limit, first, prevLast)
			}
			prevLast = r.header.Get("X-TAXII-Date-Added-Last")
			for _, o := range env.Objects {
				v := o.Modified
				if v == "" {
					v = o.Created
				}
				k := o.ID + "@" + v
				if seen[k] {
					t.Fatalf("limit %s: %s returned twice", limit, k)
				}
				seen[k] = true
				got = append(got, k)
			}
			if !env.More {
				break
			}
			next = env.Next
		}
		if len(got) != len(added) {
			t.Fatalf("limit %s: %d objects paged, %d added", limit, len(got), len(added))
		}
		for i := range got {
			if got[i] != added[i] {
				t.Fatalf("limit %s: object %d is %s, added as %s", limit, i, got[i], added[i])
			}
		}
	}
}
