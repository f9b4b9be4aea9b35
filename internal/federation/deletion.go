package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/policy"
	"quadshare/internal/provenance"
	"quadshare/internal/stix"
	"quadshare/internal/store"
	"quadshare/internal/uuid"
)

// Deletions. A version deleted at the node it comes from (TAXII DELETE, §5.7, or
// any other Delete through the store Watch returns) is deleted at the partners it
// was shared with too. The origin signs a tombstone, a small STIX object carrying
// the provenance extension like every object it shares, so that any node holding
// the origin's key can check it, whoever relays it. Tombstones travel through the
// outbox, push and pull like objects; the format is in docs/federation.md.
//
// Durability: before the store deletes, the versions it is about to remove are
// written as notices (one per version, with the nations to tell and the signed
// tombstone) in the local collection DeletionsAlias, in their own transaction.
// Each peer's worker walks that collection with a cursor like a shared one and
// queues the tombstones addressed to its nation, once the version is really gone.
// A crash between the notice and the delete thus sends nothing (the version is
// still there); a crash after it loses nothing.

// DeletionsAlias is the collection of deletion notices: local, never shared.
const DeletionsAlias = "federation-deletions"

// TombstoneType is the STIX type of a signed deletion (a custom object, §11.2).
const TombstoneType = "x-quadshare-deletion"

const noticeType = "x-quadshare-deletion-notice"

// tombstoneNS names tombstone ids: one id per (origin, object, version), so that a
// deletion noted twice is one deletion.
var tombstoneNS = uuid.UUID{0x5e, 0x1d, 0x0c, 0x3a, 0x8b, 0x44, 0x4f, 0x1e, 0x9a, 0x21, 0x6c, 0x0d, 0x7e, 0x52, 0x31, 0x90}

// tombstone is the wire form of a deletion, before its provenance extension.
type tombstone struct {
	Type           string                     `json:"type"`
	SpecVersion    string                     `json:"spec_version"`
	ID             string                     `json:"id"`
	Created        string                     `json:"created"`
	Modified       string                     `json:"modified"`
	ObjectRef      string                     `json:"object_ref"`
	ObjectModified string                     `json:"object_modified,omitempty"` // absent: an object without versions (SCO)
	Extensions     map[string]json.RawMessage `json:"extensions,omitempty"`
}

// notice is a deletion waiting to be queued for the nations named; stored locally.
type notice struct {
	Type        string   `json:"type"`
	SpecVersion string   `json:"spec_version"`
	ID          string   `json:"id"`
	Created     string   `json:"created"`
	Modified    string   `json:"modified"`
	Collection  string   `json:"collection"` // where the version was
	ObjectRef   string   `json:"object_ref"`
	Version     string   `json:"object_modified,omitempty"`
	Recipients  []string `json:"recipients"`
	Tombstone   string   `json:"tombstone"` // signed wire form, sent as is
}

// Watch returns st whose Delete notes, before deleting, what partners must be told.
// Every path that deletes objects at this node should use it.
func (s *Service) Watch(st store.Store) store.Store { return watched{Store: st, s: s} }

type watched struct {
	store.Store
	s *Service
}

func (w watched) Delete(ctx context.Context, collection, id string, v store.VersionFilter, specVersions []string) (int, error) {
	if err := w.s.noteDeletion(ctx, collection, id, v, specVersions); err != nil {
		return 0, fmt.Errorf("federation: note deletion of %s: %w", id, err)
	}
	n, err := w.Store.Delete(ctx, collection, id, v, specVersions)
	if n > 0 {
		w.s.Wake()
	}
	return n, err
}

// EnsureDeletions returns the collection of deletion notices, creating it when missing.
func EnsureDeletions(ctx context.Context, st store.Store) (store.Collection, error) {
	return ensureCollection(ctx, st, DeletionsAlias, "Federation deletions",
		"Deletions waiting to be told to partner nodes; local, never shared.")
}

// shares reports whether collection c is one this node shares with peers: one of
// sharedCollections, the same set the fill walks (never an operator's inbox nor
// the deletion notices). When it cannot tell, it says no: a tombstone for a version
// never shared would tell partners it existed.
func (s *Service) shares(ctx context.Context, c string) bool {
	cols, err := s.sharedCollections(ctx)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(cols, func(col store.Collection) bool { return col.ID == c })
}

