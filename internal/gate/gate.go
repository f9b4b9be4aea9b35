// Package gate is the one way out of a node. Every object version that leaves it
// (a TAXII page, an export, a push to a partner, a web page) passes Gate.Release:
// the sharing policy decides for the recipient, the object is redacted when the
// decision asks for it, and the disclosure is recorded in the audit trail before
// the caller may send anything.
package gate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"sync/atomic"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/par"
	"quadshare/internal/policy"
	"quadshare/internal/store"
)

// Gate applies the sharing policy and records disclosures. It is safe for
// concurrent use; the policy may be replaced while it serves (SetPolicy).
type Gate struct {
	engine atomic.Pointer[policy.Engine]
	trail  store.Audit
	facts  *factCache
	now    func() time.Time
}

// Option configures a Gate.
type Option func(*Gate)

// WithClock sets the clock used for embargoes and audit times.
func WithClock(now func() time.Time) Option { return func(g *Gate) { g.now = now } }

// New returns a Gate deciding with e and recording in trail. Both are required:
// a node without a policy or a trail cannot let anything out.
func New(e *policy.Engine, trail store.Audit, opts ...Option) (*Gate, error) {
	if e == nil || trail == nil {
		return nil, errors.New("gate: a policy engine and an audit trail are required")
	}
	g := &Gate{trail: trail, facts: newFactCache(factCacheSize), now: time.Now}
	g.engine.Store(e)
	for _, o := range opts {
		o(g)
	}
	return g, nil
}

// Policy returns the engine deciding now.
func (g *Gate) Policy() *policy.Engine { return g.engine.Load() }

// SetPolicy replaces the engine; releases already deciding finish with the old one.
func (g *Gate) SetPolicy(e *policy.Engine) {
	if e != nil {
		g.engine.Store(e)
	}
}

// Disclosure says who receives what, for the audit trail.
type Disclosure struct {
	Recipient policy.Recipient
	Actor     string // the recipient as the trail names it: "user:<id>", "peer:<nation>", "org:<id>"
	Subject   string // what was read: "collection:<id>", "export"
	Endpoint  string // the path out: "objects", "manifest", "versions", "export" ...
}

// Release decides every entry for d.Recipient and returns, in order, those that
// may be sent, redacted where the decision says so. It returns only after their
// disclosure is durable in the audit trail; on any error it returns nothing.
// When every entry goes out as it is, the result is entries itself: a page is
// copied only when something is withheld or changed.
func (g *Gate) Release(ctx context.Context, d Disclosure, entries []store.Entry) ([]store.Entry, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	e := g.engine.Load()
	now := g.now()
	var out []store.Entry // nil while out would be entries[:n], n the entries decided
	n := 0
	batch := audit.Batch{Time: now, Actor: d.Actor, Subject: d.Subject, Cap: len(entries)}
	if d.Endpoint != "" {
		batch.Detail = json.RawMessage(`{"endpoint":` + strconv.Quote(d.Endpoint) + `}`)
	}
	// The versions named in the trail, formatted into one buffer and cut from one
	// string once the page is decided: a string per object cost more than deciding.
	var vbuf []byte
	var vends []int
	var rules []string
	var redactions []redactionNote
	// Deciding is most of a page's cost (a parse of each object the fact cache
	// lacks), and each decision stands alone: a big page is decided on every core.
	sent := make([]sending, len(entries))
	par.Each(len(entries), decideChunk, func(i int) {
		s := &sent[i]
		s.en, s.recs, s.dec = g.send(e, &d.Recipient, entries[i], now)
	})
	for i, s := range sent {
		en, recs, dec := s.en, s.recs, s.dec
		if out == nil && dec.Verdict != policy.Allow {
			out = append(make([]store.Entry, 0, len(entries)), entries[:i]...) // from here on, out differs
		}
		if dec.Verdict == policy.Deny {
			continue
		}
		if vbuf == nil {
			vbuf = make([]byte, 0, len(entries)*len("2006-01-02T15:04:05.000Z"))
			vends = make([]int, 0, len(entries))
			rules = make([]string, 0, len(entries))
		}
		vbuf = appendVersion(vbuf, &en)
		vends = append(vends, len(vbuf))
		rules = append(rules, dec.Rule)
		if len(recs) > 0 {
			redactions = append(redactions, redactionNote{at: n, Redacted: recs})
		}
		if out != nil {
			out = append(out, en)
		}
		n++
	}
	if n == 0 {
		return nil, nil
	}
	if out == nil {
		out = entries
	}
	versions, start := string(vbuf), 0
	refs := make([]audit.ObjectRef, len(out))
	for i := range out {
		refs[i] = audit.ObjectRef{ID: out[i].Object.ID, Version: versions[start:vends[i]]}
		start = vends[i]
		batch.Add(rules[i], refs[i])
	}
	for i := range redactions {
		redactions[i].ObjectRef = refs[redactions[i].at]
	}
	records := batch.Entries()
	if len(redactions) > 0 {
		records = append(records, redactionEntries(now, d, redactions)...)
	}
	if err := g.trail.AppendAudit(ctx, records...); err != nil {
		return nil, fmt.Errorf("gate: audit: %w", err)
	}
	return out, nil
}

