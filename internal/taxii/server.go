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
	"quadshare/internal/gate"
	"quadshare/internal/httpx"
	"quadshare/internal/policy"
	"quadshare/internal/store"
	"quadshare/internal/uuid"
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
	gate  *gate.Gate
	log   *slog.Logger
	tok   tokens
	now   func() time.Time
	ahead readAhead // the next pages of walks in progress

	wake     chan struct{} // a job was queued here
	workers  sync.WaitGroup
	stop     chan struct{} // closed by Close
	stopOnce sync.Once
	baseCtx  context.Context
	cancel   context.CancelFunc
}

// New returns a server and starts its workers (asynchronous additions, §5.5) and the
// janitor that removes statuses older than the retention (§4.3). Close stops them.
// Every object, manifest record and version it serves passes through g.
func New(cfg Config, st store.Store, authz Authorizer, g *gate.Gate, log *slog.Logger) (*Server, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if st == nil || authz == nil || g == nil || log == nil {
		return nil, errors.New("taxii: store, authorizer, gate and logger are required")
	}
	tok, err := newTokens(cfg.TokenKey)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg: cfg, store: st, authz: authz, gate: g, log: log, tok: tok,
		now:     time.Now,
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		baseCtx: ctx, cancel: cancel,
	}
	name := "taxii-" + uuid.New()[:8] // this process's workers, in job leases
	for i := range cfg.Workers {
		s.workers.Add(1)
		go s.worker(fmt.Sprintf("%s-%d", name, i))
	}
	s.workers.Add(1)
	go s.janitor()
	return s, nil
}

// Config returns the configuration in effect, defaults applied. The HTTP assembly takes
// its body limit from it, so that max_content_length (§4.2.1) is what is enforced:
//
//	srv, err := taxii.New(cfg, st, authn, g, log)
//	hs := httpx.New(httpx.Options{Addr: addr, TLS: tlsConfig, Handler: srv.Handler(), Log: log,
//		Auth: authn, MaxBody: srv.Config().MaxContentLength, RequestTimeout: srv.Config().RequestTimeout})
func (s *Server) Config() Config { return s.cfg }

// Close stops accepting background work, lets the workers finish the additions they
// hold until ctx ends, then cancels them: they go back to the queue in the store,
// for another process or the next start, and their statuses stay pending.
func (s *Server) Close(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stop) })
	done := make(chan struct{})
	go func() { s.workers.Wait(); close(done) }()
	select {
	case <-done:
		s.cancel()
		s.ahead.close()
		return nil
	case <-ctx.Done():
		s.cancel()
		<-done
		s.ahead.close()
		return fmt.Errorf("taxii: close: %w", ctx.Err())
	}
}

// closing reports whether Close was called.
func (s *Server) closing() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
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

// disclose is the one way out of the TAXII server: every object, manifest record
// and version passes through it on its way to a client. The principal's rights
// come first (an operator reads only its organisation's submissions in its
// inbox), then the sharing policy through the gate, which redacts and records
// the disclosure. Entries it drops vanish from the response as if absent
// (§1.6.9: a server "may omit objects ... if the authenticated client is not
// authorized").
func (s *Server) disclose(ctx context.Context, p *auth.Principal, c store.Collection, rights auth.Rights, ep endpoint, entries []store.Entry) ([]store.Entry, error) {
	return s.gate.ReleaseTo(ctx, p, rights, c.ID, ep.String(), entries)
}

// recipient describes the principal to the sharing policy.
func (s *Server) recipient(p *auth.Principal) policy.Recipient {
	return gate.RecipientOf(p.User, p.Org, s.gate.Policy().Scales())
}
