package cli

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"quadshare/internal/audit"
)

// setUpTrail makes a data directory whose audit trail holds the records of a few
// account and import commands, and returns it with the number of records.
func setUpTrail(t *testing.T) (string, int64) {
	t.Helper()
	dir := t.TempDir()
	mustRun(t, dir, "user", "add", "alice", "--org", "ACSC", "--role", "analyst", "--nation", "AU", "--org-kind", "agency")
	mustRun(t, dir, "user", "add", "bob", "--org", "ACSC", "--role", "reader")
	mustRun(t, dir, "collection", "add", "Shared", "--alias", "shared", "--grant", "ACSC=rw")
	mustRun(t, dir, "import", "--quiet", "--collection", "shared", writeFile(t, "one.json", goodIndicator))
	mustRun(t, dir, "user", "revoke", "bob")
	st := openTestStore(t, dir)
	recs, err := st.AuditRecords(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, r := range recs {
		if r.Actor != cliActor {
			t.Fatalf("record %d (%s, %s) names actor %q, want %s", r.Seq, r.Kind, r.Detail, r.Actor, cliActor)
		}
	}
	if len(recs) < 6 {
		t.Fatalf("%d audit records after the commands", len(recs))
	}
	return dir, int64(len(recs))
}

// tamper changes the SQLite file as someone with write access to it could: the
// append-only triggers are dropped first.
func tamper(t *testing.T, dir string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, "quadshare.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range append([]string{
		"DROP TRIGGER IF EXISTS audit_records_no_update", "DROP TRIGGER IF EXISTS audit_records_no_delete",
		"DROP TRIGGER IF EXISTS audit_checkpoints_no_update", "DROP TRIGGER IF EXISTS audit_checkpoints_no_delete",
	}, stmts...) {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func TestAuditVerifyIntact(t *testing.T) {
	dir, n := setUpTrail(t)
	out, _ := mustRun(t, dir, "audit", "verify")
	if !strings.Contains(out, fmt.Sprintf("records:     %d (last seq %d", n, n)) || !strings.Contains(out, "intact") ||
		!strings.Contains(out, "have no checkpoint yet") {
		t.Fatalf("verify output:\n%s", out)
	}
	out, _ = mustRun(t, dir, "audit", "checkpoint")
	if !regexp.MustCompile(fmt.Sprintf(`^checkpoint seq %d hash [0-9a-f]{64} time \S+ signature [0-9a-f]{128}\n$`, n)).MatchString(out) {
		t.Fatalf("checkpoint output: %q", out)
	}
	out, _ = mustRun(t, dir, "audit", "verify")
	if !strings.Contains(out, fmt.Sprintf("checkpoints: 1, 1 verified, the last at seq %d", n)) || strings.Contains(out, "no checkpoint yet") {
		t.Fatalf("verify after a checkpoint:\n%s", out)
	}
	// The checkpoint pins the tail: cutting it is seen.
	tamper(t, dir, fmt.Sprintf("DELETE FROM audit_records WHERE seq > %d", n-2))
	code, out, _ := run(t, dir, "", "audit", "verify")
	if code != 1 || !strings.Contains(out, fmt.Sprintf("seq %d: %s:", n-1, audit.Truncated)) {
		t.Fatalf("verify of a cut trail: exit %d\n%s", code, out)
	}
}

func TestAuditVerifyNamesTheSeq(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stmts []string
		want  string
	}{
		{"edited", []string{"UPDATE audit_records SET actor = 'user:mallory' WHERE seq = 3"}, "seq 3: edited:"},
		{"removed", []string{"DELETE FROM audit_records WHERE seq = 4"}, "seq 4: missing:"},
		{"reordered", []string{
			"UPDATE audit_records SET seq = -1 WHERE seq = 2",
			"UPDATE audit_records SET seq = 2 WHERE seq = 3",
			"UPDATE audit_records SET seq = 3 WHERE seq = -1",
		}, "seq 2: reordered:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := setUpTrail(t)
			tamper(t, dir, tc.stmts...)
			code, out, errOut := run(t, dir, "", "audit", "verify")
			if code != 1 || !strings.Contains(out, "PROBLEMS: 1 problem\n") || !strings.Contains(out, "  "+tc.want) {
				t.Fatalf("exit %d, want 1 naming %q\nstdout:\n%s\nstderr:\n%s", code, tc.want, out, errOut)
			}
		})
	}
}

func TestAuditVerifyNeedsTheKey(t *testing.T) {
	dir, _ := setUpTrail(t)
	if err := os.Rename(filepath.Join(dir, "audit.key"), filepath.Join(dir, "moved.key")); err != nil {
		t.Fatal(err)
	}
	// Without its key verify refuses, rather than make a new one that no checkpoint matches.
	code, _, errOut := run(t, dir, "", "audit", "verify")
	if code != 1 || !strings.Contains(errOut, "audit key") {
		t.Fatalf("verify without the key: exit %d, stderr %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "audit.key")); err == nil {
		t.Fatal("verify created a key")
	}
	// --audit-key names another file.
	mustRun(t, dir, "audit", "checkpoint", "--audit-key", filepath.Join(dir, "moved.key"))
	out, _ := mustRun(t, dir, "audit", "verify", "--audit-key", filepath.Join(dir, "moved.key"))
	if !strings.Contains(out, "1 verified") {
		t.Fatalf("verify with --audit-key:\n%s", out)
	}
	// A checkpoint signed with another key is reported.
	mustRun(t, dir, "user", "add", "carol", "--org", "ACSC", "--role", "reader") // creates a new audit.key
	mustRun(t, dir, "audit", "checkpoint")
	code, out, _ = run(t, dir, "", "audit", "verify", "--audit-key", filepath.Join(dir, "moved.key"))
	if code != 1 || !strings.Contains(out, string(audit.BadSignature)) {
		t.Fatalf("verify with a checkpoint by another key: exit %d\n%s", code, out)
	}
}
