package taxii

import (
	"context"
	"fmt"
	"time"
)

// The snapshot bound of a walk (§3.5).
//
// A walk through a collection pages in ascending date_added with a cursor, so no entry
// is returned twice. To return every entry that existed at the first page exactly once,
// at the version that was first or last then, every page of the walk is bounded by
// Query.AddedUpTo = the newest date_added committed in the collection at the first page
// (store.Objects.LastAdded). Entries committed later have a greater date_added, so they
// stay out. The wall clock is no such bound: a transaction takes its date_added before
// it commits, and a burst of additions runs ahead of the clock.

// emptyBound bounds a walk of a collection that had no entry: it admits none.
var emptyBound = time.UnixMicro(1).UTC()

// snapshot returns the AddedUpTo bound for a walk of collection starting now.
func (s *Server) snapshot(ctx context.Context, collection string) (time.Time, error) {
	t, err := s.store.LastAdded(ctx, collection)
	if err != nil {
		return time.Time{}, fmt.Errorf("taxii: snapshot: %w", err)
	}
	if t.IsZero() {
		return emptyBound, nil
	}
	return t, nil
}
