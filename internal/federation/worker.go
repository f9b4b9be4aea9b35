package federation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/gate"
	"quadshare/internal/par"
	"quadshare/internal/policy"
	"quadshare/internal/provenance"
	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// worker does everything for one peer: fill its outbox from the shared collections,
// send the outbox, pull from the peer. It holds the peer's lease while it works.
type worker struct {
	s      *Service
	peer   store.Peer
	cancel context.CancelFunc
	kick   chan struct{}

	failures int
	nextTry  time.Time
	lastPull time.Time

	mu     sync.Mutex // queuing and sending run at once; both renew the lease
	leased time.Time  // when the lease was last taken or renewed
	// queued is the range of outbox sequences released by the gate under the
	// policy tagged (policyTag), kept in the store (cursor releasedCursor) so that
	// it outlives the process: while that policy is in force, their decision and
	// redaction stand (time only ends embargoes), so sending need not release them
	// again. Items outside it are released again before they go (resend).
	queued released
}

// released is a range of outbox sequences queued under one policy.
type released struct {
	tag    string
	lo, hi int64
}

const releasedCursor = "released"

func (r released) String() string {
	tag := r.tag
	if tag == "" {
		tag = "-" // no policy a send can trust
	}
	return fmt.Sprintf("%s %d %d", tag, r.lo, r.hi)
}

func parseReleased(v string) released {
	var r released
	if _, err := fmt.Sscanf(v, "%s %d %d", &r.tag, &r.lo, &r.hi); err != nil {
		return released{}
	}
	return r
}

func (r released) covers(tag string, lo, hi int64) bool {
	return r.tag != "" && r.tag != "-" && r.tag == tag && r.lo <= lo && hi <= r.hi
}

type engineTag struct {
	e   *policy.Engine
	tag string
}

// policyTag names the policy in force: its configuration and the classification
// scales it reads markings with (a scales file edited changes what is released as
// much as the policy does), so that the same policy has the same tag whichever
// process loaded it.
func (s *Service) policyTag() string { return s.tagOf(s.cfg.Gate.Policy()) }

// tagOf is the tag of e. A caller that checks that the policy stayed in force
// over some work compares the engine, not the tag: a policy reloaded and then
// put back has the same tag, but was not in force all the while.
func (s *Service) tagOf(e *policy.Engine) string {
	if t := s.tag.Load(); t != nil && t.e == e {
		return t.tag
	}
	h := sha256.New()
	cfg, _ := json.Marshal(e.Config())
	scales, _ := json.Marshal(e.Scales())
	h.Write(cfg)
	h.Write([]byte{0})
	h.Write(scales)
	t := hex.EncodeToString(h.Sum(nil)[:12])
	s.tag.Store(&engineTag{e: e, tag: t})
	return t
}

// noteQueued records that items (their Seq set by Enqueue) were released under
// the policy tagged, and keeps the range in the store.
func (w *worker) noteQueued(ctx context.Context, tag string, items []store.OutboxItem) error {
	w.mu.Lock()
	changed := false
	for _, it := range items {
		if it.Seq == 0 { // already in the outbox
			continue
		}
		if w.queued.tag != tag || w.queued.hi == 0 {
			w.queued.tag, w.queued.lo = tag, it.Seq
		}
		w.queued.hi, changed = it.Seq, true
	}
	r := w.queued
	w.mu.Unlock()
	if !changed {
		return nil
	}
	return w.s.st.SetPeerCursor(ctx, w.peer.Name, w.s.cfg.Holder, releasedCursor, r.String())
}

// decided reports whether every item from seq lo to hi was released under the
// policy in force.
func (w *worker) decided(lo, hi int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.queued.covers(w.s.policyTag(), lo, hi)
}

func (w *worker) run(ctx context.Context) {
	log := w.s.log.With(slog.String("peer", w.peer.Name))
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
		}
		if time.Now().Before(w.nextTry) {
			continue
		}
		err := w.round(ctx)
		switch {
		case err == nil:
			w.failures = 0
		case ctx.Err() != nil:
			return
		case errors.Is(err, store.ErrLeased): // another process serves this peer
			w.nextTry = time.Now().Add(w.s.cfg.Lease / 3)
		default:
			w.failures++
			d := backoff(w.failures, w.s.cfg.MaxBackoff)
			w.nextTry = time.Now().Add(d)
			log.LogAttrs(ctx, slog.LevelWarn, "federation: round failed", slog.String("error", err.Error()),
				slog.Int("failures", w.failures), slog.Duration("retry_in", d))
			_ = w.s.st.RecordPeer(ctx, w.peer.Name, store.PeerEvent{Error: err.Error(), At: time.Now()})
		}
	}
}

