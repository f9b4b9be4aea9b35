package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"sync"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/stix"
)

// Audit keeps the tamper-evident audit trail (package audit) in the same database
// as everything else. Backends also append records themselves, inside the
// transaction of the action recorded: a receipt for every Put, an admin action for
// every change of accounts, collections or grants and for every Delete.
type Audit interface {
	// AppendAudit chains entries after the last record, in order, and returns once
	// they are durable. Concurrent calls may share one transaction (group commit).
	AppendAudit(ctx context.Context, entries ...audit.Entry) error
	// AuditRecords and AuditCheckpoints page through the trail as audit.Source does.
	AuditRecords(ctx context.Context, afterSeq int64, limit int) ([]audit.Record, error)
	AuditCheckpoints(ctx context.Context, afterSeq int64, limit int) ([]audit.Checkpoint, error)
	// SignAuditCheckpoint signs a checkpoint of the last record now (at shutdown,
	// before a backup); it does nothing on an empty trail or when the last record
	// has a checkpoint already, and returns ErrNoAuditKey when the store has no key.
	SignAuditCheckpoint(ctx context.Context) error

	// AuditDisclosures returns the disclosure records that name object id, newest
	// first, at most limit (clamped as AuditRecords clamps it), from an index of
	// the disclosed objects: never a walk of the trail. Only objects the store
	// holds are indexed (the gate discloses nothing else).
	AuditDisclosures(ctx context.Context, objectID string, limit int) ([]audit.Record, error)
	// AuditTally counts the records of the given actors (exact names) at or after
	// since, and the object versions they name, per kind and rule, in that order,
	// from an index of (actor, time): the traffic with a partner over a day or a
	// week. A store may count by the minute: the records of since's minute before
	// since may be counted too.
	AuditTally(ctx context.Context, actors []string, since time.Time) ([]AuditCount, error)
}

// AuditCount is one line of an AuditTally.
type AuditCount struct {
	Kind    audit.Kind
	Rule    string
	Records int64
	Objects int64 // object references in those records
}

// MaxTallyActors bounds the actors of one AuditTally.
const MaxTallyActors = 100

// ErrNoAuditKey is returned by SignAuditCheckpoint of a store opened without a
// signing key: it chains records but signs no checkpoints.
var ErrNoAuditKey = errors.New("no audit signing key")

type actorKey struct{}

// WithActor returns a context naming who acts ("user:<id>", "node:<id>",
// "peer:<name>"); backends put it in the audit records they append.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the actor named by WithActor, or "" when none.
func ActorFrom(ctx context.Context) string {
	a, _ := ctx.Value(actorKey{}).(string)
	return a
}

// AuditSource lets audit.Verify read the trail of a store.
func AuditSource(a Audit) audit.Source { return auditSource{a} }

type auditSource struct{ a Audit }

func (s auditSource) Records(ctx context.Context, after int64, limit int) ([]audit.Record, error) {
	return s.a.AuditRecords(ctx, after, limit)
}

func (s auditSource) Checkpoints(ctx context.Context, after int64, limit int) ([]audit.Checkpoint, error) {
	return s.a.AuditCheckpoints(ctx, after, limit)
}

// MaxAuditPage bounds the records or checkpoints a backend returns in one page.
const MaxAuditPage = 10_000

// AuditPageLimit clamps a page size asked of AuditRecords or AuditCheckpoints.
func AuditPageLimit(limit int) int {
	if limit <= 0 {
		return audit.PageSize
	}
	return min(limit, MaxAuditPage)
}

