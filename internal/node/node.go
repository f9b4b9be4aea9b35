// Package node assembles a running quadshare node from its configuration: the store,
// the TLS identity, authentication, the TAXII server and the HTTP server around them.
package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"

	"quadshare/internal/auth"
	"quadshare/internal/config"
	"quadshare/internal/federation"
	"quadshare/internal/gate"
	"quadshare/internal/httpx"
	"quadshare/internal/pki"
	"quadshare/internal/provenance"
	"quadshare/internal/reportapi"
	"quadshare/internal/store"
	"quadshare/internal/taxii"
	"quadshare/internal/web"
)

// Node is a started node. Close stops it.
type Node struct {
	Store store.Store
	Gate  *gate.Gate  // every object leaving the node passes it
	TLS   *pki.Server // nil when serving plain HTTP
	// TLSCreated reports that the server certificate was created by this start.
	TLSCreated bool
	URL        string // base URL, e.g. https://127.0.0.1:8443
	// Federation exchanges objects with partner nodes; nil when serving plain HTTP.
	Federation *federation.Service

	taxii *taxii.Server
	http  *http.Server
	done  chan error
}

// Start serves st on cfg.Listen until Close. The store stays the caller's: Close does
// not close it.
func Start(ctx context.Context, cfg config.Config, st store.Store, log *slog.Logger) (*Node, error) {
	key, err := loadOrCreateKey(filepath.Join(cfg.DataDir, "pagination.key"))
	if err != nil {
		return nil, fmt.Errorf("pagination key: %w", err)
	}
	authn := auth.New(st, log)
	engine, err := LoadPolicy(cfg)
	if err != nil {
		return nil, err
	}
	g, err := gate.New(engine, st)
	if err != nil {
		return nil, err
	}
	n := &Node{Store: st, Gate: g, done: make(chan error, 1)}
	opts := httpx.Options{Addr: cfg.Listen, Log: log, MaxBody: cfg.TAXII.MaxContentLength}
	scheme := "http"
	objects := st // what deletes objects: through the federation, which tells partners
	if !cfg.Insecure {
		scheme = "https"
		if cfg.TLSCert != "" {
			n.TLS, err = pki.LoadServer(cfg.TLSCert, cfg.TLSKey)
		} else {
			host, _, _ := net.SplitHostPort(cfg.Listen)
			n.TLS, n.TLSCreated, err = pki.EnsureServer(filepath.Join(cfg.DataDir, "tls"), []string{host})
		}
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		opts.TLS = pki.ServerConfig(n.TLS.Cert, nil) // partner certificates are pinned in auth, not CA-verified
		if n.Federation, err = startFederation(ctx, cfg, st, g, n.TLS, log); err != nil {
			return nil, err
		}
		objects = n.Federation.Watch(st)
	}
	tx, err := taxii.New(taxii.Config{
		Title:            cfg.TAXII.Title,
		Description:      "quadshare national node",
		MaxPageSize:      cfg.TAXII.MaxPageSize,
		MaxContentLength: cfg.TAXII.MaxContentLength,
		AsyncThreshold:   cfg.TAXII.AsyncThreshold,
		StatusRetention:  cfg.TAXII.StatusRetention.Duration,
		TokenKey:         key,
	}, objects, authn, g, log)
	if err != nil {
		return nil, err
	}
	n.taxii = tx
	reports, err := startReports(cfg, objects, authn, g, log)
	if err != nil {
		tx.Close(ctx)
		return nil, err
	}
	ui, err := startWeb(cfg, st, authn, g, reports, log)
	if err != nil {
		tx.Close(ctx)
		return nil, err
	}
	var taxiiRoutes http.Handler = tx.Handler()
	if n.Federation != nil { // the partners' inbound and outbox collections, beside TAXII
		taxiiRoutes = n.Federation.Handler(taxiiRoutes)
	}
	api := http.NewServeMux()
	api.Handle(reportapi.Prefix, reports.Handler())
	api.Handle("/", taxiiRoutes)
	// The APIs authenticate every request with HTTP Basic or a client certificate;
	// the web interface has its own sign-in and sessions.
	mux := http.NewServeMux()
	mux.Handle(web.Prefix, ui.Handler())
	mux.Handle("/", httpx.Authenticate(log, authn, api))
	opts.Handler = mux

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		tx.Close(ctx)
		return nil, err
	}
	n.URL = scheme + "://" + ln.Addr().String()
	n.http = httpx.New(opts)
	if n.Federation != nil && !cfg.Federation.Disabled {
		n.Federation.Start()
	}
	go func() {
		var err error
		if opts.TLS != nil {
			err = n.http.ServeTLS(ln, "", "")
		} else {
			err = n.http.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		n.done <- err
	}()
	return n, nil
}

// Done reports the error that stopped the server, if it stops by itself.
func (n *Node) Done() <-chan error { return n.done }

// Close stops accepting requests, lets those under way finish until ctx ends, stops
// the background work of the TAXII server, then signs a checkpoint of the audit
// trail, so that no record of this run can be cut from its end unseen.
func (n *Node) Close(ctx context.Context) error {
	err := n.http.Shutdown(ctx)
	if n.Federation != nil {
		err = errors.Join(err, n.Federation.Close(ctx))
	}
	err = errors.Join(err, n.taxii.Close(ctx))
	if cerr := n.Store.SignAuditCheckpoint(context.WithoutCancel(ctx)); cerr != nil && !errors.Is(cerr, store.ErrNoAuditKey) {
		err = errors.Join(err, fmt.Errorf("audit checkpoint: %w", cerr))
	}
	return err
}

// startFederation prepares the exchange with partner nodes: the node's signing key
// (DATA/node.key, created on first start) and its TLS certificate are its identity.
func startFederation(ctx context.Context, cfg config.Config, st store.Store, g *gate.Gate, tlsID *pki.Server, log *slog.Logger) (*federation.Service, error) {
	key, created, err := provenance.LoadOrCreateKey(filepath.Join(cfg.DataDir, provenance.KeyFile))
	if err != nil {
		return nil, fmt.Errorf("node signing key: %w", err)
	}
	if created {
		log.LogAttrs(ctx, slog.LevelInfo, "node signing key created", slog.String("file", filepath.Join(cfg.DataDir, provenance.KeyFile)))
	}
	return federation.New(ctx, federation.Config{Store: st, Gate: g, Key: key, Cert: tlsID.Cert,
		Collections: cfg.Federation.Collections, NoticeRetention: cfg.Federation.NoticeRetention.Duration, Log: log})
}

// loadOrCreateKey returns the 32-byte secret in path, creating it on first use. It keys
// the pagination tokens, web sessions and report receipts, so that they survive
// restarts and no client can forge one.
func loadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != 32 {
			return nil, fmt.Errorf("%s: want 32 bytes, found %d", path, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	b = make([]byte, 32)
	_, _ = rand.Read(b)
	won, err := createOnce(path, b)
	if err != nil {
		return nil, err
	}
	if !won { // another process made it meanwhile: use that one
		return loadOrCreateKey(path)
	}
	return b, nil
}
