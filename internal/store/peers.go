package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"quadshare/internal/audit"
)

// ErrLeased is wrapped when a peer's work is leased by another worker (or the caller's
// lease expired): the caller must leave that peer alone.
var ErrLeased = errors.New("leased by another worker")

// Peer is a partner nation's node that this node federates with.
type Peer struct {
	Name        string // unique, chosen by the operator
	Nation      string // ISO 3166-1 alpha-2
	URL         string // TAXII API root of the peer, https://host:port/api/
	Fingerprint string // hex SHA-256 of the peer's TLS certificate: pinned when we dial it, and its user's certificate here; unique
	PublicKey   []byte // Ed25519 key the peer signs its objects with (provenance)
	CreatedAt   time.Time

	// Progress, kept by the federation worker.
	Queued      int64     // object versions ever queued for the peer
	Pushed      int64     // ... and acknowledged by it
	Pulled      int64     // object versions pulled from it and stored
	Rejected    int64     // object versions from it refused (bad signature, invalid)
	Conflicts   int64     // object versions from it whose (id, version) we held with other content
	PushedSeq   int64     // the last outbox sequence the peer acknowledged
	Depth       int64     // outbox items after PushedSeq: the queue waiting for the peer
	OldestQueue time.Time // when the oldest of those was queued (zero when none): the push lag
	LastSuccess time.Time // last exchange that worked (push or pull)
	LastErrorAt time.Time
	LastError   string
}

// OutboxItem is one object version queued for a peer, exactly as it will be sent
// (released by the gate, signed).
type OutboxItem struct {
	Seq     int64  // set by Enqueue: unix microseconds, strictly increasing per peer
	ID      string // object id
	Version string // modified (or created), as TAXII names versions
	Raw     []byte
}

// PeerEvent is what one round of work with a peer did; counters are added.
type PeerEvent struct {
	Pulled, Rejected, Conflicts int64
	Success                     bool   // the peer answered as it should
	Error                       string // else why not ("" with Success false: nothing happened)
	At                          time.Time
}

// Peers keeps partner nodes, the outbox of object versions queued for each, and the
// cursors of the work done with each. A worker leases a peer before it fills, sends or
// pulls for it; on a shared database several processes thus share the peers, and when
// one dies its lease expires and another takes the peer over. Every write of progress
// checks the lease, so a worker that lost it cannot move a cursor back.
type Peers interface {
	CreatePeer(ctx context.Context, p Peer) error // ErrExists on a duplicate name or fingerprint
	Peer(ctx context.Context, name string) (Peer, error)
	PeerByFingerprint(ctx context.Context, fingerprint string) (Peer, error)
	Peers(ctx context.Context) ([]Peer, error)
	DeletePeer(ctx context.Context, name string) error // with its outbox and cursors

	// LeasePeer gives holder the peer's work for d, renewing holder's own lease; it
	// returns an error wrapping ErrLeased while another holder's lease runs.
	LeasePeer(ctx context.Context, name, holder string, d time.Duration) error
	// ReleasePeer ends holder's lease (nothing when holder does not hold it).
	ReleasePeer(ctx context.Context, name, holder string) error

	// PeerCursor returns the value kept under key ("" when none).
	PeerCursor(ctx context.Context, name, key string) (string, error)
	// SetPeerCursor keeps value under key, if holder holds the lease.
	SetPeerCursor(ctx context.Context, name, holder, key, value string) error

	// Enqueue appends items to the peer's outbox, skipping any (ID, Version) already
	// in it, and in the same transaction sets cursor key to value (when key is not
	// ""), if holder holds the lease. It returns how many items were added.
	Enqueue(ctx context.Context, name, holder string, items []OutboxItem, key, value string) (int, error)
	// Outbox returns up to limit items with Seq > after, in Seq order.
	Outbox(ctx context.Context, name string, after int64, limit int) ([]OutboxItem, error)
	// AckOutbox records that the peer has every item up to seq, if holder holds the
	// lease, and removes those items: the peer has them, and a pull never starts
	// before what the peer acknowledged.
	AckOutbox(ctx context.Context, name, holder string, seq int64) error

	// RecordPeer adds one round's counters and outcome to the peer.
	RecordPeer(ctx context.Context, name string, ev PeerEvent) error
}

// Limits of Peers that every backend enforces.
const (
	MaxPeerName      = 64
	MaxPeerURL       = 2048
	MaxCursorKey     = 200
	MaxCursorValue   = 1024
	MaxPeerError     = 1024
	MaxOutboxPage    = 10_000
	MaxPeerLease     = time.Hour
	OutboxCursorFill = "fill:" // prefix of the cursor of one collection's walk
)

// CheckPeer reports what is wrong with a new peer; backends call it in CreatePeer.
func CheckPeer(p Peer) error {
	var bad []string
	if p.Name == "" || len(p.Name) > MaxPeerName || strings.IndexFunc(p.Name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
	}) >= 0 {
		bad = append(bad, fmt.Sprintf("name %q: want 1 to %d letters, digits, '-', '_' or '.'", p.Name, MaxPeerName))
	}
	if len(p.Nation) != 2 || p.Nation[0] < 'A' || p.Nation[0] > 'Z' || p.Nation[1] < 'A' || p.Nation[1] > 'Z' {
		bad = append(bad, fmt.Sprintf("nation %q: want ISO 3166-1 alpha-2", p.Nation))
	}
	if u, err := url.Parse(p.URL); err != nil || len(p.URL) > MaxPeerURL || u.Scheme != "https" || u.Host == "" ||
		!strings.HasSuffix(u.Path, "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		bad = append(bad, fmt.Sprintf("url %q: want the peer's TAXII API root, https://host:port/path/", p.URL))
	}
	if len(p.Fingerprint) != 64 || strings.Trim(p.Fingerprint, "0123456789abcdef") != "" {
		bad = append(bad, "fingerprint: want 64 lowercase hex digits (SHA-256)")
	}
	if len(p.PublicKey) != 32 {
		bad = append(bad, "public key: want 32 bytes (Ed25519)")
	}
	if len(bad) > 0 {
		return fmt.Errorf("peer: %s", strings.Join(bad, "; "))
	}
	return nil
}

// CheckCursor bounds a cursor key and value.
func CheckCursor(key, value string) error {
	if key == "" || len(key) > MaxCursorKey || len(value) > MaxCursorValue {
		return fmt.Errorf("peer cursor: key of 1 to %d bytes and value of at most %d bytes", MaxCursorKey, MaxCursorValue)
	}
	return nil
}

// CheckPeerLease bounds a lease of a peer.
func CheckPeerLease(holder string, d time.Duration) error {
	if holder == "" || len(holder) > 200 || d <= 0 || d > MaxPeerLease {
		return fmt.Errorf("peer lease: need a holder and a duration in (0, %v]", MaxPeerLease)
	}
	return nil
}

// PeerCreated records CreatePeer in the audit trail.
func PeerCreated(ctx context.Context, at time.Time, p Peer) (audit.Entry, error) {
	sum := sha256.Sum256(p.PublicKey)
	return AdminEntry(ctx, at, "peer:"+p.Name, "create-peer", map[string]any{
		"nation": p.Nation, "url": p.URL, "fingerprint": p.Fingerprint, "public_key_sha256": hex.EncodeToString(sum[:]),
	})
}

// PeerDeleted records DeletePeer in the audit trail.
func PeerDeleted(ctx context.Context, at time.Time, name string) (audit.Entry, error) {
	return AdminEntry(ctx, at, "peer:"+name, "delete-peer", nil)
}
