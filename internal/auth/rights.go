package auth

import (
	"context"
	"fmt"
	"strings"

	"quadshare/internal/store"
)

// Rights is what a principal may do with one collection.
type Rights struct {
	Read  bool
	Write bool
	// OnlySubmitter, when set, restricts reading to the entries that organisation added
	// (store.Query.Submitter): an operator reads back only its own submissions.
	OnlySubmitter string
}

// SectorPrefix starts a grant subject that names a sector: "sector:energy".
const SectorPrefix = "sector:"

// Rights returns what p may do with collection c. Grants (store.Grant) name the
// collection and a subject: a user id, an organisation id, or "sector:<name>" for every
// organisation of that sector (compared case-insensitively). A principal's grant is
// the union of the grants to its user, its organisation and its organisation's
// sectors. "own inbox" is a collection whose OwnerOrg is the principal's organisation.
//
//	role      read                                   write
//	--------  -------------------------------------  -----------------------------
//	admin     every collection                       every collection
//	analyst   every collection                       where granted write
//	reader    where granted read                     never
//	peer      where granted read                     where granted write
//	operator  own inbox (only its own submissions:   own inbox only (grants are
//	          OnlySubmitter = its organisation id);  ignored for writing)
//	          elsewhere where granted read
//	other     never                                  never
//
// A disabled user, a nil principal, or a principal whose user does not belong to its
// organisation gets no rights.
func (a *Authenticator) Rights(ctx context.Context, p *Principal, c store.Collection) (Rights, error) {
	if p == nil || !p.User.DisabledAt.IsZero() || p.User.Org == "" || p.User.Org != p.Org.ID {
		return Rights{}, nil
	}
	switch p.User.Role {
	case store.RoleAdmin:
		return Rights{Read: true, Write: true}, nil
	case store.RoleAnalyst, store.RoleReader, store.RolePeer, store.RoleOperator:
	default:
		return Rights{}, nil
	}
	grants, err := a.accounts.Grants(ctx, c.ID)
	if err != nil {
		return Rights{}, fmt.Errorf("auth: grants of collection %s: %w", c.ID, err)
	}
	var read, write bool
	for _, g := range grants {
		if g.Collection == c.ID && subjectMatches(g.Subject, p) {
			read = read || g.Read
			write = write || g.Write
		}
	}
	switch p.User.Role {
	case store.RoleAnalyst:
		return Rights{Read: true, Write: write}, nil
	case store.RoleReader:
		return Rights{Read: read}, nil
	case store.RolePeer:
		return Rights{Read: read, Write: write}, nil
	default: // operator
		if c.OwnerOrg != "" && c.OwnerOrg == p.Org.ID {
			return Rights{Read: true, Write: true, OnlySubmitter: p.Org.ID}, nil
		}
		return Rights{Read: read}, nil
	}
}

func subjectMatches(subject string, p *Principal) bool {
	if subject == "" {
		return false
	}
	if sector, ok := strings.CutPrefix(subject, SectorPrefix); ok {
		if sector == "" {
			return false
		}
		for _, s := range p.Org.Sectors {
			if strings.EqualFold(s, sector) {
				return true
			}
		}
		return false
	}
	return subject == p.User.ID || subject == p.Org.ID
}
