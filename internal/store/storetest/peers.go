package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/store"
)

func testPeer(name, nation string, n byte) store.Peer {
	return store.Peer{
		Name: name, Nation: nation, URL: "https://127.0.0.1:8443/api/",
		Fingerprint: strings.Repeat(fmt.Sprintf("%02x", n), 32), PublicKey: make([]byte, 32),
	}
}

func testPeers(t *testing.T, s store.Store) {
	ctx := context.Background()
	jp := testPeer("jp-node", "JP", 1)
	if err := s.CreatePeer(ctx, jp); err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePeer(ctx, jp); !errors.Is(err, store.ErrExists) {
		t.Errorf("same name: %v", err)
	}
	other := testPeer("other", "US", 1)
	if err := s.CreatePeer(ctx, other); !errors.Is(err, store.ErrExists) {
		t.Errorf("same fingerprint: %v", err)
	}
	for _, bad := range []func(*store.Peer){
		func(p *store.Peer) { p.Name = "" },
		func(p *store.Peer) { p.Name = "a b" },
		func(p *store.Peer) { p.Nation = "jp" },
		func(p *store.Peer) { p.URL = "http://127.0.0.1/api/" },
		func(p *store.Peer) { p.URL = "https://127.0.0.1/api" },
		func(p *store.Peer) { p.Fingerprint = "AB" },
		func(p *store.Peer) { p.PublicKey = nil },
	} {
		p := testPeer("bad", "IN", 9)
		bad(&p)
		if err := s.CreatePeer(ctx, p); err == nil {
			t.Errorf("accepted %+v", p)
		}
	}
	us := testPeer("us-node", "US", 2)
	if err := s.CreatePeer(ctx, us); err != nil {
		t.Fatal(err)
	}
	ps, err := s.Peers(ctx)
	if err != nil || len(ps) != 2 || ps[0].Name != "jp-node" || ps[1].Name != "us-node" {
		t.Fatalf("peers: %+v %v", ps, err)
	}
	got, err := s.PeerByFingerprint(ctx, us.Fingerprint)
	if err != nil || got.Name != "us-node" || got.Nation != "US" || got.URL != us.URL || len(got.PublicKey) != 32 || got.CreatedAt.IsZero() {
		t.Errorf("by fingerprint: %+v %v", got, err)
	}
	if _, err := s.Peer(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown peer: %v", err)
	}

	// Leases: one holder at a time; progress writes need the lease.
	if err := s.LeasePeer(ctx, "jp-node", "a", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.LeasePeer(ctx, "jp-node", "b", time.Minute); !errors.Is(err, store.ErrLeased) {
		t.Errorf("second holder: %v", err)
	}
	if err := s.LeasePeer(ctx, "jp-node", "a", time.Minute); err != nil {
		t.Errorf("renewal: %v", err)
	}
	if err := s.LeasePeer(ctx, "nobody", "a", time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("lease of an unknown peer: %v", err)
	}
	if err := s.SetPeerCursor(ctx, "jp-node", "b", "pull", "x"); !errors.Is(err, store.ErrLeased) {
		t.Errorf("cursor without the lease: %v", err)
	}
	if _, err := s.Enqueue(ctx, "jp-node", "b", []store.OutboxItem{{ID: "x--1", Version: "v", Raw: []byte("{}")}}, "", ""); !errors.Is(err, store.ErrLeased) {
		t.Errorf("enqueue without the lease: %v", err)
	}

	// Enqueue: sequences increase, (id, version) are queued once, the cursor moves with them.
	items := func(ids ...string) []store.OutboxItem {
		var out []store.OutboxItem
		for _, id := range ids {
			out = append(out, store.OutboxItem{ID: id, Version: "2026-01-01T00:00:00.000Z", Raw: []byte(`{"id":"` + id + `"}`)})
		}
		return out
	}
	first := items("indicator--1", "indicator--2", "indicator--1")
	n, err := s.Enqueue(ctx, "jp-node", "a", first, store.OutboxCursorFill+"c1", "100")
	if err != nil || n != 2 {
		t.Fatalf("enqueue: %d %v", n, err)
	}
	if first[0].Seq == 0 || first[1].Seq <= first[0].Seq || first[2].Seq != 0 {
		t.Errorf("sequences %d %d %d", first[0].Seq, first[1].Seq, first[2].Seq)
	}
	if c, _ := s.PeerCursor(ctx, "jp-node", store.OutboxCursorFill+"c1"); c != "100" {
		t.Errorf("cursor %q", c)
	}
	n, err = s.Enqueue(ctx, "jp-node", "a", items("indicator--2", "indicator--3"), "", "")
	if err != nil || n != 1 {
		t.Fatalf("enqueue again: %d %v", n, err)
	}
	out, err := s.Outbox(ctx, "jp-node", 0, 10)
	if err != nil || len(out) != 3 || out[0].ID != "indicator--1" || out[2].ID != "indicator--3" || string(out[1].Raw) != `{"id":"indicator--2"}` {
		t.Fatalf("outbox: %+v %v", out, err)
	}
	for i := 1; i < len(out); i++ {
		if out[i].Seq <= out[i-1].Seq {
			t.Errorf("outbox order: %+v", out)
		}
	}
	if page, _ := s.Outbox(ctx, "jp-node", out[0].Seq, 1); len(page) != 1 || page[0].ID != "indicator--2" {
		t.Errorf("page after %d: %+v", out[0].Seq, page)
	}
	if other, _ := s.Outbox(ctx, "us-node", 0, 10); len(other) != 0 {
		t.Errorf("another peer's outbox: %+v", other)
	}
	p, _ := s.Peer(ctx, "jp-node")
	if p.Queued != 3 || p.Depth != 3 || p.Pushed != 0 || p.OldestQueue.IsZero() {
		t.Errorf("before ack: %+v", p)
	}
	if err := s.AckOutbox(ctx, "jp-node", "a", out[1].Seq); err != nil {
		t.Fatal(err)
	}
	if err := s.AckOutbox(ctx, "jp-node", "a", out[0].Seq); err != nil { // an older ack moves nothing back
		t.Fatal(err)
	}
	p, _ = s.Peer(ctx, "jp-node")
	if p.Pushed != 2 || p.Depth != 1 || p.PushedSeq != out[1].Seq {
		t.Errorf("after ack: %+v", p)
	}
	if left, _ := s.Outbox(ctx, "jp-node", 0, 10); len(left) != 1 || left[0].ID != "indicator--3" {
		t.Errorf("acknowledged items stay in the outbox: %+v", left)
	}
	if err := s.AckOutbox(ctx, "jp-node", "b", out[2].Seq); !errors.Is(err, store.ErrLeased) {
		t.Errorf("ack without the lease: %v", err)
	}

	// Outcomes.
	at := time.Now().UTC().Truncate(time.Microsecond)
	if err := s.RecordPeer(ctx, "jp-node", store.PeerEvent{Pulled: 5, Rejected: 1, Conflicts: 2, Success: true, At: at}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordPeer(ctx, "jp-node", store.PeerEvent{Error: "connection refused", At: at.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	p, _ = s.Peer(ctx, "jp-node")
	if p.Pulled != 5 || p.Rejected != 1 || p.Conflicts != 2 || !p.LastSuccess.Equal(at) ||
		!p.LastErrorAt.Equal(at.Add(time.Second)) || p.LastError != "connection refused" {
		t.Errorf("record: %+v", p)
	}
	if err := s.RecordPeer(ctx, "nobody", store.PeerEvent{Success: true}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("record unknown: %v", err)
	}

	// A released or expired lease can be taken over.
	if err := s.ReleasePeer(ctx, "jp-node", "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.LeasePeer(ctx, "jp-node", "b", 50*time.Millisecond); err != nil {
		t.Fatalf("after release: %v", err)
	}
	time.Sleep(120 * time.Millisecond)
	if err := s.SetPeerCursor(ctx, "jp-node", "b", "pull", "x"); !errors.Is(err, store.ErrLeased) {
		t.Errorf("cursor after the lease expired: %v", err)
	}
	if err := s.LeasePeer(ctx, "jp-node", "c", time.Minute); err != nil {
		t.Fatalf("take over: %v", err)
	}
	if err := s.SetPeerCursor(ctx, "jp-node", "c", "pull", "x"); err != nil {
		t.Fatal(err)
	}

	// Many items at once, with items already queued among them: each new one gets
	// its own increasing sequence, and only those are counted.
	var ids []string
	for i := range 300 {
		ids = append(ids, fmt.Sprintf("indicator--m%d", i))
	}
	ids = append(ids, "indicator--3", "indicator--m7") // queued before, in this call
	many := items(ids...)
	n, err = s.Enqueue(ctx, "jp-node", "c", many, "", "")
	if err != nil || n != 300 {
		t.Fatalf("enqueue many: %d %v", n, err)
	}
	for i := 1; i < 300; i++ {
		if many[i].Seq <= many[i-1].Seq {
			t.Fatalf("sequences of many: %d then %d", many[i-1].Seq, many[i].Seq)
		}
	}
	if many[300].Seq != 0 || many[301].Seq != 0 {
		t.Errorf("items queued before got sequences %d %d", many[300].Seq, many[301].Seq)
	}
	if page, _ := s.Outbox(ctx, "jp-node", many[149].Seq, 1); len(page) != 1 || page[0].ID != "indicator--m150" || page[0].Seq != many[150].Seq {
		t.Errorf("the page after item 149: %+v", page)
	}

	if err := s.DeletePeer(ctx, "jp-node"); err != nil {
		t.Fatal(err)
	}
	// Both changes are administrative actions in the audit trail.
	recs, err := s.AuditRecords(ctx, 0, store.MaxAuditPage)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range recs {
		if r.Kind == audit.AdminAction && r.Subject == "peer:jp-node" {
			var d struct{ Action string }
			_ = json.Unmarshal(r.Detail, &d)
			actions = append(actions, d.Action)
		}
	}
	if strings.Join(actions, ",") != "create-peer,delete-peer" {
		t.Errorf("audit of peer changes: %v", actions)
	}
	if err := s.DeletePeer(ctx, "jp-node"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	if left, _ := s.Outbox(ctx, "jp-node", 0, 10); len(left) != 0 {
		t.Errorf("outbox left: %+v", left)
	}
	if err := s.CreatePeer(ctx, jp); err != nil {
		t.Fatalf("re-create: %v", err)
	}
	if c, _ := s.PeerCursor(ctx, "jp-node", "pull"); c != "" {
		t.Errorf("cursor survived the delete: %q", c)
	}
}

// testPeerLeaseRace: of many workers racing for one peer, exactly one gets it.
func testPeerLeaseRace(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.CreatePeer(ctx, testPeer("in-node", "IN", 3)); err != nil {
		t.Fatal(err)
	}
	won := winners(t, 8, store.ErrLeased, func(i int) error {
		return s.LeasePeer(ctx, "in-node", fmt.Sprintf("w%d", i), time.Minute)
	})
	if won != 1 {
		t.Errorf("%d workers hold the lease", won)
	}
}
