package federation

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/auth"
	"quadshare/internal/httpx"
	"quadshare/internal/par"
	"quadshare/internal/pki"
	"quadshare/internal/policy"
	"quadshare/internal/provenance"
	"quadshare/internal/stix"
	"quadshare/internal/store"
	"quadshare/internal/taxii"
	"quadshare/internal/uuid"
)

// MaxEnvelope bounds the objects of one envelope a peer sends.
const MaxEnvelope = store.MaxOutboxPage

const seqLayout = "2006-01-02T15:04:05.000000Z"

// Handler puts the federation's endpoints in front of next (the TAXII server):
//
//	POST {root}collections/federation-inbound/objects/  a peer pushes signed objects
//	GET  {root}collections/federation-outbox/objects/   a peer pulls its outbox
//	GET  /metrics                                        Prometheus text, admins only
//
// The inbound collection takes objects from peers only, through here, whatever its
// grants (by alias or id); everything else goes to next, and a successful POST there
// wakes the push workers.
func (s *Service) Handler(next http.Handler) http.Handler {
	root := s.cfg.APIRoot
	inbound := map[string]bool{
		root + "collections/" + InboundAlias + "/objects/": true,
		root + "collections/" + s.inbound.ID + "/objects/": true,
	}
	outbox := root + "collections/" + OutboxAlias + "/objects/"
	receive := httpx.Handle(s.log, s.receive)
	serveOutbox := httpx.Handle(s.log, s.serveOutbox)
	metrics := httpx.Handle(s.log, s.serveMetrics)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && inbound[r.URL.Path]:
			receive.ServeHTTP(w, r)
		case r.URL.Path == outbox:
			if r.Method != http.MethodGet {
				httpx.WriteError(w, r, s.log, httpx.Errorf(http.StatusMethodNotAllowed, "The outbox is read with GET."))
				return
			}
			serveOutbox.ServeHTTP(w, r)
		case r.URL.Path == "/metrics" && r.Method == http.MethodGet:
			metrics.ServeHTTP(w, r)
		default:
			next.ServeHTTP(w, r)
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/objects/") {
				s.Wake()
			}
		}
	})
}

// peerOf returns the peer a request comes from: a user of role peer authenticated by
// a certificate pinned for a peer of the same nation.
func (s *Service) peerOf(r *http.Request) (*auth.Principal, store.Peer, error) {
	p, ok := auth.FromContext(r.Context())
	if !ok {
		return nil, store.Peer{}, httpx.Errorf(http.StatusUnauthorized, "Authenticate with the certificate of your node.")
	}
	// The certificate of this connection must be the pinned one: a peer's user
	// authenticated otherwise (a token) does not speak for its node.
	if p.User.Role != store.RolePeer || p.User.CertFingerprint == "" || r.TLS == nil || len(r.TLS.PeerCertificates) == 0 ||
		pki.Fingerprint(r.TLS.PeerCertificates[0].Raw) != p.User.CertFingerprint {
		return nil, store.Peer{}, httpx.Forbidden("Only partner nodes, authenticated by their pinned certificate, use the federation endpoints.")
	}
	peer, err := s.st.PeerByFingerprint(r.Context(), p.User.CertFingerprint)
	if errors.Is(err, store.ErrNotFound) || (err == nil && peer.Nation != p.Org.Nation) {
		return nil, store.Peer{}, httpx.Forbidden("Your certificate is not that of a peer of this node.")
	}
	if err != nil {
		return nil, store.Peer{}, err
	}
	return p, peer, nil
}

