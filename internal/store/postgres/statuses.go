package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"quadshare/internal/store"
)

// statusDetail is how a StatusDetail is kept in JSON.
type statusDetail struct {
	ID      string `json:"id"`
	Version string `json:"version,omitempty"`
	Message string `json:"message,omitempty"`
}

func encodeDetails(ds []store.StatusDetail) ([]byte, error) {
	out := make([]statusDetail, len(ds))
	for i, d := range ds {
		out[i] = statusDetail(d)
	}
	return json.Marshal(out)
}

func decodeDetails(b []byte) ([]store.StatusDetail, error) {
	var in []statusDetail
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, err
	}
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]store.StatusDetail, len(in))
	for i, d := range in {
		out[i] = store.StatusDetail(d)
	}
	return out, nil
}

// PutStatus inserts st or replaces the status with its id.
func (s *Store) PutStatus(ctx context.Context, st store.Status) error {
	var lists [3][]byte
	for i, ds := range [][]store.StatusDetail{st.Successes, st.Failures, st.Pendings} {
		b, err := encodeDetails(ds)
		if err != nil {
			return fmt.Errorf("postgres: put status %s: %w", st.ID, err)
		}
		lists[i] = b
	}
	_, err := s.exec(ctx, `
		INSERT INTO statuses (id, collection, owner, done, request_timestamp, completed, total, successes, failures, pendings)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (id) DO UPDATE SET collection = excluded.collection, owner = excluded.owner,
			done = excluded.done, request_timestamp = excluded.request_timestamp, completed = excluded.completed,
			total = excluded.total, successes = excluded.successes, failures = excluded.failures, pendings = excluded.pendings`,
		st.ID, st.Collection, st.Owner, st.Done, nanos(st.RequestTimestamp), nanos(st.Completed), st.Total,
		string(lists[0]), string(lists[1]), string(lists[2]))
	if err != nil {
		return fmt.Errorf("postgres: put status %s: %w", st.ID, err)
	}
	return nil
}

// Status returns the status with the given id.
func (s *Store) Status(ctx context.Context, id string) (store.Status, error) {
	var st store.Status
	var ts, completed *int64
	var lists [3][]byte
	err := s.pool.QueryRow(ctx, `
		SELECT id, collection, owner, done, request_timestamp, completed, total, successes::text, failures::text, pendings::text
		FROM statuses WHERE id = $1`, id).Scan(
		&st.ID, &st.Collection, &st.Owner, &st.Done, &ts, &completed, &st.Total, &lists[0], &lists[1], &lists[2])
	if err != nil {
		return store.Status{}, notFound(err, fmt.Sprintf("status %q", id))
	}
	st.RequestTimestamp, st.Completed = fromNanos(ts), fromNanos(completed)
	for i, dst := range []*[]store.StatusDetail{&st.Successes, &st.Failures, &st.Pendings} {
		if *dst, err = decodeDetails(lists[i]); err != nil {
			return store.Status{}, fmt.Errorf("postgres: status %s: %w", id, err)
		}
	}
	return st, nil
}

// DeleteStatusesBefore removes the statuses completed before t (see
// store.Statuses; one with neither time too) and returns how many.
func (s *Store) DeleteStatusesBefore(ctx context.Context, t time.Time) (int, error) {
	if t.IsZero() {
		return 0, nil // nothing is before the zero time
	}
	tag, err := s.exec(ctx, `DELETE FROM statuses WHERE done AND coalesce(completed, request_timestamp, 0) < $1`, *nanos(t))
	if err != nil {
		return 0, fmt.Errorf("postgres: delete statuses before %v: %w", t, err)
	}
	return int(tag.RowsAffected()), nil
}
