package node

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"quadshare/internal/config"
	"quadshare/internal/gate"
	"quadshare/internal/policy"
	"quadshare/internal/store"
	"quadshare/internal/store/sqlite"
)

// mustInitPolicy gives a test node the starting policy of an Australian node
// whose agency is "ACSC".
func mustInitPolicy(t *testing.T, cfg config.Config, st store.Store) {
	t.Helper()
	if _, _, err := InitPolicy(context.Background(), cfg, st, "AU", "ACSC"); err != nil {
		t.Fatal(err)
	}
}

func TestInitAndLoadPolicy(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := LoadPolicy(cfg); !errors.Is(err, ErrNoPolicy) {
		t.Fatalf("no policy yet: %v", err)
	}
	pc, org, err := InitPolicy(ctx, cfg, st, "JP", "JPCERT/CC")
	if err != nil {
		t.Fatal(err)
	}
	if pc.Agency != gate.Identity(org.ID) || org.Kind != store.KindAgency || org.Nation != "JP" {
		t.Fatalf("policy agency %s, organisation %+v", pc.Agency, org)
	}
	e, err := LoadPolicy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Config(); got.Nation != "JP" || got.Revision != 1 || len(got.Agreements) != 0 {
		t.Fatalf("loaded %+v", got)
	}
	if _, _, err := InitPolicy(ctx, cfg, st, "JP", "JPCERT/CC"); err == nil {
		t.Fatal("init overwrote a policy")
	}
	// An organisation of that name that is not our agency cannot become it.
	cfg2 := cfg
	cfg2.Policy = filepath.Join(t.TempDir(), "p.json")
	if _, _, err := InitPolicy(ctx, cfg2, st, "AU", "JPCERT/CC"); err == nil {
		t.Fatal("a Japanese agency became the agency of an Australian node")
	}
	// A broken file names itself.
	if err := os.WriteFile(cfg.PolicyFile(), []byte(`{"format":1,"revision":0}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPolicy(cfg); err == nil || !strings.Contains(err.Error(), "policy.json") {
		t.Fatalf("broken policy: %v", err)
	}
}

// The starting policy scrubs the free text an operator writes in a report (the
// incident's report extension: notes, affected services, attachment names) as
// it scrubs names and descriptions.
func TestStartingPolicyScrubsReportText(t *testing.T) {
	e, err := policy.New(StartingPolicy("AU", "00000000-0000-4000-8000-000000000001"), policy.DefaultScales())
	if err != nil {
		t.Fatal(err)
	}
	raw := []byte(`{"type":"incident","spec_version":"2.1","id":"incident--6b0b0f37-1b5e-4d7c-9f0a-8c1d2e3f4a5b",` +
		`"created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"outage",` +
		`"extensions":{"extension-definition--00000000-0000-4000-8000-000000000002":{"extension_type":"property-extension",` +
		`"notes":"call jane@grid.example","affected_services":["scada.corp"],"attachments":[{"name":"10.1.2.3.pcap","sha256":"00"}]}}}`)
	out, redacted, err := e.Scrub(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"jane@grid.example", "scada.corp", "10.1.2.3"} {
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("%s left in %s", secret, out)
		}
	}
	if len(redacted) != 3 {
		t.Errorf("%d redactions recorded, want 3: %+v", len(redacted), redacted)
	}
}
