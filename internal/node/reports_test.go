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
	"quadshare/internal/reportapi"
	"quadshare/internal/store"
	"quadshare/internal/store/sqlite"
)

// The node serves the report API beside TAXII, and signs receipts with a key that
// lives in its data directory and survives a restart.
func TestReportAPIMounted(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir, cfg.Listen = t.TempDir(), "127.0.0.1:0"
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "quadshare.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.PutOrganisation(ctx, store.Organisation{ID: "o", Name: "ACSC", Nation: "AU", Kind: store.KindAgency}); err != nil { // the policy's agency (mustInitPolicy)
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, store.User{ID: "u", Name: "ana", Org: "o", Role: store.RoleAnalyst, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	secret, _, err := auth.CreateToken(ctx, st, "u", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	get := func(n *Node, path, accept string) (int, []byte) {
		roots := x509.NewCertPool()
		roots.AddCert(n.TLS.CACert)
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
		defer c.CloseIdleConnections()
		req, _ := http.NewRequestWithContext(ctx, "GET", n.URL+path, nil)
		req.Header.Set("Accept", accept)
		req.SetBasicAuth("ana", secret)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	key := func(n *Node) string {
		code, b := get(n, reportapi.Prefix+"receipt-key", "application/json")
		var k reportapi.ReceiptKey
		if code != http.StatusOK || json.Unmarshal(b, &k) != nil || k.PublicKey == "" {
			t.Fatalf("receipt key: %d %s", code, b)
		}
		return k.PublicKey
	}
	mustInitPolicy(t, cfg, st)
	n, err := Start(ctx, cfg, st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	first := key(n)
	if code, b := get(n, reportapi.Prefix+"reports", "application/json"); code != http.StatusOK || string(b) != "{\"reports\":[]}\n" {
		t.Fatalf("reports: %d %s", code, b)
	}
	if code, _ := get(n, "/taxii2/", "application/taxii+json;version=2.1"); code != http.StatusOK {
		t.Fatalf("TAXII discovery beside the report API: %d", code)
	}
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
	n2, err := Start(ctx, cfg, st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close(ctx)
	if key(n2) != first {
		t.Fatal("the receipt key changed on restart")
	}
}