// noteDeletion writes the notices of the versions a Delete is about to remove from
// one of our shared collections: one per version that the gate releases to at
// least one peer as the fill would (a partner the policy never let see it is told
// nothing: a tombstone would reveal that the object existed). Versions we
// received are not ours to delete at partners: only their origin's tombstone is
// relayed (relayDeletion).
func (s *Service) noteDeletion(ctx context.Context, collection, id string, v store.VersionFilter, specVersions []string) error {
	if collection == s.inbound.ID || !s.shares(ctx, collection) {
		return nil
	}
	entries, err := s.versions(ctx, collection, id, v, specVersions)
	if err != nil || len(entries) == 0 {
		return err
	}
	peers, err := s.st.Peers(ctx)
	if err != nil || len(peers) == 0 {
		return err
	}
	signer, err := s.Signer()
	if err != nil {
		return err
	}
	recipients := make([][]string, len(entries))
	for _, p := range peers {
		for i := range s.cfg.Gate.Preview(policy.Recipient{Kind: policy.KindPartner, Nation: p.Nation}, entries) {
			if !slices.Contains(recipients[i], p.Nation) {
				recipients[i] = append(recipients[i], p.Nation)
			}
		}
	}
	now := stix.NewTimestamp(time.Now(), 3).String()
	var notices []stix.Object
	for i, en := range entries {
		if len(recipients[i]) == 0 {
			continue
		}
		version := ""
		if ts := en.Object.Version(); !ts.IsZero() {
			version = ts.String()
		}
		t := tombstone{Type: TombstoneType, SpecVersion: "2.1",
			ID:      TombstoneType + "--" + uuid.V5(tombstoneNS, []byte(signer.Nation+"\x00"+en.Object.ID+"\x00"+version)),
			Created: now, Modified: now, ObjectRef: en.Object.ID, ObjectModified: version}
		raw, err := json.Marshal(t)
		if err != nil {
			return err
		}
		if raw, err = signer.Sign(raw); err != nil {
			return err
		}
		n, err := newNotice(collection, en, recipients[i], raw, now)
		if err != nil {
			return err
		}
		notices = append(notices, n)
	}
	return s.putNotices(ctx, notices)
}

func newNotice(collection string, en store.Entry, recipients []string, tomb []byte, now string) (stix.Object, error) {
	version := ""
	if ts := en.Object.Version(); !ts.IsZero() {
		version = ts.String()
	}
	b, err := json.Marshal(notice{Type: noticeType, SpecVersion: "2.1", ID: noticeType + "--" + uuid.New(), Created: now, Modified: now,
		Collection: collection, ObjectRef: en.Object.ID, Version: version, Recipients: recipients, Tombstone: string(tomb)})
	if err != nil {
		return stix.Object{}, err
	}
	return stix.Parse(b)
}

func (s *Service) putNotices(ctx context.Context, notices []stix.Object) error {
	if len(notices) == 0 {
		return nil
	}
	_, err := s.st.Put(ctx, s.deletions.ID, "", notices)
	return err
}

// versions returns the versions of id in collection that v and specVersions select.
func (s *Service) versions(ctx context.Context, collection, id string, v store.VersionFilter, specVersions []string) ([]store.Entry, error) {
	var out []store.Entry
	q := store.Query{Collection: collection, IDs: []string{id}, Versions: v, SpecVersions: specVersions, Limit: 1000}
	for {
		pg, err := s.st.Query(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, pg.Entries...)
		if !pg.More || len(pg.Entries) == 0 {
			return out, nil
		}
		q.AddedAfter = pg.Entries[len(pg.Entries)-1].DateAdded
	}
}

// noticeSettle is how long a notice whose version is still there may be waiting for
// its Delete to commit (the notice commits first); after it, the Delete failed or
// the version was added again, and the notice sends nothing.
const noticeSettle = time.Minute

// tombstones turns notices into outbox items for the worker's peer: those that name
// its nation, for a version that is gone. It returns how many entries it dealt
// with: it stops at a notice whose version is still there and which is recent (its
// Delete may not have committed yet), so that the walk comes back to it. refs[i]
// is the version items[i] deletes, for the record the caller writes once queued.
func (w *worker) tombstones(ctx context.Context, entries []store.Entry) (items []store.OutboxItem, refs []audit.ObjectRef, done int, err error) {
	cols, err := w.s.sharedCollections(ctx)
	if err != nil {
		return nil, nil, 0, err
	}
	for i, en := range entries {
		var n notice
		if err := json.Unmarshal(en.Object.Raw, &n); err != nil || n.Type != noticeType || !slices.Contains(n.Recipients, w.peer.Nation) {
			continue
		}
		vf := store.VersionFilter{All: true}
		if n.Version != "" {
			ts, err := stix.ParseTimestamp(n.Version)
			if err != nil {
				continue
			}
			vf = store.VersionFilter{Exact: []stix.Timestamp{ts}}
		}
		still, err := w.s.versions(ctx, n.Collection, n.ObjectRef, vf, nil)
		if err != nil {
			return nil, nil, 0, err
		}
		if len(still) > 0 {
			if created, err := stix.ParseTimestamp(n.Created); err == nil && time.Since(created.Time()) < noticeSettle {
				return items, refs, i, nil
			}
			continue
		}
		// A tombstone names a version, or every version of an SCO: while another
		// shared collection still holds it, partners must keep it.
		if still, err := w.s.sharedElsewhere(ctx, cols, n.Collection, n.ObjectRef, vf); err != nil {
			return nil, nil, 0, err
		} else if still {
			continue
		}
		t, err := stix.Parse([]byte(n.Tombstone))
		if err != nil {
			continue
		}
		items = append(items, store.OutboxItem{ID: t.ID, Version: versionOf(&store.Entry{Object: t}), Raw: t.Raw})
		refs = append(refs, audit.ObjectRef{ID: n.ObjectRef, Version: n.Version})
	}
	return items, refs, len(entries), nil
}