// backoff is the pause after n consecutive failures: exponential from 500ms, capped,
// with jitter so that the nodes of a federation do not retry in step.
func backoff(n int, ceiling time.Duration) time.Duration {
	d := min(500*time.Millisecond<<min(n-1, 16), ceiling)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// lease takes or renews the peer's lease when a third of it has run.
func (w *worker) lease(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if time.Since(w.leased) < w.s.cfg.Lease/3 {
		return nil
	}
	if err := w.s.st.LeasePeer(ctx, w.peer.Name, w.s.cfg.Holder, w.s.cfg.Lease); err != nil {
		w.leased = time.Time{}
		return err
	}
	w.leased = time.Now()
	return nil
}

func (w *worker) round(ctx context.Context) error {
	if err := w.lease(ctx); err != nil {
		return err
	}
	// The lease is renewed while the round works, a slow POST included; when it is
	// lost, the round stops: another process serves the peer now.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(w.s.cfg.Lease / 4)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if err := w.lease(ctx); err != nil {
					cancel(err)
					return
				}
			}
		}
	}()
	err := w.work(ctx)
	if cause := context.Cause(ctx); err != nil && cause != nil && !errors.Is(cause, context.Canceled) {
		return cause // the lease was lost: that is why the work failed
	}
	return err
}

