package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/store"
)

// statusDetails is how the object lists of a status are kept, as one JSON document.
type statusDetails struct {
	Successes []detail `json:"s,omitempty"`
	Failures  []detail `json:"f,omitempty"`
	Pendings  []detail `json:"p,omitempty"`
}

type detail struct {
	ID      string `json:"i"`
	Version string `json:"v,omitempty"`
	Message string `json:"m,omitempty"`
}

func toDetails(ds []store.StatusDetail) []detail {
	if len(ds) == 0 {
		return nil
	}
	out := make([]detail, len(ds))
	for i, d := range ds {
		out[i] = detail(d)
	}
	return out
}

func fromDetails(ds []detail) []store.StatusDetail {
	if len(ds) == 0 {
		return nil
	}
	out := make([]store.StatusDetail, len(ds))
	for i, d := range ds {
		out[i] = store.StatusDetail(d)
	}
	return out
}

// PutStatus inserts or replaces st.
func (s *Store) PutStatus(ctx context.Context, st store.Status) error {
	if st.ID == "" {
		return errors.New("sqlite: put status: empty id")
	}
	details, err := json.Marshal(statusDetails{toDetails(st.Successes), toDetails(st.Failures), toDetails(st.Pendings)})
	if err != nil {
		return fmt.Errorf("sqlite: put status %s: %w", st.ID, err)
	}
	var completed any // NULL when not known
	if !st.Completed.IsZero() {
		completed = dbTime(st.Completed)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO statuses (id, collection, owner, done, requested, completed, total, details)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET collection = excluded.collection, owner = excluded.owner, done = excluded.done,
			requested = excluded.requested, completed = excluded.completed, total = excluded.total, details = excluded.details`,
		st.ID, st.Collection, st.Owner, st.Done, dbTime(st.RequestTimestamp), completed, st.Total, string(details))
	if err != nil {
		return fmt.Errorf("sqlite: put status %s: %w", st.ID, err)
	}
	return nil
}

// Status returns the status with this id.
func (s *Store) Status(ctx context.Context, id string) (store.Status, error) {
	st := store.Status{ID: id}
	var requested, details string
	var completed sql.NullString
	err := s.r.QueryRowContext(ctx, `SELECT collection, owner, done, requested, completed, total, details FROM statuses WHERE id = ?`, id).
		Scan(&st.Collection, &st.Owner, &st.Done, &requested, &completed, &st.Total, &details)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Status{}, fmt.Errorf("sqlite: status %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Status{}, fmt.Errorf("sqlite: status %q: %w", id, err)
	}
	if st.RequestTimestamp, err = parseTime(requested); err != nil {
		return store.Status{}, fmt.Errorf("sqlite: status %q: %w", id, err)
	}
	if st.Completed, err = parseTime(completed.String); err != nil {
		return store.Status{}, fmt.Errorf("sqlite: status %q: %w", id, err)
	}
	var d statusDetails
	if err := json.Unmarshal([]byte(details), &d); err != nil {
		return store.Status{}, fmt.Errorf("sqlite: status %q: details: %w", id, err)
	}
	st.Successes, st.Failures, st.Pendings = fromDetails(d.Successes), fromDetails(d.Failures), fromDetails(d.Pendings)
	return st, nil
}

// DeleteStatusesBefore removes the statuses completed before t (see store.Statuses).
func (s *Store) DeleteStatusesBefore(ctx context.Context, t time.Time) (int, error) {
	r, err := s.w.ExecContext(ctx, `DELETE FROM statuses WHERE done AND coalesce(completed, requested) < ?`, dbTime(t))
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete statuses: %w", err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete statuses: %w", err)
	}
	return int(n), nil
}

// PutOrganisation inserts o or updates the organisation with its id; ErrExists when
// its name belongs to another organisation.
func (s *Store) PutOrganisation(ctx context.Context, o store.Organisation) error {
	if o.ID == "" || o.Name == "" {
		return errors.New("sqlite: put organisation: empty id or name")
	}
	if o.Sectors == nil {
		o.Sectors = []string{}
	}
	sectors, err := json.Marshal(o.Sectors)
	if err != nil {
		return fmt.Errorf("sqlite: put organisation %s: %w", o.ID, err)
	}
	err = s.audited(ctx, func(tx *sql.Tx) (audit.Entry, error) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO organisations (id, name, nation, kind, sectors) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, nation = excluded.nation, kind = excluded.kind, sectors = excluded.sectors`,
			o.ID, o.Name, o.Nation, string(o.Kind), string(sectors)); err != nil {
			return audit.Entry{}, err
		}
		return store.OrganisationPut(ctx, s.now(), o)
	})
	if isUnique(err) {
		return fmt.Errorf("sqlite: put organisation %s: name %q: %w", o.ID, o.Name, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("sqlite: put organisation %s: %w", o.ID, err)
	}
	return nil
}

