package httpx

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"quadshare/internal/auth"
)

// Authenticator tells who a request comes from; *auth.Authenticator is one. Errors
// matching auth.ErrUnauthenticated become 401 with a WWW-Authenticate challenge (TAXII
// 2.1 §1.6.9), auth.ErrRateLimited 429; any other error is the server's (500).
type Authenticator interface {
	Authenticate(r *http.Request) (*auth.Principal, error)
}

// Options assemble a server. Zero durations get defaults.
type Options struct {
	Addr    string
	TLS     *tls.Config // nil: the caller serves plain HTTP (development only)
	Handler http.Handler
	Log     *slog.Logger
	Auth    Authenticator
	// MaxBody is the largest request body accepted (TAXII max_content_length, §4.2.1).
	MaxBody int64
	// RequestTimeout cancels the context of a request after this long. Default 2m.
	RequestTimeout time.Duration
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout of http.Server.
	// Defaults 10s, 5m (a max_content_length body on a slow link), 5m, 2m.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
}

// MaxHeaderBytes bounds the request line and headers, hence every query string.
const MaxHeaderBytes = 64 << 10

// Authenticate puts the principal of every request in its context (auth.NewContext),
// or answers 401 or 429 as a TAXII error.
func Authenticate(log *slog.Logger, a Authenticator, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.Authenticate(r)
		switch {
		case errors.Is(err, auth.ErrRateLimited):
			e := Errorf(http.StatusTooManyRequests, "Too many failed logins; wait before trying again.")
			e.Header = http.Header{"Retry-After": {"30"}}
			e.Cause = err
			WriteError(w, r, log, e)
			return
		case errors.Is(err, auth.ErrUnauthenticated):
			WriteError(w, r, log, &Error{Status: http.StatusUnauthorized, Title: "Unauthorized",
				Description: "Authenticate with HTTP Basic: your user name and an API token.",
				Header:      http.Header{"Www-Authenticate": {auth.Challenge}}, Cause: err})
			return
		case err != nil:
			WriteError(w, r, log, err)
			return
		case p == nil:
			WriteError(w, r, log, errors.New("httpx: authenticator returned no principal and no error"))
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), p)))
	})
}

// Wrap puts the middleware around h, outermost first: request id and log line, panic
// recovery, security headers, authentication, body limit, request timeout.
func Wrap(o Options, h http.Handler) http.Handler {
	o = o.defaults()
	h = Timeout(o.RequestTimeout, h)
	h = LimitBody(o.Log, o.MaxBody, h)
	if o.Auth != nil {
		h = Authenticate(o.Log, o.Auth, h)
	}
	h = SecurityHeaders(h)
	h = Recover(o.Log, h)
	return RequestLog(o.Log, h)
}

func (o Options) defaults() Options {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 100 << 20
	}
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&o.RequestTimeout, 2*time.Minute)
	set(&o.ReadHeaderTimeout, 10*time.Second)
	set(&o.ReadTimeout, 5*time.Minute)
	set(&o.WriteTimeout, 5*time.Minute)
	set(&o.IdleTimeout, 2*time.Minute)
	return o
}

// New returns the http.Server of a node: o.Handler wrapped by Wrap, with timeouts, a
// header size limit and o.TLS. Serve it with ListenAndServeTLS("", "") or
// ServeTLS(listener, "", "") when TLS is set. Without authentication (o.Auth nil) every
// TAXII request is refused by the handlers, which require a principal.
func New(o Options) *http.Server {
	o = o.defaults()
	return &http.Server{
		Addr:              o.Addr,
		Handler:           Wrap(o, o.Handler),
		TLSConfig:         o.TLS,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		WriteTimeout:      o.WriteTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(o.Log.Handler(), slog.LevelWarn),
	}
}
