package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"quadshare/internal/auth"
	"quadshare/internal/config"
	"quadshare/internal/store"
	"quadshare/internal/store/sqlite"
)

// A node started from a configuration serves TAXII over TLS with the certificate it
// created on first start, and keeps that certificate and its token key on restart.
func TestStartServesTLSWithGeneratedCertificate(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Listen = "127.0.0.1:0"
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "quadshare.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	org := store.Organisation{ID: "org-au", Name: "ACSC", Nation: "AU", Kind: store.KindAgency}
	user := store.User{ID: "u1", Name: "alice", Org: org.ID, Role: store.RoleAnalyst, CreatedAt: time.Now()}
	if err := st.PutOrganisation(ctx, org); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, user); err != nil {
		t.Fatal(err)
	}
	secret, _, err := auth.CreateToken(ctx, st, user.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	log := slog.New(slog.DiscardHandler)
	mustInitPolicy(t, cfg, st)
	n, err := Start(ctx, cfg, st, log)
	if err != nil {
		t.Fatal(err)
	}
	if n.TLS == nil || !n.TLSCreated || len(n.TLS.Fingerprint) != 64 {
		t.Fatalf("first start should create a certificate: %+v", n.TLS)
	}
	get := func(n *Node, withToken bool) (int, map[string]any) {
		roots := x509.NewCertPool()
		roots.AddCert(n.TLS.CACert)
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
		req, _ := http.NewRequestWithContext(ctx, "GET", n.URL+"/taxii2/", nil)
		req.Header.Set("Accept", "application/taxii+json;version=2.1")
		if withToken {
			req.SetBasicAuth("alice", secret)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("not JSON: %s", b)
		}
		if resp.TLS == nil || resp.TLS.Version != tls.VersionTLS13 {
			t.Errorf("want TLS 1.3 by default, got %+v", resp.TLS)
		}
		return resp.StatusCode, m
	}
	if code, m := get(n, false); code != http.StatusUnauthorized || m["http_status"] != "401" {
		t.Errorf("without credentials: %d %v", code, m)
	}
	if code, m := get(n, true); code != http.StatusOK || m["default"] != "/api/" {
		t.Errorf("discovery: %d %v", code, m)
	}
	fp := n.TLS.Fingerprint
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}

	n2, err := Start(ctx, cfg, st, log)
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close(ctx)
	if n2.TLSCreated || n2.TLS.Fingerprint != fp {
		t.Errorf("restart should reuse the certificate: created %v, %s vs %s", n2.TLSCreated, n2.TLS.Fingerprint, fp)
	}
	if code, _ := get(n2, true); code != http.StatusOK {
		t.Errorf("after restart: %d", code)
	}
	k1, _ := loadOrCreateKey(filepath.Join(cfg.DataDir, "pagination.key"))
	k2, _ := loadOrCreateKey(filepath.Join(cfg.DataDir, "pagination.key"))
	if len(k1) != 32 || string(k1) != string(k2) {
		t.Error("the pagination key must persist")
	}
}

// Plain HTTP only when asked for.
func TestStartInsecure(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Listen = "127.0.0.1:0"
	cfg.Insecure = true
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mustInitPolicy(t, cfg, st)
	n, err := Start(ctx, cfg, st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(ctx)
	if n.TLS != nil || n.URL[:7] != "http://" {
		t.Fatalf("insecure node: %s %+v", n.URL, n.TLS)
	}
}
