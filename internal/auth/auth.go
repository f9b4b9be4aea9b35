package auth

import (
	"context"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"quadshare/internal/pki"
	"quadshare/internal/store"
)

// Errors of Authenticate. The HTTP layer answers ErrUnauthenticated with 401 and
// WWW-Authenticate: Basic realm="quadshare" (TAXII 2.1 §1.6.9), ErrRateLimited with 429.
// Any other error is a failure of the store and is not the client's fault.
var (
	ErrUnauthenticated = errors.New("unauthenticated")
	ErrRateLimited     = errors.New("too many failed logins")
)

// Challenge is the WWW-Authenticate value of a 401 answer.
const Challenge = `Basic realm="quadshare"`

// Authenticator authenticates requests against the accounts of the store.
type Authenticator struct {
	accounts store.Accounts
	log      *slog.Logger
	now      func() time.Time
	byAddr   *limiter
}

// Option configures an Authenticator.
type Option func(*config)

type config struct {
	now    func() time.Time
	burst  int
	refill time.Duration
	max    int
}

// WithClock sets the clock (tests use it to move time).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithFailureLimit sets the failed-login limit: a client address may fail burst
// times in a row, then once per refill. Defaults: 10, one per 30 seconds.
func WithFailureLimit(burst int, refill time.Duration) Option {
	return func(c *config) {
		if burst > 0 {
			c.burst = burst
		}
		if refill > 0 {
			c.refill = refill
		}
	}
}

// WithTrackedLimit sets how many client addresses the failure limiter remembers at
// most. Default 100000.
func WithTrackedLimit(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.max = n
		}
	}
}

// New returns an Authenticator reading accounts. log receives one record per failed
// login (never a secret).
func New(accounts store.Accounts, log *slog.Logger, opts ...Option) *Authenticator {
	c := config{now: time.Now, burst: 10, refill: 30 * time.Second, max: 100_000}
	for _, o := range opts {
		o(&c)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Authenticator{
		accounts: accounts,
		log:      log,
		now:      c.now,
		byAddr:   newLimiter(c.burst, c.refill, c.max),
	}
}

// Authenticate returns the principal of r. A client certificate (TLS) whose SHA-256
// fingerprint is pinned to a user authenticates that user and takes precedence; an
// unknown certificate is ignored and HTTP Basic decides. Basic carries the user name
// and an API token (see ParseCredentials). Failed Basic logins are limited per client
// address (IPv6 per /64); a limited client is refused even with good credentials until
// its bucket refills. They are not limited per user name: a token cannot be guessed
// (256 random bits), so such a limit would only let anyone lock a user out, and its
// refusals would tell which names are users. A pinned certificate is not rate-limited
// either: it cannot be guessed. The client address is the connection's peer: forwarded-for
// headers are not trusted. A request without an Authorization header is not a failure
// (clients commonly send one first to get the challenge).
func (a *Authenticator) Authenticate(r *http.Request) (*Principal, error) {
	ctx := r.Context()
	now := a.now()
	addr := clientKey(r.RemoteAddr)

	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		p, err := a.byCertificate(ctx, r.TLS.PeerCertificates[0], now, addr)
		if p != nil || err != nil {
			return p, err
		}
	}

	vals := r.Header.Values("Authorization")
	if len(vals) == 0 || (len(vals) == 1 && vals[0] == "") {
		return nil, fmt.Errorf("%w: no credentials", ErrUnauthenticated)
	}
	ok, first, reserved := a.byAddr.take(addr, now)
	if !ok {
		if first {
			a.log.LogAttrs(ctx, slog.LevelWarn, "auth: client rate-limited after failed logins", slog.String("client", addr))
		}
		return nil, ErrRateLimited
	}
	p, err := a.basic(ctx, vals, now, addr)
	switch {
	case errors.Is(err, ErrUnauthenticated):
		if !reserved { // a reserved try has paid already
			a.byAddr.fail(addr, now)
		}
	case reserved:
		a.byAddr.refund(addr, now)
	}
	return p, err
}

// basic authenticates the Basic credentials in vals, logging a failure.
func (a *Authenticator) basic(ctx context.Context, vals []string, now time.Time, addr string) (*Principal, error) {
	if len(vals) > 1 {
		a.failure(ctx, addr, "", "", "several Authorization headers")
		return nil, fmt.Errorf("%w: several Authorization headers", ErrUnauthenticated)
	}
	cred, err := ParseCredentials(vals[0])
	if err != nil {
		a.failure(ctx, addr, "", "", err.Error())
		return nil, fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	}

	tok, err := a.accounts.Token(ctx, cred.TokenID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, a.basicFailure(ctx, addr, cred, "unknown token")
	}
	if err != nil {
		return nil, fmt.Errorf("auth: token %s: %w", cred.TokenID, err)
	}
	if subtle.ConstantTimeCompare(HashSecret(cred.Secret), tok.Hash) != 1 {
		return nil, a.basicFailure(ctx, addr, cred, "wrong token secret")
	}
	u, reason, err := a.tokenUser(ctx, tok, now)
	if err != nil {
		return nil, err
	}
	if reason == "" && u.Name != cred.Username {
		reason = "user name does not own the token"
	}
	if reason != "" {
		return nil, a.basicFailure(ctx, addr, cred, reason)
	}
	return a.principal(ctx, u)
}

