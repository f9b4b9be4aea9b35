package postgres_test

import (
	"sync"
	"testing"
	"time"

	"quadshare/internal/stix"
	"quadshare/internal/store"
	"quadshare/internal/store/postgres"
	"quadshare/internal/store/postgres/pgtest"
	"quadshare/internal/store/storetest"
)

// TestConcurrentSameObjects has several writers put the same objects into the same
// collection at once, so that their COPYs of new versions collide: each object must
// be added exactly once, the others must see it as a duplicate with its date_added,
// and nothing may fail.
func TestConcurrentSameObjects(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []postgres.Option
	}{{"read committed", nil}, {"serializable", []postgres.Option{postgres.WithSerializable(), postgres.WithMaxAttempts(50)}}} {
		t.Run(tc.name, func(t *testing.T) {
			s := pgtest.OpenStore(t, tc.opts...)
			col := storetest.NewUUID()
			if err := s.CreateCollection(t.Context(), store.Collection{ID: col, Title: "race", CreatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			objs := make([]stix.Object, 200)
			for i := range objs {
				objs[i] = storetest.Indicator(t, i, "2024-01-01T00:00:00.000Z")
			}
			const writers = 4
			results := make([][]store.PutResult, writers)
			errs := make([]error, writers)
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Overlapping halves, in different orders.
					part := objs[w%2*50 : 150+w%2*50]
					results[w], errs[w] = s.Put(t.Context(), col, "", part)
				}()
			}
			wg.Wait()
			added := map[string]time.Time{}
			for w := range writers {
				if errs[w] != nil {
					t.Fatalf("writer %d: %v", w, errs[w])
				}
				for _, r := range results[w] {
					if r.Outcome == store.Conflict {
						t.Fatalf("writer %d: conflict on identical objects", w)
					}
				}
			}
			for w := range writers {
				part := objs[w%2*50 : 150+w%2*50]
				for i, r := range results[w] {
					if r.Outcome == store.Added {
						if _, dup := added[part[i].ID]; dup {
							t.Fatalf("%s added twice", part[i].ID)
						}
						added[part[i].ID] = r.DateAdded
					}
				}
			}
			for w := range writers {
				part := objs[w%2*50 : 150+w%2*50]
				for i, r := range results[w] {
					if d, ok := added[part[i].ID]; !ok || !d.Equal(r.DateAdded) {
						t.Fatalf("%s: %v at %v; added at %v (%v)", part[i].ID, r.Outcome, r.DateAdded, d, ok)
					}
				}
			}
			if n, err := s.Count(t.Context(), col); err != nil || n != len(objs) || len(added) != len(objs) {
				t.Fatalf("count %d (%v), %d added; want %d", n, err, len(added), len(objs))
			}
			t.Logf("%d retries", s.Retries())
		})
	}
}
