package gate

import (
	"context"
	"iter"
	"strings"

	"quadshare/internal/auth"
	"quadshare/internal/policy"
	"quadshare/internal/store"
)

// identityPrefix turns an organisation id (a UUID) into the STIX identity that
// stands for it in objects: identity--<organisation id>. An operator that marks
// its reports created_by_ref this identity is their author for the policy.
const identityPrefix = "identity--"

// Identity returns the STIX identity id of an organisation.
func Identity(orgID string) string { return identityPrefix + orgID }

// OrgID returns the organisation id of an identity made by Identity, else "".
func OrgID(identity string) string {
	id, ok := strings.CutPrefix(identity, identityPrefix)
	if !ok {
		return ""
	}
	return id
}

// RecipientOf describes an authenticated user to the policy. A peer (a partner
// nation's node) is a partner recipient of its organisation's nation; anyone
// else is a user whose class comes from its organisation's nation and kind, whose
// clearance is its label mapped through its nationality's scale (none: level 0),
// and whose need to know is its organisation's sectors.
func RecipientOf(u store.User, o store.Organisation, scales *policy.Scales) policy.Recipient {
	if u.Role == store.RolePeer || o.Kind == store.KindPartner {
		return policy.Recipient{Kind: policy.KindPartner, Nation: o.Nation}
	}
	r := policy.Recipient{Kind: policy.KindUser, Nation: o.Nation, Org: Identity(o.ID), User: u.ID}
	switch o.Kind {
	case store.KindAgency:
		r.OrgKind = policy.OrgAgency
	case store.KindOperator:
		r.OrgKind = policy.OrgOperator
	}
	nationality := u.Nationality
	if nationality == "" {
		nationality = o.Nation
	}
	if u.Clearance != "" {
		r.Clearance, _ = scales.Level(nationality, u.Clearance)
	}
	for _, s := range o.Sectors {
		r.Sectors |= policy.SectorOf(s)
	}
	return r
}

// Actor names a user in the audit trail.
func Actor(u store.User, o store.Organisation) string {
	if u.Role == store.RolePeer || o.Kind == store.KindPartner {
		return "peer:" + o.Nation + ":" + u.ID
	}
	return "user:" + u.ID
}

// ReleaseTo is Release for an authenticated principal reading a collection with
// the given rights: nothing without the read right, only its organisation's
// submissions where the rights say so (an operator's inbox), then the policy
// for the principal as a recipient.
func (g *Gate) ReleaseTo(ctx context.Context, p *auth.Principal, rights auth.Rights, collection, endpoint string, entries []store.Entry) ([]store.Entry, error) {
	entries = allowedBy(rights, entries)
	if len(entries) == 0 {
		return nil, nil
	}
	return g.Release(ctx, Disclosure{
		Recipient: RecipientOf(p.User, p.Org, g.Policy().Scales()),
		Actor:     Actor(p.User, p.Org),
		Subject:   "collection:" + collection,
		Endpoint:  endpoint,
	}, entries)
}

// PreviewTo is Preview for a principal reading a collection with the given
// rights, as ReleaseTo would release to it; the index is that of entries.
func (g *Gate) PreviewTo(p *auth.Principal, rights auth.Rights, entries []store.Entry) iter.Seq2[int, store.Entry] {
	return func(yield func(int, store.Entry) bool) {
		if !rights.Read {
			return
		}
		for i, en := range g.Preview(RecipientOf(p.User, p.Org, g.Policy().Scales()), entries) {
			if rights.OnlySubmitter != "" && en.Submitter != rights.OnlySubmitter {
				continue
			}
			if !yield(i, en) {
				return
			}
		}
	}
}

// allowedBy keeps the entries the rights let be read: none without the read
// right, only its organisation's submissions where the rights say so (an
// operator's inbox).
func allowedBy(rights auth.Rights, entries []store.Entry) []store.Entry {
	if !rights.Read {
		return nil
	}
	if rights.OnlySubmitter == "" {
		return entries
	}
	own := entries[:0:0]
	for _, e := range entries {
		if e.Submitter == rights.OnlySubmitter {
			own = append(own, e)
		}
	}
	return own
}
