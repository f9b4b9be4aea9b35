package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"quadshare/internal/audit"
	"quadshare/internal/store"
)

// PutOrganisation inserts o or updates the organisation with its id.
func (s *Store) PutOrganisation(ctx context.Context, o store.Organisation) error {
	if o.ID == "" || o.Name == "" {
		return errors.New("postgres: put organisation: empty id or name")
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO organisations (id, name, nation, kind, sectors) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, nation = excluded.nation,
				kind = excluded.kind, sectors = excluded.sectors`,
			o.ID, o.Name, o.Nation, string(o.Kind), nonNil(o.Sectors)); err != nil {
			return err
		}
		e, err := store.OrganisationPut(ctx, time.Now(), o)
		return s.record(ctx, tx, e, err)
	})
	if isCode(err, codeUniqueViolation) {
		return fmt.Errorf("postgres: put organisation %s: name %q: %w", o.ID, o.Name, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("postgres: put organisation %s: %w", o.ID, err)
	}
	return nil
}

const orgColumns = `id, name, nation, kind, sectors`

func scanOrg(row pgx.Row) (store.Organisation, error) {
	var o store.Organisation
	var kind string
	err := row.Scan(&o.ID, &o.Name, &o.Nation, &kind, &o.Sectors)
	o.Kind = store.OrgKind(kind)
	if len(o.Sectors) == 0 {
		o.Sectors = nil
	}
	return o, err
}

// Organisation returns the organisation with the given id, else with that name.
func (s *Store) Organisation(ctx context.Context, idOrName string) (store.Organisation, error) {
	o, err := scanOrg(s.pool.QueryRow(ctx, `SELECT `+orgColumns+` FROM organisations
		WHERE id = $1 OR name = $1 ORDER BY id = $1 DESC LIMIT 1`, idOrName))
	if err != nil {
		return store.Organisation{}, notFound(err, fmt.Sprintf("organisation %q", idOrName))
	}
	return o, nil
}

// Organisations returns every organisation, by name.
func (s *Store) Organisations(ctx context.Context) ([]store.Organisation, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+orgColumns+` FROM organisations ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: organisations: %w", err)
	}
	os, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Organisation, error) { return scanOrg(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: organisations: %w", err)
	}
	return os, nil
}

// CreateUser adds u; ErrExists when its id, name or certificate is taken.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if u.ID == "" || u.Name == "" {
		return errors.New("postgres: create user: empty id or name")
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now()
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO users (id, name, org, role, cert_fingerprint, nationality, clearance, created_at, disabled_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			u.ID, u.Name, u.Org, string(u.Role), nullString(u.CertFingerprint), u.Nationality, u.Clearance, nanos(u.CreatedAt), nanos(u.DisabledAt)); err != nil {
			return err
		}
		e, err := store.UserCreated(ctx, time.Now(), u)
		return s.record(ctx, tx, e, err)
	})
	if isCode(err, codeUniqueViolation) {
		return fmt.Errorf("postgres: create user %s: %w", u.ID, store.ErrExists)
	}
	if isCode(err, codeForeignKeyViolation) {
		return fmt.Errorf("postgres: create user %s: organisation %s: %w", u.ID, u.Org, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("postgres: create user %s: %w", u.ID, err)
	}
	return nil
}

const userColumns = `id, name, org, role, coalesce(cert_fingerprint, ''), nationality, clearance, created_at, disabled_at`

func scanUser(row pgx.Row) (store.User, error) {
	var u store.User
	var role string
	var created, disabled *int64
	err := row.Scan(&u.ID, &u.Name, &u.Org, &role, &u.CertFingerprint, &u.Nationality, &u.Clearance, &created, &disabled)
	u.Role = store.Role(role)
	u.CreatedAt, u.DisabledAt = fromNanos(created), fromNanos(disabled)
	return u, err
}

// User returns the user with the given id, else with that name.
func (s *Store) User(ctx context.Context, idOrName string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users
		WHERE id = $1 OR name = $1 ORDER BY id = $1 DESC LIMIT 1`, idOrName))
	if err != nil {
		return store.User{}, notFound(err, fmt.Sprintf("user %q", idOrName))
	}
	return u, nil
}

// UserByCert returns the user whose client certificate has the given fingerprint.
func (s *Store) UserByCert(ctx context.Context, fingerprint string) (store.User, error) {
	if fingerprint == "" {
		return store.User{}, fmt.Errorf("postgres: user by certificate: empty fingerprint: %w", store.ErrNotFound)
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users
		WHERE cert_fingerprint = $1 ORDER BY id LIMIT 1`, fingerprint))
	if err != nil {
		return store.User{}, notFound(err, "user by certificate")
	}
	return u, nil
}

// Users returns every user, by name.
func (s *Store) Users(ctx context.Context) ([]store.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: users: %w", err)
	}
	us, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: users: %w", err)
	}
	return us, nil
}

