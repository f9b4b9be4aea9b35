package federation_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"quadshare/internal/federation"
	"quadshare/internal/gate"
	"quadshare/internal/node"
	"quadshare/internal/pki"
	"quadshare/internal/policy"
	"quadshare/internal/provenance"
	"quadshare/internal/stix"
	"quadshare/internal/store"
	"quadshare/internal/store/postgres"
	"quadshare/internal/store/postgres/pgtest"
	"quadshare/internal/uuid"
)

// countingDoer records, per object id, which processes POSTed it.
type countingDoer struct {
	c       *http.Client
	process int
	mu      *sync.Mutex
	sent    map[string][2]int
}

func (d countingDoer) Do(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost {
		return d.c.Do(r)
	}
	body, _ := r.GetBody()
	b, _ := io.ReadAll(body)
	var env struct {
		Objects []struct {
			ID string `json:"id"`
		} `json:"objects"`
	}
	_ = json.Unmarshal(b, &env)
	d.mu.Lock()
	for _, o := range env.Objects {
		n := d.sent[o.ID]
		n[d.process]++
		d.sent[o.ID] = n
	}
	d.mu.Unlock()
	return d.c.Do(r)
}

// Two processes of JP's node share one PostgreSQL database: each object is sent to
// AU by one of them (the one holding the peer's lease; it may send again after a
// failure), and when one process stops the other carries on.
func TestSharedDatabaseProcesses(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	au := newTestNode(t, "AU", "JP")

	dir := t.TempDir()
	tlsID, _, err := pki.EnsureServer(filepath.Join(dir, "tls"), []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := provenance.LoadOrCreateKey(filepath.Join(dir, provenance.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	pc := node.StartingPolicy("JP", uuid.New())
	pc.Agreements = append(pc.Agreements, policy.Agreement{Partner: "AU", Version: 1, Approved: "2026-01-01T00:00:00Z",
		ObjectTypes: []string{"*"}, Sectors: []string{"*"}, MaxTLP: "amber", MaxLevel: 3})
	engine, err := policy.New(pc, policy.DefaultScales())
	if err != nil {
		t.Fatal(err)
	}
	// JP as AU's peer; its node serves no HTTP here, so AU's pulls fail and only JP's pushes deliver.
	jpPeer := store.Peer{Name: "node-JP", Nation: "JP", URL: "https://127.0.0.1:1/api/", Fingerprint: tlsID.Fingerprint,
		PublicKey: key.Public().(ed25519.PublicKey)}
	if _, err := federation.AddPeer(ctx, au.st, jpPeer); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	sent := map[string][2]int{}
	shared := store.Collection{ID: uuid.New(), Alias: "shared", Title: "shared", CreatedAt: time.Now()}
	var procs []*federation.Service
	var stores []store.Store
	for i := range 2 {
		pg, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		st := store.Store(pg)
		t.Cleanup(func() { pg.Close() })
		stores = append(stores, st)
		if i == 0 {
			if err := st.CreateCollection(ctx, shared); err != nil {
				t.Fatal(err)
			}
			if _, err := federation.AddPeer(ctx, st, au.peer()); err != nil {
				t.Fatal(err)
			}
		}
		g, err := gate.New(engine, st)
		if err != nil {
			t.Fatal(err)
		}
		svc, err := federation.New(ctx, federation.Config{Store: st, Gate: g, Key: key, Cert: tlsID.Cert,
			Holder: fmt.Sprintf("process-%d", i), Lease: 3 * time.Second, Poll: 50 * time.Millisecond,
			Client: func(p store.Peer) (federation.Doer, error) {
				return countingDoer{c: &http.Client{Transport: &http.Transport{TLSClientConfig: federation.PinnedTLS(tlsID.Cert, p.Fingerprint)}},
					process: i, mu: &mu, sent: sent}, nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		svc.Start()
		procs = append(procs, svc)
	}
	t.Cleanup(func() { _ = procs[1].Close(context.Background()) })

	put := func(st store.Store, n int) []string {
		var ids []string
		for i := 0; i < n; i += 50 {
			var batch []stix.Object
			for j := range 50 {
				o := indicator(tlpGreen, fmt.Sprintf("shared %d", i+j))
				batch = append(batch, o)
				ids = append(ids, o.ID)
			}
			if _, err := st.Put(ctx, shared.ID, "", batch); err != nil {
				t.Fatal(err)
			}
			procs[0].Wake()
			procs[1].Wake()
		}
		return ids
	}
	ids := put(stores[0], 500)
	waitFor(t, 60*time.Second, "500 objects at AU", func() bool { return len(au.inbound()) == 500 })
	mu.Lock()
	for _, id := range ids {
		if n := sent[id]; n[0]+n[1] == 0 || n[0] > 0 && n[1] > 0 {
			t.Errorf("%s sent %d times by process 0 and %d by process 1", id, n[0], n[1])
		}
	}
	mu.Unlock()

	// One process stops; the other takes the peer over.
	if err := procs[0].Close(ctx); err != nil {
		t.Fatal(err)
	}
	more := put(stores[1], 200)
	waitFor(t, 60*time.Second, "200 more objects at AU", func() bool { return len(au.inbound()) == 700 })
	in := au.inbound()
	for _, id := range append(ids, more...) {
		if in[id] == nil {
			t.Errorf("lost %s", id)
		}
	}

}
