package cli

import (
	"errors"
	"flag"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"quadshare/internal/auth"
	"quadshare/internal/store"
	"quadshare/internal/store/sqlite"
)

// mustRun runs a command that must succeed.
func mustRun(t *testing.T, dir string, args ...string) (stdout, stderr string) {
	t.Helper()
	code, out, errOut := run(t, dir, "", args...)
	if code != 0 {
		t.Fatalf("%s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out, errOut
}

func openTestStore(t *testing.T, dir string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "quadshare.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// columns splits an aligned table into rows of fields (two or more spaces apart).
func columns(out string) [][]string {
	var rows [][]string
	sep := regexp.MustCompile(` {2,}`)
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		rows = append(rows, sep.Split(strings.TrimRight(line, " "), -1))
	}
	return rows
}

func TestUserAndTokenCommands(t *testing.T) {
	dir := t.TempDir()
	out, _ := mustRun(t, dir, "user", "add", "alice", "--org", "ACSC", "--role", "analyst", "--nation", "au", "--org-kind", "agency")
	if !strings.Contains(out, "created organisation ACSC (AU, agency)") || !strings.Contains(out, "created user alice (analyst) in ACSC") {
		t.Fatalf("user add output:\n%s", out)
	}
	// Flags before the name work too; an existing organisation is reused.
	out, _ = mustRun(t, dir, "user", "add", "--role", "reader", "--org", "ACSC", "bob")
	if strings.Contains(out, "created organisation") {
		t.Fatalf("organisation created twice:\n%s", out)
	}
	mustRun(t, dir, "user", "add", "gridop", "--org", "Grid Co", "--role", "operator", "--nation", "AU", "--org-kind", "operator", "--sector", "Energy", "--sector", "transport", "--sector", "energy")
	fp := strings.Repeat("AB:", 31) + "AB"
	out, _ = mustRun(t, dir, "user", "add", "peer-jp", "--org", "JPCERT node", "--role", "peer", "--nation", "JP", "--org-kind", "partner", "--cert-fingerprint", fp)
	if !strings.Contains(out, strings.Repeat("ab", 32)) {
		t.Fatalf("fingerprint not normalised in output:\n%s", out)
	}

	out, _ = mustRun(t, dir, "user", "list")
	rows := columns(out)
	want := [][]string{
		{"NAME", "ROLE", "ORGANISATION", "NATION", "KIND", "CLEARANCE", "STATUS", "TOKENS", "CERTIFICATE"},
		{"alice", "analyst", "ACSC", "AU", "agency", "OFFICIAL (AU)", "active", "0", "-"},
		{"bob", "reader", "ACSC", "AU", "agency", "OFFICIAL (AU)", "active", "0", "-"},
		{"gridop", "operator", "Grid Co", "AU", "operator", "OFFICIAL (AU)", "active", "0", "-"},
		{"peer-jp", "peer", "JPCERT node", "JP", "partner", "-", "active", "0", "abababababababab…"},
	}
	if len(rows) != len(want) {
		t.Fatalf("user list:\n%s", out)
	}
	for i := range want {
		if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("user list row %d: %q, want %q", i, rows[i], want[i])
		}
	}

	st := openTestStore(t, dir)
	o, err := st.Organisation(t.Context(), "Grid Co")
	if err != nil {
		t.Fatal(err)
	}
	if o.Kind != store.KindOperator || strings.Join(o.Sectors, ",") != "energy,transport" {
		t.Fatalf("Grid Co stored as %+v", o)
	}
	jp, err := st.UserByCert(t.Context(), strings.Repeat("ab", 32))
	if err != nil || jp.Name != "peer-jp" || jp.Role != store.RolePeer {
		t.Fatalf("pinned user: %+v, %v", jp, err)
	}

	// token create prints the token alone on stdout, the warning on stderr.
	out, errOut := mustRun(t, dir, "token", "create", "alice", "--ttl", "48h")
	tok := strings.TrimSpace(out)
	if _, _, err := auth.ParseToken(tok); err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("token create stdout %q: %v", out, err)
	}
	if !strings.Contains(errOut, "not shown again") || strings.Contains(errOut, tok) {
		t.Fatalf("token create stderr: %q", errOut)
	}
	// The token authenticates alice through the real authenticator.
	a := auth.New(st, nil)
	req := httptest.NewRequest("GET", "/taxii2/", nil)
	req.SetBasicAuth("alice", tok)
	p, err := a.Authenticate(req)
	if err != nil || p.User.Name != "alice" || p.Org.Name != "ACSC" {
		t.Fatalf("authenticate with the new token: %v, %v", p, err)
	}
	tokens, err := st.Tokens(t.Context(), p.User.ID)
	if err != nil || len(tokens) != 1 {
		t.Fatalf("tokens: %v, %v", tokens, err)
	}
	if d := tokens[0].ExpiresAt.Sub(tokens[0].CreatedAt); d != 48*time.Hour {
		t.Fatalf("token lifetime %v, want 48h", d)
	}
	out, _ = mustRun(t, dir, "token", "list", "alice")
	if rows := columns(out); len(rows) != 2 || rows[1][0] != tokens[0].ID || rows[1][3] != "active" {
		t.Fatalf("token list:\n%s", out)
	}

	// A second token, revoked alone by id (a pasted whole token names it too).
	out, _ = mustRun(t, dir, "token", "create", "alice")
	tok2 := strings.TrimSpace(out)
	out, _ = mustRun(t, dir, "token", "revoke", tok2)
	if !strings.Contains(out, "revoked token") {
		t.Fatalf("token revoke: %s", out)
	}
	req = httptest.NewRequest("GET", "/taxii2/", nil)
	req.SetBasicAuth("alice", tok2)
	if _, err := a.Authenticate(req); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("revoked token: %v", err)
	}

	// user revoke disables alice and revokes her remaining token.
	out, _ = mustRun(t, dir, "user", "revoke", "alice")
	if !strings.Contains(out, "disabled user alice") || !strings.Contains(out, "revoked 1 token") {
		t.Fatalf("user revoke: %s", out)
	}
	req = httptest.NewRequest("GET", "/taxii2/", nil)
	req.SetBasicAuth("alice", tok)
	if _, err := a.Authenticate(req); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("token of a revoked user: %v", err)
	}
	out, _ = mustRun(t, dir, "user", "revoke", "alice")
	if !strings.Contains(out, "already disabled") || !strings.Contains(out, "revoked 0 tokens") {
		t.Fatalf("second user revoke: %s", out)
	}
	out, _ = mustRun(t, dir, "user", "list")
	if rows := columns(out); !strings.HasPrefix(rows[1][6], "disabled ") {
		t.Fatalf("alice not listed as disabled:\n%s", out)
	}
	if code, _, errOut := run(t, dir, "", "token", "create", "alice"); code != 1 || !strings.Contains(errOut, "disabled") {
		t.Fatalf("token for a disabled user: exit %d, %s", code, errOut)
	}
}