// receive stores a pushed envelope: every object is validated and its provenance
// verified; what fails is refused (and recorded), the rest is stored in the inbound
// collection. The answer is a TAXII status resource, complete.
func (s *Service) receive(w http.ResponseWriter, r *http.Request) error {
	p, peer, err := s.peerOf(r)
	if err != nil {
		return err
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "application/taxii+json") {
		return httpx.Errorf(http.StatusUnsupportedMediaType, "Send %s.", httpx.MediaType)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return httpx.Errorf(http.StatusRequestEntityTooLarge, "The envelope could not be read whole.")
	}
	raws, err := taxii.SplitEnvelope(body, MaxEnvelope)
	var tooMany taxii.TooManyObjects
	switch {
	case errors.Is(err, taxii.ErrEmptyEnvelope):
	case errors.As(err, &tooMany):
		return httpx.Errorf(http.StatusRequestEntityTooLarge, "At most %d objects per envelope.", MaxEnvelope)
	case err != nil:
		return httpx.Errorf(http.StatusBadRequest, "Not a TAXII envelope: %v.", err)
	}
	now := time.Now().UTC()
	res, err := s.accept(r.Context(), peer, raws)
	if err != nil {
		return err
	}
	st := store.Status{ID: uuid.New(), Collection: s.inbound.ID, Owner: p.User.ID, Done: true, RequestTimestamp: now, Completed: now,
		Total: len(raws), Successes: res.successes, Failures: res.failures}
	if err := s.st.PutStatus(r.Context(), st); err != nil {
		return err
	}
	type detail struct {
		ID      string `json:"id"`
		Version string `json:"version,omitempty"`
		Message string `json:"message,omitempty"`
	}
	conv := func(ds []store.StatusDetail) []detail {
		out := make([]detail, len(ds))
		for i, d := range ds {
			out[i] = detail(d)
		}
		return out
	}
	w.Header().Set("Content-Type", httpx.MediaType)
	w.WriteHeader(http.StatusAccepted)
	return json.NewEncoder(w).Encode(map[string]any{
		"id": st.ID, "status": "complete", "request_timestamp": now.Format(seqLayout),
		"total_count": st.Total, "success_count": len(st.Successes), "successes": conv(st.Successes),
		"failure_count": len(st.Failures), "failures": conv(st.Failures), "pending_count": 0,
	})
}

type acceptResult struct {
	successes, failures        []store.StatusDetail
	added, rejected, conflicts int
}

// keys returns the verification keys of every peer.
func (s *Service) keys(ctx context.Context) (provenance.Keys, error) {
	peers, err := s.st.Peers(ctx)
	if err != nil {
		return nil, err
	}
	type key struct {
		pub    ed25519.PublicKey
		nation string
	}
	m := make(map[string]key, len(peers))
	for _, p := range peers {
		if len(p.PublicKey) == ed25519.PublicKeySize {
			m[provenance.KeyID(p.PublicKey)] = key{p.PublicKey, p.Nation}
		}
	}
	return func(id string) (ed25519.PublicKey, string, bool) {
		k, ok := m[id]
		return k.pub, k.nation, ok
	}, nil
}

