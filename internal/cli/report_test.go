package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"quadshare/internal/config"
	"quadshare/internal/node"
	"quadshare/internal/report"
)

// runAs runs a command as a user of the node at url, with the token in the
// environment as an operator's script would.
func runAs(t *testing.T, dir, url, user, token, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := map[string]string{"QUADSHARE_DATA": dir, "QUADSHARE_URL": url, "QUADSHARE_USER": user, "QUADSHARE_TOKEN": token}
	e := &Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	code := Main(context.Background(), args, e)
	return code, out.String(), errb.String()
}

// An administrator registers an operator; the operator submits a report file to a
// running node and gets a verified receipt, again the same one for the same file;
// an analyst lists what is due.
func TestReportCommands(t *testing.T) {
	dir := t.TempDir()
	mustRun := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(t, dir, "", args...)
		if code != 0 {
			t.Fatalf("%v: code %d\n%s%s", args, code, out, errOut)
		}
		return out
	}
	mustRun("user", "add", "ops", "--org", "GridCo", "--org-kind", "operator", "--nation", "AU", "--role", "operator")
	mustRun("user", "add", "ana", "--org", "ACSC", "--org-kind", "agency", "--nation", "AU", "--role", "analyst")
	opsToken := strings.TrimSpace(mustRun("token", "create", "ops"))
	anaToken := strings.TrimSpace(mustRun("token", "create", "ana"))
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"report", "operator", "GridCo", "--sector", "power", "--size", "large"}, 2, `AU has no sector "power"`},
		{[]string{"report", "operator", "GridCo", "--sector", "energy", "--size", "huge"}, 2, "size band"},
		{[]string{"report", "operator", "ACSC", "--sector", "energy", "--size", "large"}, 2, "not an operator"},
		{[]string{"report", "operator", "Nobody", "--sector", "energy", "--size", "large"}, 1, "not found"},
		{[]string{"report", "frobnicate"}, 2, "unknown report command"},
	} {
		if code, out, errOut := run(t, dir, "", tc.args...); code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("%v: code %d, want %d with %q:\n%s%s", tc.args, code, tc.code, tc.want, out, errOut)
		}
	}
	if out := mustRun("report", "operator", "GridCo", "--sector", "energy", "--size", "large", "--consent", "partners"); !strings.Contains(out, "sectors energy, size large, consent partners") {
		t.Fatalf("operator: %s", out)
	}

	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir, cfg.Listen = dir, "127.0.0.1:0"
	st, err := openStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mustRun("policy", "init", "--nation", "AU", "--agency", "ACSC") // ana's agency triages
	n, err := node.Start(ctx, cfg, st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(ctx)

	detected := time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339)
	file := writeFile(t, "incident.json", `{"title":"Outage of the billing system","description":"Ransom note found.",
		"detected_at":"`+detected+`","impact":"significant","ongoing":true,"tlp":"amber",
		"indicators":[{"kind":"hash","algorithm":"SHA-256","value":"`+strings.Repeat("ab", 32)+`"}]}`)
	receiptFile := writeFile(t, "receipt.json", "")
	code, out, errOut := runAs(t, dir, n.URL, "ops", opsToken, "", "report", "submit", "-receipt", receiptFile, file)
	if code != 0 || !strings.Contains(errOut, "version 1 received") || !strings.Contains(errOut, "receipt signature verified") ||
		!strings.Contains(errOut, "(soci-significant): on time") {
		t.Fatalf("submit: code %d\n%s%s", code, out, errOut)
	}
	var rc report.Receipt
	if err := json.Unmarshal([]byte(out), &rc); err != nil || rc.Version != 1 || rc.Signature == "" {
		t.Fatalf("receipt on stdout %q: %v", out, err)
	}
	// The receipt verifies, and is for this file.
	code, vout, errOut := runAs(t, dir, n.URL, "ops", opsToken, "", "report", "verify", "-report", file, receiptFile)
	if code != 0 || !strings.Contains(vout, "signature valid") || !strings.Contains(vout, "is for the report in") {
		t.Fatalf("verify: code %d\n%s%s", code, vout, errOut)
	}
	other := writeFile(t, "other.json", strings.Replace(readFile(t, file), "billing", "mail", 1))
	if code, _, errOut := runAs(t, dir, n.URL, "ops", opsToken, "", "report", "verify", "-report", other, receiptFile); code != 1 || !strings.Contains(errOut, "not for the report") {
		t.Fatalf("verify against another report: code %d: %s", code, errOut)
	}
	forged := writeFile(t, "forged.json", strings.Replace(readFile(t, receiptFile), `"version":1`, `"version":2`, 1))
	if code, _, errOut := runAs(t, dir, n.URL, "ops", opsToken, "", "report", "verify", forged); code != 1 || !strings.Contains(errOut, "does not verify") {
		t.Fatalf("verify a forged receipt: code %d: %s", code, errOut)
	}
	// The same file again: the first receipt, nothing new.
	code, again, errOut := runAs(t, dir, n.URL, "ops", opsToken, "", "report", "submit", file)
	if code != 0 || again != out || !strings.Contains(errOut, "already received") {
		t.Fatalf("resubmit: code %d\n%s%s", code, again, errOut)
	}
	// A broken report: every field error, exit status 1.
	bad := writeFile(t, "bad.json", `{"title":"","impact":"huge","tlp":"amber"}`)
	code, _, errOut = runAs(t, dir, n.URL, "ops", opsToken, "", "report", "submit", bad)
	if code != 1 || !strings.Contains(errOut, "422") || !strings.Contains(errOut, "/title: must not be empty") ||
		!strings.Contains(errOut, "/impact: must be one of") || !strings.Contains(errOut, "/detected_at: required") {
		t.Fatalf("bad report: code %d\n%s", code, errOut)
	}
	if code, _, errOut := runAs(t, dir, n.URL, "ops", "", "", "report", "submit", file); code != 2 || !strings.Contains(errOut, "QUADSHARE_TOKEN") {
		t.Fatalf("without a token: code %d: %s", code, errOut)
	}

	code, out, errOut = runAs(t, dir, n.URL, "ana", anaToken, "", "report", "list", "--due")
	if code != 0 || !strings.Contains(out, rc.ReportID) || !strings.Contains(out, "soci-significant, reported on time") ||
		!strings.Contains(out, "GridCo") || !strings.Contains(errOut, "1 report") {
		t.Fatalf("list --due: code %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runAs(t, dir, n.URL, "ana", anaToken, "", "report", "list", "--overdue", "--json")
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("list --overdue: code %d: %s", code, out)
	}
	if code, _, errOut := runAs(t, dir, n.URL, "ops", opsToken, "", "report", "list", "--operator", "x"); code != 1 || !strings.Contains(errOut, "only analysts") {
		t.Fatalf("operator filter by an operator: code %d: %s", code, errOut)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