// work queues, sends and pulls for the peer once.
func (w *worker) work(ctx context.Context) error {
	// Queuing (gate and signature) and sending run at once: the push sends what the
	// fill has queued so far, until the fill is done and the outbox drained.
	p, err := w.s.st.Peer(ctx, w.peer.Name)
	if err != nil {
		return err
	}
	after := p.PushedSeq
	v, err := w.s.st.PeerCursor(ctx, w.peer.Name, releasedCursor)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.queued = parseReleased(v)
	w.mu.Unlock()
	if err := w.releaseAgain(ctx, max(after, w.s.pulled(w.peer.Name))); err != nil {
		return fmt.Errorf("release again: %w", err)
	}
	t0 := time.Now()
	filled := make(chan error, 1)
	go func() { filled <- w.fill(ctx) }()
	var fillErr error
	sent, done := 0, false
	for {
		if !done {
			select {
			case fillErr = <-filled:
				done = true
			default:
			}
		}
		n, err := w.push(ctx, &after)
		sent += n
		if err != nil {
			if !done {
				<-filled
			}
			return fmt.Errorf("push: %w", err)
		}
		if done {
			break
		}
		if n == 0 {
			select {
			case fillErr = <-filled:
				done = true
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	if fillErr != nil {
		return fmt.Errorf("queue: %w", fillErr)
	}
	if sent > 0 {
		w.s.log.LogAttrs(ctx, slog.LevelDebug, "federation: pushed", slog.String("peer", w.peer.Name), slog.Int("objects", sent),
			slog.Duration("took", time.Since(t0)))
	}
	pulled := false
	if time.Since(w.lastPull) >= w.s.cfg.PullEvery {
		if err := w.pull(ctx); err != nil {
			return fmt.Errorf("pull: %w", err)
		}
		w.lastPull, pulled = time.Now(), true
	}
	if sent > 0 || pulled {
		return w.s.st.RecordPeer(ctx, w.peer.Name, store.PeerEvent{Success: true, At: time.Now()})
	}
	return nil
}

// sharedCollections resolves the configured collections, else every collection
// but the operators' inboxes. An inbox holds reports as their operators filed
// them: a report leaves the nation only once an analyst releases it into a shared
// collection, however its operator marked it.
func (s *Service) sharedCollections(ctx context.Context) ([]store.Collection, error) {
	var out []store.Collection
	if len(s.cfg.Collections) == 0 {
		all, err := s.st.Collections(ctx)
		if err != nil {
			return nil, err
		}
		for _, c := range all {
			if c.OwnerOrg == "" && c.ID != s.deletions.ID { // nor the local deletion notices
				out = append(out, c)
			}
		}
		return out, nil
	}
	for _, name := range s.cfg.Collections {
		c, err := sharedCollection(ctx, s.st, name)
		if err != nil {
			return nil, err
		}
		if c.ID != s.deletions.ID { // local notices: never shared as objects
			out = append(out, c)
		}
	}
	return out, nil
}

// sharedCollection resolves one configured shared collection, refusing an inbox.
func sharedCollection(ctx context.Context, st store.Store, name string) (store.Collection, error) {
	c, err := st.Collection(ctx, name)
	if err != nil {
		return c, fmt.Errorf("shared collection %q: %w", name, err)
	}
	if c.OwnerOrg != "" {
		return c, fmt.Errorf("shared collection %q is an operator's inbox: its reports reach partners only when an analyst releases them", name)
	}
	return c, nil
}

// fill walks each shared collection from the peer's cursor and queues, in the same
// transaction as the cursor moves, what the gate releases to the peer, signed; then
// the deletion notices, queueing the tombstones for the peer (deletion.go).
func (w *worker) fill(ctx context.Context) error {
	signer, err := w.s.Signer()
	if err != nil {
		return err
	}
	cols, err := w.s.sharedCollections(ctx)
	if err != nil {
		return err
	}
	noted := false // the walk of the deletion notices moved
	defer func() {
		if noted {
			w.s.pruneNotices(ctx)
		}
	}()
	for _, c := range append(cols, w.s.deletions) {
		key := store.OutboxCursorFill + c.ID
		v, err := w.s.st.PeerCursor(ctx, w.peer.Name, key)
		if err != nil {
			return err
		}
		var after time.Time
		if v != "" {
			if after, err = time.Parse(time.RFC3339Nano, v); err != nil {
				return fmt.Errorf("cursor %s: %w", key, err)
			}
		}
		upTo, err := w.s.st.LastAdded(ctx, c.ID)
		if err != nil {
			return err
		}
		if upTo.IsZero() || !upTo.After(after) {
			continue
		}
		for {
			page, err := w.s.st.Query(ctx, store.Query{Collection: c.ID, AddedAfter: after, AddedUpTo: upTo,
				Versions: store.VersionFilter{All: true}, Limit: w.s.cfg.Batch})
			if err != nil {
				return err
			}
			if len(page.Entries) == 0 {
				break
			}
			var items []store.OutboxItem
			var tombs []audit.ObjectRef // the versions the tombstones of items delete
			// The policy under which prepare released the page: the same before
			// and after it, else none that a send could trust.
			e := w.s.cfg.Gate.Policy()
			tag := w.s.tagOf(e)
			done := len(page.Entries)
			if c.ID == w.s.deletions.ID {
				items, tombs, done, err = w.tombstones(ctx, page.Entries)
			} else {
				items, err = w.prepare(ctx, signer, c, page.Entries)
			}
			if w.s.cfg.Gate.Policy() != e {
				tag = ""
			}
			if err != nil {
				return err
			}
			if done == 0 { // the first notice waits for its Delete: the next round
				break
			}
			after = page.Entries[done-1].DateAdded
			if err := w.lease(ctx); err != nil {
				return err
			}
			if _, err := w.s.st.Enqueue(ctx, w.peer.Name, w.s.cfg.Holder, items, key, after.UTC().Format(time.RFC3339Nano)); err != nil {
				return err
			}
			if c.ID == w.s.deletions.ID {
				w.recordTombstones(ctx, items, tombs)
				noted = true
			} else if err := w.noteQueued(ctx, tag, items); err != nil {
				return err
			}
			if !page.More || done < len(page.Entries) {
				break
			}
		}
	}
	return nil
}

// prepare turns entries of collection c into outbox items for the peer. Our own
// objects are released by the gate and signed by us. Objects we received go onward
// with their origin's signature, only when they are TLP:CLEAR (anything more
// restricted was disclosed to us by the originator's agreement with our nation,
// which does not speak for a third nation), the gate releases them
// unchanged (a redacted object would no longer carry a valid signature of its
// origin, and we may not sign in its name), and never back to their origin.
func (w *worker) prepare(ctx context.Context, signer *provenance.Signer, c store.Collection, entries []store.Entry) ([]store.OutboxItem, error) {
	foreign := c.ID == w.s.inbound.ID
	engine := w.s.cfg.Gate.Policy()
	peerOrg := "" // what the peer sent us does not go back to it
	if foreign {
		if u, err := w.s.st.UserByCert(ctx, w.peer.Fingerprint); err == nil {
			peerOrg = u.Org
		}
	}
	var cand []store.Entry
	orig := map[string][]byte{}
	for _, en := range entries {
		if foreign {
			// The origin first (a scan of the extension, cheaper than the facts):
			// with two nodes, everything received came from the only peer.
			if peerOrg != "" && en.Submitter == peerOrg {
				continue
			}
			ext, err := provenance.Read(en.Object.Raw)
			if err != nil || ext.Node == w.peer.Nation || ext.Node == signer.Nation {
				continue
			}
			if !onward(engine, en.Object.Raw) { // most received objects stay here
				continue
			}
			orig[en.Object.ID+"\x00"+versionOf(&en)] = en.Object.Raw
		}
		cand = append(cand, en)
	}
	released, err := w.s.cfg.Gate.Release(ctx, gate.Disclosure{
		Recipient: policy.Recipient{Kind: policy.KindPartner, Nation: w.peer.Nation},
		Actor:     "peer:" + w.peer.Nation, Subject: "collection:" + c.ID, Endpoint: "push",
	}, cand)
	if err != nil {
		return nil, err
	}
	// Signing is most of the cost of queuing: it runs on every core.
	raws := make([][]byte, len(released))
	par.Each(len(released), 64, func(i int) {
		en := &released[i]
		if foreign {
			if o := orig[en.Object.ID+"\x00"+versionOf(en)]; asReceived(en.Object.Raw, o) {
				raws[i] = o
			}
			return
		}
		raw, err := w.s.signed.sign(signer, en.Object.Raw)
		if err != nil {
			w.s.log.LogAttrs(ctx, slog.LevelWarn, "federation: cannot sign", slog.String("id", en.Object.ID), slog.String("error", err.Error()))
			return
		}
		raws[i] = raw
	})
	items := make([]store.OutboxItem, 0, len(released))
	for i := range released {
		if raws[i] == nil { // a received object the policy redacts: it would no longer verify
			continue
		}
		items = append(items, store.OutboxItem{ID: released[i].Object.ID, Version: versionOf(&released[i]), Raw: raws[i]})
	}
	return items, nil
}

// onward reports whether an object we received may go to a third node: its
// object markings and every granular marking TLP:CLEAR, no classification.
func onward(e *policy.Engine, raw []byte) bool {
	f, err := e.Extract(raw)
	if err != nil || !f.HasTLP || f.TLP > stix.TLPClear || f.Unknown {
		return false
	}
	for _, g := range f.Granular {
		if g.Unknown || (g.HasTLP && g.TLP > stix.TLPClear) || g.HasClass {
			return false
		}
	}
	return !f.HasClass
}

// forwards reports whether the fill would send en, an object we received, on to
// a peer of nation n (its origin and its sender aside): it may go onward, and the
// gate releases it to n as received.
func (s *Service) forwards(e *policy.Engine, n string, en store.Entry) bool {
	if !onward(e, en.Object.Raw) {
		return false
	}
	for _, rel := range s.cfg.Gate.Preview(policy.Recipient{Kind: policy.KindPartner, Nation: n}, []store.Entry{en}) {
		return asReceived(rel.Object.Raw, en.Object.Raw)
	}
	return false
}

// asReceived reports whether released is the object received, orig: only then
// may it go on with its origin's signature (redacted, it would no longer verify,
// and we may not sign in its origin's name).
func asReceived(released, orig []byte) bool {
	if bytes.Equal(released, orig) {
		return true
	}
	ca, err := stix.Canonical(released)
	if err != nil {
		return false
	}
	cb, err := stix.Canonical(orig)
	return err == nil && bytes.Equal(ca, cb)
}

func versionOf(en *store.Entry) string {
	if v := en.Object.Version(); !v.IsZero() {
		return v.Key()
	}
	return ""
}

// push sends the outbox after the peer's acknowledged position, batch by batch; each
// batch the peer accepts moves the position. Items queued under another policy are
// released again first (resend): what the policy no longer lets the peer receive
// (an agreement withdrawn since) is skipped, what it now redacts further is queued
// anew in its new form.
func (w *worker) push(ctx context.Context, after *int64) (int, error) {
	sent := 0
	for {
		*after = max(*after, w.s.pulled(w.peer.Name)) // the peer pulled these already
		items, err := w.s.st.Outbox(ctx, w.peer.Name, *after, w.s.cfg.Batch)
		if err != nil || len(items) == 0 {
			return sent, err
		}
		var raws [][]byte
		var again []store.OutboxItem
		e := w.s.cfg.Gate.Policy()
		tag := w.s.tagOf(e)
		if w.decided(items[0].Seq, items[len(items)-1].Seq) {
			raws = make([][]byte, len(items))
			for i := range items {
				raws[i] = items[i].Raw
			}
		} else if raws, again, err = w.resend(ctx, items); err != nil {
			return sent, err
		}
		if len(raws) > 0 {
			if err := w.s.post(ctx, w.peer, raws); err != nil {
				return sent, err
			}
			w.s.notePushed(w.peer.Name)
		}
		last := items[len(items)-1].Seq
		if err := w.lease(ctx); err != nil {
			return sent, err
		}
		if err := w.s.st.AckOutbox(ctx, w.peer.Name, w.s.cfg.Holder, last); err != nil {
			return sent, err
		}
		sent += len(raws)
		*after = last
		if len(again) > 0 { // after the old copies left the outbox with the ack
			if _, err := w.s.st.Enqueue(ctx, w.peer.Name, w.s.cfg.Holder, again, "", ""); err != nil {
				return sent, err
			}
			if w.s.cfg.Gate.Policy() != e {
				tag = ""
			}
			if err := w.noteQueued(ctx, tag, again); err != nil {
				return sent, err
			}
		}
		if len(items) < w.s.cfg.Batch {
			return sent, nil
		}
	}
}

// releaseAgain releases again, under the policy in force, what waits in the
// outbox (after position after) queued under another policy, before the range of
// the one in force, whatever becomes of the push: a pull page stops before such
// items, and must not wait for the push to recover. When every one comes out as
// queued (the usual case after a reload, or items queued before the range was
// kept), the range is widened to them; else they are left to the push, which
// drops or queues anew what the policy now treats otherwise.
func (w *worker) releaseAgain(ctx context.Context, after int64) error {
	e := w.s.cfg.Gate.Policy()
	tag := w.s.tagOf(e)
	w.mu.Lock()
	r := w.queued
	w.mu.Unlock()
	before := int64(math.MaxInt64) // items from it on are in the range of the policy in force
	if r.covers(tag, r.lo, r.hi) && r.hi != 0 {
		before = r.lo
	}
	var first, last int64
	for {
		items, err := w.s.st.Outbox(ctx, w.peer.Name, after, w.s.cfg.Batch)
		if err != nil {
			return err
		}
		n := 0
		for n < len(items) && items[n].Seq < before {
			n++
		}
		if n == 0 {
			break
		}
		items = items[:n]
		raws, again, err := w.resend(ctx, items)
		if err != nil {
			return err
		}
		if len(again) > 0 || len(raws) != len(items) {
			return nil // denied or redacted otherwise now: the push's to deal with
		}
		if first == 0 {
			first = items[0].Seq
		}
		last = items[n-1].Seq
		after = last
	}
	if first == 0 || w.s.cfg.Gate.Policy() != e {
		return nil
	}
	w.mu.Lock()
	if before != math.MaxInt64 && w.queued == r {
		w.queued.lo = first // every item from first to the range was released again
	} else {
		w.queued = released{tag: tag, lo: first, hi: last}
	}
	r = w.queued
	w.mu.Unlock()
	return w.s.st.SetPeerCursor(ctx, w.peer.Name, w.s.cfg.Holder, releasedCursor, r.String())
}

// resend releases again, under the policy in force, the originals of items queued
// under another (or before that was recorded): what is now denied is dropped; what
// comes out as queued (signatures are deterministic) goes as it is; what comes out
// otherwise (redacted further) is dropped and returned to be queued anew, so that
// the copy released under the old policy never leaves. Tombstones go as they are.
func (w *worker) resend(ctx context.Context, items []store.OutboxItem) (raws [][]byte, again []store.OutboxItem, err error) {
	signer, err := w.s.Signer()
	if err != nil {
		return nil, nil, err
	}
	cols, err := w.s.sharedCollections(ctx)
	if err != nil {
		return nil, nil, err
	}
	key := func(id, version string) string { return id + "\x00" + version }
	want := map[string]bool{}
	var ids []string
	for _, it := range items {
		if !strings.HasPrefix(it.ID, TombstoneType+"--") && !want[key(it.ID, it.Version)] {
			want[key(it.ID, it.Version)] = true
			ids = append(ids, it.ID)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	fresh := map[string]store.OutboxItem{}
	for _, c := range cols {
		if len(ids) == 0 {
			break
		}
		var originals []store.Entry
		q := store.Query{Collection: c.ID, IDs: ids, Versions: store.VersionFilter{All: true}, Limit: store.MaxOutboxPage}
		for {
			pg, err := w.s.st.Query(ctx, q)
			if err != nil {
				return nil, nil, err
			}
			for _, en := range pg.Entries {
				k := key(en.Object.ID, versionOf(&en))
				if want[k] {
					delete(want, k) // the first collection holding it, as the fill found it
					originals = append(originals, en)
				}
			}
			if !pg.More || len(pg.Entries) == 0 {
				break
			}
			q.AddedAfter = pg.Entries[len(pg.Entries)-1].DateAdded
		}
		if len(originals) == 0 {
			continue
		}
		prepared, err := w.prepare(ctx, signer, c, originals)
		if err != nil {
			return nil, nil, err
		}
		for _, it := range prepared {
			fresh[key(it.ID, it.Version)] = it
		}
	}
	for _, it := range items {
		if strings.HasPrefix(it.ID, TombstoneType+"--") {
			raws = append(raws, it.Raw)
			continue
		}
		f, ok := fresh[key(it.ID, it.Version)]
		switch {
		case !ok: // denied now, or gone (its tombstone follows)
		case bytes.Equal(f.Raw, it.Raw):
			raws = append(raws, it.Raw)
		default:
			again = append(again, f)
		}
	}
	return raws, again, nil
}

// visible returns what of items the policy still lets rcpt receive, in order.
// Tombstones were decided when noted, on the facts of the version deleted; they
// carry none of their own to decide on again.
func (s *Service) visible(rcpt policy.Recipient, items []store.OutboxItem) [][]byte {
	var entries []store.Entry
	for _, it := range items {
		if !strings.HasPrefix(it.ID, TombstoneType+"--") {
			entries = append(entries, store.Entry{Object: stix.Object{ID: it.ID, Raw: it.Raw}})
		}
	}
	released := s.cfg.Gate.Visible(rcpt, entries)
	raws := make([][]byte, 0, len(items))
	j := 0
	for _, it := range items {
		if strings.HasPrefix(it.ID, TombstoneType+"--") {
			raws = append(raws, it.Raw)
		} else if j < len(released) && released[j].Object.ID == it.ID && bytes.Equal(released[j].Object.Raw, it.Raw) {
			raws = append(raws, it.Raw)
			j++
		}
	}
	return raws
}

// pull reads the peer's outbox for us from the cursor, following next, and stores
// what verifies. The cursor moves after each page is stored.
func (w *worker) pull(ctx context.Context) error {
	cur, err := w.s.st.PeerCursor(ctx, w.peer.Name, "pull")
	if err != nil {
		return err
	}
	next := ""
	for {
		page, err := w.s.get(ctx, w.peer, cur, next, w.s.cfg.Batch)
		if err != nil {
			return err
		}
		if len(page.Objects) > 0 {
			if _, err := w.s.accept(ctx, w.peer, page.Objects); err != nil {
				return err
			}
		}
		if page.Last != "" {
			cur = page.Last
			if err := w.lease(ctx); err != nil {
				return err
			}
			if err := w.s.st.SetPeerCursor(ctx, w.peer.Name, w.s.cfg.Holder, "pull", cur); err != nil {
				return err
			}
		}
		if !page.More || page.Next == "" {
			return nil
		}
		next = page.Next
	}
}