// DisableUser marks the user disabled at the given time (now when zero: a zero time
// must not enable the user again).
func (s *Store) DisableUser(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		at = time.Now()
	}
	err := s.execOne(ctx, func(tx pgx.Tx) (pgconn.CommandTag, error) {
		return tx.Exec(ctx, `UPDATE users SET disabled_at = $2 WHERE id = $1`, id, nanos(at))
	}, func() (audit.Entry, error) { return store.UserDisabled(ctx, time.Now(), id, at) })
	if err != nil {
		return fmt.Errorf("postgres: disable user %s: %w", id, err)
	}
	return nil
}

// CreateToken adds t; ErrExists when its id is taken.
func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	if t.ID == "" || len(t.Hash) == 0 {
		return errors.New("postgres: create token: empty id or hash")
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now()
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO tokens (id, user_id, hash, created_at, expires_at, revoked_at)
			VALUES ($1, $2, $3, $4, $5, $6)`,
			t.ID, t.User, nonNilBytes(t.Hash), nanos(t.CreatedAt), nanos(t.ExpiresAt), nanos(t.RevokedAt)); err != nil {
			return err
		}
		e, err := store.TokenCreated(ctx, time.Now(), t)
		return s.record(ctx, tx, e, err)
	})
	if isCode(err, codeUniqueViolation) {
		return fmt.Errorf("postgres: create token %s: %w", t.ID, store.ErrExists)
	}
	if isCode(err, codeForeignKeyViolation) {
		return fmt.Errorf("postgres: create token %s: user %s: %w", t.ID, t.User, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("postgres: create token %s: %w", t.ID, err)
	}
	return nil
}

const tokenColumns = `id, user_id, hash, created_at, expires_at, revoked_at`

func scanToken(row pgx.Row) (store.Token, error) {
	var t store.Token
	var created, expires, revoked *int64
	err := row.Scan(&t.ID, &t.User, &t.Hash, &created, &expires, &revoked)
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = fromNanos(created), fromNanos(expires), fromNanos(revoked)
	return t, err
}

// Token returns the token with the given id.
func (s *Store) Token(ctx context.Context, id string) (store.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = $1`, id))
	if err != nil {
		return store.Token{}, notFound(err, fmt.Sprintf("token %q", id))
	}
	return t, nil
}

// Tokens returns the tokens of a user, oldest first.
func (s *Store) Tokens(ctx context.Context, user string) ([]store.Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE user_id = $1
		ORDER BY created_at, id`, user)
	if err != nil {
		return nil, fmt.Errorf("postgres: tokens of %s: %w", user, err)
	}
	ts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Token, error) { return scanToken(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: tokens of %s: %w", user, err)
	}
	return ts, nil
}

// RevokeToken marks the token revoked at the given time (now when zero); a token
// revoked already keeps its first time.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		at = time.Now()
	}
	err := s.execOne(ctx, func(tx pgx.Tx) (pgconn.CommandTag, error) {
		return tx.Exec(ctx, `UPDATE tokens SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1`, id, nanos(at))
	}, func() (audit.Entry, error) { return store.TokenRevoked(ctx, time.Now(), id, at) })
	if err != nil {
		return fmt.Errorf("postgres: revoke token %s: %w", id, err)
	}
	return nil
}

// PutGrant inserts g or replaces the grant for its (collection, subject).
func (s *Store) PutGrant(ctx context.Context, g store.Grant) error {
	if g.Collection == "" || g.Subject == "" {
		return errors.New("postgres: put grant: empty collection or subject")
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO grants (collection, subject, can_read, can_write) VALUES ($1, $2, $3, $4)
			ON CONFLICT (collection, subject) DO UPDATE SET can_read = excluded.can_read, can_write = excluded.can_write`,
			g.Collection, g.Subject, g.Read, g.Write); err != nil {
			return err
		}
		e, err := store.GrantPut(ctx, time.Now(), g)
		return s.record(ctx, tx, e, err)
	})
	if err != nil {
		return fmt.Errorf("postgres: put grant %s on %s: %w", g.Subject, g.Collection, err)
	}
	return nil
}

// Grants returns the grants on a collection, by subject.
func (s *Store) Grants(ctx context.Context, collection string) ([]store.Grant, error) {
	rows, err := s.pool.Query(ctx, `SELECT collection, subject, can_read, can_write FROM grants
		WHERE collection = $1 ORDER BY subject`, collection)
	if err != nil {
		return nil, fmt.Errorf("postgres: grants on %s: %w", collection, err)
	}
	gs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Grant, error) {
		var g store.Grant
		err := r.Scan(&g.Collection, &g.Subject, &g.Read, &g.Write)
		return g, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: grants on %s: %w", collection, err)
	}
	return gs, nil
}

// execOne runs in a transaction a statement that must change exactly one row (else
// ErrNotFound) and appends the record of it.
func (s *Store) execOne(ctx context.Context, exec func(pgx.Tx) (pgconn.CommandTag, error), record func() (audit.Entry, error)) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := exec(tx)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		e, err := record()
		return s.record(ctx, tx, e, err)
	})
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