func TestAccountCommandErrors(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, dir, "user", "add", "alice", "--org", "ACSC", "--role", "admin", "--nation", "AU", "--org-kind", "agency")
	mustRun(t, dir, "user", "add", "op", "--org", "Port Co", "--role", "operator", "--nation", "JP", "--org-kind", "operator", "--sector", "ports", "--cert-fingerprint", strings.Repeat("0", 64))
	mustRun(t, dir, "collection", "add", "Inbox", "--alias", "inbox")

	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"user"}, 2, "name a subcommand"},
		{[]string{"user", "frobnicate"}, 2, "unknown subcommand"},
		{[]string{"user", "add"}, 2, "want one user NAME"},
		{[]string{"user", "add", "a", "b", "--org", "ACSC", "--role", "reader"}, 2, "want one user NAME"},
		{[]string{"user", "add", "carol", "--role", "reader"}, 2, "--org is required"},
		{[]string{"user", "add", "carol", "--org", "ACSC", "--role", "root"}, 2, `--role "root"`},
		{[]string{"user", "add", "carol", "--org", "ACSC"}, 2, `--role ""`},
		{[]string{"user", "add", "ca:rol", "--org", "ACSC", "--role", "reader"}, 2, "user name"},
		{[]string{"user", "add", "carol", "--org", "Nowhere", "--role", "reader"}, 2, "give --nation and --org-kind"},
		{[]string{"user", "add", "carol", "--org", "Nowhere", "--role", "reader", "--nation", "Australia", "--org-kind", "agency"}, 2, "--nation"},
		{[]string{"user", "add", "carol", "--org", "Nowhere", "--role", "reader", "--nation", "AU", "--org-kind", "club"}, 2, "--org-kind"},
		{[]string{"user", "add", "carol", "--org", "ACSC", "--role", "operator"}, 2, "must belong to an organisation of kind operator"},
		{[]string{"user", "add", "carol", "--org", "Port Co", "--role", "analyst"}, 2, "must belong to an organisation of kind agency"},
		{[]string{"user", "add", "carol", "--org", "ACSC", "--role", "peer"}, 2, "kind partner"},
		{[]string{"user", "add", "carol", "--org", "ACSC", "--role", "reader", "--nation", "US"}, 2, "exists with nation AU"},
		{[]string{"user", "add", "carol", "--org", "Port Co", "--role", "reader", "--sector", "energy"}, 2, "exists with sectors"},
		{[]string{"user", "add", "alice", "--org", "ACSC", "--role", "reader"}, 1, `user "alice" already exists`},
		{[]string{"user", "add", "carol", "--org", "ACSC", "--role", "reader", "--cert-fingerprint", "xyz"}, 2, "--cert-fingerprint"},
		{[]string{"user", "add", "carol", "--org", "ACSC", "--role", "reader", "--cert-fingerprint", strings.Repeat("0", 64)}, 1, `already pinned to user "op"`},
		{[]string{"user", "add", "carol", "--org", "ACSC", "--role", "reader", "--sector", "Bad/Sector"}, 2, "--sector"},
		{[]string{"user", "add", "carol", "--org", "ACSC", "--role", "reader", "--no-such-flag"}, 2, "flag provided but not defined"},
		{[]string{"user", "revoke", "nobody"}, 1, `user "nobody" does not exist`},
		{[]string{"user", "list", "extra"}, 2, "no arguments"},
		{[]string{"token", "create"}, 2, "want one USER"},
		{[]string{"token", "create", "nobody"}, 1, `user "nobody" does not exist`},
		{[]string{"token", "create", "alice", "--ttl", "0s"}, 2, "--ttl"},
		{[]string{"token", "create", "alice", "--ttl", "9000h"}, 2, "--ttl"},
		{[]string{"token", "create", "alice", "--ttl", "soon"}, 2, "invalid value"},
		{[]string{"token", "revoke", "0000000000000000"}, 1, "does not exist"},
		{[]string{"collection", "add"}, 2, "want one TITLE"},
		{[]string{"collection", "add", "  "}, 2, "title"},
		{[]string{"collection", "add", "X", "--alias", "Has Space"}, 2, "--alias"},
		{[]string{"collection", "add", "X", "--alias", "inbox"}, 1, "already exists"},
		{[]string{"collection", "add", "X", "--owner-org", "Nowhere"}, 1, `organisation "Nowhere" does not exist`},
		{[]string{"collection", "add", "X", "--grant", "ACSC"}, 2, "want SUBJECT=r|w|rw"},
		{[]string{"collection", "add", "X", "--grant", "ACSC=x"}, 2, `rights "x"`},
		{[]string{"collection", "add", "X", "--grant", "Nowhere=r"}, 1, `organisation "Nowhere" does not exist`},
		{[]string{"collection", "add", "X", "--grant", "user:nobody=r"}, 1, `user "nobody" does not exist`},
		{[]string{"collection", "add", "X", "--grant", "sector:=r"}, 2, "sector name"},
		{[]string{"collection", "grant", "inbox"}, 2, "at least one SUBJECT"},
		{[]string{"collection", "grant", "nothing", "ACSC=r"}, 1, `collection "nothing" does not exist`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, errOut := run(t, dir, "", tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, errOut, tt.code, tt.want)
			}
		})
	}
	// None of the failures left anything behind.
	out, _ := mustRun(t, dir, "user", "list")
	if n := len(columns(out)); n != 3 {
		t.Fatalf("%d rows after failed adds:\n%s", n, out)
	}
	out, _ = mustRun(t, dir, "collection", "list")
	if n := len(columns(out)); n != 2 {
		t.Fatalf("%d rows after failed collection adds:\n%s", n, out)
	}
	st := openTestStore(t, dir)
	if orgs, err := st.Organisations(t.Context()); err != nil || len(orgs) != 2 {
		t.Fatalf("organisations after failed adds: %v, %v", orgs, err)
	}
}