// ReceiptEntries describes one Put for the audit trail: receipt records whose
// objects are the versions newly added to the collection, at most
// audit.MaxObjects in each (a Put of more takes several records), and whose
// detail counts the outcomes. The actor is the one in ctx, else the submitting
// organisation. A Put that added nothing still has one record, with its counts.
func ReceiptEntries(ctx context.Context, at time.Time, collectionID, submitter string, objs []stix.Object, res []PutResult) []audit.Entry {
	var added, dups, conflicts int
	for i := range res {
		switch res[i].Outcome {
		case Added:
			added++
		case Duplicate:
			dups++
		case Conflict:
			conflicts++
		}
	}
	// The versions as written, formatted into one buffer and cut from one string:
	// time.Format per object was half the cost of a large receipt.
	refs := make([]audit.ObjectRef, 0, added)
	buf := make([]byte, 0, added*len("2006-01-02T15:04:05.000Z"))
	ends := make([]int, 0, added)
	for i := range res {
		if res[i].Outcome == Added {
			buf = objs[i].Version().Append(buf)
			ends = append(ends, len(buf))
			refs = append(refs, audit.ObjectRef{ID: objs[i].ID})
		}
	}
	text, start := string(buf), 0
	for i, end := range ends {
		refs[i].Version, start = text[start:end], end
	}
	actor := ActorFrom(ctx)
	showSubmitter := actor != "" && submitter != ""
	if actor == "" && submitter != "" {
		actor = "org:" + submitter
	}
	parts := max(1, (len(refs)+audit.MaxObjects-1)/audit.MaxObjects)
	out := make([]audit.Entry, 0, parts)
	for p := range parts {
		// Members in canonical (sorted) order, so canonicalisation finds nothing to do.
		d := make([]byte, 0, 128)
		d = append(d, `{"added":`...)
		d = strconv.AppendInt(d, int64(added), 10)
		d = append(d, `,"conflicts":`...)
		d = strconv.AppendInt(d, int64(conflicts), 10)
		d = append(d, `,"duplicates":`...)
		d = strconv.AppendInt(d, int64(dups), 10)
		if parts > 1 {
			d = append(d, `,"part":`...)
			d = strconv.AppendInt(d, int64(p+1), 10)
			d = append(d, `,"parts":`...)
			d = strconv.AppendInt(d, int64(parts), 10)
		}
		if showSubmitter {
			d = append(d, `,"submitter":`...)
			q, _ := json.Marshal(submitter) // a string always marshals
			d = append(d, q...)
		}
		d = append(d, '}')
		e := audit.Entry{Kind: audit.Receipt, Time: at, Actor: actor, Subject: "collection:" + collectionID, Detail: d}
		if start := p * audit.MaxObjects; start < len(refs) {
			end := min(start+audit.MaxObjects, len(refs))
			e.Objects = refs[start:end:end]
		}
		out = append(out, e)
	}
	return out
}

// AdminEntry describes an administrative action for the audit trail: the actor
// in ctx, the subject acted on, and a detail object holding "action" and the
// facts given. Callers never pass secrets (token hashes, keys) in facts.
func AdminEntry(ctx context.Context, at time.Time, subject, action string, facts map[string]any) (audit.Entry, error) {
	d := make(map[string]any, len(facts)+1)
	for k, v := range facts {
		d[k] = v
	}
	d["action"] = action
	b, err := json.Marshal(d)
	if err != nil {
		return audit.Entry{}, fmt.Errorf("audit %s: %w", action, err)
	}
	return audit.Entry{Kind: audit.AdminAction, Time: at, Actor: ActorFrom(ctx), Subject: subject, Detail: b}, nil
}

// AuditTime formats an instant for an audit detail; "" for the zero time.
func AuditTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// MaxAppend bounds the entries of one AppendAudit call.
const MaxAppend = 10_000

// maxGroup bounds the entries that one group commit gathers from several callers
// (one caller's entries are never split).
const maxGroup = 5_000

// AuditGroup makes concurrent AppendAudit calls share transactions (group
// commit): while one transaction commits, the calls that arrive queue up, and the
// first of them then commits them all in the next one. Fifty TAXII readers each
// recording a page then cost a few transactions, not fifty. Commit appends
// entries in one transaction and returns once it is durable.
type AuditGroup struct {
	Commit  func(ctx context.Context, entries []audit.Entry) error
	Timeout time.Duration // of one commit; 0: a minute

	mu    sync.Mutex
	queue []*auditWaiter
	busy  bool // a caller is committing; the queue will be taken by it or its successor
}

type auditWaiter struct {
	entries []audit.Entry
	done    chan error    // the outcome of the transaction that held the entries
	lead    chan struct{} // this caller is to commit the queue next
}

