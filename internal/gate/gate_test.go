package gate

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/policy"
	"quadshare/internal/stix"
	"quadshare/internal/store"
	"quadshare/internal/store/sqlite"
)

const (
	agencyOrg = "0f5a6c2e-8a53-4b0e-9f7c-1d2e3f405162"
	tlpGreen  = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
	tlpRed    = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
)

func testEngine(t testing.TB, mutate func(*policy.Config)) *policy.Engine {
	t.Helper()
	pc := policy.Config{Format: 1, Revision: 1, Nation: "AU", Agency: Identity(agencyOrg),
		DefaultTLP: "amber", DefaultLevel: 1, NodeLevel: 5,
		Redaction: policy.RedactionConfig{Properties: []string{"description"}},
		Agreements: []policy.Agreement{{Partner: "JP", Version: 1, ObjectTypes: []string{"indicator"},
			Sectors: []string{"*"}, MaxTLP: "green", MaxLevel: 2}},
	}
	if mutate != nil {
		mutate(&pc)
	}
	e, err := policy.New(pc, policy.DefaultScales())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// auditKey signs the test stores' checkpoints.
var auditPub, auditKey, _ = ed25519.GenerateKey(nil)

func openStore(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "q.db"), sqlite.WithAuditKey(auditKey))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// entry is a stored-like entry of an indicator with one marking and a description.
func entry(t testing.TB, n int, marking, description string) store.Entry {
	t.Helper()
	raw := fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--%08x-0000-4000-8000-000000000000",`+
		`"created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"i%d",`+
		`"description":%q,"pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix",`+
		`"valid_from":"2026-01-01T00:00:00Z","created_by_ref":%q,"object_marking_refs":[%q]}`,
		n, n, description, Identity(agencyOrg), marking)
	o, err := stix.Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return store.Entry{Object: o, DateAdded: time.Now()}
}

func partnerJP() Disclosure {
	return Disclosure{Recipient: policy.Recipient{Kind: policy.KindPartner, Nation: "JP"},
		Actor: "peer:JP", Subject: "collection:test", Endpoint: "objects"}
}

func TestReleaseDecidesRedactsAndRecords(t *testing.T) {
	st := openStore(t)
	g, err := New(testEngine(t, nil), st)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	green := entry(t, 1, tlpGreen, "call bob@grid.example")
	red := entry(t, 2, tlpRed, "secret")
	out, err := g.Release(ctx, partnerJP(), []store.Entry{green, red})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].Object.ID != green.Object.ID {
		t.Fatalf("released %d entries, want only the TLP:GREEN one", len(out))
	}
	if strings.Contains(string(out[0].Object.Raw), "bob@") {
		t.Fatalf("an e-mail address left the nation: %s", out[0].Object.Raw)
	}
	if strings.Contains(out[0].Object.Description, "bob@") {
		t.Fatalf("the entry's description field still holds what the JSON lost: %q", out[0].Object.Description)
	}
	if !strings.Contains(string(green.Object.Raw), "bob@") {
		t.Fatal("Release changed the caller's entry")
	}
	recs, err := st.AuditRecords(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, r := range recs {
		if r.Kind == audit.Disclosure {
			rules = append(rules, r.Rule)
			for _, o := range r.Objects {
				if o.ID == red.Object.ID {
					t.Fatalf("the withheld object is recorded as disclosed: %+v", r)
				}
			}
		}
	}
	if strings.Join(rules, ",") != policy.RuleScrub+",redacted" {
		t.Fatalf("disclosure records with rules %v, want the scrub and its redaction", rules)
	}
	rep, err := audit.Verify(ctx, store.AuditSource(st), auditPub)
	if err != nil || !rep.OK() {
		t.Fatalf("trail: %v %v", rep, err)
	}
}

