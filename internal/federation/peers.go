package federation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"quadshare/internal/store"
	"quadshare/internal/uuid"
)

// AddPeer records a peer and what its node needs to authenticate to us: the partner
// organisation of its nation (created when no organisation of kind partner has that
// nation) and a user of role peer with the peer's certificate pinned (created when
// no user has that certificate). It returns that user.
func AddPeer(ctx context.Context, st store.Store, p store.Peer) (store.User, error) {
	if err := store.CheckPeer(p); err != nil {
		return store.User{}, err
	}
	u, err := st.UserByCert(ctx, p.Fingerprint)
	switch {
	case err == nil:
		o, err := st.Organisation(ctx, u.Org)
		if err != nil {
			return u, err
		}
		if u.Role != store.RolePeer || o.Nation != p.Nation || !u.DisabledAt.IsZero() {
			return u, fmt.Errorf("the certificate %s is pinned for user %q (%s of %s, %s): not a peer of %s",
				p.Fingerprint, u.Name, u.Role, o.Nation, activeWord(u), p.Nation)
		}
	case errors.Is(err, store.ErrNotFound):
		org, err := partnerOrg(ctx, st, p.Nation)
		if err != nil {
			return u, err
		}
		u = store.User{ID: uuid.New(), Name: "peer-" + p.Name, Org: org.ID, Role: store.RolePeer,
			CertFingerprint: p.Fingerprint, CreatedAt: time.Now()}
		if err := st.CreateUser(ctx, u); err != nil {
			return u, fmt.Errorf("create user %s: %w", u.Name, err)
		}
	default:
		return u, err
	}
	if err := st.CreatePeer(ctx, p); err != nil {
		return u, err
	}
	return u, nil
}

func activeWord(u store.User) string {
	if u.DisabledAt.IsZero() {
		return "active"
	}
	return "disabled"
}

// partnerOrg returns the organisation of kind partner of nation, creating it.
func partnerOrg(ctx context.Context, st store.Store, nation string) (store.Organisation, error) {
	orgs, err := st.Organisations(ctx)
	if err != nil {
		return store.Organisation{}, err
	}
	for _, o := range orgs {
		if o.Kind == store.KindPartner && o.Nation == nation {
			return o, nil
		}
	}
	o := store.Organisation{ID: uuid.New(), Name: "partner node " + nation, Nation: nation, Kind: store.KindPartner}
	if err := st.PutOrganisation(ctx, o); err != nil {
		return o, fmt.Errorf("create organisation %q: %w", o.Name, err)
	}
	return o, nil
}

// RemovePeer deletes a peer with its outbox and cursors. Its user stays, so that the
// peer can be added again with the same certificate; without a peer record its node
// is refused by the federation endpoints, and it keeps only the TAXII grants an
// administrator gave its user (quadshare user revoke disables it).
func RemovePeer(ctx context.Context, st store.Store, name string) error {
	return st.DeletePeer(ctx, name)
}
