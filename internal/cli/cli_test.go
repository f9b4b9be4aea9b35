package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"quadshare/internal/realdata"
)

// run executes the command line in a fresh environment whose data directory is dir.
func run(t *testing.T, dir, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
		if k == "QUADSHARE_DATA" {
			return dir
		}
		return ""
	}}
	code = Main(context.Background(), args, e)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodIndicator = `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","x_custom":{"keep":[1,2.5,"three"]}}`

func TestImportExportRoundTrip(t *testing.T) {
	dir := t.TempDir()
	second := strings.Replace(strings.Replace(goodIndicator, `"modified":"2026-01-01T00:00:00.000Z"`, `"modified":"2026-02-01T00:00:00.000Z"`, 1), "198.51.100.1", "198.51.100.2", 1)
	bundle := writeFile(t, "b.json", `{"type":"bundle","id":"bundle--2a8c6a4e-0b8e-4a1e-9a4e-1d1a6e0e6b11","objects":[`+goodIndicator+`,`+second+`]}`)

	mustRun(t, dir, "policy", "init")
	code, out, errOut := run(t, dir, "", "import", bundle)
	if code != 0 || !strings.Contains(out, "2 imported, 0 duplicates, 0 rejected") {
		t.Fatalf("import: code %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	code, out, _ = run(t, dir, "", "import", bundle)
	if code != 0 || !strings.Contains(out, "0 imported, 2 duplicates, 0 rejected") {
		t.Fatalf("re-import: code %d: %s", code, out)
	}

	// The latest version only, by default; every version with -versions all.
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"export"}, []string{"2026-02-01T00:00:00.000Z"}},
		{[]string{"export", "-versions", "all"}, []string{"2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z"}},
		{[]string{"export", "-type", "malware"}, nil},
	} {
		code, out, errOut = run(t, dir, "", tc.args...)
		if code != 0 {
			t.Fatalf("%v: code %d: %s", tc.args, code, errOut)
		}
		var b struct {
			Type    string
			Objects []map[string]any
		}
		if err := json.Unmarshal([]byte(out), &b); err != nil {
			t.Fatalf("%v: not JSON: %v\n%s", tc.args, err, out)
		}
		if b.Type != "bundle" || len(b.Objects) != len(tc.want) {
			t.Fatalf("%v: got %d objects, want %d", tc.args, len(b.Objects), len(tc.want))
		}
		for i, o := range b.Objects {
			if o["modified"] != tc.want[i] {
				t.Errorf("%v: object %d modified %v, want %s", tc.args, i, o["modified"], tc.want[i])
			}
			// Custom properties survive the round trip.
			if x, ok := o["x_custom"].(map[string]any); !ok || len(x["keep"].([]any)) != 3 {
				t.Errorf("%v: x_custom lost: %v", tc.args, o["x_custom"])
			}
		}
	}
}

func TestImportReportsRejections(t *testing.T) {
	dir := t.TempDir()
	bad := strings.Replace(goodIndicator, `"modified":"2026-01-01T00:00:00.000Z"`, `"modified":"2025-01-01T00:00:00.000Z"`, 1)
	bad = strings.Replace(bad, "8e2e2d2b", "9e2e2d2b", 1)
	f := writeFile(t, "mixed.json", "["+goodIndicator+",\n"+bad+"]")
	code, out, errOut := run(t, dir, "", "import", f)
	if code != 1 {
		t.Fatalf("code %d, want 1 when objects are rejected", code)
	}
	if !strings.Contains(out, "1 imported, 0 duplicates, 1 rejected") {
		t.Errorf("summary: %s", out)
	}
	if !strings.Contains(errOut, "indicator--9e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f") || !strings.Contains(errOut, "modified") {
		t.Errorf("rejection should name the object and the property: %s", errOut)
	}
}

func TestImportStdinAndMalformed(t *testing.T) {
	dir := t.TempDir()
	code, out, _ := run(t, dir, goodIndicator, "import", "-")
	if code != 0 || !strings.Contains(out, "1 imported") {
		t.Fatalf("stdin import: %d %s", code, out)
	}
	code, _, errOut := run(t, dir, `{"type":"bundle","id":"bundle--2a8c6a4e-0b8e-4a1e-9a4e-1d1a6e0e6b11","objects":[`+goodIndicator+`,{"type":`, "import", "-")
	if code != 1 || !strings.Contains(errOut, "-") {
		t.Fatalf("truncated input: code %d, stderr %s", code, errOut)
	}
	code, _, errOut = run(t, dir, "", "import")
	if code != 2 || !strings.Contains(errOut, "FILE") {
		t.Fatalf("missing argument: code %d: %s", code, errOut)
	}
}

func TestValidateReport(t *testing.T) {
	good := writeFile(t, "good.json", goodIndicator)
	if code, out, errOut := run(t, t.TempDir(), "", "validate", good); code != 0 || !strings.Contains(out, "1 object checked, all valid") {
		t.Fatalf("valid file: code %d: %s %s", code, out, errOut)
	}
	bad := strings.Replace(goodIndicator, `[ipv4-addr:value = '198.51.100.1']`, `[ipv4-addr:value = '198.51.100.1'`, 1)
	f := writeFile(t, "bad.json", "[\n"+goodIndicator+",\n  "+bad+"\n]")
	code, out, _ := run(t, t.TempDir(), "", "validate", f)
	if code != 1 {
		t.Fatalf("invalid file: code %d, want 1", code)
	}
	// The report names the file, the line and column of the object, its id and the property.
	re := regexp.MustCompile(regexp.QuoteMeta(f) + `:3:\d+: .*indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f.*pattern`)
	if !re.MatchString(out) {
		t.Errorf("report does not locate the error:\n%s", out)
	}
	if !strings.Contains(out, "2 objects checked, 1 invalid") {
		t.Errorf("summary missing:\n%s", out)
	}
}

func TestImportRealData(t *testing.T) {
	ics := realdata.Path(t, "stix/ics-attack-18.1.json")
	dir := t.TempDir()
	code, out, errOut := run(t, dir, "", "import", "-quiet", ics)
	if code != 0 {
		t.Fatalf("import ATT&CK ICS: code %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "read 1826 objects") || !strings.Contains(out, "1826 imported") {
		t.Errorf("summary: %s", out)
	}
	mustRun(t, dir, "policy", "init")
	code, out, _ = run(t, dir, "", "export", "-type", "x-mitre-tactic")
	if code != 0 || strings.Count(out, `"type":"x-mitre-tactic"`) == 0 {
		t.Errorf("export of a custom type: code %d, %d tactics", code, strings.Count(out, `"type":"x-mitre-tactic"`))
	}
}

func TestUsage(t *testing.T) {
	if code, _, errOut := run(t, t.TempDir(), "", "nonsense"); code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Fatalf("unknown command: %d %s", code, errOut)
	}
	if code, _, errOut := run(t, t.TempDir(), "", "export", "-versions", "some"); code != 2 || !strings.Contains(errOut, "want last, first or all") {
		t.Fatalf("bad flag value: %d %s", code, errOut)
	}
	if code, _, errOut := run(t, t.TempDir(), "", "import", "-batch", "0", "-"); code != 2 || !strings.Contains(errOut, "want 1 to 100000") {
		t.Fatalf("bad batch size: %d %s", code, errOut)
	}
}
