package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"quadshare/internal/stix"
	"quadshare/internal/store"
	"quadshare/internal/store/postgres"
	"quadshare/internal/store/postgres/pgtest"
	"quadshare/internal/store/storetest"
)

func TestAuditTamper(t *testing.T) {
	storetest.RunAuditTamper(t, func(t *testing.T) store.Store {
		return pgtest.OpenStore(t, postgres.WithAuditKey(storetest.AuditKey))
	}, func(t *testing.T, st store.Store, stmts []string, bypass bool) error {
		s := st.(*postgres.Store)
		return pgx.BeginFunc(t.Context(), s.Pool(), func(tx pgx.Tx) error {
			if bypass { // triggers do not fire for a replication session (needs a superuser)
				if _, err := tx.Exec(t.Context(), `SET LOCAL session_replication_role = replica`); err != nil {
					return err
				}
			}
			for _, q := range stmts {
				if _, err := tx.Exec(t.Context(), q); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// TestAuditObjectColumns: object columns of different lengths read as an edited
// record.
func TestAuditObjectColumns(t *testing.T) {
	s := pgtest.OpenStore(t, postgres.WithAuditKey(storetest.AuditKey))
	col := storetest.NewUUID()
	if err := s.CreateCollection(t.Context(), store.Collection{ID: col, Title: "t"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(t.Context(), col, "org-1", []stix.Object{storetest.Indicator(t, 1, "2024-01-01T00:00:00Z")}); err != nil {
		t.Fatal(err)
	}
	err := pgx.BeginFunc(t.Context(), s.Pool(), func(tx pgx.Tx) error {
		_, err := tx.Exec(t.Context(), `SET LOCAL session_replication_role = replica;
			UPDATE audit_records SET object_versions = '{}' WHERE seq = 2`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	rep := storetest.VerifyAudit(t, s)
	if p, ok := rep.First(); !ok || p.Seq != 2 || rep.Total != 1 {
		t.Fatalf("report %s, problems %v; want record 2 edited", rep, rep.Problems)
	}
}

// TestAuditAcrossProcesses: two stores on one database (two processes) append
// concurrently into one chain, every record once, checkpoints by the shared key.
func TestAuditAcrossProcesses(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []postgres.Option
	}{
		{"read committed", nil},
		{"serializable", []postgres.Option{postgres.WithSerializable(), postgres.WithMaxAttempts(1000)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := pgtest.NewDatabase(t)
			var stores []store.Store
			for range 2 {
				opts := append([]postgres.Option{postgres.WithAuditKey(storetest.AuditKey)}, tc.opts...)
				s, err := postgres.Open(context.Background(), pgtest.WithPoolSize(url, 3), opts...)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				stores = append(stores, s)
			}
			storetest.AppendConcurrently(t, stores...)
			// Under SERIALIZABLE the processes' transactions meet on the head row:
			// the losers fail with 40001 and run again.
			t.Logf("transactions retried: %d", stores[0].(*postgres.Store).Retries()+stores[1].(*postgres.Store).Retries())
		})
	}
}
