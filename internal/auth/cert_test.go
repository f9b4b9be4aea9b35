package auth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"quadshare/internal/pki"
	"quadshare/internal/store"
)

// TestClientCertificate authenticates partner nodes through a real TLS handshake on
// 127.0.0.1 with certificates from pki.IssueClient.
func TestClientCertificate(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	srv, _, err := pki.EnsureServer(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	known, err := pki.IssueClient(dir, "node-jp")
	if err != nil {
		t.Fatal(err)
	}
	// A partner's certificate comes from its own CA; pinning accepts it all the same.
	foreignKnown, err := pki.IssueClient(t.TempDir(), "node-us")
	if err != nil {
		t.Fatal(err)
	}
	unknown, err := pki.IssueClient(dir, "stranger")
	if err != nil {
		t.Fatal(err)
	}
	disabled, err := pki.IssueClient(dir, "node-old")
	if err != nil {
		t.Fatal(err)
	}

	jp := f.org("JPCERT node", store.KindPartner)
	us := f.org("CISA node", store.KindPartner)
	agency := f.org("Agency", store.KindAgency)
	f.user("peer-jp", jp, store.RolePeer, known.Fingerprint)
	f.user("peer-us", us, store.RolePeer, foreignKnown.Fingerprint)
	old := f.user("peer-old", jp, store.RolePeer, disabled.Fingerprint)
	if err := f.st.DisableUser(f.ctx, old.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	alice := f.user("alice", agency, store.RoleAnalyst, "")
	aliceTok, _ := f.token(alice, time.Hour)

	var logs syncBuffer
	a := New(f.st, slog.New(slog.NewTextHandler(&logs, nil)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := a.Authenticate(r)
			switch {
			case errors.Is(err, ErrUnauthenticated):
				w.Header().Set("WWW-Authenticate", Challenge)
				w.WriteHeader(http.StatusUnauthorized)
			case errors.Is(err, ErrRateLimited):
				w.WriteHeader(http.StatusTooManyRequests)
			case err != nil:
				w.WriteHeader(http.StatusInternalServerError)
			default:
				_, _ = io.WriteString(w, p.User.Name+"@"+p.Org.Name)
			}
		}),
		TLSConfig:         pki.ServerConfig(srv.Cert, nil),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() { _ = hs.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { hs.Close() })
	url := "https://" + ln.Addr().String() + "/taxii2/"

	tests := []struct {
		name       string
		cert       *pki.Client
		basic      string
		wantStatus int
		wantBody   string
	}{
		{"pinned certificate", known, "", 200, "peer-jp@JPCERT node"},
		{"pinned certificate from another CA", foreignKnown, "", 200, "peer-us@CISA node"},
		{"pinned certificate wins over Basic", known, basic("alice", aliceTok), 200, "peer-jp@JPCERT node"},
		{"unknown certificate alone", unknown, "", 401, ""},
		{"unknown certificate, Basic decides", unknown, basic("alice", aliceTok), 200, "alice@Agency"},
		{"certificate of a disabled user", disabled, basic("alice", aliceTok), 401, ""},
		{"no certificate, Basic", nil, basic("alice", aliceTok), 200, "alice@Agency"},
		{"nothing", nil, "", 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &tls.Config{RootCAs: srv.CAPool}
			if tt.cert != nil {
				cfg.Certificates = []tls.Certificate{tt.cert.Cert}
			}
			tr := &http.Transport{TLSClientConfig: cfg}
			defer tr.CloseIdleConnections()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.basic != "" {
				req.Header.Set("Authorization", tt.basic)
			}
			resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || (tt.wantBody != "" && string(body) != tt.wantBody) {
				t.Fatalf("status %d body %q, want %d %q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			if resp.StatusCode == 401 && resp.Header.Get("WWW-Authenticate") != `Basic realm="quadshare"` {
				t.Fatalf("401 without the Basic challenge: %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

// TestClientCertificateValidity refuses a pinned certificate outside its validity period
// (the handshake does not check it when certificates are pinned rather than verified).
func TestClientCertificateValidity(t *testing.T) {
	f := newFixture(t)
	c, err := pki.IssueClient(t.TempDir(), "node-in")
	if err != nil {
		t.Fatal(err)
	}
	in := f.org("CERT-In node", store.KindPartner)
	f.user("peer-in", in, store.RolePeer, c.Fingerprint)
	for _, tt := range []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"valid", time.Now(), true},
		{"expired", c.Cert.Leaf.NotAfter.Add(time.Second), false},
		{"not yet valid", c.Cert.Leaf.NotBefore.Add(-time.Second), false},
	} {
		a := New(f.st, nil, WithClock(func() time.Time { return tt.at }))
		r := request("192.0.2.5:1", "")
		r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{c.Cert.Leaf}}
		p, err := a.Authenticate(r)
		if tt.ok && (err != nil || p.User.Name != "peer-in") {
			t.Errorf("%s: %v, %v", tt.name, p, err)
		}
		if !tt.ok && !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s: %v, want ErrUnauthenticated", tt.name, err)
		}
	}
}