const orgColumns = `id, name, nation, kind, sectors`

func scanOrg(sc scanner) (store.Organisation, error) {
	var o store.Organisation
	var kind, sectors string
	if err := sc.Scan(&o.ID, &o.Name, &o.Nation, &kind, &sectors); err != nil {
		return o, err
	}
	o.Kind = store.OrgKind(kind)
	if err := json.Unmarshal([]byte(sectors), &o.Sectors); err != nil {
		return o, fmt.Errorf("sectors of %s: %w", o.ID, err)
	}
	if len(o.Sectors) == 0 {
		o.Sectors = nil
	}
	return o, nil
}

// Organisation returns the organisation with this id, else with this name.
func (s *Store) Organisation(ctx context.Context, idOrName string) (store.Organisation, error) {
	o, err := scanOrg(s.r.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM organisations WHERE id = ?1
		UNION ALL SELECT `+orgColumns+` FROM organisations WHERE name = ?1 LIMIT 1`, idOrName))
	if errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("sqlite: organisation %q: %w", idOrName, store.ErrNotFound)
	}
	if err != nil {
		return o, fmt.Errorf("sqlite: organisation %q: %w", idOrName, err)
	}
	return o, nil
}

// Organisations lists every organisation by name.
func (s *Store) Organisations(ctx context.Context) ([]store.Organisation, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+orgColumns+` FROM organisations ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: organisations: %w", err)
	}
	defer rows.Close()
	var out []store.Organisation
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: organisations: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: organisations: %w", err)
	}
	return out, nil
}

// CreateUser creates u; ErrExists when its id, name or certificate fingerprint is
// taken, ErrNotFound when its organisation is unknown.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if u.ID == "" || u.Name == "" {
		return errors.New("sqlite: create user: empty id or name")
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now()
	}
	err := s.audited(ctx, func(tx *sql.Tx) (audit.Entry, error) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, name, org, role, cert_fingerprint, nationality, clearance, created_at, disabled_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Name, u.Org, string(u.Role), u.CertFingerprint, u.Nationality, u.Clearance, dbTime(u.CreatedAt), dbTime(u.DisabledAt)); err != nil {
			return audit.Entry{}, err
		}
		return store.UserCreated(ctx, s.now(), u)
	})
	switch {
	case isUnique(err):
		return fmt.Errorf("sqlite: create user %q: %w", u.Name, store.ErrExists)
	case isForeignKey(err):
		return fmt.Errorf("sqlite: create user %q: organisation %q: %w", u.Name, u.Org, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlite: create user %q: %w", u.Name, err)
	}
	return nil
}

const userColumns = `id, name, org, role, cert_fingerprint, nationality, clearance, created_at, disabled_at`

func scanUser(sc scanner) (store.User, error) {
	var u store.User
	var role, created, disabled string
	if err := sc.Scan(&u.ID, &u.Name, &u.Org, &role, &u.CertFingerprint, &u.Nationality, &u.Clearance, &created, &disabled); err != nil {
		return u, err
	}
	u.Role = store.Role(role)
	var err error
	if u.CreatedAt, err = parseTime(created); err != nil {
		return u, err
	}
	u.DisabledAt, err = parseTime(disabled)
	return u, err
}

func (s *Store) oneUser(ctx context.Context, what, query string, args ...any) (store.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, fmt.Errorf("sqlite: user %s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("sqlite: user %s: %w", what, err)
	}
	return u, nil
}

// User returns the user with this id, else with this name.
func (s *Store) User(ctx context.Context, idOrName string) (store.User, error) {
	return s.oneUser(ctx, fmt.Sprintf("%q", idOrName), `SELECT `+userColumns+` FROM users WHERE id = ?1
		UNION ALL SELECT `+userColumns+` FROM users WHERE name = ?1 LIMIT 1`, idOrName)
}

// UserByCert returns the user whose client certificate has this fingerprint.
func (s *Store) UserByCert(ctx context.Context, fingerprint string) (store.User, error) {
	if fingerprint == "" {
		return store.User{}, fmt.Errorf("sqlite: user by certificate: empty fingerprint: %w", store.ErrNotFound)
	}
	return s.oneUser(ctx, "with certificate "+fingerprint, `SELECT `+userColumns+` FROM users WHERE cert_fingerprint = ?`, fingerprint)
}

// Users lists every user by name.
func (s *Store) Users(ctx context.Context) ([]store.User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: users: %w", err)
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: users: %w", err)
	}
	return out, nil
}

// execOne runs a statement that must change exactly one row, else ErrNotFound, and
// records it with the entry that record returns, in the same transaction.
func (s *Store) execOne(ctx context.Context, what string, record func() (audit.Entry, error), query string, args ...any) error {
	err := s.audited(ctx, func(tx *sql.Tx) (audit.Entry, error) {
		r, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return audit.Entry{}, err
		}
		n, err := r.RowsAffected()
		if err != nil {
			return audit.Entry{}, err
		}
		if n == 0 {
			return audit.Entry{}, store.ErrNotFound
		}
		return record()
	})
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return nil
}

