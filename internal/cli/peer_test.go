package cli

import (
	"regexp"
	"strings"
	"testing"
)

// Two nodes' data directories: each prints its identity, the other adds it as a peer
// from that line; the peer's user is created with its certificate pinned.
func TestPeerCommands(t *testing.T) {
	jp, au := t.TempDir(), t.TempDir()
	mustRun(t, jp, "policy", "init", "--nation", "JP", "--agency", "JPCERT CC")
	mustRun(t, au, "policy", "init", "--nation", "AU", "--agency", "ACSC")
	self, _ := mustRun(t, jp, "peer", "self")
	m := regexp.MustCompile(`quadshare peer add (\S+) --nation (\S+) --url (\S+) --fingerprint (\S+) --public-key (\S+)`).FindStringSubmatch(self)
	if m == nil {
		t.Fatalf("peer self: %s", self)
	}
	if m[1] != "jp-node" || m[2] != "JP" || !strings.HasSuffix(m[3], "/api/") {
		t.Fatalf("peer self: %v", m)
	}
	// the same identity on a second call (key and certificate kept)
	if again, _ := mustRun(t, jp, "peer", "self"); again != self {
		t.Errorf("identity changed:\n%s\n%s", self, again)
	}
	out, _ := mustRun(t, au, "peer", "add", m[1], "--nation", m[2], "--url", m[3], "--fingerprint", m[4], "--public-key", m[5])
	if !strings.Contains(out, "peer jp-node (JP) added") || !strings.Contains(out, "user peer-jp-node") {
		t.Errorf("add: %s", out)
	}
	if code, _, errOut := run(t, au, "", "peer", "add", m[1], "--nation", m[2], "--url", m[3], "--fingerprint", m[4], "--public-key", m[5]); code == 0 {
		t.Errorf("added twice: %s", errOut)
	}
	for _, bad := range [][]string{
		{"peer", "add", "x", "--nation", "JP", "--url", "http://h/api/", "--fingerprint", m[4], "--public-key", m[5]},
		{"peer", "add", "x", "--nation", "JP", "--url", m[3], "--fingerprint", "12", "--public-key", m[5]},
		{"peer", "add", "x", "--nation", "JP", "--url", m[3], "--fingerprint", m[4], "--public-key", "AAAA"},
		{"peer", "add", "x"},
	} {
		if code, _, _ := run(t, au, "", bad...); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
	if out, _ := mustRun(t, au, "peer", "list"); !strings.Contains(out, "jp-node") || !strings.Contains(out, m[3]) {
		t.Errorf("list: %s", out)
	}
	if out, _ := mustRun(t, au, "user", "list"); !strings.Contains(out, "peer-jp-node") || !strings.Contains(out, "partner node JP") {
		t.Errorf("user list: %s", out)
	}
	if out, _ := mustRun(t, au, "peer", "status"); !strings.Contains(out, "QUEUE") || !strings.Contains(out, "jp-node") || !strings.Contains(out, "never") {
		t.Errorf("status: %s", out)
	}
	mustRun(t, au, "peer", "remove", "jp-node")
	if out, _ := mustRun(t, au, "peer", "list"); strings.Contains(out, "jp-node") {
		t.Errorf("still listed: %s", out)
	}
	if code, _, _ := run(t, au, "", "peer", "remove", "jp-node"); code != 1 {
		t.Errorf("remove twice: exit %d", code)
	}
	// added again with the same certificate: its user is the same
	out, _ = mustRun(t, au, "peer", "add", m[1], "--nation", m[2], "--url", m[3], "--fingerprint", m[4], "--public-key", m[5])
	if !strings.Contains(out, "user peer-jp-node") {
		t.Errorf("add again: %s", out)
	}
	// a certificate pinned for a user that is not a peer cannot be a peer's
	mustRun(t, au, "user", "revoke", "peer-jp-node")
	if code, _, errOut := run(t, au, "", "peer", "add", "again", "--nation", m[2], "--url", m[3], "--fingerprint", m[4], "--public-key", m[5]); code == 0 || !strings.Contains(errOut, "disabled") {
		t.Errorf("add with a disabled user's certificate: %d %s", code, errOut)
	}
}
