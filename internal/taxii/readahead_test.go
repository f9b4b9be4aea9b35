package taxii

import (
	"net/http"
	"net/url"
	"testing"
)

// TestReadAhead: a continuation page is read ahead while the page before is sent,
// and used when asked for; a delete in between makes it read again, so the deleted
// object is not on it.
func TestReadAhead(t *testing.T) {
	e := newEnv(t, Config{})
	for n := range 6 {
		e.post("admin", collA, sdo("tool", n, "2020-01-01T00:00:00.000Z"))
	}
	objects := e.root + "collections/" + collA + "/objects/?limit=1"
	walk := func(next string) (string, string) {
		t.Helper()
		u := objects
		if next != "" {
			u += "&next=" + url.QueryEscape(next)
		}
		r := e.get("reader", u)
		mustStatus(t, r, http.StatusOK)
		env, err := ReadPage(r.body, 10)
		if err != nil || len(env.Objects) != 1 {
			t.Fatalf("page: %s, %v", r.body, err)
		}
		return objectsOf(t, r)[0]["id"].(string), env.Next
	}
	kept := func() int {
		e.srv.ahead.running.Wait() // no request is in flight: nothing starts meanwhile
		e.srv.ahead.mu.Lock()
		defer e.srv.ahead.mu.Unlock()
		return len(e.srv.ahead.pages)
	}

	first, next := walk("")
	if n := kept(); n != 0 {
		t.Fatalf("%d pages read ahead after a first page, want none (a client may not go on)", n)
	}
	second, next := walk(next)
	if n := kept(); n != 1 {
		t.Fatalf("%d pages read ahead after a continuation page, want 1", n)
	}
	third, next := walk(next)
	if n := kept(); n != 1 {
		t.Fatalf("%d pages read ahead after the read-ahead page was taken, want the next one", n)
	}
	if first == second || second == third || first == third {
		t.Fatalf("pages %s, %s, %s", first, second, third)
	}
	// The fourth page is read ahead; its object is deleted before it is asked for.
	fourth := sdoID("tool", 3)
	if first == fourth || second == fourth || third == fourth {
		t.Fatalf("the objects came out of order: %s, %s, %s", first, second, third)
	}
	mustStatus(t, e.req(http.MethodDelete, "peer", e.root+"collections/"+collA+"/objects/"+fourth+"/", nil), http.StatusOK)
	if got, _ := walk(next); got == fourth {
		t.Fatalf("the page read ahead before the delete was sent after it, with the deleted %s", fourth)
	}
}