// DisableUser marks the user disabled from at.
func (s *Store) DisableUser(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		at = time.Now()
	}
	return s.execOne(ctx, fmt.Sprintf("disable user %q", id),
		func() (audit.Entry, error) { return store.UserDisabled(ctx, s.now(), id, at) },
		`UPDATE users SET disabled_at = ? WHERE id = ?`, dbTime(at), id)
}

// CreateToken stores t; ErrExists on a duplicate id, ErrNotFound for an unknown user.
func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	if t.ID == "" || len(t.Hash) == 0 {
		return errors.New("sqlite: create token: empty id or hash")
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now()
	}
	err := s.audited(ctx, func(tx *sql.Tx) (audit.Entry, error) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO tokens (id, user_id, hash, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)`,
			t.ID, t.User, t.Hash, dbTime(t.CreatedAt), dbTime(t.ExpiresAt), dbTime(t.RevokedAt)); err != nil {
			return audit.Entry{}, err
		}
		return store.TokenCreated(ctx, s.now(), t)
	})
	switch {
	case isUnique(err):
		return fmt.Errorf("sqlite: create token %q: %w", t.ID, store.ErrExists)
	case isForeignKey(err):
		return fmt.Errorf("sqlite: create token %q: user %q: %w", t.ID, t.User, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlite: create token %q: %w", t.ID, err)
	}
	return nil
}

const tokenColumns = `id, user_id, hash, created_at, expires_at, revoked_at`

func scanToken(sc scanner) (store.Token, error) {
	var t store.Token
	var created, expires, revoked string
	if err := sc.Scan(&t.ID, &t.User, &t.Hash, &created, &expires, &revoked); err != nil {
		return t, err
	}
	var err error
	if t.CreatedAt, err = parseTime(created); err != nil {
		return t, err
	}
	if t.ExpiresAt, err = parseTime(expires); err != nil {
		return t, err
	}
	t.RevokedAt, err = parseTime(revoked)
	return t, err
}

// Token returns the token with this id.
func (s *Store) Token(ctx context.Context, id string) (store.Token, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Token{}, fmt.Errorf("sqlite: token %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("sqlite: token %q: %w", id, err)
	}
	return t, nil
}

// Tokens lists the tokens of a user, oldest first.
func (s *Store) Tokens(ctx context.Context, user string) ([]store.Token, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE user_id = ? ORDER BY created_at, id`, user)
	if err != nil {
		return nil, fmt.Errorf("sqlite: tokens of %q: %w", user, err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: tokens of %q: %w", user, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: tokens of %q: %w", user, err)
	}
	return out, nil
}

// RevokeToken marks the token revoked from at; a token already revoked keeps its
// first revocation time.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		at = time.Now()
	}
	what := fmt.Sprintf("revoke token %q", id)
	return s.execOne(ctx, what, func() (audit.Entry, error) { return store.TokenRevoked(ctx, s.now(), id, at) },
		`UPDATE tokens SET revoked_at = CASE revoked_at WHEN '' THEN ? ELSE revoked_at END WHERE id = ?`, dbTime(at), id)
}

// PutGrant inserts or replaces the grant of (collection, subject).
func (s *Store) PutGrant(ctx context.Context, g store.Grant) error {
	if g.Collection == "" || g.Subject == "" {
		return errors.New("sqlite: put grant: empty collection or subject")
	}
	err := s.audited(ctx, func(tx *sql.Tx) (audit.Entry, error) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO grants (collection, subject, can_read, can_write) VALUES (?, ?, ?, ?)
			ON CONFLICT (collection, subject) DO UPDATE SET can_read = excluded.can_read, can_write = excluded.can_write`,
			g.Collection, g.Subject, g.Read, g.Write); err != nil {
			return audit.Entry{}, err
		}
		return store.GrantPut(ctx, s.now(), g)
	})
	if err != nil {
		return fmt.Errorf("sqlite: put grant %s on %s: %w", g.Subject, g.Collection, err)
	}
	return nil
}

// Grants lists the grants on a collection by subject.
func (s *Store) Grants(ctx context.Context, collection string) ([]store.Grant, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT collection, subject, can_read, can_write FROM grants WHERE collection = ? ORDER BY subject`, collection)
	if err != nil {
		return nil, fmt.Errorf("sqlite: grants on %s: %w", collection, err)
	}
	defer rows.Close()
	var out []store.Grant
	for rows.Next() {
		var g store.Grant
		if err := rows.Scan(&g.Collection, &g.Subject, &g.Read, &g.Write); err != nil {
			return nil, fmt.Errorf("sqlite: grants on %s: %w", collection, err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: grants on %s: %w", collection, err)
	}
	return out, nil
}
