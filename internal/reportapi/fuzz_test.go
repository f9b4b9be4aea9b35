package reportapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"quadshare/internal/auth"
	"quadshare/internal/httpx"
	"quadshare/internal/store"
)

// clientError reports whether err is answered as the client's fault (4xx), never 500.
func clientError(err error) bool {
	var fe *fieldError
	var he *httpx.Error
	return errors.As(err, &fe) && fe.status/100 == 4 || errors.As(err, &he) && he.Status/100 == 4
}

// The body of an analyst action is outside input: whatever it is, the answer is the
// members or a client error.
func FuzzReadAction(f *testing.F) {
	for _, s := range []string{`{"text":"a","status":"triaged"}`, `{"text":3}`, `{"a":"b","a":"c"}`, `[]`, `{`, "", `{"tlp":"red","x":{}}`, "{\"text\":\"\xff\"}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(body))
		v, err := readAction(httptest.NewRecorder(), r, "text", "status", "tlp")
		if err != nil {
			if !clientError(err) {
				t.Fatalf("%q: not a client error: %v", body, err)
			}
			return
		}
		for k := range v {
			if k != "text" && k != "status" && k != "tlp" {
				t.Fatalf("%q: member %q let through", body, k)
			}
		}
	})
}

// The query of a listing is outside input too.
func FuzzListQuery(f *testing.F) {
	for _, s := range []string{"due=1&limit=5", "status=new,closed", "after=" + encodeCursor(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), "id"), "limit=-1", "x=%ff", "operator=o&operator=p"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, query string, analyst bool) {
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		r.URL.RawQuery = query
		p := &auth.Principal{User: store.User{Role: store.RoleOperator, Org: "o"}, Org: store.Organisation{ID: "o"}}
		if analyst {
			p.User.Role = store.RoleAnalyst
		}
		q, _, err := listQuery(r, p, analyst)
		if err != nil {
			if !clientError(err) {
				t.Fatalf("%q: not a client error: %v", query, err)
			}
			return
		}
		if q.Limit < 1 || q.Limit > maxLimit || !analyst && q.Operator != "o" {
			t.Fatalf("%q: query %+v", query, q)
		}
	})
}