// Preview yields what Release would send, as it would send it, and records
// nothing.
func TestPreviewDecidesAndRedactsWithoutRecording(t *testing.T) {
	st := openStore(t)
	g, err := New(testEngine(t, nil), st)
	if err != nil {
		t.Fatal(err)
	}
	red := entry(t, 1, tlpRed, "secret")
	green := entry(t, 2, tlpGreen, "call bob@grid.example")
	before := lastSeq(t, st)
	var got []int
	for i, en := range g.Preview(partnerJP().Recipient, []store.Entry{red, green}) {
		got = append(got, i)
		if strings.Contains(string(en.Object.Raw), "bob@") || strings.Contains(en.Object.Description, "bob@") {
			t.Errorf("the preview is not redacted: %s", en.Object.Raw)
		}
	}
	if len(got) != 1 || got[0] != 1 {
		t.Fatalf("preview yields %v, want only the TLP:GREEN entry, index 1", got)
	}
	if lastSeq(t, st) != before {
		t.Fatal("Preview recorded a disclosure")
	}
	if !strings.Contains(string(green.Object.Raw), "bob@") {
		t.Fatal("Preview changed the caller's entry")
	}
}

func TestReleaseNothingWhenAllDenied(t *testing.T) {
	st := openStore(t)
	g, _ := New(testEngine(t, nil), st)
	out, err := g.Release(context.Background(), partnerJP(), []store.Entry{entry(t, 3, tlpRed, "x")})
	if err != nil || len(out) != 0 {
		t.Fatalf("released %d, %v", len(out), err)
	}
	recs, _ := st.AuditRecords(context.Background(), 0, 100)
	for _, r := range recs {
		if r.Kind == audit.Disclosure {
			t.Fatalf("a disclosure was recorded though nothing left: %+v", r)
		}
	}
}

