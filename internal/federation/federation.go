// Package federation exchanges object versions with partner nodes: push (an outbox
// per peer in the store, sent with TAXII POST to the peer's inbound collection) and
// pull (TAXII GET of the peer's outbox for us with added_after and next), both over
// mutual TLS with the peer's certificate pinned, every object signed by the node it
// comes from (package provenance) and verified on arrival. What leaves passes the
// sharing gate (gate.Release) for the peer's nation when it is queued. The protocol
// and its limits are in docs/federation.md.
package federation

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"quadshare/internal/gate"
	"quadshare/internal/provenance"
	"quadshare/internal/store"
	"quadshare/internal/uuid"
)

// Aliases of the two collections of the federation under the TAXII API root: the
// inbound collection (a real collection where peers' objects are stored) and the
// outbox (a view a peer reads its own queue through).
const (
	InboundAlias = "federation-inbound"
	OutboxAlias  = "federation-outbox"
)

// Config assembles a Service. Store, Gate, Key and Cert are required.
type Config struct {
	Store store.Store
	Gate  *gate.Gate
	Key   ed25519.PrivateKey // the node's signing key (provenance.LoadOrCreateKey)
	Cert  tls.Certificate    // the node's TLS certificate: presented to peers, who pin it
	// APIRoot is our TAXII API root path ("/api/"); peers' URLs end with theirs.
	APIRoot string
	// Collections shared with peers, by id or alias; empty: every collection but
	// the operators' inboxes (the inbound one included: what we received goes
	// onward only as TLP and the agreements allow, never back to its origin). An
	// inbox is never shared: a report leaves only when an analyst releases it.
	Collections []string
	Log         *slog.Logger

	Poll      time.Duration // how often new objects are looked for without a Wake; default 200ms
	PullEvery time.Duration // how often each peer is pulled; default 2s
	Batch     int           // objects per POST and per page; default 1000
	Lease     time.Duration // lease of a peer's work; default 30s
	// MaxBackoff caps the pause after failures with one peer; default 1 minute.
	MaxBackoff time.Duration
	// NoticeRetention is how long a deletion notice is kept once every peer's
	// walk has passed it (pruneNotices); 0 keeps it no longer than that.
	NoticeRetention time.Duration
	// Holder names this process in leases; default a random name.
	Holder string
	// Client overrides the transport to peers (tests); default pinned mutual TLS.
	Client func(p store.Peer) (Doer, error)
}

// Service runs the federation of one node.
type Service struct {
	cfg     Config
	st      store.Store
	log     *slog.Logger
	inbound store.Collection
	// deletions holds the notices of deletions to tell peers (deletion.go).
	deletions store.Collection
	wake      chan struct{}
	// tag is the tag of the last engine policyTag named: one, so that engines
	// replaced since are not kept alive.
	tag atomic.Pointer[engineTag]
	// signed spares signing again what several peers receive alike.
	signed signatures

	mu      sync.Mutex
	clients map[string]client // by peer name, for the peer's fingerprint
	// The two ways to a peer share its outbox; so that they do not carry the same
	// objects twice, each peer's pull is answered only while our push to it is not
	// delivering, and our push skips what the peer's pull says it holds. Both are
	// this process's view (several processes: duplicates, which receivers absorb).
	pushedAt map[string]time.Time // by peer name: last envelope the peer accepted
	pulledTo map[string]int64     // by peer name: the outbox sequence its pulls hold up to
	stop     context.CancelFunc
	done     chan struct{}
}

// New prepares the federation: it creates the inbound collection when missing.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Gate == nil || len(cfg.Key) != ed25519.PrivateKeySize || len(cfg.Cert.Certificate) == 0 {
		return nil, errors.New("federation: a store, a gate, a signing key and a TLS certificate are required")
	}
	if cfg.APIRoot == "" {
		cfg.APIRoot = "/api/"
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 200 * time.Millisecond
	}
	if cfg.PullEvery <= 0 {
		cfg.PullEvery = 2 * time.Second
	}
	if cfg.Batch <= 0 || cfg.Batch > store.MaxOutboxPage {
		cfg.Batch = 1000
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Minute
	}
	if cfg.Holder == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		host, _ := os.Hostname()
		cfg.Holder = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	in, err := EnsureInbound(ctx, cfg.Store)
	if err != nil {
		return nil, err
	}
	dels, err := EnsureDeletions(ctx, cfg.Store)
	if err != nil {
		return nil, err
	}
	for _, c := range cfg.Collections { // a mistake in the configuration stops the start, not every round
		if _, err := sharedCollection(ctx, cfg.Store, c); err != nil {
			return nil, fmt.Errorf("federation: %w", err)
		}
	}
	return &Service{cfg: cfg, st: cfg.Store, log: cfg.Log, inbound: in, deletions: dels, wake: make(chan struct{}, 1),
		clients: map[string]client{}, pushedAt: map[string]time.Time{}, pulledTo: map[string]int64{}}, nil
}

