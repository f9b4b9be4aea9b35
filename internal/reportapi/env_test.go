package reportapi

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"quadshare/internal/auth"
	"quadshare/internal/httpx"
	"quadshare/internal/pki"
	"quadshare/internal/store"
	"quadshare/internal/store/postgres/pgtest"
	"quadshare/internal/store/sqlite"
)

// env is a real server for a test: a SQLite store in a temporary directory
// (PostgreSQL with QUADSHARE_TEST_STORE=postgres, a fresh database per test), the real
// authenticator with users and tokens made through the store, and the report API
// behind the httpx middleware, served with TLS on 127.0.0.1.
type env struct {
	t      testing.TB
	st     store.Store
	srv    *Server
	key    ed25519.PrivateKey
	base   string // https://127.0.0.1:port + Prefix
	client *http.Client
	creds  map[string]string // user name -> Authorization header
	orgs   map[string]store.Organisation
	logs   *bytes.Buffer
}

// Collections of every env.
const (
	collPartners = "9b1f3c2e-5a6d-4e7f-8a9b-0c1d2e3f4a51" // the agency may write; partners read
	collClosed   = "9b1f3c2e-5a6d-4e7f-8a9b-0c1d2e3f4a52" // nobody is granted anything
)

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	var st store.Store
	if os.Getenv("QUADSHARE_TEST_STORE") == "postgres" {
		st = pgtest.OpenTest(t)
	} else {
		lite, err := sqlite.Open(ctx, filepath.Join(dir, "quadshare.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = lite.Close() })
		st = lite
	}
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	authn := auth.New(st, log, auth.WithFailureLimit(1000, time.Millisecond))
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	var e *env
	agency := func() string { return e.orgs["agency"].ID }
	srv, err := New(Config{Node: "test-node", Key: key, Agency: agency}, st, authn, log)
	if err != nil {
		t.Fatal(err)
	}
	id, _, err := pki.EnsureServer(filepath.Join(dir, "pki"), nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(Prefix, srv.Handler())
	hs := httpx.New(httpx.Options{Handler: mux, TLS: pki.ServerConfig(id.Cert, nil), Log: log, Auth: authn, MaxBody: 100 << 20})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = hs.ServeTLS(ln, "", "") }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
	})
	e = &env{t: t, st: st, srv: srv, key: key, base: "https://" + ln.Addr().String() + strings.TrimSuffix(Prefix, "/"),
		client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: id.CAPool, MinVersion: tls.VersionTLS12}}},
		creds: map[string]string{}, orgs: map[string]store.Organisation{}, logs: logs}
	t.Cleanup(e.client.CloseIdleConnections)

	e.org("agency", "AU", store.KindAgency)
	e.org("gridco", "AU", store.KindOperator)
	e.org("telco", "IN", store.KindOperator)
	e.org("portco", "JP", store.KindOperator)
	e.org("unregistered", "AU", store.KindOperator)
	e.profile("gridco", "large", "never", "energy")
	e.profile("telco", "medium", "partners", "telecom")
	e.profile("portco", "small", "government", "ports")
	e.user("analyst", "agency", store.RoleAnalyst)
	e.user("reader", "agency", store.RoleReader)
	e.user("grid", "gridco", store.RoleOperator)
	e.user("grid2", "gridco", store.RoleOperator)
	e.user("tel", "telco", store.RoleOperator)
	e.user("port", "portco", store.RoleOperator)
	e.user("nobody", "unregistered", store.RoleOperator)
	for _, c := range []store.Collection{{ID: collPartners, Alias: "partners", Title: "Shared with partners"}, {ID: collClosed, Title: "Closed"}} {
		c.CreatedAt = time.Now()
		if err := st.CreateCollection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutGrant(ctx, store.Grant{Collection: collPartners, Subject: e.orgs["agency"].ID, Read: true, Write: true}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) org(name, nation string, kind store.OrgKind) {
	o := store.Organisation{ID: "org-" + name, Name: name, Nation: nation, Kind: kind}
	if err := e.st.PutOrganisation(context.Background(), o); err != nil {
		e.t.Fatal(err)
	}
	e.orgs[name] = o
}

func (e *env) profile(org, size, consent string, sectors ...string) {
	at := time.Now().Add(-24 * time.Hour).UTC().Truncate(time.Millisecond)
	if err := e.st.PutOperator(context.Background(), store.OperatorProfile{Org: e.orgs[org].ID, Sectors: sectors,
		SizeBand: size, Consent: consent, Created: at, Modified: at}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) user(name, org string, role store.Role) {
	ctx := context.Background()
	u := store.User{ID: "user-" + name, Name: name, Org: e.orgs[org].ID, Role: role, CreatedAt: time.Now()}
	if err := e.st.CreateUser(ctx, u); err != nil {
		e.t.Fatal(err)
	}
	tok, _, err := auth.CreateToken(ctx, e.st, u.ID, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	e.creds[name] = "Basic " + base64.StdEncoding.EncodeToString([]byte(name+":"+tok))
}

// resp is a response read whole.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) String() string { return strconv.Itoa(r.status) + " " + string(r.body) }

// do makes a request as user ("" for none) to path under the API; headers are
// name, value pairs.
func (e *env) do(method, user, path string, body []byte, headers ...string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r, err := http.NewRequestWithContext(context.Background(), method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		r.Header.Set("Authorization", e.creds[user])
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.client.Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// must fails unless r has the status, and checks that an error is a JSON error
// object whose http_status matches and that says nothing of the server's inside.
func must(t testing.TB, r resp, status int) resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if status >= 400 {
		var m map[string]any
		if err := json.Unmarshal(r.body, &m); err != nil {
			t.Fatalf("error body is not JSON: %q", r.body)
		}
		if hs, _ := m["http_status"].(string); hs != strconv.Itoa(r.status) || m["title"] == "" {
			t.Fatalf("error object %s for status %d", r.body, r.status)
		}
		low := strings.ToLower(string(r.body))
		for _, leak := range []string{"goroutine", ".go:", "sqlite", "postgres", "panic", "sql", "runtime error"} {
			if strings.Contains(low, leak) {
				t.Fatalf("error body leaks %q: %s", leak, r.body)
			}
		}
	}
	return r
}

func decode(t testing.TB, r resp, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response body: %v: %q", err, r.body)
	}
}

// fieldErrors returns the errors member of an error object as "pointer: message".
func fieldErrors(t testing.TB, r resp) []string {
	t.Helper()
	var b errorBody
	decode(t, r, &b)
	var out []string
	for _, f := range b.Errors {
		out = append(out, f.Pointer+": "+f.Message)
	}
	return out
}