func TestCollectionCommands(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, dir, "user", "add", "analyst1", "--org", "ACSC", "--role", "analyst", "--nation", "AU", "--org-kind", "agency")
	mustRun(t, dir, "user", "add", "gridop", "--org", "Grid Co", "--role", "operator", "--nation", "AU", "--org-kind", "operator", "--sector", "energy")
	mustRun(t, dir, "user", "add", "waterop", "--org", "Water Co", "--role", "operator", "--nation", "AU", "--org-kind", "operator", "--sector", "water")
	mustRun(t, dir, "user", "add", "peer-us", "--org", "CISA node", "--role", "peer", "--nation", "US", "--org-kind", "partner")

	out, _ := mustRun(t, dir, "collection", "add", "Grid Co inbox", "--alias", "grid-inbox", "--owner-org", "Grid Co", "--description", "reports from Grid Co", "--grant", "ACSC=rw")
	if !strings.Contains(out, `created collection "Grid Co inbox"`) || !strings.Contains(out, "granted organisation ACSC: rw") {
		t.Fatalf("collection add:\n%s", out)
	}
	mustRun(t, dir, "collection", "add", "--grant", "sector:Energy=r", "Energy advisories", "--alias", "energy", "--grant", "user:peer-us=w")
	mustRun(t, dir, "collection", "grant", "energy", "org:Water Co=r", "user:peer-us=rw")

	out, _ = mustRun(t, dir, "collection", "list")
	rows := columns(out)
	if len(rows) != 3 || strings.Join(rows[0], "|") != "ID|ALIAS|TITLE|OWNER|GRANTS" {
		t.Fatalf("collection list:\n%s", out)
	}
	byAlias := map[string][]string{}
	for _, r := range rows[1:] {
		byAlias[r[1]] = r
	}
	if g := byAlias["grid-inbox"]; g[2] != "Grid Co inbox" || g[3] != "Grid Co" || g[4] != "org:ACSC=rw" {
		t.Errorf("grid-inbox row %q", g)
	}
	if g := byAlias["energy"]; g[3] != "-" || g[4] != "org:Water Co=r sector:energy=r user:peer-us=rw" {
		t.Errorf("energy row %q", g)
	}

	// What the commands wrote is what the authorizer reads.
	st := openTestStore(t, dir)
	a := auth.New(st, nil)
	rights := func(user, coll string) auth.Rights {
		t.Helper()
		u, err := st.User(t.Context(), user)
		if err != nil {
			t.Fatal(err)
		}
		o, err := st.Organisation(t.Context(), u.Org)
		if err != nil {
			t.Fatal(err)
		}
		c, err := st.Collection(t.Context(), coll)
		if err != nil {
			t.Fatal(err)
		}
		r, err := a.Rights(t.Context(), &auth.Principal{User: u, Org: o}, c)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	grid, _ := st.Organisation(t.Context(), "Grid Co")
	for _, tt := range []struct {
		user, coll string
		want       auth.Rights
	}{
		{"gridop", "grid-inbox", auth.Rights{Read: true, Write: true, OnlySubmitter: grid.ID}},
		{"gridop", "energy", auth.Rights{Read: true}},
		{"waterop", "grid-inbox", auth.Rights{}},
		{"waterop", "energy", auth.Rights{Read: true}},
		{"peer-us", "energy", auth.Rights{Read: true, Write: true}},
		{"peer-us", "grid-inbox", auth.Rights{}},
		{"analyst1", "grid-inbox", auth.Rights{Read: true, Write: true}},
		{"analyst1", "energy", auth.Rights{Read: true}},
	} {
		if got := rights(tt.user, tt.coll); got != tt.want {
			t.Errorf("%s on %s: %+v, want %+v", tt.user, tt.coll, got, tt.want)
		}
	}
	// Setting a grant to none takes the right away.
	mustRun(t, dir, "collection", "grant", "energy", "sector:energy=none")
	if got := rights("gridop", "energy"); got.Read {
		t.Errorf("gridop still reads energy after the grant was removed: %+v", got)
	}
}

func TestParseMixed(t *testing.T) {
	for _, tt := range []struct {
		args []string
		pos  string
		x    string
	}{
		{[]string{"a", "-x", "1", "b"}, "a b", "1"},
		{[]string{"-x", "1", "a", "b"}, "a b", "1"},
		{[]string{"a", "b", "--x=1"}, "a b", "1"},
		{[]string{"a", "--", "-x", "b"}, "a -x b", ""},
		{[]string{}, "", ""},
	} {
		e := &Env{Stderr: new(strings.Builder), Getenv: func(string) string { return "" }}
		fs, cf := flags(e, "t", "")
		x := fs.String("x", "", "")
		_, pos, err := parseMixed(e, fs, cf, tt.args)
		if err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		if strings.Join(pos, " ") != tt.pos || *x != tt.x {
			t.Errorf("%q: positional %q, x %q; want %q, %q", tt.args, pos, *x, tt.pos, tt.x)
		}
	}
	e := &Env{Stderr: new(strings.Builder), Getenv: func(string) string { return "" }}
	fs, cf := flags(e, "t", "")
	if _, _, err := parseMixed(e, fs, cf, []string{"a", "-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
}
