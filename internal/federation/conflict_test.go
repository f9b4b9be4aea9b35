package federation_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/federation"
	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// Two nodes send different objects under the same id and version: AU keeps the first
// and records the conflict against the second sender.
func TestConflictKeepsTheFirst(t *testing.T) {
	jp := newTestNode(t, "JP", "AU")
	us := newTestNode(t, "US", "AU")
	au := newTestNode(t, "AU", "JP", "US")
	mesh(t, au, jp)
	mesh(t, au, us)
	first := indicator(tlpGreen, "first")
	other, err := stix.Parse([]byte(strings.Replace(string(first.Raw), `"name":"first"`, `"name":"second"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	sj, _ := jp.n.Federation.Signer()
	su, _ := us.n.Federation.Signer()
	a, _ := sj.Sign(first.Raw)
	b, _ := su.Sign(other.Raw)
	if code, st := postEnvelope(t, pinnedClient(au, jp.n.TLS.Cert), au, a); code != 202 || st["success_count"] != 1.0 {
		t.Fatalf("first: %d %v", code, st)
	}
	code, st := postEnvelope(t, pinnedClient(au, us.n.TLS.Cert), au, b)
	if code != 202 || st["failure_count"] != 1.0 || !strings.Contains(st["failures"].([]any)[0].(map[string]any)["message"].(string), "conflict") {
		t.Fatalf("second: %d %v", code, st)
	}
	in := au.inbound()
	if !strings.Contains(string(in[first.ID]), `"name":"first"`) {
		t.Errorf("kept %s", in[first.ID])
	}
	if p, _ := au.st.Peer(context.Background(), "node-US"); p.Conflicts != 1 {
		t.Errorf("conflicts recorded on US: %d", p.Conflicts)
	}
	if !auditRule(t, au.st, audit.PeerEvent, "federation.conflict", "peer:node-US", 1) {
		t.Error("the conflict is not in the audit trail")
	}
	// The same object again from the same sender is a duplicate, not a conflict.
	if code, st := postEnvelope(t, pinnedClient(au, jp.n.TLS.Cert), au, a); code != 202 || st["success_count"] != 1.0 {
		t.Fatalf("again: %d %v", code, st)
	}
}

// A revocation is a new version: it propagates like any other.
func TestRevocationPropagates(t *testing.T) {
	jp := newTestNode(t, "JP", "AU")
	au := newTestNode(t, "AU", "JP")
	mesh(t, jp, au)
	v1 := indicator(tlpGreen, "to be revoked")
	jp.put(v1)
	raw := strings.Replace(string(v1.Raw), `"modified":"2026-03-01T00:00:00.000Z"`, `"modified":"2026-03-02T00:00:00.000Z","revoked":true`, 1)
	v2, err := stix.Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	jp.put(v2)
	waitFor(t, 10*time.Second, "both versions at AU", func() bool {
		pg, err := au.st.Query(context.Background(), store.Query{Collection: au.n.Federation.Inbound().ID, IDs: []string{v1.ID},
			Versions: store.VersionFilter{All: true}, Limit: 10})
		return err == nil && len(pg.Entries) == 2 && pg.Entries[1].Object.Revoked
	})
}

// A shared collection named in the configuration must exist; only those named are
// shared.
func TestConfiguredCollections(t *testing.T) {
	jp := newTestNode(t, "JP", "AU")
	au := newTestNode(t, "AU", "JP")
	mesh(t, jp, au)
	ctx := context.Background()
	cfg := federation.Config{Store: jp.st, Gate: jp.n.Gate, Key: jp.key(), Cert: jp.n.TLS.Cert, Collections: []string{"nope"}}
	if _, err := federation.New(ctx, cfg); err == nil {
		t.Error("an unknown shared collection was accepted")
	}
	private := store.Collection{ID: "private-" + jp.shared.ID, Alias: "private", Title: "private", CreatedAt: time.Now()}
	if err := jp.st.CreateCollection(ctx, private); err != nil {
		t.Fatal(err)
	}
	jp.n.Close(ctx) // a second service on the same store shares "shared" only
	jp.n = nil
	cfg.Collections, cfg.Holder = []string{"shared"}, "second"
	svc, err := federation.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc.Start()
	defer svc.Close(ctx)
	kept := indicator(tlpGreen, "private")
	if _, err := jp.st.Put(ctx, private.ID, "", []stix.Object{kept}); err != nil {
		t.Fatal(err)
	}
	shared := indicator(tlpGreen, "shared")
	if _, err := jp.st.Put(ctx, jp.shared.ID, "", []stix.Object{shared}); err != nil {
		t.Fatal(err)
	}
	svc.Wake()
	waitFor(t, 10*time.Second, "the shared object at AU", func() bool { return au.inbound()[shared.ID] != nil })
	time.Sleep(500 * time.Millisecond)
	if au.inbound()[kept.ID] != nil {
		t.Error("an object of a collection not shared reached AU")
	}
}
