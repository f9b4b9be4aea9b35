package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"quadshare/internal/store"
)

// PutOperator inserts or updates the reporting profile of an organisation.
func (s *Store) PutOperator(ctx context.Context, p store.OperatorProfile) error {
	if p.Org == "" {
		return errors.New("postgres: put operator: empty organisation")
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO operator_profiles (org, sectors, size_band, consent, created, modified) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (org) DO UPDATE SET sectors = excluded.sectors, size_band = excluded.size_band,
				consent = excluded.consent, created = excluded.created, modified = excluded.modified`,
			p.Org, nonNil(p.Sectors), p.SizeBand, p.Consent, nanos(p.Created), nanos(p.Modified)); err != nil {
			return err
		}
		e, err := store.OperatorPut(ctx, time.Now(), p)
		return s.record(ctx, tx, e, err)
	})
	if err != nil {
		return fmt.Errorf("postgres: put operator %s: %w", p.Org, err)
	}
	return nil
}

// Operator returns the reporting profile of an organisation.
func (s *Store) Operator(ctx context.Context, org string) (store.OperatorProfile, error) {
	p := store.OperatorProfile{Org: org}
	var created, modified *int64
	err := s.pool.QueryRow(ctx, `SELECT sectors, size_band, consent, created, modified FROM operator_profiles WHERE org = $1`, org).
		Scan(&p.Sectors, &p.SizeBand, &p.Consent, &created, &modified)
	if err != nil {
		return store.OperatorProfile{}, notFound(err, fmt.Sprintf("operator %q", org))
	}
	p.Created, p.Modified = fromNanos(created), fromNanos(modified)
	return p, nil
}

// SubmitReport records a version of a report and its revision in one transaction.
func (s *Store) SubmitReport(ctx context.Context, r store.Report, v store.ReportVersion, rev store.ReportRevision) error {
	if r.ID == "" || v.Report != r.ID || rev.Report != r.ID || v.Version < 1 {
		return fmt.Errorf("postgres: submit report %q: inconsistent report, version and revision", r.ID)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if v.Version == 1 {
			_, err := tx.Exec(ctx, `INSERT INTO reports (id, operator, collection, status, marking, versions, created, modified, due, late)
				VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9)`,
				r.ID, r.Operator, r.Collection, r.Status, r.Marking, nanos(r.Created), nanos(r.Modified), nanos(r.Due), r.Late)
			if err != nil {
				return err
			}
		} else {
			tag, err := tx.Exec(ctx, `UPDATE reports SET versions = $1, modified = $2, due = $3, late = $4
				WHERE id = $5 AND versions = $6`, v.Version, nanos(r.Modified), nanos(r.Due), r.Late, r.ID, v.Version-1)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return missingOr(ctx, tx, r.ID, store.ErrExists)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO report_versions (report, version, operator, author, idempotency_key, received, body, receipt)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			v.Report, v.Version, v.Operator, v.Author, v.IdempotencyKey, nanos(v.Received), nonNilBytes(v.Body), nonNilBytes(v.Receipt)); err != nil {
			return err
		}
		if err := insertRevision(ctx, tx, rev); err != nil {
			return err
		}
		e, err := store.ReportReceived(ctx, v)
		return s.record(ctx, tx, e, err)
	})
	if isCode(err, codeUniqueViolation) {
		err = store.ErrExists
	}
	if err != nil {
		return fmt.Errorf("postgres: submit report %s version %d: %w", r.ID, v.Version, err)
	}
	return nil
}

func insertRevision(ctx context.Context, tx pgx.Tx, rev store.ReportRevision) error {
	_, err := tx.Exec(ctx, `INSERT INTO report_revisions (report, modified, objects, filed) VALUES ($1, $2, $3, $4)`,
		rev.Report, nanos(rev.Modified), nonNilBytes(rev.Objects), rev.Filed)
	if isCode(err, codeUniqueViolation) {
		return fmt.Errorf("revision %s: %w", rev.Modified.UTC().Format(time.RFC3339Nano), store.ErrExists)
	}
	return err
}

// missingOr returns ErrNotFound when there is no report id, else err.
func missingOr(ctx context.Context, tx pgx.Tx, id string, err error) error {
	var found bool
	if e := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM reports WHERE id = $1)`, id).Scan(&found); e != nil {
		return e
	}
	if !found {
		return store.ErrNotFound
	}
	return err
}

const reportColumns = `id, operator, collection, status, marking, versions, created, modified, due, late`