// recordTombstones records the tombstones Enqueue added (their Seq set): refs[i]
// is the version items[i] deletes. One already in the outbox (a page walked again
// after a crash) was recorded when it was queued.
func (w *worker) recordTombstones(ctx context.Context, items []store.OutboxItem, refs []audit.ObjectRef) {
	var queued []audit.ObjectRef
	for i := range items {
		if items[i].Seq != 0 {
			queued = append(queued, refs[i])
		}
	}
	w.s.record(ctx, w.peer, "federation.deletion-queued", queued, "")
}

// pruneNotices deletes the notices that every peer's walk has passed and that
// are older than the retention: each peer's tombstone is in its outbox, or was
// not one to tell it, and a peer removed and added again within the retention
// walks them again. While a peer has not walked them (a peer just added), all
// are kept.
func (s *Service) pruneNotices(ctx context.Context) {
	if err := s.pruneNoticesUpTo(ctx); err != nil && ctx.Err() == nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "federation: pruning deletion notices", slog.String("error", err.Error()))
	}
}

func (s *Service) pruneNoticesUpTo(ctx context.Context) error {
	peers, err := s.st.Peers(ctx)
	if err != nil || len(peers) == 0 {
		return err
	}
	upTo := time.Now().Add(-s.cfg.NoticeRetention)
	for _, p := range peers {
		v, err := s.st.PeerCursor(ctx, p.Name, store.OutboxCursorFill+s.deletions.ID)
		if err != nil || v == "" {
			return err
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return err
		}
		if t.Before(upTo) {
			upTo = t
		}
	}
	ctx = store.WithActor(ctx, "federation")
	q := store.Query{Collection: s.deletions.ID, AddedUpTo: upTo, Versions: store.VersionFilter{All: true}, Limit: 1000}
	for {
		pg, err := s.st.Query(ctx, q)
		if err != nil {
			return err
		}
		for _, en := range pg.Entries {
			if _, err := s.st.Delete(ctx, s.deletions.ID, en.Object.ID, store.VersionFilter{All: true}, nil); err != nil {
				return err
			}
		}
		if !pg.More || len(pg.Entries) == 0 {
			return nil
		}
		q.AddedAfter = pg.Entries[len(pg.Entries)-1].DateAdded
	}
}

