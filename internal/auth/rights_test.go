package auth

import (
	"strings"
	"testing"
	"time"

	"quadshare/internal/store"
)

// TestRightsMatrix checks every cell of the matrix documented on Rights: every role
// against collections with every kind of grant. A cell is "rw", "r-", "-w" or "--";
// "/own" marks OnlySubmitter set to the principal's organisation.
func TestRightsMatrix(t *testing.T) {
	f := newFixture(t)
	grid := f.org("Grid Co", store.KindOperator, "energy", "transport")
	water := f.org("Water Co", store.KindOperator, "water")
	otherUser := f.user("someone-else", water, store.RoleReader, "")

	roles := []store.Role{store.RoleAdmin, store.RoleAnalyst, store.RoleReader, store.RolePeer, store.RoleOperator, "ghost"}
	principals := map[store.Role]*Principal{}
	for _, r := range roles {
		u := f.user("u-"+string(r), grid, r, "")
		principals[r] = &Principal{User: u, Org: grid}
	}

	type grant struct {
		subject     string // "org", "user", "other-org", "other-user" or a literal subject
		read, write bool
	}
	collections := []struct {
		name   string
		owner  string // "", "own" or "other"
		grants []grant
	}{
		{"none", "", nil},
		{"org-r", "", []grant{{"org", true, false}}},
		{"org-w", "", []grant{{"org", false, true}}},
		{"org-rw", "", []grant{{"org", true, true}}},
		{"user-r", "", []grant{{"user", true, false}}},
		{"user-w", "", []grant{{"user", false, true}}},
		{"sector-r", "", []grant{{"sector:energy", true, false}}},
		{"sector-case-rw", "", []grant{{"sector:ENERGY", true, true}}},
		{"sector-w-user-r", "", []grant{{"sector:transport", false, true}, {"user", true, false}}},
		{"other-rw", "", []grant{{"other-org", true, true}, {"sector:water", true, true}, {"other-user", true, true}, {"sector:", true, true}}}, // "sector:" names no sector
		{"grant-none", "", []grant{{"org", false, false}}},
		{"own-inbox", "own", nil},
		{"own-inbox-rw", "own", []grant{{"org", true, true}}},
		{"other-inbox", "other", nil},
		{"other-inbox-r", "other", []grant{{"sector:energy", true, false}}},
	}
	want := map[store.Role]string{
		//                 none org-r org-w org-rw user-r user-w sec-r sec-case sec-w+usr other grant-none own own-rw oth-inbox oth-inbox-r
		store.RoleAdmin:    "rw rw rw rw rw rw rw rw rw rw rw rw rw rw rw",
		store.RoleAnalyst:  "r- r- rw rw r- rw r- rw rw r- r- r- rw r- r-",
		store.RoleReader:   "-- r- -- r- r- -- r- r- r- -- -- -- r- -- r-",
		store.RolePeer:     "-- r- -w rw r- -w r- rw rw -- -- -- rw -- r-",
		store.RoleOperator: "-- r- -- r- r- -- r- r- r- -- -- rw/own rw/own -- r-",
		"ghost":            "-- -- -- -- -- -- -- -- -- -- -- -- -- -- --",
	}

	colls := make([]store.Collection, len(collections))
	for i, c := range collections {
		coll := store.Collection{ID: f.id("coll"), Title: c.name, MediaTypes: []string{"application/stix+json;version=2.1"}, CreatedAt: time.Now().UTC()}
		switch c.owner {
		case "own":
			coll.OwnerOrg = grid.ID
		case "other":
			coll.OwnerOrg = water.ID
		}
		if err := f.st.CreateCollection(f.ctx, coll); err != nil {
			t.Fatal(err)
		}
		colls[i] = coll
	}
	// Grants naming "user" are added per role below; the rest once.
	for i, c := range collections {
		for _, g := range c.grants {
			var subject string
			switch g.subject {
			case "org":
				subject = grid.ID
			case "user":
				continue
			case "other-org":
				subject = water.ID
			case "other-user":
				subject = otherUser.ID
			default:
				subject = g.subject
			}
			if err := f.st.PutGrant(f.ctx, store.Grant{Collection: colls[i].ID, Subject: subject, Read: g.read, Write: g.write}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, r := range roles {
		for i, c := range collections {
			for _, g := range c.grants {
				if g.subject == "user" {
					if err := f.st.PutGrant(f.ctx, store.Grant{Collection: colls[i].ID, Subject: principals[r].User.ID, Read: g.read, Write: g.write}); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}

	a := New(f.st, nil)
	cells := 0
	for _, r := range roles {
		row := strings.Fields(want[r])
		if len(row) != len(collections) {
			t.Fatalf("role %s: %d expected cells for %d collections", r, len(row), len(collections))
		}
		for i, c := range collections {
			got, err := a.Rights(f.ctx, principals[r], colls[i])
			if err != nil {
				t.Fatal(err)
			}
			if s := cell(got, grid.ID); s != row[i] {
				t.Errorf("%s on %s: %s, want %s", r, c.name, s, row[i])
			}
			cells++
		}
	}
	if cells != len(roles)*len(collections) {
		t.Fatalf("checked %d cells", cells)
	}

	// Principals that get nothing anywhere.
	disabledAdmin := *principals[store.RoleAdmin]
	disabledAdmin.User.DisabledAt = time.Now()
	strayAnalyst := *principals[store.RoleAnalyst]
	strayAnalyst.Org = water // the user does not belong to this organisation
	noOrgOperator := &Principal{User: store.User{ID: "u-x", Role: store.RoleOperator}}
	for name, p := range map[string]*Principal{"nil": nil, "disabled admin": &disabledAdmin, "analyst with a foreign organisation": &strayAnalyst, "operator without organisation": noOrgOperator} {
		for i, c := range collections {
			got, err := a.Rights(f.ctx, p, colls[i])
			if err != nil {
				t.Fatal(err)
			}
			if got != (Rights{}) {
				t.Errorf("%s on %s: %+v, want no rights", name, c.name, got)
			}
		}
	}
	// An inbox without owner is nobody's own inbox, even for an organisation without id.
	if got, _ := a.Rights(f.ctx, noOrgOperator, store.Collection{ID: colls[0].ID}); got.Write {
		t.Error("operator without organisation may write to an unowned collection")
	}

	// A store failure is an error, not a silent grant or refusal.
	if err := f.st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Rights(f.ctx, principals[store.RoleReader], colls[1]); err == nil {
		t.Error("closed store: no error")
	}
}

func cell(r Rights, org string) string {
	s := map[bool]string{true: "r", false: "-"}[r.Read] + map[bool]string{true: "w", false: "-"}[r.Write]
	switch r.OnlySubmitter {
	case "":
	case org:
		s += "/own"
	default:
		s += "/" + r.OnlySubmitter
	}
	return s
}