// Append checks entries, queues them and returns when the transaction that holds
// them has committed (nil) or failed (its error, shared by every call in it).
// Entries are checked first so that a bad one fails only its own call.
func (g *AuditGroup) Append(ctx context.Context, entries []audit.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	if len(entries) > MaxAppend {
		return fmt.Errorf("audit: %d entries in one call, at most %d", len(entries), MaxAppend)
	}
	if err := audit.Check(entries); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &auditWaiter{entries: entries, done: make(chan error, 1), lead: make(chan struct{}, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, w)
	leader := !g.busy
	g.busy = true
	g.mu.Unlock()
	if !leader {
		// Once queued the entries may commit whatever ctx does, so wait for the
		// outcome rather than report a cancellation that did not happen.
		select {
		case err := <-w.done:
			return err
		case <-w.lead:
		}
	}
	// The transaction is the queue's, not this caller's: it runs to its own
	// deadline, so that a database that stalls fails every waiter in bounded time.
	timeout := g.Timeout
	if timeout <= 0 {
		timeout = groupCommitTimeout
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	g.commitQueue(cctx)
	return <-w.done
}

// groupCommitTimeout bounds one group commit unless AuditGroup.Timeout is set.
const groupCommitTimeout = time.Minute

// commitQueue commits the queued entries (the caller's among them) in one
// transaction, then hands the queue to the first caller that arrived meanwhile.
func (g *AuditGroup) commitQueue(ctx context.Context) {
	g.mu.Lock()
	n, size := 0, 0
	for n < len(g.queue) && (n == 0 || size+len(g.queue[n].entries) <= maxGroup) {
		size += len(g.queue[n].entries)
		n++
	}
	batch := g.queue[:n:n]
	g.queue = g.queue[n:]
	g.mu.Unlock()

	all := make([]audit.Entry, 0, size)
	for _, w := range batch {
		all = append(all, w.entries...)
	}
	err := g.Commit(ctx, all)
	for _, w := range batch {
		w.done <- err
	}

	g.mu.Lock()
	if len(g.queue) > 0 {
		g.queue[0].lead <- struct{}{}
	} else {
		g.busy = false
		g.queue = nil
	}
	g.mu.Unlock()
}

// The administrative actions that backends record, one function each so that
// every backend writes the same record for the same action. at is when it
// happened; the actor comes from ctx.

// CollectionCreated records CreateCollection.
func CollectionCreated(ctx context.Context, at time.Time, c Collection) (audit.Entry, error) {
	return AdminEntry(ctx, at, "collection:"+c.ID, "create-collection", map[string]any{
		"alias": c.Alias, "title": c.Title, "owner_org": c.OwnerOrg, "media_types": nonNilStrings(c.MediaTypes),
	})
}

// ObjectDeleted records Delete: which versions of which object were asked for
// and how many were removed (none is recorded too: the request was made).
func ObjectDeleted(ctx context.Context, at time.Time, collectionID, objectID string, v VersionFilter, specVersions []string, removed int) (audit.Entry, error) {
	var versions []string
	if v.All {
		versions = append(versions, "all")
	}
	if v.First {
		versions = append(versions, "first")
	}
	if v.Last || (!v.All && !v.First && len(v.Exact) == 0) {
		versions = append(versions, "last")
	}
	for _, ts := range v.Exact {
		versions = append(versions, ts.String())
	}
	facts := map[string]any{"object": objectID, "removed": removed}
	// A request may name up to a thousand versions: list a few, count the rest, so
	// that the detail stays far below audit.MaxDetail.
	listFact(facts, "versions", versions)
	listFact(facts, "spec_versions", nonNilStrings(specVersions))
	return AdminEntry(ctx, at, "collection:"+collectionID, "delete-object", facts)
}

// maxListed is how many values of a list an admin record names.
const maxListed = 20

func listFact(facts map[string]any, name string, vals []string) {
	if len(vals) > maxListed {
		facts[name+"_unlisted"] = len(vals) - maxListed
		vals = vals[:maxListed]
	}
	facts[name] = vals
}

// OrganisationPut records PutOrganisation.
func OrganisationPut(ctx context.Context, at time.Time, o Organisation) (audit.Entry, error) {
	return AdminEntry(ctx, at, "org:"+o.ID, "put-organisation", map[string]any{
		"name": o.Name, "nation": o.Nation, "kind": string(o.Kind), "sectors": nonNilStrings(o.Sectors),
	})
}

// UserCreated records CreateUser.
func UserCreated(ctx context.Context, at time.Time, u User) (audit.Entry, error) {
	return AdminEntry(ctx, at, "user:"+u.ID, "create-user", map[string]any{
		"name": u.Name, "org": u.Org, "role": string(u.Role), "cert_fingerprint": u.CertFingerprint,
		"nationality": u.Nationality, "clearance": u.Clearance, "disabled_at": AuditTime(u.DisabledAt),
	})
}

// UserDisabled records DisableUser.
func UserDisabled(ctx context.Context, at time.Time, id string, from time.Time) (audit.Entry, error) {
	return AdminEntry(ctx, at, "user:"+id, "disable-user", map[string]any{"disabled_at": AuditTime(from)})
}

// TokenCreated records CreateToken: its public id, user and expiry, never its hash.
func TokenCreated(ctx context.Context, at time.Time, t Token) (audit.Entry, error) {
	return AdminEntry(ctx, at, "token:"+t.ID, "create-token", map[string]any{
		"user": t.User, "expires_at": AuditTime(t.ExpiresAt), "revoked_at": AuditTime(t.RevokedAt),
	})
}

// TokenRevoked records RevokeToken.
func TokenRevoked(ctx context.Context, at time.Time, id string, from time.Time) (audit.Entry, error) {
	return AdminEntry(ctx, at, "token:"+id, "revoke-token", map[string]any{"revoked_at": AuditTime(from)})
}

// GrantPut records PutGrant.
func GrantPut(ctx context.Context, at time.Time, g Grant) (audit.Entry, error) {
	return AdminEntry(ctx, at, "collection:"+g.Collection, "put-grant", map[string]any{
		"grantee": g.Subject, "read": g.Read, "write": g.Write,
	})
}

func nonNilStrings(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// ReportReceived records a version of an incident report as received: who filed
// it and the SHA-256 of the report as accepted (its content stays in the report).
func ReportReceived(ctx context.Context, v ReportVersion) (audit.Entry, error) {
	sum := sha256.Sum256(v.Body)
	d, err := json.Marshal(map[string]any{"version": v.Version, "operator": v.Operator,
		"sha256": hex.EncodeToString(sum[:]), "idempotency_key": v.IdempotencyKey != ""})
	if err != nil {
		return audit.Entry{}, err
	}
	actor := ActorFrom(ctx)
	if actor == "" {
		actor = "user:" + v.Author
	}
	return audit.Entry{Kind: audit.Receipt, Time: v.Received, Actor: actor, Subject: "report:" + v.Report, Detail: d}, nil
}

// ReportChanged records a triage action on a report (status, marking, release, note).
func ReportChanged(ctx context.Context, ev ReportEvent) (audit.Entry, error) {
	facts := map[string]any{"from": ev.From, "to": ev.To, "collection": ev.Collection}
	if ctx.Value(actorKey{}) == nil {
		ctx = WithActor(ctx, "user:"+ev.Actor)
	}
	return AdminEntry(ctx, ev.At, "report:"+ev.Report, "report-"+ev.Action, facts)
}

// OperatorPut records a change of an operator's reporting profile, whose consent
// decides whether it may be named to partners.
func OperatorPut(ctx context.Context, at time.Time, p OperatorProfile) (audit.Entry, error) {
	return AdminEntry(ctx, at, "org:"+p.Org, "put-operator", map[string]any{
		"sectors": p.Sectors, "size_band": p.SizeBand, "consent": p.Consent})
}

// DisclosedKey is the key by which the stores index the disclosures of an
// object: a 64-bit hash of its id, eight bytes at a time (an id is some fifty).
// Stored keys outlive the binary, so it must never change. Ids that share a key
// are told apart when read, so it need not resist collisions, only spread.
func DisclosedKey(id string) int64 {
	const m1, m2 = 0x9e3779b97f4a7c15, 0xbf58476d1ce4e5b9
	h := uint64(len(id)) * m1
	for ; len(id) >= 8; id = id[8:] {
		h = bits.RotateLeft64(h^binary.LittleEndian.Uint64([]byte(id[:8]))*m2, 29) * m1
	}
	var tail [8]byte
	copy(tail[:], id)
	h = bits.RotateLeft64(h^binary.LittleEndian.Uint64(tail[:])*m2, 29) * m1
	h ^= h >> 32
	return int64(h)
}

// EachDisclosedKey calls fn with the DisclosedKey of each object of refs, once
// for the versions of one object side by side.
func EachDisclosedKey(refs []audit.ObjectRef, fn func(key int64)) {
	for i, r := range refs {
		if i == 0 || r.ID != refs[i-1].ID {
			fn(DisclosedKey(r.ID))
		}
	}
}