func scanReport(row pgx.Row) (store.Report, error) {
	var r store.Report
	var created, modified, due *int64
	err := row.Scan(&r.ID, &r.Operator, &r.Collection, &r.Status, &r.Marking, &r.Versions, &created, &modified, &due, &r.Late)
	r.Created, r.Modified, r.Due = fromNanos(created), fromNanos(modified), fromNanos(due)
	return r, err
}

// Report returns the report with this id.
func (s *Store) Report(ctx context.Context, id string) (store.Report, error) {
	r, err := scanReport(s.pool.QueryRow(ctx, `SELECT `+reportColumns+` FROM reports WHERE id = $1`, id))
	if err != nil {
		return store.Report{}, notFound(err, fmt.Sprintf("report %q", id))
	}
	return r, nil
}

const versionColumns = `report, version, operator, author, idempotency_key, received, body, receipt`

func scanVersion(row pgx.Row) (store.ReportVersion, error) {
	var v store.ReportVersion
	var received *int64
	err := row.Scan(&v.Report, &v.Version, &v.Operator, &v.Author, &v.IdempotencyKey, &received, &v.Body, &v.Receipt)
	v.Received = fromNanos(received)
	return v, err
}

// ReportVersions returns every version of a report, oldest first; none for an
// unknown report.
func (s *Store) ReportVersions(ctx context.Context, id string) ([]store.ReportVersion, error) {
	out, err := collect(ctx, s, scanVersion, `SELECT `+versionColumns+` FROM report_versions WHERE report = $1 ORDER BY version`, id)
	if err != nil {
		return nil, fmt.Errorf("postgres: versions of report %s: %w", id, err)
	}
	return out, nil
}

// ReportVersionByKey returns the version an operator submitted with this idempotency key.
func (s *Store) ReportVersionByKey(ctx context.Context, operator, key string) (store.ReportVersion, error) {
	if key == "" {
		return store.ReportVersion{}, fmt.Errorf("postgres: report version by key: empty key: %w", store.ErrNotFound)
	}
	v, err := scanVersion(s.pool.QueryRow(ctx, `SELECT `+versionColumns+` FROM report_versions
		WHERE operator = $1 AND idempotency_key = $2`, operator, key))
	if err != nil {
		return store.ReportVersion{}, notFound(err, "report version by key")
	}
	return v, nil
}

// ReportsPerDay counts reports by day of created (nanoseconds), through reports_created.
func (s *Store) ReportsPerDay(ctx context.Context, since time.Time, days int) ([]int, error) {
	from, to, err := store.ReportDays(since, days)
	if err != nil {
		return nil, err
	}
	const day = int64(24 * time.Hour)
	rows, err := s.pool.Query(ctx, `SELECT (created - $1) / $3, count(*) FROM reports
		WHERE created >= $1 AND created < $2 GROUP BY 1`, nanos(from), nanos(to), day)
	if err != nil {
		return nil, fmt.Errorf("postgres: reports per day: %w", err)
	}
	out := make([]int, days)
	var i, n int64
	_, err = pgx.ForEachRow(rows, []any{&i, &n}, func() error {
		if i >= 0 && i < int64(days) {
			out[i] += int(n)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: reports per day: %w", err)
	}
	return out, nil
}

// Reports lists reports as q says.
func (s *Store) Reports(ctx context.Context, q store.ReportQuery) ([]store.Report, error) {
	var where []string
	var a []any
	arg := func(v any) string { a = append(a, v); return "$" + strconv.Itoa(len(a)) }
	if q.Operator != "" {
		where = append(where, "operator = "+arg(q.Operator))
	}
	if len(q.Statuses) > 0 {
		where = append(where, "status = ANY("+arg(q.Statuses)+"::text[])")
	}
	order := "created DESC, id DESC"
	after := !q.AfterTime.IsZero() || q.AfterID != ""
	var afterTime int64 = math.MinInt64
	if n := nanos(q.AfterTime); n != nil {
		afterTime = *n
	}
	if q.WithDue {
		where = append(where, "due IS NOT NULL")
		order = "due, id"
		if after {
			where = append(where, "(due, id) > ("+arg(afterTime)+"::bigint, "+arg(q.AfterID)+")")
		}
	} else if after {
		where = append(where, "(created, id) < ("+arg(afterTime)+"::bigint, "+arg(q.AfterID)+")")
	}
	query := `SELECT ` + reportColumns + ` FROM reports`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY " + order + " LIMIT " + arg(min(max(q.Limit, 1), 1000))
	out, err := collect(ctx, s, scanReport, query, a...)
	if err != nil {
		return nil, fmt.Errorf("postgres: reports: %w", err)
	}
	return out, nil
}

// ChangeReport applies one analyst action and appends it to the history. The report's
// row is locked first, so that actions on one report take turns and number their
// history without gaps or collisions.
func (s *Store) ChangeReport(ctx context.Context, ev store.ReportEvent, rev *store.ReportRevision) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var status, marking string
		err := tx.QueryRow(ctx, `SELECT status, marking FROM reports WHERE id = $1 FOR UPDATE`, ev.Report).Scan(&status, &marking)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		switch ev.Action {
		case store.ReportNote:
		case store.ReportStatus, store.ReportRelease:
			if status != ev.From {
				return store.ErrReportChanged
			}
			if _, err := tx.Exec(ctx, `UPDATE reports SET status = $1 WHERE id = $2`, ev.To, ev.Report); err != nil {
				return err
			}
		case store.ReportMarking:
			if rev == nil || rev.Report != ev.Report {
				return errors.New("a marking change needs a revision of the same report")
			}
			if marking != ev.From {
				return store.ErrReportChanged
			}
			if _, err := tx.Exec(ctx, `UPDATE reports SET marking = $1, modified = $2 WHERE id = $3`,
				ev.To, nanos(rev.Modified), ev.Report); err != nil {
				return err
			}
			if err := insertRevision(ctx, tx, *rev); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown action %q", ev.Action)
		}
		if _, err = tx.Exec(ctx, `INSERT INTO report_events (report, seq, at, actor, action, from_value, to_value, collection, text)
			SELECT $1, coalesce(max(seq), 0) + 1, $2, $3, $4, $5, $6, $7, $8 FROM report_events WHERE report = $1`,
			ev.Report, nanos(ev.At), ev.Actor, ev.Action, ev.From, ev.To, ev.Collection, ev.Text); err != nil {
			return err
		}
		e, err := store.ReportChanged(ctx, ev)
		return s.record(ctx, tx, e, err)
	})
	if err != nil {
		return fmt.Errorf("postgres: %s of report %s: %w", ev.Action, ev.Report, err)
	}
	return nil
}

