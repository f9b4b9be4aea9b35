package storetest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"slices"
	"testing"
	"time"

	"quadshare/internal/store"
)

func sameStatus(t *testing.T, got, want store.Status) {
	t.Helper()
	if got.ID != want.ID || got.Collection != want.Collection || got.Owner != want.Owner || got.Done != want.Done ||
		!got.RequestTimestamp.Equal(want.RequestTimestamp) || !got.Completed.Equal(want.Completed) || got.Total != want.Total ||
		!slices.Equal(got.Successes, want.Successes) || !slices.Equal(got.Failures, want.Failures) ||
		!slices.Equal(got.Pendings, want.Pendings) {
		t.Fatalf("status:\n got  %+v\n want %+v", got, want)
	}
}

func testStatuses(t *testing.T, s store.Store) {
	col := newCollection(t, s)
	base := now().Add(-time.Hour)
	st := store.Status{
		ID: NewUUID(), Collection: col, Owner: "user-1", RequestTimestamp: base, Total: 3,
		Successes: []store.StatusDetail{{ID: NewID("indicator"), Version: t1}},
		Pendings:  []store.StatusDetail{{ID: NewID("indicator"), Version: t2}, {ID: NewID("malware"), Version: t3, Message: "waiting"}},
	}
	if err := s.PutStatus(ctx(t), st); err != nil {
		t.Fatalf("put status: %v", err)
	}
	got, err := s.Status(ctx(t), st.ID)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	sameStatus(t, got, st)
	// Replace: the pending ones finish, one fails.
	st.Done = true
	st.Successes = append(st.Successes, st.Pendings[0])
	st.Failures = []store.StatusDetail{{ID: st.Pendings[1].ID, Version: t3, Message: "conflict: a different object has this version"}}
	st.Pendings = nil
	if err := s.PutStatus(ctx(t), st); err != nil {
		t.Fatalf("replace status: %v", err)
	}
	got, err = s.Status(ctx(t), st.ID)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	sameStatus(t, got, st)
	if _, err := s.Status(ctx(t), NewUUID()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown status: %v, want ErrNotFound", err)
	}
	// Expiry: statuses completed before t go (st, completed at an unknown time, by
	// its request time); one requested long before but completed later stays, and
	// a pending one stays however old (TAXII 2.1 §4.3: kept after processing).
	newer := store.Status{ID: NewUUID(), Collection: col, Owner: "user-2", RequestTimestamp: base.Add(30 * time.Minute), Total: 0, Done: true}
	late := store.Status{ID: NewUUID(), Collection: col, Owner: "user-2", RequestTimestamp: base.Add(-24 * time.Hour),
		Completed: base.Add(45 * time.Minute), Total: 1, Done: true, Successes: []store.StatusDetail{{ID: NewID("indicator"), Version: t1}}}
	pending := store.Status{ID: NewUUID(), Collection: col, Owner: "user-2", RequestTimestamp: base.Add(-48 * time.Hour), Total: 1,
		Pendings: []store.StatusDetail{{ID: NewID("indicator"), Version: t1}}}
	for _, x := range []store.Status{newer, late, pending} {
		if err := s.PutStatus(ctx(t), x); err != nil {
			t.Fatalf("put status: %v", err)
		}
	}
	n, err := s.DeleteStatusesBefore(ctx(t), base) // strictly before: none
	if err != nil || n != 0 {
		t.Fatalf("delete before %v: %d, %v; want 0", base, n, err)
	}
	n, err = s.DeleteStatusesBefore(ctx(t), base.Add(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("delete before: %d, %v; want 1", n, err)
	}
	if _, err := s.Status(ctx(t), st.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired status: %v, want ErrNotFound", err)
	}
	for _, x := range []store.Status{newer, late, pending} {
		if got, err := s.Status(ctx(t), x.ID); err != nil {
			t.Fatalf("status %+v: %v", x, err)
		} else {
			sameStatus(t, got, x)
		}
	}
	n, err = s.DeleteStatusesBefore(ctx(t), base.Add(50*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("delete before: %d, %v; want 2 (newer and late)", n, err)
	}
	if got, err := s.Status(ctx(t), pending.ID); err != nil {
		t.Fatalf("a pending status was deleted: %v", err)
	} else {
		sameStatus(t, got, pending)
	}
}

func testOrganisations(t *testing.T, s store.Store) {
	o := store.Organisation{ID: NewUUID(), Name: "Grid Operator " + NewUUID()[:6], Nation: "AU", Kind: store.KindOperator, Sectors: []string{"energy", "water"}}
	if err := s.PutOrganisation(ctx(t), o); err != nil {
		t.Fatalf("put organisation: %v", err)
	}
	same := func(got, want store.Organisation) {
		t.Helper()
		if got.ID != want.ID || got.Name != want.Name || got.Nation != want.Nation || got.Kind != want.Kind || !slices.Equal(got.Sectors, want.Sectors) {
			t.Fatalf("organisation:\n got  %+v\n want %+v", got, want)
		}
	}
	for _, key := range []string{o.ID, o.Name} {
		got, err := s.Organisation(ctx(t), key)
		if err != nil {
			t.Fatalf("organisation %q: %v", key, err)
		}
		same(got, o)
	}
	// Update by id.
	o.Name = "Renamed " + NewUUID()[:6]
	o.Sectors = []string{"energy"}
	if err := s.PutOrganisation(ctx(t), o); err != nil {
		t.Fatalf("update organisation: %v", err)
	}
	got, err := s.Organisation(ctx(t), o.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(got, o)
	agency := store.Organisation{ID: NewUUID(), Name: "Agency " + NewUUID()[:6], Nation: "JP", Kind: store.KindAgency}
	if err := s.PutOrganisation(ctx(t), agency); err != nil {
		t.Fatalf("put agency: %v", err)
	}
	// Names are unique.
	clash := store.Organisation{ID: NewUUID(), Name: o.Name, Nation: "US", Kind: store.KindPartner}
	if err := s.PutOrganisation(ctx(t), clash); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate name: %v, want ErrExists", err)
	}
	list, err := s.Organisations(ctx(t))
	if err != nil || len(list) != 2 {
		t.Fatalf("organisations: %d, %v; want 2", len(list), err)
	}
	if _, err := s.Organisation(ctx(t), "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown organisation: %v, want ErrNotFound", err)
	}
	for _, bad := range []store.Organisation{{Name: "No id", Nation: "AU", Kind: store.KindAgency}, {ID: NewUUID(), Nation: "AU", Kind: store.KindAgency}} {
		if err := s.PutOrganisation(ctx(t), bad); err == nil {
			t.Fatalf("organisation %+v stored; want an error for the empty id or name", bad)
		}
	}
}

func newOrg(t *testing.T, s store.Store) string {
	t.Helper()
	o := store.Organisation{ID: NewUUID(), Name: "Org " + NewUUID(), Nation: "IN", Kind: store.KindAgency}
	if err := s.PutOrganisation(ctx(t), o); err != nil {
		t.Fatalf("put organisation: %v", err)
	}
	return o.ID
}

func sameUser(t *testing.T, got, want store.User) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || got.Org != want.Org || got.Role != want.Role ||
		got.CertFingerprint != want.CertFingerprint || got.Nationality != want.Nationality || got.Clearance != want.Clearance || !got.CreatedAt.Equal(want.CreatedAt) || !got.DisabledAt.Equal(want.DisabledAt) {
		t.Fatalf("user:\n got  %+v\n want %+v", got, want)
	}
}

