package taxii

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// Point 5: delete (§5.7) with the can_read/can_write matrix; a deleted version
// disappears from objects, manifest and versions.
func TestDelete(t *testing.T) {
	e := newEnv(t, Config{})
	v1, v2, v3 := "2020-01-01T00:00:00.000Z", "2021-01-01T00:00:00.000Z", "2022-01-01T00:00:00.000Z"
	e.post("admin", collA, sdo("tool", 1, v1), sdo("tool", 1, v2), sdo("tool", 1, v3), sdo("tool", 2, v1))
	e.post("admin", collB, sdo("tool", 1, v1))
	obj := func(coll string, n int) string {
		return e.root + "collections/" + coll + "/objects/" + sdoID("tool", n) + "/"
	}

	t.Run("rights matrix", func(t *testing.T) {
		e := e.with(t)
		tests := []struct {
			user, coll string
			status     int
		}{
			{"outsider", collA, http.StatusNotFound},   // can_read false, can_write false
			{"reader", collA, http.StatusForbidden},    // true, false
			{"peer", collB, http.StatusForbidden},      // false, true
			{"analyst", collA, http.StatusForbidden},   // analyst: read everywhere, write not granted
			{"operator", collA, http.StatusNotFound},   // no grant
			{"outsider", collHid, http.StatusNotFound}, // hidden collection
		}
		for _, tt := range tests {
			r := e.req(http.MethodDelete, tt.user, obj(tt.coll, 1)+"?match[version]="+v1, nil)
			if r.status != tt.status {
				t.Errorf("%s deleting in %s: %d, want %d", tt.user, tt.coll, r.status, tt.status)
			}
			mustStatus(t, r, tt.status)
		}
		// Nothing was deleted.
		r := e.get("admin", obj(collA, 1)+"versions/")
		var vs struct{ Versions []string }
		decode(t, r, &vs)
		if len(vs.Versions) != 3 {
			t.Fatalf("versions after refused deletes: %v", vs.Versions)
		}
	})
	t.Run("one version", func(t *testing.T) {
		e := e.with(t)
		r := e.req(http.MethodDelete, "peer", obj(collA, 1)+"?match[version]="+v2, nil) // partner: read+write on A
		mustStatus(t, r, http.StatusOK)
		if len(r.body) != 0 {
			t.Fatalf("DELETE body %q", r.body)
		}
		// Gone from the versions, the object (404 for that version, §5.7, though the
		// object is still there), the manifest and objects.
		r = e.get("reader", obj(collA, 1)+"versions/")
		var vs struct{ Versions []string }
		decode(t, r, &vs)
		if !slices.Equal(vs.Versions, []string{v1, v3}) {
			t.Fatalf("versions %v", vs.Versions)
		}
		mustStatus(t, e.get("reader", obj(collA, 1)+"?match[version]="+v2), http.StatusNotFound)
		// A kept version that other filters exclude is an empty envelope, not 404.
		for _, q := range []string{"&added_after=2999-01-01T00:00:00Z", "&match[spec_version]=2.0"} {
			if r := e.get("reader", obj(collA, 1)+"?match[version]="+v3+q); r.status != http.StatusOK || string(r.body) != "{}" {
				t.Fatalf("a kept version filtered out by %s: %d %s, want an empty envelope", q, r.status, r.body)
			}
		}
		// With a version still there beside it, the page holds that one.
		if objs := objectsOf(t, e.get("reader", obj(collA, 1)+"?match[version]="+v2+","+v3)); len(objs) != 1 {
			t.Fatalf("the object at a deleted and a kept version: %d objects, want 1", len(objs))
		}
		r = e.get("reader", e.root+"collections/"+collA+"/manifest/?match[version]=all&match[id]="+sdoID("tool", 1))
		recs, _, _ := manifestOf(t, r)
		if !slices.Equal(recs, []string{sdoID("tool", 1) + "@" + v1, sdoID("tool", 1) + "@" + v3}) {
			t.Fatalf("manifest %v", recs)
		}
		r = e.get("reader", e.root+"collections/"+collA+"/objects/?match[version]="+v2)
		if string(r.body) != "{}" {
			t.Fatalf("objects with the deleted version: %s", r.body)
		}
		// Deleting it again: nothing there.
		mustStatus(t, e.req(http.MethodDelete, "admin", obj(collA, 1)+"?match[version]="+v2, nil), http.StatusNotFound)
	})
	t.Run("last version, then the whole object", func(t *testing.T) {
		e := e.with(t)
		mustStatus(t, e.req(http.MethodDelete, "admin", obj(collA, 1)+"?match[version]=last", nil), http.StatusOK)
		r := e.get("reader", obj(collA, 1))
		objs := objectsOf(t, r)
		if len(objs) != 1 || objs[0]["modified"] != v1 {
			t.Fatalf("after deleting the last version: %s", r.body)
		}
		mustStatus(t, e.req(http.MethodDelete, "admin", obj(collA, 2), nil), http.StatusOK)
		mustStatus(t, e.get("reader", obj(collA, 2)), http.StatusNotFound)
		mustStatus(t, e.get("reader", obj(collA, 2)+"versions/"), http.StatusNotFound)
		// The copy in another collection is untouched.
		r = e.get("peer", obj(collB, 1))
		mustStatus(t, r, http.StatusNotFound) // peer cannot read B
		r = e.get("admin", obj(collB, 1))
		mustStatus(t, r, http.StatusOK)
		var env struct{ Objects []json.RawMessage }
		decode(t, r, &env)
		if len(env.Objects) != 1 {
			t.Fatalf("collection B lost its copy: %s", r.body)
		}
	})
	t.Run("operators cannot delete, even in their inbox", func(t *testing.T) {
		e := e.with(t)
		e.post("operator", collInbox, sdo("tool", 9, v1))
		mustStatus(t, e.req(http.MethodDelete, "operator", obj(collInbox, 9), nil), http.StatusForbidden)
		mustStatus(t, e.get("operator", obj(collInbox, 9)), http.StatusOK)
	})
	t.Run("malformed filters give 400", func(t *testing.T) {
		e := e.with(t)
		mustStatus(t, e.req(http.MethodDelete, "admin", obj(collA, 1)+"?match[version]=nope", nil), http.StatusBadRequest)
		mustStatus(t, e.req(http.MethodDelete, "admin", obj(collA, 1)+"?match[type]=tool", nil), http.StatusBadRequest)
	})
}

