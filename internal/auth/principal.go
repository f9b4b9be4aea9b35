// Package auth decides who a request comes from and what that principal may do with a
// collection: HTTP Basic with API tokens, pinned client certificates for partner
// nodes, failed-login rate limiting, and the role and grant matrix (TAXII 2.1 §1.6.9
// leaves access control to the sharing community; Appendix B asks that every request
// for collection data be authenticated and authorized per client).
package auth

import (
	"context"

	"quadshare/internal/store"
)

// Principal is an authenticated user and the organisation it belongs to.
type Principal struct {
	User store.User
	Org  store.Organisation
}

type principalKey struct{}

// NewContext returns a context carrying p.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal stored by NewContext; ok is false when there is none.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}
