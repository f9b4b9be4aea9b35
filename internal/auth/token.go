package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"quadshare/internal/store"
)

// An API token, as a client sends it in the password of HTTP Basic, is
//
//	qs_<id>_<secret>
//
// where id is 16 lowercase hex digits (64 random bits, public: it names the token in
// lists and logs) and secret is 64 lowercase hex digits (256 bits from crypto/rand).
// The store keeps only SHA-256(secret), where secret is the 64-digit text; a secret this
// long needs no slow hash. The user name of Basic must be the token's user's name.
const (
	tokenPrefix  = "qs_"
	tokenIDLen   = 16
	secretLen    = 64
	tokenLen     = len(tokenPrefix) + tokenIDLen + 1 + secretLen
	maxHeaderLen = 1024 // longer Authorization headers are refused unread
	maxUserLen   = 128
)

// MaxTokenTTL is the longest lifetime a token may be given; every token expires.
const MaxTokenTTL = 366 * 24 * time.Hour

// Credentials are what an Authorization header carries.
type Credentials struct {
	Username string
	TokenID  string
	Secret   string
}

// ErrNoCredentials is returned by ParseCredentials for an empty header.
var ErrNoCredentials = errors.New("no credentials")

// ParseCredentials reads an HTTP Basic Authorization header value (RFC 7617) whose
// password is an API token. The scheme name is case-insensitive (RFC 7235 §2.1).
func ParseCredentials(header string) (Credentials, error) {
	if header == "" {
		return Credentials{}, ErrNoCredentials
	}
	if len(header) > maxHeaderLen {
		return Credentials{}, fmt.Errorf("authorization header longer than %d bytes", maxHeaderLen)
	}
	scheme, param, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return Credentials{}, errors.New("not HTTP Basic")
	}
	param = strings.TrimLeft(param, " ")
	raw, err := base64.StdEncoding.Strict().DecodeString(param)
	if err != nil {
		return Credentials{}, errors.New("malformed base64")
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return Credentials{}, errors.New("no colon between user name and token")
	}
	if user == "" || len(user) > maxUserLen || !utf8.ValidString(user) || hasControl(user) {
		return Credentials{}, errors.New("invalid user name")
	}
	id, secret, err := ParseToken(pass)
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{Username: user, TokenID: id, Secret: secret}, nil
}

// ParseToken splits a token qs_<id>_<secret> into its id and secret.
func ParseToken(tok string) (id, secret string, err error) {
	if len(tok) != tokenLen || !strings.HasPrefix(tok, tokenPrefix) || tok[len(tokenPrefix)+tokenIDLen] != '_' {
		return "", "", errors.New("password is not a quadshare API token")
	}
	id = tok[len(tokenPrefix) : len(tokenPrefix)+tokenIDLen]
	secret = tok[len(tokenPrefix)+tokenIDLen+1:]
	if !lowerHex(id) || !lowerHex(secret) {
		return "", "", errors.New("password is not a quadshare API token")
	}
	return id, secret, nil
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return true
		}
	}
	return false
}

// HashSecret is what the store keeps of a token secret.
func HashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

func randomHex(n int) (string, error) {
	b := make([]byte, n/2)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// CreateToken makes an API token for the user (id or name) valid for ttl (0 < ttl ≤
// MaxTokenTTL), stores its hash and returns the token text the client uses as its Basic
// password (qs_<id>_<secret>; it cannot be recovered later) and the stored record.
func CreateToken(ctx context.Context, accounts store.Accounts, userID string, ttl time.Duration) (string, store.Token, error) {
	if ttl <= 0 || ttl > MaxTokenTTL {
		return "", store.Token{}, fmt.Errorf("auth: token lifetime %v: want more than 0 and at most %v", ttl, MaxTokenTTL)
	}
	u, err := accounts.User(ctx, userID)
	if err != nil {
		return "", store.Token{}, fmt.Errorf("auth: user %q: %w", userID, err)
	}
	if !u.DisabledAt.IsZero() {
		return "", store.Token{}, fmt.Errorf("auth: user %s is disabled", u.Name)
	}
	for range 3 { // a 64-bit id collision is unlikely; retry rather than fail
		id, err := randomHex(tokenIDLen)
		if err != nil {
			return "", store.Token{}, fmt.Errorf("auth: random: %w", err)
		}
		secret, err := randomHex(secretLen)
		if err != nil {
			return "", store.Token{}, fmt.Errorf("auth: random: %w", err)
		}
		now := time.Now().UTC()
		t := store.Token{
			ID:        id,
			User:      u.ID,
			Hash:      HashSecret(secret),
			CreatedAt: now,
			ExpiresAt: now.Add(ttl),
		}
		err = accounts.CreateToken(ctx, t)
		if errors.Is(err, store.ErrExists) {
			continue
		}
		if err != nil {
			return "", store.Token{}, fmt.Errorf("auth: store token: %w", err)
		}
		return tokenPrefix + id + "_" + secret, t, nil
	}
	return "", store.Token{}, errors.New("auth: could not find a free token id")
}