// tokenUser returns the enabled user of an unrevoked, unexpired token; otherwise
// reason says why the token does not authenticate.
func (a *Authenticator) tokenUser(ctx context.Context, tok store.Token, now time.Time) (u store.User, reason string, err error) {
	if !tok.RevokedAt.IsZero() {
		return u, "token revoked", nil
	}
	if !tok.ExpiresAt.IsZero() && !now.Before(tok.ExpiresAt) {
		return u, "token expired", nil
	}
	u, err = a.accounts.User(ctx, tok.User)
	if errors.Is(err, store.ErrNotFound) {
		return u, "token of a deleted user", nil
	}
	if err != nil {
		return u, "", fmt.Errorf("auth: user of token %s: %w", tok.ID, err)
	}
	if !u.DisabledAt.IsZero() {
		return u, "user disabled", nil
	}
	return u, "", nil
}

// TokenPrincipal authenticates again a session that began with token tokenID of
// user userID: the token must still be that user's, unrevoked and unexpired, and
// the user enabled. ErrUnauthenticated otherwise.
func (a *Authenticator) TokenPrincipal(ctx context.Context, tokenID, userID string) (*Principal, error) {
	tok, err := a.accounts.Token(ctx, tokenID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: unknown token", ErrUnauthenticated)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: token %s: %w", tokenID, err)
	}
	if tok.User != userID {
		return nil, fmt.Errorf("%w: the token is not the user's", ErrUnauthenticated)
	}
	u, reason, err := a.tokenUser(ctx, tok, a.now())
	if err != nil {
		return nil, err
	}
	if reason != "" {
		return nil, fmt.Errorf("%w: %s", ErrUnauthenticated, reason)
	}
	return a.principal(ctx, u)
}

func (a *Authenticator) principal(ctx context.Context, u store.User) (*Principal, error) {
	org, err := a.accounts.Organisation(ctx, u.Org)
	if err != nil {
		return nil, fmt.Errorf("auth: organisation of user %s: %w", u.Name, err)
	}
	return &Principal{User: u, Org: org}, nil
}

// byCertificate authenticates a pinned client certificate. It returns (nil, nil) for a
// certificate nobody pinned, so that Basic can decide. The handshake has proved that the
// client holds the certificate's key (TLS CertificateVerify).
func (a *Authenticator) byCertificate(ctx context.Context, cert *x509.Certificate, now time.Time, addr string) (*Principal, error) {
	fp := pki.Fingerprint(cert.Raw)
	u, err := a.accounts.UserByCert(ctx, fp)
	if errors.Is(err, store.ErrNotFound) {
		a.log.LogAttrs(ctx, slog.LevelInfo, "auth: unknown client certificate",
			slog.String("fingerprint", fp), slog.String("subject", truncate(cert.Subject.String(), 200)), slog.String("client", addr))
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("auth: user of certificate %s: %w", fp, err)
	}
	reason := ""
	switch {
	case now.Before(cert.NotBefore):
		reason = "client certificate not yet valid"
	case now.After(cert.NotAfter):
		reason = "client certificate expired"
	case !u.DisabledAt.IsZero():
		reason = "user disabled"
	}
	if reason != "" {
		a.log.LogAttrs(ctx, slog.LevelWarn, "auth: login failed",
			slog.String("method", "certificate"), slog.String("reason", reason),
			slog.String("user", u.Name), slog.String("fingerprint", fp), slog.String("client", addr))
		return nil, fmt.Errorf("%w: %s", ErrUnauthenticated, reason)
	}
	return a.principal(ctx, u)
}

// basicFailure records a failed Basic login whose credentials parsed.
func (a *Authenticator) basicFailure(ctx context.Context, addr string, cred Credentials, reason string) error {
	a.failure(ctx, addr, cred.Username, cred.TokenID, reason)
	return fmt.Errorf("%w: %s", ErrUnauthenticated, reason)
}

// failure logs a failed login. A user name is logged only when it names a user: an
// unknown one may be a secret typed in the wrong field.
func (a *Authenticator) failure(ctx context.Context, addr, username, tokenID, reason string) {
	attrs := []slog.Attr{
		slog.String("method", "basic"),
		slog.String("reason", reason),
		slog.String("client", addr),
	}
	if username != "" {
		if _, err := a.accounts.User(ctx, username); err == nil {
			attrs = append(attrs, slog.String("user", username))
		} else {
			attrs = append(attrs, slog.Bool("unknown_user", true))
		}
	}
	if tokenID != "" {
		attrs = append(attrs, slog.String("token_id", tokenID)) // public part only
	}
	a.log.LogAttrs(ctx, slog.LevelWarn, "auth: login failed", attrs...)
}

// clientKey is the rate-limiting key of a remote address: the IP, or for IPv6 its /64
// (one subscriber's usual allocation).
func clientKey(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return truncate(host, 64)
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
