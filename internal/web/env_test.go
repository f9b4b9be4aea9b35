package web_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"quadshare/internal/auth"
	"quadshare/internal/config"
	"quadshare/internal/federation"
	"quadshare/internal/node"
	"quadshare/internal/policy"
	"quadshare/internal/stix"
	"quadshare/internal/store"
	"quadshare/internal/store/sqlite"
)

// env is a node started on 127.0.0.1 with TLS, with users of every role.
type env struct {
	t      testing.TB
	st     store.Store
	n      *node.Node
	roots  *x509.CertPool
	tokens map[string]string // user name -> API token
	users  map[string]store.User
	agency store.Organisation
	coll   string
}

const (
	collIntel  = "6f1f3c1e-8c59-4e52-9a55-5d0d4d3b5e01"
	collShared = "6f1f3c1e-8c59-4e52-9a55-5d0d4d3b5e02"
)

// newStore makes a node's data directory, store and starting policy, for the
// nation's agency agencyName.
func newStore(t testing.TB, nation, agencyName string) (config.Config, *sqlite.Store, store.Organisation) {
	t.Helper()
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Listen = "127.0.0.1:0"
	key, _, err := node.LoadOrCreateAuditKey(cfg.AuditKeyPath())
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "quadshare.db"), sqlite.WithAuditKey(key))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	_, agency, err := node.InitPolicy(ctx, cfg, st, nation, agencyName)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, st, agency
}

// start starts e's node on cfg, stopped when the test ends.
func (e *env) start(cfg config.Config) {
	e.t.Helper()
	n, err := node.Start(context.Background(), cfg, e.st, slog.New(slog.DiscardHandler))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Close(ctx)
	})
	e.n = n
	e.roots = x509.NewCertPool()
	e.roots.AddCert(n.TLS.CACert)
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	cfg, st, agency := newStore(t, "AU", "ACSC")
	raiseAccreditation(t, cfg.PolicyFile())
	e := &env{t: t, st: st, tokens: map[string]string{}, users: map[string]store.User{}, agency: agency, coll: collIntel}
	grid := store.Organisation{ID: "0d3c7a52-4d0e-4c55-8f57-2b1b3a1c0001", Name: "Grid Co", Nation: "AU", Kind: store.KindOperator, Sectors: []string{"energy"}}
	peerOrg := store.Organisation{ID: "0d3c7a52-4d0e-4c55-8f57-2b1b3a1c0002", Name: "JP node", Nation: "JP", Kind: store.KindPartner}
	for _, o := range []store.Organisation{grid, peerOrg} {
		if err := st.PutOrganisation(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Now().Add(-24 * time.Hour).UTC().Truncate(time.Millisecond)
	if err := st.PutOperator(ctx, store.OperatorProfile{Org: grid.ID, Sectors: []string{"energy"}, SizeBand: "large",
		Consent: "government", Created: at, Modified: at}); err != nil {
		t.Fatal(err)
	}
	e.user("ana", agency.ID, store.RoleAnalyst, "PROTECTED") // below SECRET
	e.user("cleared", agency.ID, store.RoleAnalyst, "SECRET")
	e.user("root", agency.ID, store.RoleAdmin, "SECRET")
	e.user("rdr", agency.ID, store.RoleReader, "OFFICIAL")
	e.user("op", grid.ID, store.RoleOperator, "")
	e.user("jp", peerOrg.ID, store.RolePeer, "")
	if err := st.CreateCollection(ctx, store.Collection{ID: collIntel, Alias: "intel", Title: "Intelligence", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutGrant(ctx, store.Grant{Collection: collIntel, Subject: e.users["rdr"].ID, Read: true}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateCollection(ctx, store.Collection{ID: collShared, Alias: "partners", Title: "Shared with partners", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutGrant(ctx, store.Grant{Collection: collShared, Subject: agency.ID, Read: true, Write: true}); err != nil {
		t.Fatal(err)
	}
	e.start(cfg)
	return e
}

func (e *env) user(name, org string, role store.Role, clearance string) {
	e.t.Helper()
	ctx := context.Background()
	u := store.User{ID: "user-" + name, Name: name, Org: org, Role: role, Clearance: clearance, CreatedAt: time.Now()}
	if err := e.st.CreateUser(ctx, u); err != nil {
		e.t.Fatal(err)
	}
	tok, _, err := auth.CreateToken(ctx, e.st, u.ID, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	e.tokens[name], e.users[name] = tok, u
}

// inbound returns the id of the federation inbound collection, made if missing.
func (e *env) inbound() string {
	e.t.Helper()
	c, err := federation.EnsureInbound(context.Background(), e.st)
	if err != nil {
		e.t.Fatal(err)
	}
	return c.ID
}

// put stores raw STIX objects in the intelligence collection.
func (e *env) put(raws ...string) {
	e.t.Helper()
	var objs []stix.Object
	for _, r := range raws {
		o, err := stix.Parse([]byte(r))
		if err != nil {
			e.t.Fatalf("%v: %s", err, r)
		}
		objs = append(objs, o)
	}
	if _, err := e.st.Put(context.Background(), e.coll, e.agency.ID, objs); err != nil {
		e.t.Fatal(err)
	}
}

// indicator is an indicator with the given uuid suffix, name and object markings.
func indicator(n int, name string, markings ...string) string {
	return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-%012d","created":"2026-01-01T00:00:00.000Z",`+
		`"modified":"2026-01-01T00:00:00.000Z","name":%q,"pattern":"[ipv4-addr:value = '198.51.100.%d']",`+
		`"pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","object_marking_refs":["%s"]}`,
		n, name, n%250, strings.Join(markings, `","`))
}

func indicatorID(n int) string { return fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", n) }

var secret = policy.ClassificationMarkingID("AU", 4) // SECRET

const tlpGreen = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"

// browser is one user agent: its own cookies, no automatic redirects.
type browser struct {
	e      *env
	t      testing.TB
	c      *http.Client
	origin string // the Origin it sends on POST; "" for the node's own
	site   string // Sec-Fetch-Site; "" to send none
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: time.Minute,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.roots, MinVersion: tls.VersionTLS12}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	e.t.Cleanup(c.CloseIdleConnections)
	return &browser{e: e, t: e.t, c: c, site: "same-origin"}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(context.Background(), method, b.e.n.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if method == http.MethodPost {
		origin := b.origin
		if origin == "" {
			origin = b.e.n.URL
		}
		req.Header.Set("Origin", origin)
	}
	if b.site != "" {
		req.Header.Set("Sec-Fetch-Site", b.site)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{status: resp.StatusCode, header: resp.Header, body: string(raw)}
}

func (b *browser) get(path string) page { return b.do(http.MethodGet, path, nil) }

func (b *browser) post(path string, form url.Values) page { return b.do(http.MethodPost, path, form) }

// signIn signs in as the named user and fails the test unless it works.
func (b *browser) signIn(name string) *browser {
	b.t.Helper()
	p := b.post("/ui/signin", url.Values{"user": {name}, "token": {b.e.tokens[name]}})
	if p.status != http.StatusSeeOther {
		b.t.Fatalf("sign in as %s: %d %s", name, p.status, p.body)
	}
	return b
}

func (e *env) as(name string) *browser { return e.browser().signIn(name) }

func must(t testing.TB, p page, status int) page {
	t.Helper()
	if p.status != status {
		t.Fatalf("status %d, want %d: %.600s", p.status, status, p.body)
	}
	return p
}

// raiseAccreditation lets the node hold and release SECRET (level 4): the starting
// policy accredits it to level 3 only.
func raiseAccreditation(t testing.TB, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["node_level"] = 4
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