// EnsureInbound returns the inbound collection, creating it when missing.
func EnsureInbound(ctx context.Context, st store.Store) (store.Collection, error) {
	return ensureCollection(ctx, st, InboundAlias, "Federation inbound",
		"Objects received from partner nodes, signature verified.")
}

// ensureCollection returns the federation's collection named alias, creating
// it when missing (another process may create it first).
func ensureCollection(ctx context.Context, st store.Store, alias, title, description string) (store.Collection, error) {
	c, err := st.Collection(ctx, alias)
	if errors.Is(err, store.ErrNotFound) {
		err = st.CreateCollection(ctx, store.Collection{ID: uuid.New(), Alias: alias, Title: title, Description: description,
			MediaTypes: []string{"application/stix+json;version=2.1"}, CreatedAt: time.Now()})
		if err != nil && !errors.Is(err, store.ErrExists) {
			return c, fmt.Errorf("federation: %s collection: %w", alias, err)
		}
		c, err = st.Collection(ctx, alias)
	}
	if err != nil {
		return c, fmt.Errorf("federation: %s collection: %w", alias, err)
	}
	return c, nil
}

// Inbound returns the inbound collection.
func (s *Service) Inbound() store.Collection { return s.inbound }

// Signer returns the node's signer under the policy in force (nation and agency
// come from it, and it may change while the node runs).
func (s *Service) Signer() (*provenance.Signer, error) {
	pc := s.cfg.Gate.Policy().Config()
	return provenance.NewSigner(pc.Nation, pc.Agency, s.cfg.Key)
}

// Wake makes the workers look for new objects now, not at the next poll.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Start runs the workers until Close.
func (s *Service) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	s.stop, s.done = cancel, make(chan struct{})
	s.mu.Unlock()
	go func() {
		defer close(s.done)
		s.run(ctx)
	}()
}

// Close stops the workers and waits for them (until ctx ends), releasing the leases
// this process holds so that another takes the peers over at once.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	stop, done := s.stop, s.done
	s.mu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	peers, err := s.st.Peers(ctx)
	if err != nil {
		return err
	}
	for _, p := range peers {
		_ = s.st.ReleasePeer(ctx, p.Name, s.cfg.Holder)
	}
	return nil
}

// run starts one worker per peer and keeps the set in step with the store.
func (s *Service) run(ctx context.Context) {
	workers := map[string]*worker{}
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(s.cfg.Poll)
	defer tick.Stop()
	refresh, woken := time.Time{}, false
	for {
		// A wake may mean a new peer: the list is read again, at most once a poll.
		if woken && time.Since(refresh) > s.cfg.Poll || time.Since(refresh) > 2*time.Second {
			refresh, woken = time.Now(), false
			peers, err := s.st.Peers(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.LogAttrs(ctx, slog.LevelWarn, "federation: list peers", slog.String("error", err.Error()))
			}
			seen := map[string]bool{}
			for _, p := range peers {
				seen[p.Name] = true
				if w := workers[p.Name]; w == nil || w.peer.Fingerprint != p.Fingerprint || w.peer.URL != p.URL {
					if w != nil {
						w.cancel()
					}
					wctx, cancel := context.WithCancel(ctx)
					w = &worker{s: s, peer: p, cancel: cancel, kick: make(chan struct{}, 1)}
					workers[p.Name] = w
					wg.Add(1)
					go func() { defer wg.Done(); w.run(wctx) }()
				}
			}
			for name, w := range workers {
				if !seen[name] {
					w.cancel()
					delete(workers, name)
				}
			}
		}
		select {
		case <-ctx.Done():
			for _, w := range workers {
				w.cancel()
			}
			return
		case <-s.wake:
			woken = true
		case <-tick.C:
		}
		for _, w := range workers {
			select {
			case w.kick <- struct{}{}:
			default:
			}
		}
	}
}

// pushGrace is how long after an envelope the peer accepted our push counts as
// delivering: its pulls meanwhile get nothing (the push carries it all).
const pushGrace = 5 * time.Second

func (s *Service) notePushed(peer string) {
	s.mu.Lock()
	s.pushedAt[peer] = time.Now()
	s.mu.Unlock()
}

func (s *Service) pushing(peer string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Since(s.pushedAt[peer]) < pushGrace
}

func (s *Service) notePulled(peer string, seq int64) {
	s.mu.Lock()
	s.pulledTo[peer] = max(s.pulledTo[peer], seq)
	s.mu.Unlock()
}

func (s *Service) pulled(peer string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pulledTo[peer]
}
