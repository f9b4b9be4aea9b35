package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"quadshare/internal/store"
	"quadshare/internal/store/sqlite"
)

// fixture is a real SQLite store with one organisation per kind and helpers.
type fixture struct {
	t   *testing.T
	st  *sqlite.Store
	ctx context.Context
	n   int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "auth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &fixture{t: t, st: st, ctx: ctx}
}

func (f *fixture) id(prefix string) string {
	f.n++
	return fmt.Sprintf("%s-%04d", prefix, f.n)
}

func (f *fixture) org(name string, kind store.OrgKind, sectors ...string) store.Organisation {
	f.t.Helper()
	o := store.Organisation{ID: f.id("org"), Name: name, Nation: "AU", Kind: kind, Sectors: sectors}
	if err := f.st.PutOrganisation(f.ctx, o); err != nil {
		f.t.Fatal(err)
	}
	return o
}

func (f *fixture) user(name string, org store.Organisation, role store.Role, certFP string) store.User {
	f.t.Helper()
	u := store.User{ID: f.id("user"), Name: name, Org: org.ID, Role: role, CertFingerprint: certFP, CreatedAt: time.Now().UTC()}
	if err := f.st.CreateUser(f.ctx, u); err != nil {
		f.t.Fatal(err)
	}
	return u
}

func (f *fixture) token(u store.User, ttl time.Duration) (string, store.Token) {
	f.t.Helper()
	tok, rec, err := CreateToken(f.ctx, f.st, u.Name, ttl)
	if err != nil {
		f.t.Fatal(err)
	}
	return tok, rec
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func request(remote, authorization string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://localhost/taxii2/", nil)
	r.RemoteAddr = remote
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	return r
}

// syncBuffer is a log sink tests can read while handlers write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestPrincipalContext(t *testing.T) {
	if _, ok := FromContext(t.Context()); ok {
		t.Fatal("empty context has a principal")
	}
	p := &Principal{User: store.User{Name: "alice"}}
	got, ok := FromContext(NewContext(t.Context(), p))
	if !ok || got != p {
		t.Fatalf("FromContext = %v, %v", got, ok)
	}
	if _, ok := FromContext(NewContext(t.Context(), nil)); ok {
		t.Fatal("a nil principal was reported present")
	}
}