// ReportEvents returns the history of a report, oldest first.
func (s *Store) ReportEvents(ctx context.Context, id string) ([]store.ReportEvent, error) {
	out, err := collect(ctx, s, func(row pgx.Row) (store.ReportEvent, error) {
		var ev store.ReportEvent
		var at *int64
		err := row.Scan(&ev.Report, &ev.Seq, &at, &ev.Actor, &ev.Action, &ev.From, &ev.To, &ev.Collection, &ev.Text)
		ev.At = fromNanos(at)
		return ev, err
	}, `SELECT report, seq, at, actor, action, from_value, to_value, collection, text FROM report_events
		WHERE report = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("postgres: history of report %s: %w", id, err)
	}
	return out, nil
}

func scanRevision(row pgx.Row) (store.ReportRevision, error) {
	var rev store.ReportRevision
	var modified *int64
	err := row.Scan(&rev.Report, &modified, &rev.Objects, &rev.Filed)
	rev.Modified = fromNanos(modified)
	return rev, err
}

// ReportRevisions returns the revisions of a report, oldest first.
func (s *Store) ReportRevisions(ctx context.Context, id string) ([]store.ReportRevision, error) {
	out, err := collect(ctx, s, scanRevision, `SELECT report, modified, objects, filed FROM report_revisions
		WHERE report = $1 ORDER BY modified`, id)
	if err != nil {
		return nil, fmt.Errorf("postgres: revisions of report %s: %w", id, err)
	}
	return out, nil
}

// UnfiledRevisions returns revisions not yet filed, oldest first.
func (s *Store) UnfiledRevisions(ctx context.Context, limit int) ([]store.ReportRevision, error) {
	out, err := collect(ctx, s, scanRevision, `SELECT report, modified, objects, filed FROM report_revisions
		WHERE NOT filed ORDER BY modified LIMIT $1`, min(max(limit, 1), 1000))
	if err != nil {
		return nil, fmt.Errorf("postgres: unfiled revisions: %w", err)
	}
	return out, nil
}

// MarkRevisionFiled records that a revision is in the report's collection.
func (s *Store) MarkRevisionFiled(ctx context.Context, report string, modified time.Time) error {
	tag, err := s.exec(ctx, `UPDATE report_revisions SET filed = true WHERE report = $1 AND modified = $2`,
		report, nanos(modified))
	if err != nil {
		return fmt.Errorf("postgres: mark revision of %s filed: %w", report, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: mark revision of %s filed: %w", report, store.ErrNotFound)
	}
	return nil
}

// collect runs a query and scans every row with scan.
func collect[T any](ctx context.Context, s *Store, scan func(pgx.Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
}