// accept validates, verifies and stores objects from a peer (pushed or pulled). An
// object this node originated is acknowledged and not stored; one with the id and
// version of an object we hold with other content is refused (the first kept).
// Refusals and conflicts are recorded in the audit trail and on the peer.
func (s *Service) accept(ctx context.Context, from store.Peer, raws [][]byte) (acceptResult, error) {
	var res acceptResult
	keys, err := s.keys(ctx)
	if err != nil {
		return res, err
	}
	ours := s.cfg.Gate.Policy().Config().Nation
	var objs []stix.Object
	var rejected []audit.ObjectRef
	var reasons []string
	type checked struct {
		obj    stix.Object
		canon  []byte
		ext    provenance.Extension
		err    error
		parsed bool
	}
	// Tombstones are applied after the objects of the same envelope: the origin
	// queues one only once the version is gone, after the version itself.
	var tombs [][]byte
	raws = slices.DeleteFunc(slices.Clone(raws), func(raw []byte) bool {
		if isTombstone(raw) {
			tombs = append(tombs, raw)
			return true
		}
		return false
	})
	cs := make([]checked, len(raws))
	par.Each(len(raws), 64, func(i int) { // parsing and verifying are most of the cost of receiving
		c := &cs[i]
		c.obj, c.canon, c.err = stix.ParseCanonical(raws[i]) // the canonical form is what is signed
		c.parsed = c.err == nil
	})
	// The signatures of what parsed are verified together: an envelope is mostly
	// signed by one node, and a batch costs far less per signature; what fails it is
	// verified singly and refused as it always was.
	var parsed, canons [][]byte
	var at []int
	for i, c := range cs {
		if c.parsed {
			parsed, canons, at = append(parsed, c.obj.Raw), append(canons, c.canon), append(at, i)
		}
	}
	exts, errs := provenance.VerifyAll(parsed, canons, keys)
	for j, i := range at {
		cs[i].ext, cs[i].err = exts[j], errs[j]
	}
	for i, c := range cs {
		if !c.parsed {
			id, version := peek(raws[i])
			res.failures = append(res.failures, store.StatusDetail{ID: id, Version: version, Message: clipMsg("invalid STIX 2.1: " + c.err.Error())})
			rejected = append(rejected, audit.ObjectRef{ID: id, Version: version})
			reasons = append(reasons, "invalid")
			continue
		}
		v := c.obj.Version().String()
		if c.err != nil {
			res.failures = append(res.failures, store.StatusDetail{ID: c.obj.ID, Version: v, Message: clipMsg(c.err.Error())})
			rejected = append(rejected, audit.ObjectRef{ID: c.obj.ID, Version: v})
			reasons = append(reasons, c.err.Error())
			continue
		}
		if c.ext.Node == ours {
			res.successes = append(res.successes, store.StatusDetail{ID: c.obj.ID, Version: v, Message: "originated at this node"})
			continue
		}
		objs = append(objs, c.obj)
	}
	res.rejected = len(rejected)
	var conflicts []audit.ObjectRef
	if len(objs) > 0 {
		org := ""
		if u, err := s.st.UserByCert(ctx, from.Fingerprint); err == nil {
			org = u.Org
		}
		put, err := s.st.Put(store.WithActor(ctx, "peer:"+from.Name), s.inbound.ID, org, objs)
		if err != nil {
			return res, err
		}
		for i, pr := range put {
			d := store.StatusDetail{ID: objs[i].ID, Version: objs[i].Version().String()}
			switch pr.Outcome {
			case store.Conflict:
				d.Message = "conflict: another object with this id and version arrived first and is kept"
				res.failures = append(res.failures, d)
				conflicts = append(conflicts, audit.ObjectRef{ID: d.ID, Version: d.Version})
			case store.Added:
				res.added++
				res.successes = append(res.successes, d)
			default:
				res.successes = append(res.successes, d)
			}
		}
	}
	if len(tombs) > 0 {
		rj, rs, err := s.applyTombstones(ctx, from, keys, tombs, &res)
		if err != nil {
			return res, err
		}
		rejected, reasons = append(rejected, rj...), append(reasons, rs...)
		res.rejected = len(rejected)
	}
	res.conflicts = len(conflicts)
	if len(rejected) > 0 || len(conflicts) > 0 {
		s.log.LogAttrs(ctx, slog.LevelWarn, "federation: objects refused",
			slog.String("peer", from.Name), slog.Int("rejected", len(rejected)), slog.Int("conflicts", len(conflicts)),
			slog.String("first_reason", first(reasons)))
		s.record(ctx, from, "provenance.rejected", rejected, first(reasons))
		s.record(ctx, from, "federation.conflict", conflicts, "")
	}
	ev := store.PeerEvent{Pulled: int64(res.added), Rejected: int64(res.rejected), Conflicts: int64(res.conflicts), At: time.Now()}
	if len(rejected) > 0 {
		ev.Error = fmt.Sprintf("refused %d object(s): %s", len(rejected), first(reasons))
	}
	if err := s.st.RecordPeer(ctx, from.Name, ev); err != nil {
		return res, err
	}
	if res.added > 0 {
		s.Wake() // what may go onward goes now
	}
	return res, nil
}

// record appends peer events to the audit trail, when the store keeps one.
func (s *Service) record(ctx context.Context, from store.Peer, rule string, refs []audit.ObjectRef, reason string) {
	if len(refs) == 0 {
		return
	}
	var entries []audit.Entry
	detail, _ := json.Marshal(map[string]string{"peer": from.Name, "nation": from.Nation, "reason": clipMsg(reason)})
	for len(refs) > 0 {
		n := min(len(refs), audit.MaxObjects)
		entries = append(entries, audit.Entry{Kind: audit.PeerEvent, Time: time.Now(), Actor: "peer:" + from.Name,
			Subject: "collection:" + s.inbound.ID, Rule: rule, Objects: refs[:n], Detail: detail})
		refs = refs[n:]
	}
	if err := s.st.AppendAudit(ctx, entries...); err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "federation: audit", slog.String("error", err.Error()))
	}
}

