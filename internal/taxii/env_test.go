package taxii

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/crc32"
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
	"quadshare/internal/gate"
	"quadshare/internal/httpx"
	"quadshare/internal/pki"
	"quadshare/internal/policy"
	"quadshare/internal/store"
	"quadshare/internal/store/postgres/pgtest"
	"quadshare/internal/store/sqlite"
)

// env is a real node for a test: a SQLite store in a temporary directory (PostgreSQL
// with QUADSHARE_TEST_STORE=postgres, a fresh database per test), the real
// authenticator with users and tokens created through the store, and the TAXII server
// behind the httpx middleware, served with TLS on 127.0.0.1.
type env struct {
	t      testing.TB
	st     store.Store
	srv    *Server
	base   string // https://127.0.0.1:port
	root   string // base + api root
	client *http.Client
	creds  map[string]string // user name -> Authorization header
	orgs   map[string]store.Organisation
}

// Collections and users every env has.
const (
	collA     = "6c8a5f0e-0d0e-4c2a-9d7e-6a7d5a2f0a01" // read granted to "reader", write to nobody but admins
	collB     = "6c8a5f0e-0d0e-4c2a-9d7e-6a7d5a2f0a02" // write-only for "peer"
	collInbox = "6c8a5f0e-0d0e-4c2a-9d7e-6a7d5a2f0a03" // the inbox of the operator's organisation
	collHid   = "6c8a5f0e-0d0e-4c2a-9d7e-6a7d5a2f0a04" // nobody but admins and analysts
)

func newEnv(t testing.TB, cfg Config) *env { return newEnvOver(t, cfg, nil) }