// Visible returns the entries the policy lets r receive, as they are stored:
// nothing is recorded, since nothing is sent. Actions on objects (a delete) use
// it so that they cannot touch, or reveal, what r cannot see. An entry whose
// redaction fails is not visible, as Release would not send it.
func (g *Gate) Visible(r policy.Recipient, entries []store.Entry) []store.Entry {
	out := entries[:0:0]
	for i := range g.Preview(r, entries) {
		out = append(out, entries[i])
	}
	return out
}

// Preview yields, with its index, each entry Release would send to r, redacted
// as Release would send it, but records nothing, since nothing is sent. A listing
// filters on it so that a filter sees only what its reader may; what is then
// shown must still go through Release, which decides again and records.
func (g *Gate) Preview(r policy.Recipient, entries []store.Entry) iter.Seq2[int, store.Entry] {
	return func(yield func(int, store.Entry) bool) {
		e := g.engine.Load()
		now := g.now()
		for i, en := range entries {
			en, _, dec := g.send(e, &r, en, now)
			if dec.Verdict == policy.Deny {
				continue
			}
			if !yield(i, en) {
				return
			}
		}
	}
}

// decideChunk is how many entries make deciding a page worth a second core: a
// filtered page of 100 is decided on the request's own goroutine.
const decideChunk = 256

// sending is one entry as send decided it.
type sending struct {
	en   store.Entry
	recs []policy.Redacted
	dec  policy.Decision
}

// send is en as it may go to r: decided, and redacted where the decision says
// so. What cannot be redacted is denied: it must not go out as it is.
func (g *Gate) send(e *policy.Engine, r *policy.Recipient, en store.Entry, now time.Time) (store.Entry, []policy.Redacted, policy.Decision) {
	k, f, dec := g.decide(e, r, &en, now)
	if dec.Verdict != policy.Redact {
		return en, nil, dec
	}
	obj, recs, err := k.apply(en.Object.Raw, f, dec)
	if err != nil {
		dec.Verdict = policy.Deny
		return en, nil, dec
	}
	if obj.ID != "" { // else nothing changed: the object leaves as stored
		en.Object = obj
	}
	return en, recs, dec
}

// decide is the decision for one entry. An entry whose facts cannot be read is
// denied: the store holds only validated objects, so that is a fault, and a
// fault must not open the gate.
func (g *Gate) decide(e *policy.Engine, r *policy.Recipient, en *store.Entry, now time.Time) (*known, *policy.Facts, policy.Decision) {
	k, ok := g.facts.get(e, en.Object.ID, en.Object.Raw)
	if !ok {
		return nil, nil, policy.Decision{Rule: "facts.unreadable"}
	}
	f := &k.facts
	if f.Since.IsZero() { // an SCO: its embargo runs from when we got it
		fc := *f
		fc.Since = en.DateAdded
		f = &fc
	}
	return k, f, e.Decide(f, r, now)
}

// appendVersion appends the version named in the audit trail: modified, else
// created, else date_added (SCOs have neither).
func appendVersion(b []byte, e *store.Entry) []byte {
	if v := e.Object.Version(); !v.IsZero() {
		return v.Append(b)
	}
	return e.DateAdded.UTC().AppendFormat(b, time.RFC3339Nano)
}

// redactionNote is one object's redactions, kept in the trail with the disclosure.
type redactionNote struct {
	audit.ObjectRef
	at       int // index of the object in the page released
	Redacted []policy.Redacted
}

func (n redactionNote) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID       string            `json:"id"`
		Version  string            `json:"version"`
		Redacted []policy.Redacted `json:"redacted"`
	}{n.ID, n.Version, n.Redacted})
}

// redactionEntries records what was removed from which object version (issue
// point: each redaction is recorded), as many records as the detail limit needs.
func redactionEntries(now time.Time, d Disclosure, notes []redactionNote) []audit.Entry {
	var out []audit.Entry
	for len(notes) > 0 {
		n := len(notes)
		var detail []byte
		for ; n > 0; n /= 2 {
			detail, _ = json.Marshal(map[string]any{"endpoint": d.Endpoint, "redactions": notes[:n]})
			if len(detail) <= audit.MaxDetail/2 || n == 1 {
				break
			}
		}
		if len(detail) > audit.MaxDetail/2 { // one object with very many redactions: count them
			detail, _ = json.Marshal(map[string]any{"endpoint": d.Endpoint, "id": notes[0].ID, "redactions": len(notes[0].Redacted)})
		}
		refs := make([]audit.ObjectRef, 0, n)
		for _, r := range notes[:n] {
			refs = append(refs, r.ObjectRef)
		}
		out = append(out, audit.Entry{Kind: audit.Disclosure, Time: now, Actor: d.Actor, Subject: d.Subject,
			Rule: "redacted", Objects: refs, Detail: detail})
		notes = notes[n:]
	}
	return out
}

// Facts returns the policy facts of an entry as the gate reads them (from its
// cache after the first time); ok is false when they cannot be read. They are
// for filtering before a release, never a substitute for one: what is shown
// must still pass Release.
func (g *Gate) Facts(en *store.Entry) (policy.Facts, bool) {
	k, ok := g.facts.get(g.engine.Load(), en.Object.ID, en.Object.Raw)
	if !ok {
		return policy.Facts{}, false
	}
	return k.facts, true
}
