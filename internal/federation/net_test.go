package federation_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/config"
	"quadshare/internal/federation"
	"quadshare/internal/node"
	"quadshare/internal/policy"
	"quadshare/internal/provenance"
	"quadshare/internal/stix"
	"quadshare/internal/store"
	"quadshare/internal/store/sqlite"
	"quadshare/internal/uuid"
)

// Marking definitions of TLP 2.0.
const (
	tlpClear = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
	tlpGreen = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
	tlpAmber = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
	tlpRed   = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
)

// auditRule reports whether the store's trail holds a record of kind and rule by
// actor (any actor when "") naming n objects (any number when 0).
func auditRule(t testing.TB, st store.Store, kind audit.Kind, rule, actor string, n int) bool {
	t.Helper()
	var after int64
	for {
		recs, err := st.AuditRecords(context.Background(), after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.Kind == kind && r.Rule == rule && (actor == "" || r.Actor == actor) && (n == 0 || len(r.Objects) == n) {
				return true
			}
			after = r.Seq
		}
		if len(recs) < 1000 {
			return false
		}
	}
}

// testNode is one national node on loopback, with real TLS.
type testNode struct {
	t      testing.TB
	nation string
	cfg    config.Config
	raw    *sqlite.Store
	st     store.Store
	n      *node.Node
	pub    ed25519.PublicKey
	shared store.Collection
	agency string // our agency's identity
}

// newTestNode starts a node of nation whose agreements let every other nation of
// partners have up to TLP:AMBER of every type at once. A partner written "US=green"
// has up to TLP:GREEN; "JP=amber,attributed" also lets operators who consented be
// named to it (share_attribution).
func newTestNode(t testing.TB, nation string, partners ...string) *testNode {
	t.Helper()
	ctx := context.Background()
	tn := &testNode{t: t, nation: nation, cfg: config.Default()}
	tn.cfg.DataDir = t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a fixed port, so that a restart keeps the URL peers know
	if err != nil {
		t.Fatal(err)
	}
	tn.cfg.Listen = ln.Addr().String()
	ln.Close()
	tn.open()
	pc, _, err := node.InitPolicy(ctx, tn.cfg, tn.st, nation, "national agency "+nation)
	if err != nil {
		t.Fatal(err)
	}
	tn.agency = pc.Agency
	for _, p := range partners {
		p, terms, ok := strings.Cut(p, "=")
		if !ok {
			terms = "amber"
		}
		maxTLP, flag, _ := strings.Cut(terms, ",")
		pc.Agreements = append(pc.Agreements, policy.Agreement{Partner: p, Version: 1, Approved: "2026-01-01T00:00:00Z",
			ObjectTypes: []string{"*"}, Sectors: []string{"*"}, MaxTLP: maxTLP, MaxLevel: 3, ShareAttribution: flag == "attributed"})
	}
	if err := node.WritePolicy(tn.cfg.PolicyFile(), pc); err != nil {
		t.Fatal(err)
	}
	tn.shared = store.Collection{ID: uuid.New(), Alias: "shared", Title: "shared", MediaTypes: []string{"application/stix+json;version=2.1"}, CreatedAt: time.Now()}
	if err := tn.st.CreateCollection(ctx, tn.shared); err != nil {
		t.Fatal(err)
	}
	tn.start()
	k, _, err := provenance.LoadOrCreateKey(filepath.Join(tn.cfg.DataDir, provenance.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	tn.pub = k.Public().(ed25519.PublicKey)
	t.Cleanup(tn.stop)
	return tn
}

func (tn *testNode) open() {
	s, err := sqlite.Open(context.Background(), filepath.Join(tn.cfg.DataDir, "quadshare.db"))
	if err != nil {
		tn.t.Fatal(err)
	}
	tn.raw, tn.st = s, s
}

func (tn *testNode) start() {
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("FEDLOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With(slog.String("node", tn.nation))
	}
	n, err := node.Start(context.Background(), tn.cfg, tn.st, log)
	if err != nil {
		tn.t.Fatal(err)
	}
	tn.n = n
}

// key is the node's signing key.
func (tn *testNode) key() ed25519.PrivateKey {
	k, _, err := provenance.LoadOrCreateKey(filepath.Join(tn.cfg.DataDir, provenance.KeyFile))
	if err != nil {
		tn.t.Fatal(err)
	}
	return k
}

// stop closes the node and its store (a restart opens both again).
func (tn *testNode) stop() {
	if tn.raw == nil {
		return
	}
	if tn.n != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tn.n.Close(ctx); err != nil {
			tn.t.Errorf("%s: close: %v", tn.nation, err)
		}
		tn.n = nil
	}
	if err := tn.raw.Close(); err != nil {
		tn.t.Errorf("%s: close store: %v", tn.nation, err)
	}
	tn.raw = nil
}

func (tn *testNode) restart() {
	tn.open()
	tn.start()
}

// peer describes tn as a peer of another node.
func (tn *testNode) peer() store.Peer {
	return store.Peer{Name: "node-" + tn.nation, Nation: tn.nation, URL: tn.n.URL + "/api/",
		Fingerprint: tn.n.TLS.Fingerprint, PublicKey: tn.pub}
}

// mesh makes every node a peer of every other.
func mesh(t testing.TB, nodes ...*testNode) {
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b {
				if _, err := federation.AddPeer(context.Background(), a.st, b.peer()); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// indicator is a valid indicator marked with marking, created by createdBy when set.
func indicator(marking, name string, createdBy ...string) stix.Object {
	by := ""
	if len(createdBy) > 0 {
		by = fmt.Sprintf(`"created_by_ref":%q,`, createdBy[0])
	}
	raw := fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--%s",%s"created":"2026-03-01T00:00:00.000Z",`+
		`"modified":"2026-03-01T00:00:00.000Z","name":%q,"pattern":"[ipv4-addr:value = '198.51.100.7']","pattern_type":"stix",`+
		`"valid_from":"2026-03-01T00:00:00Z","object_marking_refs":[%q]}`, uuid.New(), by, name, marking)
	o, err := stix.Parse([]byte(raw))
	if err != nil {
		panic(err)
	}
	return o
}

// put adds objects to the node's shared collection as a TAXII POST would, and wakes
// its federation as the TAXII handler does.
func (tn *testNode) put(objs ...stix.Object) {
	tn.t.Helper()
	if _, err := tn.st.Put(context.Background(), tn.shared.ID, "", objs); err != nil {
		tn.t.Fatal(err)
	}
	tn.n.Federation.Wake()
}

// inbound returns the ids of the latest versions in the node's inbound collection.
func (tn *testNode) inbound() map[string][]byte {
	tn.t.Helper()
	out := map[string][]byte{}
	after := time.Time{}
	for {
		pg, err := tn.st.Query(context.Background(), store.Query{Collection: tn.n.Federation.Inbound().ID, AddedAfter: after,
			Versions: store.VersionFilter{All: true}, Limit: 1000})
		if err != nil {
			tn.t.Fatal(err)
		}
		for _, e := range pg.Entries {
			if _, dup := out[e.Object.ID]; dup {
				tn.t.Errorf("%s: %s stored twice", tn.nation, e.Object.ID)
			}
			out[e.Object.ID] = e.Object.Raw
			after = e.DateAdded
		}
		if !pg.More {
			return out
		}
	}
}

// waitFor polls cond until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