func TestCreateToken(t *testing.T) {
	f := newFixture(t)
	o := f.org("Agency", store.KindAgency)
	u := f.user("alice", o, store.RoleAnalyst, "")
	tok, rec, err := CreateToken(f.ctx, f.st, u.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	id, secret, err := ParseToken(tok)
	if err != nil {
		t.Fatalf("created token %q does not parse: %v", tok, err)
	}
	if id != rec.ID || rec.User != u.ID {
		t.Fatalf("token id %s / record %+v", id, rec)
	}
	stored, err := f.st.Token(f.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored.Hash, HashSecret(secret)) {
		t.Fatal("stored hash is not SHA-256 of the secret")
	}
	if bytes.Contains(stored.Hash, []byte(secret)) || len(stored.Hash) != 32 {
		t.Fatal("the store holds more than a hash")
	}
	if d := stored.ExpiresAt.Sub(stored.CreatedAt); d != time.Hour {
		t.Fatalf("lifetime %v, want 1h", d)
	}
	other, _, err := CreateToken(f.ctx, f.st, u.Name, time.Hour)
	if err != nil || other == tok {
		t.Fatalf("second token %q, %v: want a different token", other, err)
	}

	for _, ttl := range []time.Duration{0, -time.Hour, MaxTokenTTL + time.Second} {
		if _, _, err := CreateToken(f.ctx, f.st, u.ID, ttl); err == nil {
			t.Errorf("ttl %v accepted", ttl)
		}
	}
	if _, _, err := CreateToken(f.ctx, f.st, "nobody", time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
	if err := f.st.DisableUser(f.ctx, u.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := CreateToken(f.ctx, f.st, u.ID, time.Hour); err == nil {
		t.Error("token created for a disabled user")
	}
}

func TestTokenLifecycle(t *testing.T) {
	f := newFixture(t)
	o := f.org("Agency", store.KindAgency)
	now := time.Now()
	clock := func() time.Time { return now }
	var logs syncBuffer
	a := New(f.st, slog.New(slog.NewTextHandler(&logs, nil)), WithClock(clock), WithFailureLimit(1000, time.Second))

	alice := f.user("alice", o, store.RoleAnalyst, "")
	bob := f.user("bob", o, store.RoleReader, "")
	valid, _ := f.token(alice, time.Hour)
	expiring, _ := f.token(alice, time.Minute)
	revoked, revRec := f.token(alice, time.Hour)
	if err := f.st.RevokeToken(f.ctx, revRec.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	bobTok, _ := f.token(bob, time.Hour)
	carol := f.user("carol", o, store.RoleReader, "")
	carolTok, _ := f.token(carol, time.Hour)
	if err := f.st.DisableUser(f.ctx, carol.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	id, secret, _ := ParseToken(valid)
	wrongSecret := tokenPrefix + id + "_" + strings.Repeat("0", secretLen)
	if wrongSecret == valid {
		t.Fatal("test token collided")
	}
	_, bobSecret, _ := ParseToken(bobTok)

	tests := []struct {
		name  string
		user  string
		token string
		at    time.Duration // clock offset
		want  string        // principal name, or "" for ErrUnauthenticated
	}{
		{"valid", "alice", valid, 0, "alice"},
		{"valid until expiry", "alice", expiring, 59 * time.Second, "alice"},
		{"expired", "alice", expiring, time.Minute, ""},
		{"wrong secret", "alice", wrongSecret, 0, ""},
		{"another token's secret", "alice", tokenPrefix + id + "_" + bobSecret, 0, ""},
		{"unknown token id", "alice", tokenPrefix + strings.Repeat("a", tokenIDLen) + "_" + secret, 0, ""},
		{"revoked", "alice", revoked, 0, ""},
		{"disabled user", "carol", carolTok, 0, ""},
		{"token of another user", "alice", bobTok, 0, ""},
		{"unknown user name", "mallory", valid, 0, ""},
		{"user name case differs", "Alice", valid, 0, ""},
		{"second user", "bob", bobTok, 0, "bob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now = time.Now().Add(tt.at)
			p, err := a.Authenticate(request("192.0.2.10:4000", basic(tt.user, tt.token)))
			if tt.want == "" {
				if !errors.Is(err, ErrUnauthenticated) || p != nil {
					t.Fatalf("got %v, %v; want ErrUnauthenticated", p, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.User.Name != tt.want || p.Org.ID != o.ID || p.Org.Name != "Agency" {
				t.Fatalf("principal %+v, want %s of Agency", p, tt.want)
			}
		})
	}
	// No secret reaches the logs; failures are logged with their reason.
	out := logs.String()
	for _, tok := range []string{valid, expiring, revoked, bobTok, carolTok, wrongSecret} {
		_, s, _ := ParseToken(tok)
		if strings.Contains(out, s) {
			t.Fatalf("a token secret appears in the logs:\n%s", out)
		}
	}
	for _, reason := range []string{"token expired", "wrong token secret", "token revoked", "user disabled", "unknown token", "user name does not own the token"} {
		if !strings.Contains(out, reason) {
			t.Errorf("no log record with reason %q:\n%s", reason, out)
		}
	}
	if strings.Contains(out, "mallory") {
		t.Error("an unknown user name was logged (it may be a mistyped secret)")
	}
}

func TestParseCredentials(t *testing.T) {
	good := tokenPrefix + strings.Repeat("1", tokenIDLen) + "_" + strings.Repeat("f", secretLen)
	tests := []struct {
		name, header string
		wantErr      bool
	}{
		{"valid", basic("alice", good), false},
		{"scheme case-insensitive", "bAsIc " + base64.StdEncoding.EncodeToString([]byte("alice:"+good)), false},
		{"extra spaces before credentials", "Basic   " + base64.StdEncoding.EncodeToString([]byte("alice:"+good)), false},
		{"user with unicode", basic("ålice", good), false},
		{"empty", "", true},
		{"scheme only", "Basic", true},
		{"bearer", "Bearer " + good, true},
		{"malformed base64", "Basic !!!notbase64", true},
		{"base64 without padding", "Basic " + strings.TrimRight(base64.StdEncoding.EncodeToString([]byte("alice:"+good+"x")), "="), true},
		{"no colon", "Basic " + base64.StdEncoding.EncodeToString([]byte("alice"+good)), true},
		{"empty user", basic("", good), true},
		{"control character in user", basic("al\x00ice", good), true},
		{"invalid UTF-8 user", basic("al\xffice", good), true},
		{"long user", basic(strings.Repeat("a", maxUserLen+1), good), true},
		{"password not a token", basic("alice", "hunter2"), true},
		{"token upper-case hex", basic("alice", strings.ToUpper(good[:3])+strings.ToUpper(good[3:])), true},
		{"token without prefix", basic("alice", "xx_"+good[3:]), true},
		{"token wrong separator", basic("alice", good[:len(tokenPrefix)+tokenIDLen]+"-"+good[len(tokenPrefix)+tokenIDLen+1:]), true},
		{"token truncated", basic("alice", good[:len(good)-1]), true},
		{"token with trailing byte", basic("alice", good+"0"), true},
		{"colon in password kept", basic("alice", good+":x"), true},
		{"huge header", "Basic " + strings.Repeat("A", 5000), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCredentials(tt.header)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && (c.TokenID != strings.Repeat("1", tokenIDLen) || c.Secret != strings.Repeat("f", secretLen)) {
				t.Fatalf("credentials %+v", c)
			}
		})
	}
	if _, err := ParseCredentials(""); !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("empty header: %v, want ErrNoCredentials", err)
	}
}

func TestAuthenticateMalformed(t *testing.T) {
	f := newFixture(t)
	var logs syncBuffer
	a := New(f.st, slog.New(slog.NewTextHandler(&logs, nil)))
	for _, h := range []string{"", "Basic", "Basic %%%", "Basic " + base64.StdEncoding.EncodeToString([]byte("nocolon")), "Digest x"} {
		_, err := a.Authenticate(request("192.0.2.1:1", h))
		if !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("header %q: %v, want ErrUnauthenticated", h, err)
		}
	}
	r := request("192.0.2.1:1", "")
	r.Header.Add("Authorization", basic("a", "b"))
	r.Header.Add("Authorization", basic("c", "d"))
	if _, err := a.Authenticate(r); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("two Authorization headers: %v", err)
	}
	// Four malformed headers and the duplicate were logged; the missing header was not.
	if n := strings.Count(logs.String(), "login failed"); n != 5 {
		t.Errorf("%d failures logged, want 5:\n%s", n, logs.String())
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t)
	o := f.org("Agency", store.KindAgency)
	alice := f.user("alice", o, store.RoleAnalyst, "")
	bob := f.user("bob", o, store.RoleAnalyst, "")
	good, _ := f.token(alice, 24*time.Hour)
	bobTok, _ := f.token(bob, 24*time.Hour)
	bad := tokenPrefix + strings.Repeat("0", tokenIDLen) + "_" + strings.Repeat("0", secretLen)

	now := time.Now()
	var logs syncBuffer
	a := New(f.st, slog.New(slog.NewTextHandler(&logs, nil)), WithClock(func() time.Time { return now }), WithFailureLimit(3, time.Minute))
	try := func(remote, user, tok string) error {
		_, err := a.Authenticate(request(remote, basic(user, tok)))
		return err
	}

	t.Run("per client address", func(t *testing.T) {
		const ip = "198.51.100.7:5555"
		for i := range 3 {
			if err := try(ip, "nobody", bad); !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("failure %d: %v", i+1, err)
			}
		}
		// Limited now, even with good credentials, even from another port.
		if err := try("198.51.100.7:6666", "alice", good); !errors.Is(err, ErrRateLimited) {
			t.Fatalf("after 3 failures: %v, want ErrRateLimited", err)
		}
		// Another address is unaffected (unknown user names drain no user bucket).
		if err := try("198.51.100.8:1", "alice", good); err != nil {
			t.Fatalf("other address: %v", err)
		}
		// One refill period gives one more try.
		now = now.Add(time.Minute)
		if err := try(ip, "alice", good); err != nil {
			t.Fatalf("after a minute: %v", err)
		}
		if err := try(ip, "nobody", bad); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("after a minute, failure: %v", err)
		}
		if err := try(ip, "alice", good); !errors.Is(err, ErrRateLimited) {
			t.Fatalf("after the refill was spent: %v, want ErrRateLimited", err)
		}
		now = now.Add(3 * time.Minute)
		for i := range 3 {
			if err := try(ip, "alice", good); err != nil {
				t.Fatalf("recovered, success %d: %v", i+1, err)
			}
		}
	})

	// Failures for one user name from many addresses neither lock that user out nor
	// answer otherwise than for a name that is no user's: with 256-bit tokens a
	// per-name limit would protect nothing, and would let anyone lock out the admin
	// and learn which names exist.
	t.Run("not per user name", func(t *testing.T) {
		for i := range 6 {
			for _, name := range []string{"alice", "mallory"} {
				if err := try(fmt.Sprintf("203.0.113.%d:1", i+1), name, bad); !errors.Is(err, ErrUnauthenticated) || errors.Is(err, ErrRateLimited) {
					t.Fatalf("failure %d for %s: %v, want ErrUnauthenticated like any other", i+1, name, err)
				}
			}
		}
		if err := try("203.0.113.50:1", "alice", good); err != nil {
			t.Fatalf("alice after 6 failures in her name from 6 addresses: %v", err)
		}
		if err := try("203.0.113.50:1", "bob", bobTok); err != nil {
			t.Fatalf("bob: %v", err)
		}
	})

	// A flood is logged once per limited key, not once per request.
	before := strings.Count(logs.String(), "rate-limited")
	for range 20 {
		_ = try("192.0.2.99:1", "nobody", bad)
	}
	if n := strings.Count(logs.String(), "rate-limited") - before; n != 1 {
		t.Errorf("%d rate-limit records for one flood, want 1", n)
	}
	if n := strings.Count(logs.String(), "login failed"); n < 3 {
		t.Errorf("only %d failures logged", n)
	}
}

func TestLimiterBoundedMemory(t *testing.T) {
	l := newLimiter(2, time.Minute, 5)
	now := time.Now()
	for i := range 100 {
		l.fail(fmt.Sprintf("10.0.0.%d", i), now)
	}
	if n := l.len(); n != 5 {
		t.Fatalf("%d buckets kept, want the cap 5", n)
	}
	// The most recent keys are kept; the oldest were dropped (and count as full).
	l.fail("10.0.0.99", now)
	if ok, _, _ := l.take("10.0.0.99", now); ok {
		t.Error("recent key lost its bucket")
	}
	if ok, _, _ := l.take("10.0.0.0", now); !ok {
		t.Error("evicted key still limited")
	}
}

// Concurrent bad logins from one address get no more tries than the limit allows:
// each takes its token before it is checked, not after it failed.
func TestRateLimitConcurrent(t *testing.T) {
	f := newFixture(t)
	bad := tokenPrefix + strings.Repeat("3", tokenIDLen) + "_" + strings.Repeat("4", secretLen)
	a := New(f.st, nil, WithFailureLimit(3, time.Hour))
	const ip = "198.51.100.9:1"
	if _, err := a.Authenticate(request(ip, basic("nobody", bad))); !errors.Is(err, ErrUnauthenticated) {
		t.Fatal(err)
	}
	var tried, limited atomic.Int32
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			_, err := a.Authenticate(request(ip, basic("nobody", bad)))
			switch {
			case errors.Is(err, ErrRateLimited):
				limited.Add(1)
			case errors.Is(err, ErrUnauthenticated):
				tried.Add(1)
			default:
				t.Errorf("bad login: %v", err)
			}
		})
	}
	wg.Wait()
	if tried.Load() != 2 || limited.Load() != 198 {
		t.Fatalf("of 200 concurrent bad logins after one failure, %d were tried and %d limited; want 2 tried (limit 3)",
			tried.Load(), limited.Load())
	}
}