// TestReleaseKeepsOrderAndRecordsWhatLeft: a page where the first object is
// withheld after others went out, or one in the middle, or none. What leaves
// keeps its order, the caller's page is unchanged, and the trail names exactly
// the versions sent.
func TestReleaseKeepsOrderAndRecordsWhatLeft(t *testing.T) {
	st := openStore(t)
	g, _ := New(testEngine(t, nil), st)
	ctx := context.Background()
	page := []store.Entry{entry(t, 10, tlpGreen, "a"), entry(t, 11, tlpRed, "b"), entry(t, 12, tlpGreen, "c"), entry(t, 13, tlpRed, "d")}
	before := fmt.Sprint(page)
	partner := Disclosure{Recipient: policy.Recipient{Kind: policy.KindPartner, Nation: "JP"}, Actor: "peer:JP", Subject: "collection:test"}
	own := Disclosure{Recipient: policy.Recipient{Kind: policy.KindUser, Nation: "AU", Org: Identity(agencyOrg),
		OrgKind: policy.OrgAgency, User: "u", Clearance: 3}, Actor: "user:u", Subject: "collection:test"}
	for _, tc := range []struct {
		name string
		d    Disclosure
		in   []store.Entry
		want []int // indices of page
	}{
		{"partner, withheld in the middle", partner, page, []int{0, 2}},
		{"partner, the first withheld", partner, page[1:3], []int{2}},
		{"own agency, all sent as they are", own, []store.Entry{page[0], page[2]}, []int{0, 2}},
		{"own agency, TLP:RED withheld last", own, page[:2], []int{0}},
	} {
		from := lastSeq(t, st)
		out, err := g.Release(ctx, tc.d, tc.in)
		if err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for _, en := range out {
			got = append(got, en.Object.ID)
		}
		for _, i := range tc.want {
			want = append(want, page[i].Object.ID)
		}
		recs, _ := st.AuditRecords(ctx, from, 100)
		var recorded []string
		for _, r := range recs {
			if r.Rule == "redacted" {
				continue
			}
			for _, o := range r.Objects {
				recorded = append(recorded, o.ID)
				if o.Version != "2026-01-01T00:00:00.000Z" {
					t.Errorf("%s: version %q recorded", tc.name, o.Version)
				}
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprint(recorded) != fmt.Sprint(want) {
			t.Errorf("%s: released %v, recorded %v, want %v", tc.name, got, recorded, want)
		}
		if fmt.Sprint(page) != before {
			t.Fatalf("%s: Release changed the caller's page", tc.name)
		}
	}
}

// A page big enough to be decided on several cores releases what Preview, which
// decides one entry after another, yields: the same entries, redacted alike, in
// the same order.
func TestReleaseBigPageAsPreview(t *testing.T) {
	g, _ := New(testEngine(t, nil), openStore(t))
	var page []store.Entry
	for i := range 3*decideChunk + 7 {
		marking := tlpGreen
		if i%3 == 1 {
			marking = tlpRed
		}
		page = append(page, entry(t, i, marking, fmt.Sprintf("call bob%d@grid.example", i)))
	}
	var want []string
	for _, en := range g.Preview(partnerJP().Recipient, page) {
		want = append(want, string(en.Object.Raw))
	}
	out, err := g.Release(context.Background(), partnerJP(), page)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, en := range out {
		got = append(got, string(en.Object.Raw))
	}
	if len(want) != 2*decideChunk+5 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("released %d entries unlike the %d previewed", len(got), len(want))
	}
}

func lastSeq(t *testing.T, st store.Store) int64 {
	t.Helper()
	recs, err := st.AuditRecords(context.Background(), 0, store.MaxAuditPage)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 {
		return 0
	}
	return recs[len(recs)-1].Seq
}

func TestSetPolicyTakesEffect(t *testing.T) {
	st := openStore(t)
	g, _ := New(testEngine(t, nil), st)
	e := entry(t, 4, tlpGreen, "")
	if out, _ := g.Release(context.Background(), partnerJP(), []store.Entry{e}); len(out) != 1 {
		t.Fatal("the agreement lets TLP:GREEN indicators go to JP")
	}
	g.SetPolicy(testEngine(t, func(pc *policy.Config) { pc.Revision = 2; pc.Agreements = nil }))
	if out, _ := g.Release(context.Background(), partnerJP(), []store.Entry{e}); len(out) != 0 {
		t.Fatal("without an agreement nothing goes to JP")
	}
}

func TestRecipientOf(t *testing.T) {
	scales := policy.DefaultScales()
	op := store.Organisation{ID: "op", Nation: "AU", Kind: store.KindOperator, Sectors: []string{"energy"}}
	r := RecipientOf(store.User{ID: "u", Role: store.RoleOperator, Clearance: "PROTECTED"}, op, scales)
	if r.Kind != policy.KindUser || r.OrgKind != policy.OrgOperator || r.Clearance != 3 || r.Org != "identity--op" ||
		r.Sectors != policy.SectorOf("energy") {
		t.Fatalf("operator: %+v", r)
	}
	// A Japanese national cleared 秘 works for an Australian agency: JP scale, AU class.
	ag := store.Organisation{ID: "ag", Nation: "AU", Kind: store.KindAgency}
	r = RecipientOf(store.User{ID: "v", Role: store.RoleAnalyst, Nationality: "JP", Clearance: "秘"}, ag, scales)
	if r.Nation != "AU" || r.Clearance != 3 {
		t.Fatalf("foreign national: %+v", r)
	}
	peer := store.Organisation{ID: "p", Nation: "JP", Kind: store.KindPartner}
	if r = RecipientOf(store.User{ID: "w", Role: store.RolePeer}, peer, scales); r.Kind != policy.KindPartner || r.Nation != "JP" {
		t.Fatalf("peer: %+v", r)
	}
	if r = RecipientOf(store.User{ID: "x", Clearance: "NO SUCH LABEL"}, ag, scales); r.Clearance != 0 {
		t.Fatalf("an unknown label clears nothing: %+v", r)
	}
}

// BenchmarkRelease measures the gate on a page of 100 objects read by our own
// agency's analyst (decide and record) and by a partner (decide, scrub, record).
func BenchmarkRelease(b *testing.B) {
	st := openStore(b)
	g, _ := New(testEngine(b, nil), st)
	page := make([]store.Entry, 100)
	for i := range page {
		page[i] = entry(b, i, tlpGreen, "a plain description")
	}
	ctx := context.Background()
	own := Disclosure{Recipient: policy.Recipient{Kind: policy.KindUser, Nation: "AU", Org: Identity(agencyOrg),
		OrgKind: policy.OrgAgency, User: "u", Clearance: 3}, Actor: "user:u", Subject: "collection:test", Endpoint: "objects"}
	for _, bc := range []struct {
		name string
		d    Disclosure
	}{{"own-agency", own}, {"partner", partnerJP()}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				out, err := g.Release(ctx, bc.d, page)
				if err != nil || len(out) != len(page) {
					b.Fatalf("released %d: %v", len(out), err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(page)), "ns/object")
		})
	}
}

