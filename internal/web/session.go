package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"quadshare/internal/store"
)

// Sessions are signed cookies, not rows in a table: the cookie names the user, the
// API token signed in with, a random session id and an expiry, with an HMAC-SHA256
// under the node's session key. Every request checks the signature and expiry, then
// reads the token and the user again, so revoking the token, its expiry or disabling
// the user ends the session at once, on every process of the node. Signing out
// clears the cookie and remembers the session id in this process until it expires.

// SessionTTL is the longest a session lasts; never beyond its token's expiry.
const SessionTTL = 8 * time.Hour

const (
	cookieSecure   = "__Host-quadshare-session" // the __Host- prefix forbids Domain and insists on Secure and Path=/
	cookieInsecure = "quadshare-session"        // plain HTTP (development only)
	maxCookie      = 1024
)

type session struct {
	User    string `json:"u"`
	Token   string `json:"t"`
	ID      string `json:"s"`
	Expires int64  `json:"e"` // Unix seconds
}

type sessions struct {
	key    []byte
	secure bool
	now    func() time.Time

	mu     sync.Mutex
	ended  map[string]time.Time // session id -> its expiry
	nextGC time.Time
}

func (s *sessions) cookieName() string {
	if s.secure {
		return cookieSecure
	}
	return cookieInsecure
}

func (s *sessions) sign(payload []byte) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("quadshare web session v1\x00"))
	m.Write(payload)
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// issue sets the cookie of a new session of user signed in with token.
func (s *sessions) issue(w http.ResponseWriter, user string, tok store.Token) error {
	var id [16]byte
	_, _ = rand.Read(id[:])
	exp := s.now().Add(SessionTTL)
	if !tok.ExpiresAt.IsZero() && tok.ExpiresAt.Before(exp) {
		exp = tok.ExpiresAt
	}
	b, err := json.Marshal(session{User: user, Token: tok.ID, ID: hex.EncodeToString(id[:]), Expires: exp.Unix()})
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: s.sign(b), Path: "/", Expires: exp,
		Secure: s.secure, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return nil
}

// clear removes the cookie from the browser.
func (s *sessions) clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: "", Path: "/", MaxAge: -1,
		Secure: s.secure, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

var errNoSession = errors.New("no valid session")

// read returns the session of r, checked for signature, expiry and sign-out.
func (s *sessions) read(r *http.Request) (session, error) {
	c, err := r.Cookie(s.cookieName())
	if err != nil || c.Value == "" || len(c.Value) > maxCookie {
		return session{}, errNoSession
	}
	payload, mac, ok := strings.Cut(c.Value, ".")
	if !ok {
		return session{}, errNoSession
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return session{}, errNoSession
	}
	if !hmac.Equal([]byte(s.sign(b)), []byte(payload+"."+mac)) {
		return session{}, errNoSession
	}
	var ss session
	if err := json.Unmarshal(b, &ss); err != nil || ss.User == "" || ss.Token == "" || ss.ID == "" {
		return session{}, errNoSession
	}
	if !s.now().Before(time.Unix(ss.Expires, 0)) {
		return session{}, errNoSession
	}
	s.mu.Lock()
	_, gone := s.ended[ss.ID]
	s.mu.Unlock()
	if gone {
		return session{}, errNoSession
	}
	return ss, nil
}

// end remembers that a session was signed out.
func (s *sessions) end(ss session) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended == nil {
		s.ended = make(map[string]time.Time)
	}
	s.ended[ss.ID] = time.Unix(ss.Expires, 0)
	if now.After(s.nextGC) {
		for id, exp := range s.ended {
			if now.After(exp) {
				delete(s.ended, id)
			}
		}
		s.nextGC = now.Add(time.Minute)
	}
}
