package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/store"
)

// PutOperator inserts or updates the reporting profile of an organisation.
func (s *Store) PutOperator(ctx context.Context, p store.OperatorProfile) error {
	if p.Org == "" {
		return errors.New("sqlite: put operator: empty organisation")
	}
	if p.Sectors == nil {
		p.Sectors = []string{}
	}
	sectors, err := json.Marshal(p.Sectors)
	if err != nil {
		return fmt.Errorf("sqlite: put operator %s: %w", p.Org, err)
	}
	err = s.audited(ctx, func(tx *sql.Tx) (audit.Entry, error) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO operator_profiles (org, sectors, size_band, consent, created, modified)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (org) DO UPDATE SET sectors = excluded.sectors, size_band = excluded.size_band,
				consent = excluded.consent, created = excluded.created, modified = excluded.modified`,
			p.Org, string(sectors), p.SizeBand, p.Consent, dbTime(p.Created), dbTime(p.Modified)); err != nil {
			return audit.Entry{}, err
		}
		return store.OperatorPut(ctx, s.now(), p)
	})
	if err != nil {
		return fmt.Errorf("sqlite: put operator %s: %w", p.Org, err)
	}
	return nil
}

// Operator returns the reporting profile of an organisation.
func (s *Store) Operator(ctx context.Context, org string) (store.OperatorProfile, error) {
	p := store.OperatorProfile{Org: org}
	var sectors, created, modified string
	err := s.r.QueryRowContext(ctx, `SELECT sectors, size_band, consent, created, modified FROM operator_profiles WHERE org = ?`, org).
		Scan(&sectors, &p.SizeBand, &p.Consent, &created, &modified)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("sqlite: operator %q: %w", org, store.ErrNotFound)
	}
	if err == nil {
		err = json.Unmarshal([]byte(sectors), &p.Sectors)
	}
	if err == nil {
		p.Created, err = parseTime(created)
	}
	if err == nil {
		p.Modified, err = parseTime(modified)
	}
	if err != nil {
		return p, fmt.Errorf("sqlite: operator %q: %w", org, err)
	}
	return p, nil
}

// SubmitReport records a version of a report and its revision in one transaction.
func (s *Store) SubmitReport(ctx context.Context, r store.Report, v store.ReportVersion, rev store.ReportRevision) error {
	if r.ID == "" || v.Report != r.ID || rev.Report != r.ID || v.Version < 1 {
		return fmt.Errorf("sqlite: submit report %q: inconsistent report, version and revision", r.ID)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if v.Version == 1 {
			_, err := tx.ExecContext(ctx, `INSERT INTO reports (id, operator, collection, status, marking, versions, created, modified, due, late)
				VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`,
				r.ID, r.Operator, r.Collection, r.Status, r.Marking, dbTime(r.Created), dbTime(r.Modified), dbTime(r.Due), r.Late)
			if isUnique(err) {
				return store.ErrExists
			}
			if err != nil {
				return err
			}
		} else {
			res, err := tx.ExecContext(ctx, `UPDATE reports SET versions = ?, modified = ?, due = ?, late = ?
				WHERE id = ? AND versions = ?`, v.Version, dbTime(r.Modified), dbTime(r.Due), r.Late, r.ID, v.Version-1)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return s.missingOr(ctx, tx, r.ID, store.ErrExists)
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO report_versions (report, version, operator, author, idempotency_key, received, body, receipt)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			v.Report, v.Version, v.Operator, v.Author, v.IdempotencyKey, dbTime(v.Received), v.Body, v.Receipt)
		if isUnique(err) {
			return store.ErrExists
		}
		if err != nil {
			return err
		}
		if err := insertRevision(ctx, tx, rev); err != nil {
			return err
		}
		e, err := store.ReportReceived(ctx, v)
		return s.auditTx(tx, e, err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: submit report %s version %d: %w", r.ID, v.Version, err)
	}
	return nil
}

func insertRevision(ctx context.Context, tx *sql.Tx, rev store.ReportRevision) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO report_revisions (report, modified, objects, filed) VALUES (?, ?, ?, ?)`,
		rev.Report, dbTime(rev.Modified), rev.Objects, rev.Filed)
	if isUnique(err) {
		return fmt.Errorf("revision %s: %w", dbTime(rev.Modified), store.ErrExists)
	}
	return err
}