// Visible, which guards a delete, agrees with Release: an entry whose redaction
// fails (here, removing the pattern an indicator must have, under a granular
// TLP:RED marking) is not sent, so it is not visible either.
func TestVisibleAsReleased(t *testing.T) {
	g, _ := New(testEngine(t, nil), openStore(t))
	en := entry(t, 1, tlpGreen, "")
	raw := strings.Replace(string(en.Object.Raw), `"object_marking_refs"`,
		`"granular_markings":[{"marking_ref":"`+tlpRed+`","selectors":["pattern"]}],"object_marking_refs"`, 1)
	o, err := stix.Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	en.Object = o
	out, err := g.Release(context.Background(), partnerJP(), []store.Entry{en})
	if err != nil {
		t.Fatal(err)
	}
	if vis := g.Visible(partnerJP().Recipient, []store.Entry{en}); len(out) != 0 || len(vis) != 0 {
		t.Fatalf("released %d, visible %d of an entry whose redaction fails; want neither", len(out), len(vis))
	}
}

// Granular content that leaves a list item invalid takes the item whole, with the
// other markings' selectors renumbered, so that the rest of the object goes; an
// item still valid without it keeps the rest.
func TestReleaseRedactsWholeItemWhenNeeded(t *testing.T) {
	g, _ := New(testEngine(t, nil), openStore(t))
	release := func(firstRef string) map[string]any {
		t.Helper()
		en := entry(t, 1, tlpGreen, "")
		raw := strings.Replace(string(en.Object.Raw), `"object_marking_refs"`,
			`"external_references":[`+firstRef+`,{"source_name":"cve","external_id":"CVE-2024-0001"}],`+
				`"granular_markings":[{"marking_ref":"`+tlpRed+`","selectors":["external_references.[0].url"]},`+
				`{"marking_ref":"`+tlpGreen+`","selectors":["external_references.[1].external_id"]}],"object_marking_refs"`, 1)
		o, err := stix.Parse([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		en.Object = o
		out, err := g.Release(context.Background(), partnerJP(), []store.Entry{en})
		if err != nil || len(out) != 1 {
			t.Fatalf("released %d, %v; want the object redacted", len(out), err)
		}
		var got map[string]any
		if err := json.Unmarshal(out[0].Object.Raw, &got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	got := release(`{"source_name":"vendor","url":"https://intra.example/x"}`)
	refs := got["external_references"].([]any)
	gm, _ := json.Marshal(got["granular_markings"])
	if len(refs) != 1 || refs[0].(map[string]any)["external_id"] != "CVE-2024-0001" ||
		string(gm) != `[{"marking_ref":"`+tlpGreen+`","selectors":["external_references.[0].external_id"]}]` {
		t.Fatalf("a reference left with only its source_name: references %v, granular markings %s", refs, gm)
	}
	got = release(`{"source_name":"vendor","external_id":"V-1","url":"https://intra.example/x"}`)
	if refs := got["external_references"].([]any); len(refs) != 2 || refs[0].(map[string]any)["external_id"] != "V-1" {
		t.Fatalf("a reference still valid without its url: %v; want it kept without the url", refs)
	}
}