// newEnvOver is newEnv with the server's store wrapped by wrap (nil: none), for a
// test that must act at a given moment of a request, as a concurrent client would.
func newEnvOver(t testing.TB, cfg Config, wrap func(store.Store) store.Store) *env {
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

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(&testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	authn := auth.New(st, log, auth.WithFailureLimit(1000, time.Millisecond))
	if cfg.TokenKey == nil {
		cfg.TokenKey = bytes.Repeat([]byte{7}, 32)
	}
	engine, err := policy.New(testPolicy(), policy.DefaultScales())
	if err != nil {
		t.Fatal(err)
	}
	g, err := gate.New(engine, st)
	if err != nil {
		t.Fatal(err)
	}
	served := st
	if wrap != nil {
		served = wrap(st)
	}
	srv, err := New(cfg, served, authn, g, log)
	if err != nil {
		t.Fatal(err)
	}
	cfg = srv.cfg

	id, _, err := pki.EnsureServer(filepath.Join(dir, "pki"), nil)
	if err != nil {
		t.Fatal(err)
	}
	hs := httpx.New(httpx.Options{Handler: srv.Handler(), TLS: pki.ServerConfig(id.Cert, nil), Log: log,
		Auth: authn, MaxBody: srv.Config().MaxContentLength})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = hs.ServeTLS(ln, "", "") }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		_ = srv.Close(ctx)
	})

	e := &env{t: t, st: st, srv: srv, base: "https://" + ln.Addr().String(),
		client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: id.CAPool, MinVersion: tls.VersionTLS12},
			MaxIdleConnsPerHost: 64,
		}},
		creds: map[string]string{}, orgs: map[string]store.Organisation{}}
	e.root = e.base + cfg.APIRoot
	t.Cleanup(e.client.CloseIdleConnections)

	e.org("agency", store.KindAgency)
	e.org("operator-org", store.KindOperator)
	e.org("partner", store.KindPartner)
	for _, c := range []store.Collection{
		{ID: collA, Alias: "alpha", Title: "Alpha", Description: "Shared indicators"},
		{ID: collB, Title: "Bravo"},
		{ID: collInbox, Title: "Operator inbox", OwnerOrg: e.orgs["operator-org"].ID},
		{ID: collHid, Title: "Hidden"},
	} {
		c.CreatedAt = time.Now()
		if err := st.CreateCollection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	e.user("admin", "agency", store.RoleAdmin)
	e.user("analyst", "agency", store.RoleAnalyst)
	e.user("reader", "agency", store.RoleReader)
	e.user("outsider", "agency", store.RoleReader)
	e.user("peer", "partner", store.RolePeer)
	e.user("operator", "operator-org", store.RoleOperator)
	e.user("operator2", "operator-org", store.RoleOperator)
	for _, g := range []store.Grant{
		{Collection: collA, Subject: e.userID("reader"), Read: true},
		{Collection: collB, Subject: e.orgs["partner"].ID, Write: true},
		{Collection: collA, Subject: e.orgs["partner"].ID, Read: true, Write: true},
	} {
		if err := st.PutGrant(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// with returns e reporting to t, for use inside subtests.
func (e *env) with(t testing.TB) *env {
	c := *e
	c.t = t
	return &c
}

type testWriter struct{ t testing.TB }

func (w *testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// testPolicy is the sharing policy of the test node, of nation AU, whose agency
// is the organisation "agency": unmarked objects are TLP:GREEN at level 0, so
// that the protocol tests see what they store; the partner (JP) may receive
// everything up to TLP:AMBER+STRICT. Policy tests mark their objects.
func testPolicy() policy.Config {
	return policy.Config{Format: 1, Revision: 1, Nation: "AU", Agency: gate.Identity(orgID("agency")),
		DefaultTLP: "green", DefaultLevel: 0, NodeLevel: 5,
		Agreements: []policy.Agreement{{Partner: "JP", Version: 1, ObjectTypes: []string{"*"}, Sectors: []string{"*"},
			MaxTLP: "amber+strict", MaxLevel: 5}},
	}
}

// orgID is the id of a test organisation: a UUID, so that its STIX identity
// (gate.Identity) is a valid identifier.
func orgID(name string) string {
	return fmt.Sprintf("%08x-0000-4000-8000-000000000000", crc32.ChecksumIEEE([]byte(name)))
}

func (e *env) org(name string, kind store.OrgKind) {
	nation := "AU"
	if kind == store.KindPartner {
		nation = "JP"
	}
	o := store.Organisation{ID: orgID(name), Name: name, Nation: nation, Kind: kind}
	if err := e.st.PutOrganisation(context.Background(), o); err != nil {
		e.t.Fatal(err)
	}
	e.orgs[name] = o
}

func (e *env) userID(name string) string { return "user-" + name }

func (e *env) user(name, org string, role store.Role) {
	ctx := context.Background()
	u := store.User{ID: e.userID(name), Name: name, Org: e.orgs[org].ID, Role: role, CreatedAt: time.Now()}
	if err := e.st.CreateUser(ctx, u); err != nil {
		e.t.Fatal(err)
	}
	e.tokenFor(u)
}

// tokenFor gives a stored user a token, for requests as u.Name.
func (e *env) tokenFor(u store.User) {
	tok, _, err := auth.CreateToken(context.Background(), e.st, u.ID, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	e.creds[u.Name] = "Basic " + base64.StdEncoding.EncodeToString([]byte(u.Name+":"+tok))
}

// resp is a response read whole.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %q", err, r.body)
	}
	return m
}

// req makes a request as user ("" for none) with TAXII headers unless overridden.
func (e *env) req(method, user, url string, body []byte, headers ...string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r, err := http.NewRequestWithContext(context.Background(), method, url, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	r.Header.Set("Accept", httpx.MediaType)
	if body != nil {
		r.Header.Set("Content-Type", httpx.MediaType)
	}
	if user != "" {
		r.Header.Set("Authorization", e.creds[user])
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			r.Header.Del(headers[i])
		} else {
			r.Header.Set(headers[i], headers[i+1])
		}
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

func (e *env) get(user, url string, headers ...string) resp {
	e.t.Helper()
	return e.req(http.MethodGet, user, url, nil, headers...)
}

// mustStatus fails unless r has the status; for errors it also checks the TAXII error
// object (§3.6.1).
func mustStatus(t testing.TB, r resp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != httpx.MediaType {
		t.Fatalf("Content-Type %q, want %q", ct, httpx.MediaType)
	}
	if status >= 400 {
		checkError(t, r)
	}
}

// checkError checks that an error response is a TAXII error object whose http_status
// matches, and that it says nothing of the inside of the server.
func checkError(t testing.TB, r resp) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("error body is not JSON: %q", r.body)
	}
	if title, _ := m["title"].(string); title == "" {
		t.Fatalf("error without title: %s", r.body)
	}
	if hs, _ := m["http_status"].(string); hs != strconv.Itoa(r.status) {
		t.Fatalf("http_status %q for status %d", m["http_status"], r.status)
	}
	low := strings.ToLower(string(r.body))
	for _, leak := range []string{"goroutine", ".go:", "sqlite", "panic", "sql", "runtime error"} {
		if strings.Contains(low, leak) {
			t.Fatalf("error body leaks %q: %s", leak, r.body)
		}
	}
}

// envelopeOf builds an envelope of raw objects.
func envelopeOf(objs ...[]byte) []byte {
	var b bytes.Buffer
	b.WriteString(`{"objects":[`)
	b.Write(bytes.Join(objs, []byte(",")))
	b.WriteString(`]}`)
	return b.Bytes()
}

// sdo returns a valid STIX 2.1 object of a type that needs only a name: identity,
// tool, campaign, attack-pattern, threat-actor, or malware.
func sdo(typ string, n int, modified string) []byte {
	id := fmt.Sprintf("%s--%08x-0000-4000-8000-%012x", typ, n, n)
	extra := ""
	if typ == "malware" {
		extra = `,"is_family":false`
	}
	return []byte(fmt.Sprintf(`{"type":%q,"spec_version":"2.1","id":%q,"created":"2020-01-01T00:00:00.000Z","modified":%q,"name":"obj %d"%s}`,
		typ, id, modified, n, extra))
}

func sdoID(typ string, n int) string { return fmt.Sprintf("%s--%08x-0000-4000-8000-%012x", typ, n, n) }

// post adds objects and returns the status resource.
func (e *env) post(user, coll string, objs ...[]byte) map[string]any {
	e.t.Helper()
	r := e.req(http.MethodPost, user, e.root+"collections/"+coll+"/objects/", envelopeOf(objs...))
	mustStatus(e.t, r, http.StatusAccepted)
	return r.json(e.t)
}

// waitStatus polls a status until it is complete.
func (e *env) waitStatus(user, id string) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := e.get(user, e.root+"status/"+id+"/")
		mustStatus(e.t, r, http.StatusOK)
		m := r.json(e.t)
		if m["status"] == "complete" {
			return m
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("status %s still pending: %s", id, r.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// objectsOf returns the objects of an envelope.
func objectsOf(t testing.TB, r resp) []map[string]any {
	t.Helper()
	var env struct {
		More    bool             `json:"more"`
		Next    string           `json:"next"`
		Objects []map[string]any `json:"objects"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatalf("not an envelope: %v", err)
	}
	return env.Objects
}

// decode unmarshals a response body into v.
func decode(t testing.TB, r resp, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response body: %v: %q", err, r.body)
	}
}