// serveOutbox answers a peer's pull: its outbox after added_after (or the next token
// of a walk), as a TAXII envelope with X-TAXII-Date-Added-First/Last.
func (s *Service) serveOutbox(w http.ResponseWriter, r *http.Request) error {
	_, peer, err := s.peerOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit := s.cfg.Batch
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return httpx.Errorf(http.StatusBadRequest, "limit must be a positive integer.")
		}
		limit = min(n, store.MaxOutboxPage-1)
	}
	var after int64
	switch {
	case q.Get("next") != "":
		n, err := strconv.ParseInt(q.Get("next"), 10, 64)
		if err != nil || n < 0 {
			return httpx.Errorf(http.StatusBadRequest, "Invalid next token.")
		}
		after = n
	case q.Get("added_after") != "":
		t, err := time.Parse(time.RFC3339Nano, q.Get("added_after"))
		if err != nil {
			return httpx.Errorf(http.StatusBadRequest, "added_after must be a timestamp.")
		}
		after = t.UnixMicro()
		s.notePulled(peer.Name, after) // the cursor of a pull is what the peer holds
	}
	// What the peer acknowledged to our push it holds: a pull starts after it, so
	// that the two ways do not carry the same objects twice.
	after = max(after, peer.PushedSeq)
	var items []store.OutboxItem
	if !s.pushing(peer.Name) { // else our push is delivering all of it
		if items, err = s.st.Outbox(r.Context(), peer.Name, after, limit+1); err != nil {
			return err
		}
	}
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	// What was queued under another policy goes only by our push, which releases it
	// again first: the page stops before it.
	if len(items) > 0 {
		v, err := s.st.PeerCursor(r.Context(), peer.Name, releasedCursor)
		if err != nil {
			return err
		}
		rel, tag := parseReleased(v), s.policyTag()
		for i, it := range items {
			if !strings.HasPrefix(it.ID, TombstoneType+"--") && !rel.covers(tag, it.Seq, it.Seq) {
				items, more = items[:i], false
				break
			}
		}
	}
	if len(items) == 0 && after > 0 {
		w.Header().Set("X-TAXII-Date-Added-Last", time.UnixMicro(after).UTC().Format(seqLayout))
	}
	visible := s.visible(policy.Recipient{Kind: policy.KindPartner, Nation: peer.Nation}, items)
	w.Header().Set("Content-Type", httpx.MediaType)
	if len(items) > 0 {
		w.Header().Set("X-TAXII-Date-Added-First", time.UnixMicro(items[0].Seq).UTC().Format(seqLayout))
		w.Header().Set("X-TAXII-Date-Added-Last", time.UnixMicro(items[len(items)-1].Seq).UTC().Format(seqLayout))
	}
	var b strings.Builder
	fmt.Fprintf(&b, `{"more":%t`, more)
	if more {
		fmt.Fprintf(&b, `,"next":"%d"`, items[len(items)-1].Seq)
	}
	b.WriteString(`,"objects":[`)
	for i, raw := range visible {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(raw)
	}
	b.WriteString("]}")
	_, err = io.WriteString(w, b.String())
	return err
}

func peek(raw []byte) (id, version string) {
	var p struct {
		ID       any `json:"id"`
		Modified any `json:"modified"`
	}
	_ = json.Unmarshal(raw, &p)
	id, _ = p.ID.(string)
	version, _ = p.Modified.(string)
	if len(id) > 200 {
		id = id[:200]
	}
	if len(version) > 40 {
		version = ""
	}
	return store.Textual(id), store.Textual(version)
}

// clipMsg is a refusal's reason, which may quote the object refused.
func clipMsg(s string) string {
	if len(s) > 500 {
		s = s[:500]
	}
	return store.Textual(s)
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
