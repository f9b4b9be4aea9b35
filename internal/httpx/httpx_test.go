package httpx

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"quadshare/internal/auth"
	"quadshare/internal/store"
	"quadshare/internal/store/sqlite"
)

func serve(t *testing.T, o Options, r *http.Request) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	w := httptest.NewRecorder()
	Wrap(o, o.Handler).ServeHTTP(w, r)
	var m map[string]any
	if w.Code >= 400 {
		if ct := w.Header().Get("Content-Type"); ct != MediaType {
			t.Fatalf("error Content-Type %q", ct)
		}
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatalf("error body %q: %v", w.Body.String(), err)
		}
		if m["http_status"] != strconv.Itoa(w.Code) || m["title"] == "" {
			t.Fatalf("error object %v for status %d", m, w.Code)
		}
		if m["error_id"] != w.Header().Get("X-Request-Id") {
			t.Fatalf("error_id %v, X-Request-Id %q", m["error_id"], w.Header().Get("X-Request-Id"))
		}
	}
	return w, m
}

func TestErrorRendering(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	tests := []struct {
		name    string
		handler HandlerFunc
		status  int
		hidden  string // must not reach the client
	}{
		{"client error", func(w http.ResponseWriter, r *http.Request) error {
			return Errorf(http.StatusBadRequest, "limit must be positive")
		}, 400, ""},
		{"internal error", func(w http.ResponseWriter, r *http.Request) error {
			return fmt.Errorf("store: query: %w", errors.New("database is locked (SQLITE_BUSY)"))
		}, 500, "SQLITE_BUSY"},
		{"wrapped client error keeps its status, hides its cause", func(w http.ResponseWriter, r *http.Request) error {
			return fmt.Errorf("outer: %w", &Error{Status: 409, Title: "Conflict", Cause: errors.New("secret cause")})
		}, 409, "secret cause"},
		{"panic", func(w http.ResponseWriter, r *http.Request) error {
			var s []int
			_ = s[len(r.URL.Path)] // a runtime panic
			return nil
		}, 500, "index out of range"},
		{"body too large", func(w http.ResponseWriter, r *http.Request) error {
			_, err := io.ReadAll(r.Body)
			return err
		}, 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			o := Options{Log: log, Handler: Handle(log, tt.handler), MaxBody: 10}
			r := httptest.NewRequest(http.MethodPost, "/x/", strings.NewReader("0123456789A"))
			r.ContentLength = -1 // unknown: the limit is found while reading
			w, m := serve(t, o, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if tt.hidden != "" {
				if strings.Contains(w.Body.String(), tt.hidden) {
					t.Fatalf("response leaks %q: %s", tt.hidden, w.Body)
				}
				if tt.status >= 500 && !strings.Contains(logs.String(), tt.hidden) {
					t.Fatalf("log lacks %q: %s", tt.hidden, logs.String())
				}
			}
			if strings.Contains(w.Body.String(), "goroutine") || strings.Contains(w.Body.String(), ".go:") {
				t.Fatalf("stack in response: %s", w.Body)
			}
			_ = m
		})
	}
	if !strings.Contains(logs.String(), `"request_id"`) {
		t.Fatal("log lines carry no request id")
	}
}

func TestPanicStackIsLogged(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	h := Handle(log, func(w http.ResponseWriter, r *http.Request) error { panic("boom") })
	w, _ := serve(t, Options{Log: log, Handler: h}, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != 500 || !strings.Contains(logs.String(), "httpx_test.go") {
		t.Fatalf("status %d; log %s", w.Code, logs.String())
	}
}

func TestLimitBody(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	read := Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		_, _ = fmt.Fprint(w, len(b))
		return nil
	})
	for _, tt := range []struct {
		size, status int
		known        bool
	}{{10, 200, true}, {10, 200, false}, {9, 200, true}, {11, 413, true}, {11, 413, false}} {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("a", tt.size)))
		if !tt.known {
			r.ContentLength = -1
		}
		w, _ := serve(t, Options{Log: log, Handler: read, MaxBody: 10}, r)
		if w.Code != tt.status {
			t.Errorf("body of %d (length known %v): %d, want %d", tt.size, tt.known, w.Code, tt.status)
		}
	}
}

// Authentication with the real authenticator over a real store: success, missing or
// wrong credentials (401 with a challenge), too many failures (429), a store failure
// (500 without its cause).
func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.PutOrganisation(ctx, store.Organisation{ID: "o1", Name: "agency", Nation: "AU", Kind: store.KindAgency}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, store.User{ID: "u1", Name: "alice", Org: "o1", Role: store.RoleReader, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	tok, _, err := auth.CreateToken(ctx, st, "u1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	a := auth.New(st, log, auth.WithFailureLimit(2, time.Hour))
	ok := Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		p, found := auth.FromContext(r.Context())
		if !found || p.User.ID != "u1" {
			return errors.New("no principal")
		}
		return nil
	})
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	for _, tt := range []struct {
		name, authz string
		status      int
		header      string
	}{
		{"good token", basic("alice", tok), 200, ""},
		{"no credentials", "", 401, "Www-Authenticate"},
		{"wrong token", basic("alice", "qs_0000000000000000_"+strings.Repeat("0", 64)), 401, "Www-Authenticate"},
		{"wrong again", basic("alice", "nope"), 401, "Www-Authenticate"},
		{"limited, even with the good token", basic("alice", tok), 429, "Retry-After"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = "192.0.2.7:1234"
		if tt.authz != "" {
			r.Header.Set("Authorization", tt.authz)
		}
		w, m := serve(t, Options{Log: log, Handler: ok, Auth: a}, r)
		if w.Code != tt.status {
			t.Errorf("%s: status %d, want %d: %s", tt.name, w.Code, tt.status, w.Body)
		}
		if tt.header != "" && w.Header().Get(tt.header) == "" {
			t.Errorf("%s: no %s header", tt.name, tt.header)
		}
		if strings.Contains(fmt.Sprint(m), "token") && strings.Contains(fmt.Sprint(m), "qs_") {
			t.Errorf("%s: credentials echoed: %v", tt.name, m)
		}
	}
	// The store fails: 500, and the client learns nothing of why.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "198.51.100.1:1234" // neither this address nor this user is limited
	r.Header.Set("Authorization", basic("bob", tok))
	w, _ := serve(t, Options{Log: log, Handler: ok, Auth: a}, r)
	if w.Code != 500 || strings.Contains(strings.ToLower(w.Body.String()), "sql") {
		t.Fatalf("store failure: %d %s", w.Code, w.Body)
	}
}