// sharedElsewhere reports whether a shared collection other than except still
// (of cols, the shared collections) still holds the versions of id that vf selects.
func (s *Service) sharedElsewhere(ctx context.Context, cols []store.Collection, except, id string, vf store.VersionFilter) (bool, error) {
	for _, c := range cols {
		if c.ID == except {
			continue
		}
		pg, err := s.st.Query(ctx, store.Query{Collection: c.ID, IDs: []string{id}, Versions: vf, Limit: 1})
		if err != nil {
			return false, err
		}
		if len(pg.Entries) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// isTombstone reports whether raw is a tombstone (its type member, read cheaply:
// anything that claims it is then checked strictly).
func isTombstone(raw []byte) bool {
	if !bytes.Contains(raw, []byte(TombstoneType)) {
		return false
	}
	var t struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(raw, &t) == nil && t.Type == TombstoneType
}

// readTombstone checks a tombstone strictly: valid STIX 2.1, exactly our members.
func readTombstone(raw []byte) (tombstone, store.VersionFilter, error) {
	var t tombstone
	if _, err := stix.Parse(raw); err != nil {
		return t, store.VersionFilter{}, fmt.Errorf("invalid STIX 2.1: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return t, store.VersionFilter{}, fmt.Errorf("malformed tombstone: %v", err)
	}
	if t.SpecVersion != "2.1" || !strings.Contains(t.ObjectRef, "--") || len(t.ObjectRef) > 300 {
		return t, store.VersionFilter{}, errors.New("malformed tombstone: spec_version or object_ref")
	}
	if t.ObjectModified == "" {
		return t, store.VersionFilter{All: true}, nil
	}
	ts, err := stix.ParseTimestamp(t.ObjectModified)
	if err != nil {
		return t, store.VersionFilter{}, fmt.Errorf("malformed tombstone: object_modified: %v", err)
	}
	return t, store.VersionFilter{Exact: []stix.Timestamp{ts}}, nil
}

// applyTombstones deletes from the inbound collection what tombstones from a peer
// name, when each version deleted came from the node that signed the tombstone
// (only the origin may delete; a relay passes its signature on unchanged). A version
// we do not hold is nothing to do. Deletions are recorded; what we had forwarded
// goes on as a relay.
func (s *Service) applyTombstones(ctx context.Context, from store.Peer, keys provenance.Keys, raws [][]byte, res *acceptResult) (rejected []audit.ObjectRef, reasons []string, err error) {
	ours := s.cfg.Gate.Policy().Config().Nation
	var deleted []audit.ObjectRef
	for _, raw := range raws {
		t, vf, err := readTombstone(raw)
		id, version := t.ObjectRef, t.ObjectModified
		if err == nil {
			var ext provenance.Extension
			if ext, err = provenance.Verify(raw, keys); err == nil {
				if ext.Node == ours {
					res.successes = append(res.successes, store.StatusDetail{ID: id, Version: version, Message: "originated at this node"})
					continue
				}
				var held []store.Entry
				if held, err = s.versions(ctx, s.inbound.ID, id, vf, nil); err != nil {
					return nil, nil, err
				}
				for _, h := range held {
					if e, rerr := provenance.Read(h.Object.Raw); rerr != nil || e.Node != ext.Node {
						err = fmt.Errorf("deletion refused: only the node %s came from may delete it, not %s", id, ext.Node)
						break
					}
				}
				if err == nil {
					msg := "not held"
					if len(held) > 0 {
						exact := store.VersionFilter{}
						for i := range held {
							exact.Exact = append(exact.Exact, held[i].Object.Version())
							deleted = append(deleted, audit.ObjectRef{ID: id, Version: held[i].Object.Version().String()})
						}
						if _, err := s.st.Delete(store.WithActor(ctx, "peer:"+from.Name), s.inbound.ID, id, exact, nil); err != nil {
							return nil, nil, err
						}
						if err := s.relayDeletion(ctx, from, ext.Node, held, raw); err != nil {
							s.log.LogAttrs(ctx, slog.LevelWarn, "federation: relay deletion", slog.String("id", id), slog.String("error", err.Error()))
						}
						msg = "deleted"
					}
					res.successes = append(res.successes, store.StatusDetail{ID: id, Version: version, Message: msg})
					continue
				}
			}
		}
		if id == "" {
			id, version = peek(raw)
		}
		res.failures = append(res.failures, store.StatusDetail{ID: id, Version: version, Message: clipMsg(err.Error())})
		rejected = append(rejected, audit.ObjectRef{ID: id, Version: version})
		reasons = append(reasons, err.Error())
	}
	s.record(ctx, from, "federation.deleted", deleted, "")
	return rejected, reasons, nil
}

// relayDeletion notes the origin's tombstone for the peers we forwarded the deleted
// versions to: those the fill forwards them to, never the origin or the sender.
func (s *Service) relayDeletion(ctx context.Context, from store.Peer, origin string, held []store.Entry, tomb []byte) error {
	if !s.shares(ctx, s.inbound.ID) {
		return nil
	}
	peers, err := s.st.Peers(ctx)
	if err != nil {
		return err
	}
	engine := s.cfg.Gate.Policy()
	ours := engine.Config().Nation
	now := stix.NewTimestamp(time.Now(), 3).String()
	var notices []stix.Object
	for _, en := range held {
		var to []string
		for _, p := range peers {
			if p.Nation == origin || p.Nation == from.Nation || p.Nation == ours || slices.Contains(to, p.Nation) {
				continue
			}
			if s.forwards(engine, p.Nation, en) {
				to = append(to, p.Nation)
			}
		}
		if len(to) == 0 {
			continue
		}
		n, err := newNotice(s.inbound.ID, en, to, tomb, now)
		if err != nil {
			return err
		}
		notices = append(notices, n)
	}
	if err := s.putNotices(ctx, notices); err != nil {
		return err
	}
	if len(notices) > 0 {
		s.Wake()
	}
	return nil
}