// beforeDelete is a store that runs a function, when one is set, before its next
// Delete: a write of another client between a delete's check and the delete.
type beforeDelete struct {
	store.Store
	hook atomic.Pointer[func()]
}

func (s *beforeDelete) Delete(ctx context.Context, collection, id string, v store.VersionFilter, specVersions []string) (int, error) {
	if f := s.hook.Swap(nil); f != nil {
		(*f)()
	}
	return s.Store.Delete(ctx, collection, id, v, specVersions)
}

// TestDeleteOnlyWhatWasChecked: a version the deleter may not see, added between the
// check and the delete, is neither deleted with "all" nor deleted in place of the
// checked one by "first" or "last".
func TestDeleteOnlyWhatWasChecked(t *testing.T) {
	var racing *beforeDelete
	e := newEnvOver(t, Config{}, func(st store.Store) store.Store {
		racing = &beforeDelete{Store: st}
		return racing
	})
	ctx := context.Background()
	put := func(objs ...stix.Object) {
		if _, err := e.st.Put(ctx, collA, orgID("agency"), objs); err != nil {
			t.Fatal(err)
		}
	}
	const older, v1, v2, newer = "2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z", "2026-01-03T00:00:00.000Z", "2026-01-04T00:00:00.000Z"
	for n, tt := range []struct {
		query, secret string
		left          []string
	}{
		{"", newer, []string{newer}},
		{"?match[version]=all", newer, []string{newer}},
		{"?match[version]=last", newer, []string{v1, newer}},
		{"?match[version]=first", older, []string{older, v2}},
	} {
		put(markedVersion(t, n, v1, tlpGreen), markedVersion(t, n, v2, tlpGreen))
		add := func() { put(markedVersion(t, n, tt.secret, tlpRed)) } // the partner may not receive it
		racing.hook.Store(&add)
		url := e.root + "collections/" + collA + "/objects/" + sdoID("indicator", n) + "/" + tt.query
		mustStatus(t, e.req(http.MethodDelete, "peer", url, nil), http.StatusOK)
		if racing.hook.Load() != nil {
			t.Fatal("the delete did not reach the store")
		}
		pg, err := e.st.Query(ctx, store.Query{Collection: collA, IDs: []string{sdoID("indicator", n)},
			Versions: store.VersionFilter{All: true}, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var left []string
		for _, en := range pg.Entries {
			left = append(left, en.Object.Modified.String())
		}
		slices.Sort(left)
		if !slices.Equal(left, tt.left) {
			t.Errorf("DELETE %q as the partner: versions left %v, want %v", tt.query, left, tt.left)
		}
	}
}

// TestDeleteManyVersions: an object of more versions than one store filter takes
// is deleted whole.
func TestDeleteManyVersions(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	var objs []stix.Object
	for i := range store.MaxFilterValues + 5 {
		modified := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute).Format("2006-01-02T15:04:05.000Z")
		objs = append(objs, markedVersion(t, 1, modified, tlpGreen))
	}
	if _, err := e.st.Put(ctx, collA, orgID("agency"), objs); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, e.req(http.MethodDelete, "peer", e.root+"collections/"+collA+"/objects/"+sdoID("indicator", 1)+"/", nil), http.StatusOK)
	if n, err := e.st.Count(ctx, collA); err != nil || n != 0 {
		t.Fatalf("%d versions left, %v; want none", n, err)
	}
}
