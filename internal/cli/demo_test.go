package cli

import (
	"strings"
	"testing"
)

// The demo's four nodes share JP's report as JP's agreements allow.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four nodes")
	}
	dir := t.TempDir()
	code, out, errOut := run(t, dir, "", "demo", "-dir", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"indicator TLP:CLEAR  yes, signed by JP  yes, signed by JP  yes, signed by JP",
		"indicator TLP:GREEN  yes, signed by JP  -                  yes, signed by JP",
		"report TLP:AMBER     yes, signed by JP  -                  -",
		"indicator TLP:RED    -                  -                  -",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}
