package federation_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/auth"
	"quadshare/internal/config"
	"quadshare/internal/federation"
	"quadshare/internal/policy"
	"quadshare/internal/provenance"
	"quadshare/internal/stix"
	"quadshare/internal/store"
	"quadshare/internal/uuid"
)

// deleter is an analyst of tn with read and write on its shared collection; it
// deletes through TAXII DELETE (§5.7), as an analyst would.
func (tn *testNode) deleter() func(id, query string) int {
	tn.t.Helper()
	ctx := context.Background()
	org, err := tn.st.Organisation(ctx, "national agency "+tn.nation)
	if err != nil {
		tn.t.Fatal(err)
	}
	clearance, _ := policy.DefaultScales().Label(tn.nation, 3)
	u := store.User{ID: uuid.New(), Name: "del", Org: org.ID, Role: store.RoleAnalyst, Clearance: clearance, CreatedAt: time.Now()}
	if err := tn.st.CreateUser(ctx, u); err != nil {
		tn.t.Fatal(err)
	}
	if err := tn.st.PutGrant(ctx, store.Grant{Collection: tn.shared.ID, Subject: u.ID, Read: true, Write: true}); err != nil {
		tn.t.Fatal(err)
	}
	secret, _, err := auth.CreateToken(ctx, tn.st, u.ID, time.Hour)
	if err != nil {
		tn.t.Fatal(err)
	}
	return func(id, query string) int {
		c := pinnedClient(tn, tn.n.TLS.Cert)
		req, _ := http.NewRequest(http.MethodDelete, tn.n.URL+"/api/collections/"+tn.shared.ID+"/objects/"+id+"/"+query, nil)
		req.SetBasicAuth(u.Name, secret)
		req.Header.Set("Accept", "application/taxii+json;version=2.1")
		resp, err := c.Do(req)
		if err != nil {
			tn.t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
}

// versionsAt returns the versions of id in tn's inbound collection.
func (tn *testNode) versionsAt(id string) []string {
	tn.t.Helper()
	pg, err := tn.st.Query(context.Background(), store.Query{Collection: tn.n.Federation.Inbound().ID, IDs: []string{id},
		Versions: store.VersionFilter{All: true}, Limit: 10})
	if err != nil {
		tn.t.Fatal(err)
	}
	var out []string
	for _, e := range pg.Entries {
		out = append(out, e.Object.Version().String())
	}
	return out
}

func newVersion(t *testing.T, o stix.Object, modified string) stix.Object {
	t.Helper()
	v, err := stix.Parse([]byte(strings.Replace(string(o.Raw), `"modified":"2026-03-01T00:00:00.000Z"`, `"modified":"`+modified+`"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A version deleted at its origin is deleted at every partner that received it;
// one version deleted leaves the others; a partner the policy never let see the
// object is told nothing. Both ends record it.
func TestDeletionPropagates(t *testing.T) {
	jp := newTestNode(t, "JP", "AU", "IN=clear", "US=green")
	au := newTestNode(t, "AU", "JP", "IN", "US")
	in := newTestNode(t, "IN", "AU", "JP", "US")
	us := newTestNode(t, "US", "AU", "IN", "JP")
	mesh(t, au, in, jp, us)
	green := indicator(tlpGreen, "green")
	amber := indicator(tlpAmber, "amber", jp.agency)
	amber2 := newVersion(t, amber, "2026-03-02T00:00:00.000Z")
	keep := indicator(tlpGreen, "kept")
	jp.put(green, amber, amber2, keep)
	waitFor(t, 15*time.Second, "the objects at AU and US", func() bool {
		return au.has(green.ID) && len(au.versionsAt(amber.ID)) == 2 && au.has(keep.ID) && us.has(green.ID) && us.has(keep.ID)
	})
	del := jp.deleter()
	if code := del(green.ID, ""); code != http.StatusOK {
		t.Fatalf("delete green: %d", code)
	}
	if code := del(amber.ID, "?match[version]=2026-03-01T00:00:00.000Z"); code != http.StatusOK {
		t.Fatalf("delete amber's first version: %d", code)
	}
	waitFor(t, 60*time.Second, "the deletions at AU and US", func() bool {
		v := au.versionsAt(amber.ID)
		return !au.has(green.ID) && !us.has(green.ID) && len(v) == 1 && v[0] == "2026-03-02T00:00:00.000Z"
	})
	time.Sleep(500 * time.Millisecond)
	if !au.has(keep.ID) || !us.has(keep.ID) {
		t.Error("an object not deleted went missing")
	}
	waitFor(t, 10*time.Second, "AU's record of the deletion", func() bool {
		return auditRule(t, au.st, audit.PeerEvent, "federation.deleted", "peer:node-JP", 0)
	})
	if !auditRule(t, jp.st, audit.PeerEvent, "federation.deletion-queued", "peer:node-AU", 0) ||
		!auditRule(t, jp.st, audit.PeerEvent, "federation.deletion-queued", "peer:node-US", 1) {
		t.Error("JP did not record the tombstones it queued")
	}
	// IN's agreement is TLP:CLEAR only: it never received these, and no tombstone
	// tells it they existed.
	if auditRule(t, jp.st, audit.PeerEvent, "federation.deletion-queued", "peer:node-IN", 0) {
		t.Error("a tombstone was queued for IN, which never received the objects")
	}
	if auditRule(t, in.st, audit.PeerEvent, "federation.deleted", "", 0) {
		t.Error("IN was told of a deletion")
	}
}

// Only the node an object comes from may delete it at a partner: a tombstone signed
// by another node, or naming the origin but signed with another key, is refused and
// recorded; the origin's own tombstone, sent twice, deletes once.
func TestForgedDeletionRefused(t *testing.T) {
	jp := newTestNode(t, "JP", "AU")
	us := newTestNode(t, "US", "AU")
	au := newTestNode(t, "AU", "JP", "US")
	mesh(t, au, jp)
	mesh(t, au, us)
	o := indicator(tlpGreen, "target")
	jp.put(o)
	waitFor(t, 10*time.Second, "the object at AU", func() bool { return au.has(o.ID) })
	tomb := func(nation, agency string, key []byte) []byte {
		s, err := provenance.NewSigner(nation, agency, key)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(map[string]string{"type": federation.TombstoneType, "spec_version": "2.1",
			"id": federation.TombstoneType + "--" + uuid.New(), "created": "2026-04-01T00:00:00.000Z", "modified": "2026-04-01T00:00:00.000Z",
			"object_ref": o.ID, "object_modified": "2026-03-01T00:00:00.000Z"})
		signed, err := s.Sign(raw)
		if err != nil {
			t.Fatal(err)
		}
		return signed
	}
	usClient := pinnedClient(au, us.n.TLS.Cert)
	for name, raw := range map[string][]byte{
		"signed by US":                  tomb("US", us.agency, us.key()),
		"naming JP, signed with US key": tomb("JP", jp.agency, us.key()),
	} {
		code, st := postEnvelope(t, usClient, au, raw)
		if code != 202 || st["failure_count"] != 1.0 {
			t.Errorf("%s: %d %v", name, code, st)
		}
	}
	if !au.has(o.ID) {
		t.Fatal("a forged deletion deleted JP's object")
	}
	if !auditRule(t, au.st, audit.PeerEvent, "provenance.rejected", "peer:node-US", 1) {
		t.Error("the forged deletion is not in the audit trail")
	}
	// JP's own tombstone deletes, even relayed by US; again, it is nothing to do.
	genuine := tomb("JP", jp.agency, jp.key())
	for i := range 2 {
		code, st := postEnvelope(t, usClient, au, genuine)
		if code != 202 || st["success_count"] != 1.0 {
			t.Fatalf("genuine %d: %d %v", i, code, st)
		}
	}
	if au.has(o.ID) {
		t.Error("the origin's tombstone did not delete")
	}
}

// A partner down when the origin deletes, and the origin restarted meanwhile,
// catch up: the tombstone waits in the outbox and is pulled or pushed once the
// partner is back.
func TestDeletionCatchUp(t *testing.T) {
	jp := newTestNode(t, "JP", "AU")
	jp.stop()
	jp.cfg.Federation.NoticeRetention = config.Duration{} // notices go once walked
	jp.restart()
	au := newTestNode(t, "AU", "JP")
	mesh(t, jp, au)
	objs := make([]stix.Object, 5)
	for i := range objs {
		objs[i] = indicator(tlpGreen, fmt.Sprintf("catch-up %d", i))
	}
	jp.put(objs...)
	waitFor(t, 10*time.Second, "the objects at AU", func() bool { return len(au.inbound()) == 5 })
	del := jp.deleter()
	au.stop()
	for _, o := range objs[:3] {
		if code := del(o.ID, ""); code != http.StatusOK {
			t.Fatalf("delete: %d", code)
		}
	}
	// Once in the outbox, the tombstones need their notices no more.
	waitFor(t, 30*time.Second, "JP drops the notices it queued", func() bool { return jp.notices() == 0 })
	jp.stop()
	jp.restart()
	au.restart()
	waitFor(t, 60*time.Second, "the deletions at AU", func() bool { return len(au.inbound()) == 2 })
	in := au.inbound()
	if in[objs[3].ID] == nil || in[objs[4].ID] == nil {
		t.Error("AU lost an object not deleted")
	}
}

// A deletion reaches a node that got the object through a relay: AU, which
// forwarded JP's TLP:CLEAR object to US, passes JP's tombstone on unchanged, and US
// (which cannot reach JP) deletes it.
func TestDeletionRelayed(t *testing.T) {
	jp, au, us := relayed(t)
	clear := indicator(tlpClear, "clear")
	jp.put(clear)
	waitFor(t, 10*time.Second, "the object at AU and, through AU, at US", func() bool { return au.has(clear.ID) && us.has(clear.ID) })
	if code := jp.deleter()(clear.ID, ""); code != http.StatusOK {
		t.Fatalf("delete: %d", code)
	}
	waitFor(t, 60*time.Second, "the deletion at AU and US", func() bool { return !au.has(clear.ID) && !us.has(clear.ID) })
	// recorded once the versions are deleted: it may follow by a moment
	waitFor(t, 10*time.Second, "US's record of the relayed deletion", func() bool {
		return auditRule(t, us.st, audit.PeerEvent, "federation.deleted", "peer:node-AU", 1)
	})
}

// A deletion is relayed only to the peers the object went on to: AU scrubs
// e-mail addresses from names, so JP's TLP:CLEAR object named with one never went
// on to US (it would no longer carry a valid signature of JP's), and US must not
// learn from a tombstone that it existed.
func TestDeletionRelayedOnlyWhereForwarded(t *testing.T) {
	jp, au, us := relayed(t)
	setScrub(t, jp, "description")
	setScrub(t, au, "name", "description")
	named := indicator(tlpClear, "write to someone@example.org")
	plain := indicator(tlpClear, "plain")
	jp.put(named, plain)
	waitFor(t, 10*time.Second, "both at AU, the plain one at US", func() bool {
		return au.has(named.ID) && au.has(plain.ID) && us.has(plain.ID)
	})
	del := jp.deleter()
	for _, o := range []stix.Object{named, plain} {
		if code := del(o.ID, ""); code != http.StatusOK {
			t.Fatalf("delete: %d", code)
		}
	}
	waitFor(t, 60*time.Second, "the deletions at AU and US", func() bool {
		return !au.has(named.ID) && !au.has(plain.ID) && !us.has(plain.ID)
	})
	if n := records(t, au.st, audit.PeerEvent, "federation.deletion-queued", "peer:node-US", named.ID); n != 0 {
		t.Errorf("AU queued for US the tombstone of an object it never forwarded to US (%d records)", n)
	}
	if n := records(t, au.st, audit.PeerEvent, "federation.deletion-queued", "peer:node-US", plain.ID); n != 1 {
		t.Errorf("AU queued the tombstone of the forwarded object for US %d times, want once", n)
	}
}

// setScrub sets the properties tn's policy scrubs.
func setScrub(t *testing.T, tn *testNode, props ...string) {
	t.Helper()
	pc := tn.n.Gate.Policy().Config()
	pc.Revision++
	pc.Redaction.Properties = props
	e, err := policy.New(pc, policy.DefaultScales())
	if err != nil {
		t.Fatal(err)
	}
	tn.n.Gate.SetPolicy(e)
}

// slowDelete commits its deletions late, as a Delete slower than the worker's walk.
type slowDelete struct {
	store.Store
	d time.Duration
}

func (s slowDelete) Delete(ctx context.Context, collection, id string, v store.VersionFilter, specVersions []string) (int, error) {
	time.Sleep(s.d)
	return s.Store.Delete(ctx, collection, id, v, specVersions)
}

// The notice of a deletion commits before the Delete: a worker that walks it in
// between comes back to it, and the tombstone still goes.
func TestDeletionSlowerThanWalk(t *testing.T) {
	jp := newTestNode(t, "JP", "AU")
	au := newTestNode(t, "AU", "JP")
	mesh(t, jp, au)
	o := indicator(tlpGreen, "slow")
	jp.put(o)
	waitFor(t, 10*time.Second, "the object at AU", func() bool { return au.has(o.ID) })
	st := jp.n.Federation.Watch(slowDelete{jp.st, 1500 * time.Millisecond})
	if n, err := st.Delete(context.Background(), jp.shared.ID, o.ID, store.VersionFilter{All: true}, nil); err != nil || n != 1 {
		t.Fatalf("delete: %d %v", n, err)
	}
	waitFor(t, 30*time.Second, "the deletion at AU", func() bool { return !au.has(o.ID) })
}

// notices returns how many deletion notices tn holds.
func (tn *testNode) notices() int {
	tn.t.Helper()
	ctx := context.Background()
	c, err := tn.st.Collection(ctx, federation.DeletionsAlias)
	if err != nil {
		tn.t.Fatal(err)
	}
	pg, err := tn.st.Query(ctx, store.Query{Collection: c.ID, Versions: store.VersionFilter{All: true}, Limit: 1000})
	if err != nil {
		tn.t.Fatal(err)
	}
	return len(pg.Entries)
}

// ipv4 is an ipv4-addr SCO marked with marking.
func ipv4(marking, value string) stix.Object {
	o, err := stix.Parse(fmt.Appendf(nil, `{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--%s","value":%q,"object_marking_refs":[%q]}`,
		uuid.New(), value, marking))
	if err != nil {
		panic(err)
	}
	return o
}

// A report deleted from an operator's inbox never left the nation: no partner is
// told of its deletion (a tombstone would name what an operator reported).
func TestInboxDeletionStaysLocal(t *testing.T) {
	jp := newTestNode(t, "JP", "AU")
	au := newTestNode(t, "AU", "JP")
	mesh(t, jp, au)
	ctx := context.Background()
	org := store.Organisation{ID: uuid.New(), Name: "Grid Co", Nation: "JP", Kind: store.KindOperator}
	if err := jp.st.PutOrganisation(ctx, org); err != nil {
		t.Fatal(err)
	}
	inbox := store.Collection{ID: uuid.New(), Alias: "grid-inbox", Title: "Grid Co reports", OwnerOrg: org.ID, CreatedAt: time.Now()}
	if err := jp.st.CreateCollection(ctx, inbox); err != nil {
		t.Fatal(err)
	}
	reported := ipv4(tlpGreen, "10.1.2.3")
	if _, err := jp.st.Put(ctx, inbox.ID, "", []stix.Object{reported}); err != nil {
		t.Fatal(err)
	}
	shared := ipv4(tlpGreen, "10.9.9.9") // deleted from a shared collection: told
	jp.put(shared)
	waitFor(t, 10*time.Second, "the shared object at AU", func() bool { return au.has(shared.ID) })
	st := jp.n.Federation.Watch(jp.st)
	if n, err := st.Delete(ctx, inbox.ID, reported.ID, store.VersionFilter{All: true}, nil); err != nil || n != 1 {
		t.Fatalf("delete from the inbox: %d %v", n, err)
	}
	if n := jp.notices(); n != 0 {
		t.Fatalf("a deletion from an inbox was noted for partners (%d notices)", n)
	}
	if n, err := st.Delete(ctx, jp.shared.ID, shared.ID, store.VersionFilter{All: true}, nil); err != nil || n != 1 {
		t.Fatalf("delete from the shared collection: %d %v", n, err)
	}
	waitFor(t, 30*time.Second, "the deletion at AU", func() bool { return !au.has(shared.ID) })
	if n := records(t, jp.st, audit.PeerEvent, "federation.deletion-queued", "peer:node-AU", shared.ID); n != 1 {
		t.Fatalf("the deletion from the shared collection: %d tombstones queued, want 1", n)
	}
	if n := jp.notices(); n != 1 { // walked, but within the retention
		t.Errorf("the notice of the deletion: %d notices, want 1 kept", n)
	}
	if auditRule(t, jp.st, audit.PeerEvent, "federation.deletion-queued", "peer:node-AU", 2) {
		t.Error("a tombstone was queued for the inbox's report")
	}
}

// An object removed from one shared collection while another still shares it (an
// SCO's id is its value: the same object in both) is not deleted at partners.
func TestDeletionKeepsWhatIsStillShared(t *testing.T) {
	jp := newTestNode(t, "JP", "AU")
	au := newTestNode(t, "AU", "JP")
	mesh(t, jp, au)
	ctx := context.Background()
	other := store.Collection{ID: uuid.New(), Alias: "other", Title: "other", MediaTypes: []string{"application/stix+json;version=2.1"}, CreatedAt: time.Now()}
	if err := jp.st.CreateCollection(ctx, other); err != nil {
		t.Fatal(err)
	}
	both := ipv4(tlpGreen, "192.0.2.1")
	marker := indicator(tlpGreen, "marker")
	if _, err := jp.st.Put(ctx, other.ID, "", []stix.Object{both}); err != nil {
		t.Fatal(err)
	}
	jp.put(both, marker)
	waitFor(t, 10*time.Second, "the objects at AU", func() bool { return au.has(both.ID) && au.has(marker.ID) })
	del := jp.deleter()
	if code := del(both.ID, ""); code != http.StatusOK {
		t.Fatalf("delete from one collection: %d", code)
	}
	if code := del(marker.ID, ""); code != http.StatusOK {
		t.Fatalf("delete the marker: %d", code)
	}
	// tombstones go in order: once the marker's is applied, the other's would be too
	waitFor(t, 30*time.Second, "the marker's deletion at AU", func() bool { return !au.has(marker.ID) })
	if !au.has(both.ID) {
		t.Error("an object still shared in another collection was deleted at AU")
	}
}

// failingTombstones fails every Enqueue of tombstones while fail is set.
type failingTombstones struct {
	store.Store
	fail *atomic.Bool
}

func (s failingTombstones) Enqueue(ctx context.Context, name, holder string, items []store.OutboxItem, key, value string) (int, error) {
	for _, it := range items {
		if s.fail.Load() && strings.HasPrefix(it.ID, federation.TombstoneType+"--") {
			return 0, errors.New("enqueue failed")
		}
	}
	return s.Store.Enqueue(ctx, name, holder, items, key, value)
}

// records counts the records of kind and rule by actor that name id.
func records(t *testing.T, st store.Store, kind audit.Kind, rule, actor, id string) int {
	t.Helper()
	recs, err := st.AuditRecords(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if r.Kind == kind && r.Rule == rule && r.Actor == actor && slices.ContainsFunc(r.Objects, func(o audit.ObjectRef) bool { return o.ID == id }) {
			n++
		}
	}
	return n
}

// A tombstone is recorded as queued once, when it is: not while queuing fails,
// nor again for each retry.
func TestTombstoneRecordedOnceQueued(t *testing.T) {
	jp := newTestNode(t, "JP", "AU")
	au := newTestNode(t, "AU", "JP")
	mesh(t, jp, au)
	jp.stop()
	jp.open()
	fail := new(atomic.Bool)
	jp.st = failingTombstones{jp.raw, fail}
	jp.start()
	o := indicator(tlpGreen, "deleted")
	jp.put(o)
	waitFor(t, 10*time.Second, "the object at AU", func() bool { return au.has(o.ID) })
	fail.Store(true)
	if code := jp.deleter()(o.ID, ""); code != http.StatusOK {
		t.Fatalf("delete: %d", code)
	}
	time.Sleep(2 * time.Second) // rounds fail to queue the tombstone
	if n := records(t, jp.st, audit.PeerEvent, "federation.deletion-queued", "peer:node-AU", o.ID); n != 0 {
		t.Errorf("a tombstone not queued was recorded as queued (%d records)", n)
	}
	fail.Store(false)
	jp.n.Federation.Wake()
	waitFor(t, 30*time.Second, "the deletion at AU", func() bool { return !au.has(o.ID) })
	if n := records(t, jp.st, audit.PeerEvent, "federation.deletion-queued", "peer:node-AU", o.ID); n != 1 {
		t.Errorf("the tombstone queued is recorded %d times, want once", n)
	}
}
