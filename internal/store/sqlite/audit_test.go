package sqlite

import (
	"context"
	"crypto/ed25519"
	"testing"

	"quadshare/internal/store"
	"quadshare/internal/store/storetest"
)

func TestAuditTamper(t *testing.T) {
	storetest.RunAuditTamper(t, func(t *testing.T) store.Store { return openTemp(t, WithAuditKey(storetest.AuditKey)) },
		func(t *testing.T, st store.Store, stmts []string, bypass bool) error {
			s := st.(*Store)
			tx, err := s.w.BeginTx(t.Context(), nil)
			if err != nil {
				return err
			}
			defer func() { _ = tx.Rollback() }()
			if bypass { // SQLite cannot disable a trigger: drop them, in the same transaction
				for _, tr := range []string{"audit_records_no_update", "audit_records_no_delete",
					"audit_checkpoints_no_update", "audit_checkpoints_no_delete"} {
					if _, err := tx.Exec("DROP TRIGGER " + tr); err != nil {
						return err
					}
				}
			}
			for _, q := range stmts {
				if _, err := tx.Exec(q); err != nil {
					return err
				}
			}
			return tx.Commit()
		})
}

// TestAuditObjectsColumn: a damaged objects column reads as an edited record.
func TestAuditObjectsColumn(t *testing.T) {
	s := openTemp(t, WithAuditKey(storetest.AuditKey))
	defer s.Close()
	col := mustCollection(t, s)
	if _, err := s.Put(t.Context(), col, "org-1", benchObjects(t, 0, 3)); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TRIGGER audit_records_no_update",
		`UPDATE audit_records SET objects = 'not json' WHERE seq = 2`} {
		if _, err := s.w.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	rep := storetest.VerifyAudit(t, s)
	if p, ok := rep.First(); !ok || p.Seq != 2 || rep.Total != 1 {
		t.Fatalf("report %s, problems %v; want record 2 edited", rep, rep.Problems)
	}
}

// TestAuditWithoutKey: records are chained, no checkpoint is signed.
func TestAuditWithoutKey(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	mustCollection(t, s)
	if err := s.SignAuditCheckpoint(t.Context()); err == nil {
		t.Fatal("checkpoint signed without a key")
	}
	rep := storetest.VerifyAudit(t, s)
	if !rep.OK() || rep.Records != 1 || rep.Checkpoints != 0 {
		t.Fatalf("report %s", rep)
	}
	if _, err := Open(context.Background(), s.path+"2", WithAuditKey(ed25519.PrivateKey("short"))); err == nil {
		t.Fatal("opened with a key of the wrong size")
	}
}