// auditTx appends the record of the action under way in its transaction.
func (s *Store) auditTx(tx *sql.Tx, e audit.Entry, err error) error {
	if err == nil {
		err = s.appendAudit(tx, []audit.Entry{e})
	}
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// missingOr returns ErrNotFound when there is no report id, else err.
func (s *Store) missingOr(ctx context.Context, tx *sql.Tx, id string, err error) error {
	var n int
	if e := tx.QueryRowContext(ctx, `SELECT count(*) FROM reports WHERE id = ?`, id).Scan(&n); e != nil {
		return e
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return err
}

// inTx runs fn in a write transaction and commits it.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

const reportColumns = `id, operator, collection, status, marking, versions, created, modified, due, late`

func scanReport(sc scanner) (store.Report, error) {
	var r store.Report
	var created, modified, due string
	if err := sc.Scan(&r.ID, &r.Operator, &r.Collection, &r.Status, &r.Marking, &r.Versions, &created, &modified, &due, &r.Late); err != nil {
		return r, err
	}
	var err error
	if r.Created, err = parseTime(created); err != nil {
		return r, err
	}
	if r.Modified, err = parseTime(modified); err != nil {
		return r, err
	}
	r.Due, err = parseTime(due)
	return r, err
}

// Report returns the report with this id.
func (s *Store) Report(ctx context.Context, id string) (store.Report, error) {
	r, err := scanReport(s.r.QueryRowContext(ctx, `SELECT `+reportColumns+` FROM reports WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("sqlite: report %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("sqlite: report %q: %w", id, err)
	}
	return r, nil
}

const versionColumns = `report, version, operator, author, idempotency_key, received, body, receipt`

func scanVersion(sc scanner) (store.ReportVersion, error) {
	var v store.ReportVersion
	var received string
	if err := sc.Scan(&v.Report, &v.Version, &v.Operator, &v.Author, &v.IdempotencyKey, &received, &v.Body, &v.Receipt); err != nil {
		return v, err
	}
	var err error
	v.Received, err = parseTime(received)
	return v, err
}

// ReportVersions returns every version of a report, oldest first; none for an
// unknown report.
func (s *Store) ReportVersions(ctx context.Context, id string) ([]store.ReportVersion, error) {
	out, err := queryAll(ctx, s.r.DB, scanVersion, `SELECT `+versionColumns+` FROM report_versions WHERE report = ? ORDER BY version`, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: versions of report %q: %w", id, err)
	}
	return out, nil
}

// ReportVersionByKey returns the version an operator submitted with this idempotency key.
func (s *Store) ReportVersionByKey(ctx context.Context, operator, key string) (store.ReportVersion, error) {
	if key == "" {
		return store.ReportVersion{}, fmt.Errorf("sqlite: report version by key: empty key: %w", store.ErrNotFound)
	}
	v, err := scanVersion(s.r.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM report_versions
		WHERE operator = ? AND idempotency_key = ?`, operator, key))
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("sqlite: report version by key: %w", store.ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("sqlite: report version by key: %w", err)
	}
	return v, nil
}

// Reports lists reports as q says.
func (s *Store) Reports(ctx context.Context, q store.ReportQuery) ([]store.Report, error) {
	var where []string
	var args []any
	if q.Operator != "" {
		where = append(where, "operator = ?")
		args = append(args, q.Operator)
	}
	if len(q.Statuses) > 0 {
		where = append(where, "status IN ("+placeholders(len(q.Statuses))+")")
		args = append(args, anys(q.Statuses)...)
	}
	order := "created DESC, id DESC"
	after := !q.AfterTime.IsZero() || q.AfterID != ""
	if q.WithDue {
		where = append(where, "due <> ''")
		order = "due, id"
		if after {
			where = append(where, "(due, id) > (?, ?)")
			args = append(args, dbTime(q.AfterTime), q.AfterID)
		}
	} else if after {
		where = append(where, "(created, id) < (?, ?)")
		args = append(args, dbTime(q.AfterTime), q.AfterID)
	}
	query := `SELECT ` + reportColumns + ` FROM reports`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY " + order + " LIMIT ?"
	args = append(args, min(max(q.Limit, 1), 1000))
	out, err := queryAll(ctx, s.r.DB, scanReport, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: reports: %w", err)
	}
	return out, nil
}

// ReportsPerDay counts reports by the UTC day of created, through reports_created:
// created is fixed-width UTC text, so its first ten characters are the day.
func (s *Store) ReportsPerDay(ctx context.Context, since time.Time, days int) ([]int, error) {
	from, to, err := store.ReportDays(since, days)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT substr(created, 1, 10), count(*) FROM reports
		WHERE created >= ? AND created < ? GROUP BY 1`, dbTime(from), dbTime(to))
	if err != nil {
		return nil, fmt.Errorf("sqlite: reports per day: %w", err)
	}
	defer rows.Close()
	out := make([]int, days)
	for rows.Next() {
		var day string
		var n int
		if err := rows.Scan(&day, &n); err != nil {
			return nil, fmt.Errorf("sqlite: reports per day: %w", err)
		}
		t, err := time.Parse(time.DateOnly, day)
		if err != nil {
			return nil, fmt.Errorf("sqlite: reports per day: %w", err)
		}
		if i := int(t.Sub(from) / (24 * time.Hour)); i >= 0 && i < days {
			out[i] += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: reports per day: %w", err)
	}
	return out, nil
}

// ChangeReport applies one analyst action and appends it to the history.
func (s *Store) ChangeReport(ctx context.Context, ev store.ReportEvent, rev *store.ReportRevision) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		switch ev.Action {
		case store.ReportNote:
			if err := s.appendEvent(ctx, tx, ev); err != nil {
				return err
			}
			e, err := store.ReportChanged(ctx, ev)
			return s.auditTx(tx, e, err)
		case store.ReportStatus, store.ReportRelease:
			res, err = tx.ExecContext(ctx, `UPDATE reports SET status = ? WHERE id = ? AND status = ?`, ev.To, ev.Report, ev.From)
		case store.ReportMarking:
			if rev == nil || rev.Report != ev.Report {
				return errors.New("a marking change needs a revision of the same report")
			}
			res, err = tx.ExecContext(ctx, `UPDATE reports SET marking = ?, modified = ? WHERE id = ? AND marking = ?`,
				ev.To, dbTime(rev.Modified), ev.Report, ev.From)
		default:
			return fmt.Errorf("unknown action %q", ev.Action)
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return s.missingOr(ctx, tx, ev.Report, store.ErrReportChanged)
		}
		if ev.Action == store.ReportMarking {
			if err := insertRevision(ctx, tx, *rev); err != nil {
				return err
			}
		}
		if err := s.appendEvent(ctx, tx, ev); err != nil {
			return err
		}
		e, err := store.ReportChanged(ctx, ev)
		return s.auditTx(tx, e, err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: %s of report %s: %w", ev.Action, ev.Report, err)
	}
	return nil
}

func (s *Store) appendEvent(ctx context.Context, tx *sql.Tx, ev store.ReportEvent) error {
	var seq int
	err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) + 1 FROM report_events WHERE report = ?`, ev.Report).Scan(&seq)
	if err != nil {
		return err
	}
	if seq == 1 {
		if err := s.missingOr(ctx, tx, ev.Report, nil); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO report_events (report, seq, at, actor, action, from_value, to_value, collection, text)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, ev.Report, seq, dbTime(ev.At), ev.Actor, ev.Action, ev.From, ev.To, ev.Collection, ev.Text)
	return err
}

// ReportEvents returns the history of a report, oldest first.
func (s *Store) ReportEvents(ctx context.Context, id string) ([]store.ReportEvent, error) {
	out, err := queryAll(ctx, s.r.DB, func(sc scanner) (store.ReportEvent, error) {
		var ev store.ReportEvent
		var at string
		if err := sc.Scan(&ev.Report, &ev.Seq, &at, &ev.Actor, &ev.Action, &ev.From, &ev.To, &ev.Collection, &ev.Text); err != nil {
			return ev, err
		}
		var err error
		ev.At, err = parseTime(at)
		return ev, err
	}, `SELECT report, seq, at, actor, action, from_value, to_value, collection, text FROM report_events WHERE report = ? ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: history of report %q: %w", id, err)
	}
	return out, nil
}

func scanRevision(sc scanner) (store.ReportRevision, error) {
	var rev store.ReportRevision
	var modified string
	if err := sc.Scan(&rev.Report, &modified, &rev.Objects, &rev.Filed); err != nil {
		return rev, err
	}
	var err error
	rev.Modified, err = parseTime(modified)
	return rev, err
}

// ReportRevisions returns the revisions of a report, oldest first.
func (s *Store) ReportRevisions(ctx context.Context, id string) ([]store.ReportRevision, error) {
	out, err := queryAll(ctx, s.r.DB, scanRevision, `SELECT report, modified, objects, filed FROM report_revisions
		WHERE report = ? ORDER BY modified`, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: revisions of report %q: %w", id, err)
	}
	return out, nil
}

// UnfiledRevisions returns revisions not yet filed, oldest first.
func (s *Store) UnfiledRevisions(ctx context.Context, limit int) ([]store.ReportRevision, error) {
	out, err := queryAll(ctx, s.r.DB, scanRevision, `SELECT report, modified, objects, filed FROM report_revisions
		WHERE filed = 0 ORDER BY modified LIMIT ?`, min(max(limit, 1), 1000))
	if err != nil {
		return nil, fmt.Errorf("sqlite: unfiled revisions: %w", err)
	}
	return out, nil
}

// MarkRevisionFiled records that a revision is in the report's collection.
func (s *Store) MarkRevisionFiled(ctx context.Context, report string, modified time.Time) error {
	r, err := s.w.ExecContext(ctx, `UPDATE report_revisions SET filed = 1 WHERE report = ? AND modified = ?`, report, dbTime(modified))
	if err != nil {
		return fmt.Errorf("sqlite: mark revision filed: %w", err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("sqlite: mark revision filed %s %s: %w", report, modified, store.ErrNotFound)
	}
	return nil
}

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, db *sql.DB, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