func TestClientKey(t *testing.T) {
	tests := map[string]string{
		"192.0.2.1:443":                  "192.0.2.1",
		"[2001:db8:1:2:3:4:5:6]:443":     "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:9":       "2001:db8:1:2::/64",
		"[::ffff:192.0.2.1]:1":           "192.0.2.1",
		"not an address":                 "not an address",
		strings.Repeat("x", 200) + ":80": strings.Repeat("x", 64),
	}
	for in, want := range tests {
		if got := clientKey(in); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAuthenticateConcurrent runs good and bad logins from many goroutines (run with
// -race): every good login succeeds while the limiter is shared.
func TestAuthenticateConcurrent(t *testing.T) {
	f := newFixture(t)
	o := f.org("Agency", store.KindAgency)
	u := f.user("alice", o, store.RoleAnalyst, "")
	good, _ := f.token(u, time.Hour)
	bad := tokenPrefix + strings.Repeat("1", tokenIDLen) + "_" + strings.Repeat("2", secretLen)
	a := New(f.st, nil, WithFailureLimit(2, time.Hour), WithTrackedLimit(16))
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 8 {
				// Bad logins from addresses of their own, good ones from a clean address.
				if _, err := a.Authenticate(request(fmt.Sprintf("10.1.%d.%d:1", g, i), basic("nobody", bad))); !errors.Is(err, ErrUnauthenticated) && !errors.Is(err, ErrRateLimited) {
					errs <- fmt.Errorf("bad login: %v", err)
				}
				if p, err := a.Authenticate(request("10.9.9.9:1", basic("alice", good))); err != nil || p.User.ID != u.ID {
					errs <- fmt.Errorf("good login: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := a.byAddr.len(); n > 16 {
		t.Errorf("%d addresses tracked, cap 16", n)
	}
}

// A session re-checks its token: it holds only while the token is the user's,
// unrevoked, and the user enabled.
func TestTokenPrincipal(t *testing.T) {
	f := newFixture(t)
	org := f.org("ACSC", store.KindAgency)
	alice := f.user("alice", org, store.RoleAnalyst, "")
	bob := f.user("bob", org, store.RoleAnalyst, "")
	_, tok := f.token(alice, time.Hour)
	a := New(f.st, nil)
	if p, err := a.TokenPrincipal(f.ctx, tok.ID, alice.ID); err != nil || p.User.ID != alice.ID || p.Org.ID != org.ID {
		t.Fatalf("valid session: %+v, %v", p, err)
	}
	if _, err := a.TokenPrincipal(f.ctx, tok.ID, bob.ID); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("another user's token: %v", err)
	}
	if _, err := a.TokenPrincipal(f.ctx, "nope", alice.ID); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("unknown token: %v", err)
	}
	if err := f.st.RevokeToken(f.ctx, tok.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.TokenPrincipal(f.ctx, tok.ID, alice.ID); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("revoked token: %v", err)
	}
}

// A client that failed once and has since recovered (its bucket full again) is not
// capped: its concurrent good logins all pass, however many.
func TestRecoveredClientNotCapped(t *testing.T) {
	f := newFixture(t)
	o := f.org("Agency", store.KindAgency)
	good, _ := f.token(f.user("alice", o, store.RoleAnalyst, ""), 24*time.Hour)
	bad := tokenPrefix + strings.Repeat("5", tokenIDLen) + "_" + strings.Repeat("6", secretLen)
	now := time.Now()
	var mu sync.Mutex
	a := New(f.st, nil, WithFailureLimit(3, time.Minute), WithClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now }))
	const ip = "198.51.100.10:1"
	if _, err := a.Authenticate(request(ip, basic("nobody", bad))); !errors.Is(err, ErrUnauthenticated) {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	// Take reservations as a burst of concurrent logins would, without returning
	// them: a recovered client reserves nothing.
	for i := range 10 {
		if ok, _, reserved := a.byAddr.take(clientKey(ip), now); !ok || reserved {
			t.Fatalf("try %d of a recovered client: allowed %v, reserved %v; want allowed, nothing reserved", i+1, ok, reserved)
		}
	}
	if _, err := a.Authenticate(request(ip, basic("alice", good))); err != nil {
		t.Fatal(err)
	}
}