func testUsers(t *testing.T, s store.Store) {
	org := newOrg(t, s)
	fp := sha256.Sum256([]byte("peer certificate"))
	peer := store.User{ID: NewUUID(), Name: "peer-jp", Org: org, Role: store.RolePeer, CertFingerprint: hexOf(fp[:]), CreatedAt: now()}
	ana := store.User{ID: NewUUID(), Name: "alice", Org: org, Role: store.RoleAnalyst, Nationality: "AU", Clearance: "OFFICIAL: Sensitive", CreatedAt: now()}
	for _, u := range []store.User{peer, ana} {
		if err := s.CreateUser(ctx(t), u); err != nil {
			t.Fatalf("create user %s: %v", u.Name, err)
		}
	}
	for _, key := range []string{ana.ID, ana.Name} {
		got, err := s.User(ctx(t), key)
		if err != nil {
			t.Fatalf("user %q: %v", key, err)
		}
		sameUser(t, got, ana)
	}
	got, err := s.UserByCert(ctx(t), peer.CertFingerprint)
	if err != nil {
		t.Fatalf("user by cert: %v", err)
	}
	sameUser(t, got, peer)
	if _, err := s.UserByCert(ctx(t), ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("user by empty cert: %v, want ErrNotFound", err)
	}
	other := sha256.Sum256([]byte("other"))
	if _, err := s.UserByCert(ctx(t), hexOf(other[:])); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("user by unknown cert: %v, want ErrNotFound", err)
	}
	if _, err := s.User(ctx(t), "mallory"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown user: %v, want ErrNotFound", err)
	}
	// Duplicates by id, by name.
	for _, u := range []store.User{
		{ID: ana.ID, Name: "alice2", Org: org, Role: store.RoleReader, CreatedAt: now()},
		{ID: NewUUID(), Name: "alice", Org: org, Role: store.RoleReader, CreatedAt: now()},
	} {
		if err := s.CreateUser(ctx(t), u); !errors.Is(err, store.ErrExists) {
			t.Fatalf("duplicate user %+v: %v, want ErrExists", u, err)
		}
	}
	// A user belongs to a known organisation.
	if err := s.CreateUser(ctx(t), store.User{ID: NewUUID(), Name: "orphan", Org: NewUUID(), Role: store.RoleReader, CreatedAt: now()}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("user of unknown organisation: %v, want ErrNotFound", err)
	}
	list, err := s.Users(ctx(t))
	if err != nil || len(list) != 2 {
		t.Fatalf("users: %d, %v; want 2", len(list), err)
	}
	// Disable.
	at := now()
	if err := s.DisableUser(ctx(t), ana.ID, at); err != nil {
		t.Fatalf("disable: %v", err)
	}
	ana.DisabledAt = at
	got, err = s.User(ctx(t), ana.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameUser(t, got, ana)
	if err := s.DisableUser(ctx(t), NewUUID(), at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("disable unknown user: %v, want ErrNotFound", err)
	}
	// A zero time disables now: it never enables a user again.
	if err := s.DisableUser(ctx(t), ana.ID, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.User(ctx(t), ana.ID); err != nil || got.DisabledAt.IsZero() {
		t.Fatalf("after DisableUser with a zero time: %+v, %v; want disabled", got, err)
	}
	// A user created without a time is created now; one without an id or name is refused.
	carl := store.User{ID: NewUUID(), Name: "carl", Org: ana.Org, Role: store.RoleReader}
	if err := s.CreateUser(ctx(t), carl); err != nil {
		t.Fatal(err)
	}
	if got, err := s.User(ctx(t), carl.ID); err != nil || got.CreatedAt.IsZero() {
		t.Fatalf("user created without a time: %+v, %v; want created now", got, err)
	}
	for _, u := range []store.User{{ID: NewUUID(), Org: ana.Org, Role: store.RoleReader}, {Name: "nameless-id", Org: ana.Org, Role: store.RoleReader}} {
		if err := s.CreateUser(ctx(t), u); err == nil {
			t.Fatalf("user %+v created; want an error for the empty id or name", u)
		}
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func testTokens(t *testing.T, s store.Store) {
	org := newOrg(t, s)
	u := store.User{ID: NewUUID(), Name: "bob", Org: org, Role: store.RoleOperator, CreatedAt: now()}
	if err := s.CreateUser(ctx(t), u); err != nil {
		t.Fatal(err)
	}
	h1, h2 := sha256.Sum256([]byte("secret one")), sha256.Sum256([]byte("secret two"))
	tok1 := store.Token{ID: "tk1-" + NewUUID()[:8], User: u.ID, Hash: h1[:], CreatedAt: now(), ExpiresAt: now().Add(24 * time.Hour)}
	tok2 := store.Token{ID: "tk2-" + NewUUID()[:8], User: u.ID, Hash: h2[:], CreatedAt: now().Add(time.Second)}
	for _, tk := range []store.Token{tok1, tok2} {
		if err := s.CreateToken(ctx(t), tk); err != nil {
			t.Fatalf("create token: %v", err)
		}
	}
	same := func(got, want store.Token) {
		t.Helper()
		if got.ID != want.ID || got.User != want.User || !bytes.Equal(got.Hash, want.Hash) || !got.CreatedAt.Equal(want.CreatedAt) ||
			!got.ExpiresAt.Equal(want.ExpiresAt) || !got.RevokedAt.Equal(want.RevokedAt) {
			t.Fatalf("token:\n got  %+v\n want %+v", got, want)
		}
	}
	got, err := s.Token(ctx(t), tok1.ID)
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	same(got, tok1)
	if err := s.CreateToken(ctx(t), tok1); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate token: %v, want ErrExists", err)
	}
	h3 := sha256.Sum256([]byte("secret three"))
	if err := s.CreateToken(ctx(t), store.Token{ID: "tk3", User: NewUUID(), Hash: h3[:], CreatedAt: now()}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token of unknown user: %v, want ErrNotFound", err)
	}
	list, err := s.Tokens(ctx(t), u.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("tokens: %d, %v; want 2", len(list), err)
	}
	if list, err := s.Tokens(ctx(t), NewUUID()); err != nil || len(list) != 0 {
		t.Fatalf("tokens of unknown user: %d, %v; want none", len(list), err)
	}
	at := now()
	if err := s.RevokeToken(ctx(t), tok2.ID, at); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	tok2.RevokedAt = at
	got, err = s.Token(ctx(t), tok2.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(got, tok2)
	got, err = s.Token(ctx(t), tok1.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(got, tok1) // the other one is untouched
	// Revoking again keeps the first time; a zero time revokes now and never
	// makes a token valid again.
	if err := s.RevokeToken(ctx(t), tok2.ID, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx(t), tok2.ID, time.Time{}); err != nil {
		t.Fatal(err)
	}
	got, err = s.Token(ctx(t), tok2.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(got, tok2)
	if err := s.RevokeToken(ctx(t), tok1.ID, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Token(ctx(t), tok1.ID); err != nil || got.RevokedAt.IsZero() {
		t.Fatalf("after RevokeToken with a zero time: %+v, %v; want revoked", got, err)
	}
	// A token created without a time is created now; one without an id or hash is refused.
	h4 := sha256.Sum256([]byte("secret four"))
	tok4 := store.Token{ID: "tk4-" + NewUUID()[:8], User: u.ID, Hash: h4[:]}
	if err := s.CreateToken(ctx(t), tok4); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Token(ctx(t), tok4.ID); err != nil || got.CreatedAt.IsZero() {
		t.Fatalf("token created without a time: %+v, %v; want created now", got, err)
	}
	for _, tk := range []store.Token{{ID: "tk5-" + NewUUID()[:8], User: u.ID}, {User: u.ID, Hash: h4[:]}} {
		if err := s.CreateToken(ctx(t), tk); err == nil {
			t.Fatalf("token %+v created; want an error for the empty id or hash", tk)
		}
	}
	if err := s.RevokeToken(ctx(t), "nope", at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke unknown token: %v, want ErrNotFound", err)
	}
	if _, err := s.Token(ctx(t), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown token: %v, want ErrNotFound", err)
	}
}

func testGrants(t *testing.T, s store.Store) {
	a, b := newCollection(t, s), newCollection(t, s)
	org, user := NewUUID(), NewUUID()
	grants := []store.Grant{
		{Collection: a, Subject: org, Read: true},
		{Collection: a, Subject: user, Read: true, Write: true},
		{Collection: b, Subject: org, Write: true},
	}
	for _, g := range grants {
		if err := s.PutGrant(ctx(t), g); err != nil {
			t.Fatalf("put grant: %v", err)
		}
	}
	sorted := func(gs []store.Grant) []store.Grant {
		gs = slices.Clone(gs)
		slices.SortFunc(gs, func(x, y store.Grant) int {
			if x.Subject < y.Subject {
				return -1
			}
			if x.Subject > y.Subject {
				return 1
			}
			return 0
		})
		return gs
	}
	check := func(col string, want ...store.Grant) {
		t.Helper()
		got, err := s.Grants(ctx(t), col)
		if err != nil {
			t.Fatalf("grants: %v", err)
		}
		if !slices.Equal(sorted(got), sorted(want)) {
			t.Fatalf("grants of %s:\n got  %+v\n want %+v", col, got, want)
		}
	}
	check(a, grants[0], grants[1])
	check(b, grants[2])
	// Replace by (collection, subject).
	up := store.Grant{Collection: a, Subject: org, Read: true, Write: true}
	if err := s.PutGrant(ctx(t), up); err != nil {
		t.Fatalf("replace grant: %v", err)
	}
	check(a, up, grants[1])
	check(b, grants[2])
	check(NewUUID())
	for _, bad := range []store.Grant{{Subject: org, Read: true}, {Collection: a, Read: true}} {
		if err := s.PutGrant(ctx(t), bad); err == nil {
			t.Fatalf("grant %+v stored; want an error for the empty collection or subject", bad)
		}
	}
}
