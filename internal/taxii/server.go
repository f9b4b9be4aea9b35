package taxii

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"quadshare/internal/auth"
	"quadshare/internal/httpx"
	"quadshare/internal/store"
)

// Authorizer decides a principal's rights on a collection; *auth.Authenticator is one.
type Authorizer interface {
	Rights(ctx context.Context, p *auth.Principal, c store.Collection) (auth.Rights, error)
}

// Server serves TAXII 2.1.
type Server struct {
	cfg   Config
	store store.Store
	authz Authorizer
	log   *slog.Logger
	tok   tokens
	now   func() time.Time

	jobs        chan job
	queueMu     sync.Mutex
	queued      int  // places reserved in jobs
	queueClosed bool // set by Close: no more background work
	workers     sync.WaitGroup
	stop        chan struct{}
	baseCtx     context.Context
	cancel      context.CancelFunc
}

// New returns a server and starts its workers (asynchronous additions, §5.5) and the
// janitor that removes statuses older than the retention (§4.3). Close stops them.
func New(cfg Config, st store.Store, authz Authorizer, log *slog.Logger) (*Server, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if st == nil || authz == nil || log == nil {
		return nil, errors.New("taxii: store, authorizer and logger are required")
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg: cfg, store: st, authz: authz, log: log,
		tok:     tokens{key: append([]byte(nil), cfg.TokenKey...)},
		now:     time.Now,
		jobs:    make(chan job, cfg.QueueSize),
		stop:    make(chan struct{}),
		baseCtx: ctx, cancel: cancel,
	}
	for range cfg.Workers {
		s.workers.Add(1)
		go s.worker()
	}
	s.workers.Add(1)
	go s.janitor()
	return s, nil
}

// Config returns the configuration in effect, defaults applied. The HTTP assembly takes
// its body limit from it, so that max_content_length (§4.2.1) is what is enforced:
//
//	srv, err := taxii.New(cfg, st, authn, log)
//	hs := httpx.New(httpx.Options{Addr: addr, TLS: tlsConfig, Handler: srv.Handler(), Log: log,
//		Auth: authn, MaxBody: srv.Config().MaxContentLength, RequestTimeout: srv.Config().RequestTimeout})
func (s *Server) Config() Config { return s.cfg }

// Close stops accepting background work, lets the workers finish what is queued until
// ctx ends, then cancels what is left (those statuses stay pending; leasing of pending
// work across processes comes with the PostgreSQL deployment).
func (s *Server) Close(ctx context.Context) error {
	s.queueMu.Lock()
	if !s.queueClosed {
		s.queueClosed = true
		close(s.stop)
		close(s.jobs) // reserve refuses from now on, so nothing sends on jobs any more
	}
	s.queueMu.Unlock()
	done := make(chan struct{})
	go func() { s.workers.Wait(); close(done) }()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.cancel()
		<-done
		return fmt.Errorf("taxii: close: %w", ctx.Err())
	}
}

// janitor deletes statuses older than the retention, hourly.
func (s *Server) janitor() {
	defer s.workers.Done()
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := s.store.DeleteStatusesBefore(s.baseCtx, s.now().Add(-s.cfg.StatusRetention))
		if err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("taxii: delete old statuses", slog.String("error", err.Error()))
		} else if n > 0 {
			s.log.Info("taxii: deleted old statuses", slog.Int("count", n))
		}
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// principal returns the authenticated principal of the request.
func principal(r *http.Request) (*auth.Principal, error) {
	p, ok := auth.FromContext(r.Context())
	if !ok || p == nil {
		return nil, unauthenticated()
	}
	return p, nil
}

func unauthenticated() *httpx.Error {
	return &httpx.Error{Status: http.StatusUnauthorized, Title: "Unauthorized",
		Description: "Authenticate to use this server.",
		Header:      http.Header{"Www-Authenticate": {`Basic realm="quadshare", charset="UTF-8"`}}}
}

// collection finds a collection by id or alias (§5.2.1) and the principal's rights on
// it. A collection the principal can neither read nor write is reported exactly as a
// missing one: the same 404 body, so its existence does not leak (Appendix B).
func (s *Server) collection(ctx context.Context, p *auth.Principal, idOrAlias string) (store.Collection, auth.Rights, error) {
	c, err := s.store.Collection(ctx, idOrAlias)
	if errors.Is(err, store.ErrNotFound) {
		return c, auth.Rights{}, httpx.NotFound()
	}
	if err != nil {
		return c, auth.Rights{}, fmt.Errorf("taxii: collection: %w", err)
	}
	rights, err := s.authz.Rights(ctx, p, c)
	if err != nil {
		return c, auth.Rights{}, fmt.Errorf("taxii: rights on %s: %w", c.ID, err)
	}
	if !rights.Read && !rights.Write {
		return c, rights, httpx.NotFound()
	}
	return c, rights, nil
}

// disclose is the one gate every object, manifest record, version and status detail
// passes through on its way to a client. Today it applies the principal's rights (an
// operator sees only its own organisation's submissions); the sharing policy decision
// plugs in here. Entries it drops vanish from the response as if absent (§1.6.9: a
// server "may omit objects ... if the authenticated client is not authorized").
func (s *Server) disclose(_ context.Context, _ *auth.Principal, _ store.Collection, rights auth.Rights, entries []store.Entry) []store.Entry {
	if !rights.Read {
		return nil
	}
	if rights.OnlySubmitter == "" {
		return entries
	}
	out := entries[:0:0]
	for _, e := range entries {
		if e.Submitter == rights.OnlySubmitter {
			out = append(out, e)
		}
	}
	return out
}
