package federation_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/auth"
	"quadshare/internal/federation"
	"quadshare/internal/policy"
	"quadshare/internal/provenance"
	"quadshare/internal/report"
	"quadshare/internal/reportapi"
	"quadshare/internal/store"
	"quadshare/internal/uuid"
)

// reporting is the report API of a test node as its users call it: real HTTP
// over the node's TLS, HTTP Basic with API tokens.
type reporting struct {
	t      *testing.T
	tn     *testNode
	c      *http.Client
	tokens map[string]string // user name -> API token
	orgs   map[string]store.Organisation
}

func newReporting(t *testing.T, tn *testNode) *reporting {
	roots := x509.NewCertPool()
	roots.AddCert(tn.n.TLS.CACert)
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	t.Cleanup(c.CloseIdleConnections)
	agency, err := tn.st.Organisation(context.Background(), "national agency "+tn.nation)
	if err != nil {
		t.Fatal(err)
	}
	return &reporting{t: t, tn: tn, c: c, tokens: map[string]string{}, orgs: map[string]store.Organisation{"agency": agency}}
}

// operator registers an operator organisation of the node's nation for reporting.
func (r *reporting) operator(name, sector, size, consent string) {
	r.t.Helper()
	ctx := context.Background()
	o := store.Organisation{ID: uuid.New(), Name: name, Nation: r.tn.nation, Kind: store.KindOperator, Sectors: []string{sector}}
	if err := r.tn.st.PutOrganisation(ctx, o); err != nil {
		r.t.Fatal(err)
	}
	at := time.Now().Add(-24 * time.Hour).UTC().Truncate(time.Millisecond)
	if err := r.tn.st.PutOperator(ctx, store.OperatorProfile{Org: o.ID, Sectors: []string{sector}, SizeBand: size,
		Consent: consent, Created: at, Modified: at}); err != nil {
		r.t.Fatal(err)
	}
	r.orgs[name] = o
}

// user adds a user of the named organisation with an API token.
func (r *reporting) user(name, org string, role store.Role) {
	r.t.Helper()
	ctx := context.Background()
	u := store.User{ID: uuid.New(), Name: name, Org: r.orgs[org].ID, Role: role, CreatedAt: time.Now()}
	if err := r.tn.st.CreateUser(ctx, u); err != nil {
		r.t.Fatal(err)
	}
	tok, _, err := auth.CreateToken(ctx, r.tn.st, u.ID, time.Hour)
	if err != nil {
		r.t.Fatal(err)
	}
	r.tokens[name] = tok
}

// post sends a JSON body to path under the report API as user, and fails the test
// unless the answer has the status.
func (r *reporting) post(user, path string, body any, status int) []byte {
	r.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		r.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, r.tn.n.URL+strings.TrimSuffix(reportapi.Prefix, "/")+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(user, r.tokens[user])
	resp, err := r.c.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		r.t.Fatalf("POST %s as %s: %d, want %d: %s", path, user, resp.StatusCode, status, out)
	}
	return out
}

// submit files a report as an operator user and returns the incident's STIX id.
func (r *reporting) submit(user, title, description, tlp string) (reportID, incident string) {
	r.t.Helper()
	doc := map[string]any{
		"title": title, "description": description,
		"detected_at": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339),
		"impact":      "significant", "ongoing": true, "tlp": tlp,
		"indicators": []map[string]string{{"kind": "domain", "value": "c2-" + strings.ToLower(tlp) + ".attacker.example"}},
		"techniques": []string{"T1486"},
	}
	var rc report.Receipt
	if err := json.Unmarshal(r.post(user, "/reports", doc, http.StatusCreated), &rc); err != nil || rc.ReportID == "" {
		r.t.Fatalf("receipt: %v", err)
	}
	return rc.ReportID, derived("incident", rc.ReportID+"/incident")
}

// release triages a report and releases it to collection, as an analyst.
func (r *reporting) release(analyst, reportID, collection string) {
	r.t.Helper()
	r.post(analyst, "/reports/"+reportID+"/notes", map[string]string{"text": "Confirmed with the operator.", "status": "triaged"}, http.StatusOK)
	r.post(analyst, "/reports/"+reportID+"/release", map[string]string{"collection": collection}, http.StatusOK)
}

// derived is the id of a STIX object made from a report (docs/reporting.md, Ids).
func derived(typ, name string) string {
	return typ + "--" + uuid.V5(uuid.Must(report.Namespace), []byte(name))
}

// operatorIdentity is the STIX identity of an operator organisation in its reports.
func operatorIdentity(org store.Organisation) string { return derived("identity", "operator/"+org.ID) }

// settled reports whether tn has walked every collection it shares up to its last
// entry for the peer and the peer acknowledged all it was sent: until something new
// is added, nothing more will go to that peer. Operators' inboxes are not shared.
func (tn *testNode) settled(peer string) bool {
	tn.t.Helper()
	ctx := context.Background()
	cols, err := tn.st.Collections(ctx)
	if err != nil {
		tn.t.Fatal(err)
	}
	for _, c := range cols {
		if c.OwnerOrg != "" {
			continue
		}
		last, err := tn.st.LastAdded(ctx, c.ID)
		if err != nil {
			tn.t.Fatal(err)
		}
		if last.IsZero() {
			continue
		}
		v, err := tn.st.PeerCursor(ctx, peer, store.OutboxCursorFill+c.ID)
		if err != nil {
			tn.t.Fatal(err)
		}
		cur, err := time.Parse(time.RFC3339Nano, v)
		if err != nil || cur.Before(last) {
			return false
		}
	}
	p, err := tn.st.Peer(ctx, peer)
	if err != nil {
		tn.t.Fatal(err)
	}
	return p.Depth == 0
}

// trail returns the whole audit trail of a node.
func (tn *testNode) trail() []audit.Record {
	tn.t.Helper()
	var out []audit.Record
	var after int64
	for {
		recs, err := tn.st.AuditRecords(context.Background(), after, 1000)
		if err != nil {
			tn.t.Fatal(err)
		}
		out = append(out, recs...)
		if len(recs) < 1000 {
			return out
		}
		after = recs[len(recs)-1].Seq
	}
}

// recorded reports whether a record of kind by actor, with rule when not "", names
// the object id.
func recorded(recs []audit.Record, kind audit.Kind, actor, rule, id string) bool {
	return slices.ContainsFunc(recs, func(r audit.Record) bool {
		return r.Kind == kind && r.Actor == actor && (rule == "" || r.Rule == rule) &&
			slices.ContainsFunc(r.Objects, func(o audit.ObjectRef) bool { return o.ID == id })
	})
}

// TestReleasedReportReachesPartners follows incident reports from an operator at
// AU to the partner nodes. Operators file through the report API; an analyst
// triages and releases to the collection AU shares. JP's agreement allows up to
// TLP:AMBER and naming operators who consented; US's up to TLP:GREEN without
// naming; AU has no agreement with IN.
//
//   - A released TLP:GREEN report of an operator who consented to be named to
//     government only reaches JP and US anonymised: the agency in place of the
//     operator, only its sector and size band kept, its identity withheld, and
//     personal data scrubbed from the description; signed by AU; the disclosure
//     recorded at AU and the receipt at JP.
//   - One of an operator who consented to partners is named to JP, not to US.
//   - Nothing reaches IN; a released TLP:RED report and a released TLP:AMBER one
//     (AMBER leaves the nation only when our agency authored it) reach nobody; a
//     report filed and triaged but not released reaches nobody.
func TestReleasedReportReachesPartners(t *testing.T) {
	au := newTestNode(t, "AU", "JP=amber,attributed", "US=green")
	jp := newTestNode(t, "JP", "AU")
	us := newTestNode(t, "US", "AU")
	in := newTestNode(t, "IN", "AU")
	mesh(t, au, jp)
	mesh(t, au, us)
	mesh(t, au, in)

	r := newReporting(t, au)
	r.operator("Grid Co", "energy", "large", "government")
	r.operator("Harbour Water", "water-sewerage", "medium", "partners")
	r.user("ana", "agency", store.RoleAnalyst)
	r.user("grid", "Grid Co", store.RoleOperator)
	r.user("water", "Harbour Water", store.RoleOperator)
	if err := au.st.PutGrant(context.Background(), store.Grant{Collection: au.shared.ID, Subject: r.orgs["agency"].ID, Read: true, Write: true}); err != nil {
		t.Fatal(err)
	}

	// AU's workers for its peers run before anything is filed, so that the time
	// measured below is that of the release's way out.
	waitFor(t, 15*time.Second, "AU exchanging with its peers", func() bool {
		for _, name := range []string{"node-JP", "node-US", "node-IN"} {
			if p, err := au.st.Peer(context.Background(), name); err != nil || p.LastSuccess.IsZero() {
				return false
			}
		}
		return true
	})

	const contact = "j.citizen@gridco.example"
	greenID, green := r.submit("grid", "Substation control network intrusion", "Unknown host on the control network; call "+contact+".", "green")
	namedID, named := r.submit("water", "Pump station ransomware", "Historian encrypted.", "green")
	redID, red := r.submit("grid", "Insider at the control room", "Names a person.", "red")
	amberID, amber := r.submit("grid", "Phishing of the grid operators", "Targeted e-mails.", "amber")
	heldID, held := r.submit("grid", "Scanning of the corporate network", "Triaged, not released.", "green")
	r.post("ana", "/reports/"+heldID+"/notes", map[string]string{"status": "triaged"}, http.StatusOK)
	start := time.Now()
	for _, id := range []string{greenID, namedID, redID, amberID} {
		r.release("ana", id, au.shared.Alias)
	}
	waitFor(t, 15*time.Second, "the released TLP:GREEN reports at JP and US", func() bool {
		j, u := jp.inbound(), us.inbound()
		return j[green] != nil && j[named] != nil && u[green] != nil && u[named] != nil
	})
	t.Logf("released reports at JP and US %v after the releases", time.Since(start))
	// AU has walked everything it holds for each partner and each acknowledged it:
	// what has not arrived will not.
	waitFor(t, 15*time.Second, "AU has queued and sent everything", func() bool {
		return au.settled("node-JP") && au.settled("node-US") && au.settled("node-IN")
	})

	grid, water := r.orgs["Grid Co"], r.orgs["Harbour Water"]
	gridIdentity, waterIdentity := operatorIdentity(grid), operatorIdentity(water)
	keys := func(id string) (ed25519.PublicKey, string, bool) {
		if id == provenance.KeyID(au.pub) {
			return au.pub, "AU", true
		}
		return nil, "", false
	}
	for _, p := range []*testNode{jp, us} {
		got := p.inbound()
		for what, id := range map[string]string{"the TLP:RED report": red, "the TLP:AMBER report": amber, "the report not released": held} {
			if got[id] != nil {
				t.Errorf("%s holds the incident of %s", p.nation, what)
			}
		}
		// Anonymised by default: the agency stands for the operator everywhere.
		inc := object(t, got[green])
		if inc["created_by_ref"] != au.agency {
			t.Errorf("%s: the incident's created_by_ref is %v, want AU's agency %s", p.nation, inc["created_by_ref"], au.agency)
		}
		rep := reporter(t, inc)
		if len(rep) != 2 || rep["sector"] != "energy" || rep["size_band"] != "large" {
			t.Errorf("%s: the reporter is %v, want only its sector and size band", p.nation, rep)
		}
		if d, _ := inc["description"].(string); strings.Contains(d, contact) || !strings.Contains(d, "[redacted:email]") {
			t.Errorf("%s: description not scrubbed: %q", p.nation, d)
		}
		if ext, err := provenance.Verify(got[green], keys); err != nil || ext.Node != "AU" || ext.Agency != au.agency {
			t.Errorf("%s: provenance of the incident: %+v %v", p.nation, ext, err)
		}
		for id, raw := range got {
			if _, err := provenance.Verify(raw, keys); err != nil {
				t.Errorf("%s: %s does not verify: %v", p.nation, id, err)
			}
			if bytes.Contains(raw, []byte(gridIdentity)) || bytes.Contains(raw, []byte(grid.Name)) {
				t.Errorf("%s: %s names the operator who did not consent: %s", p.nation, id, raw)
			}
		}
		if got[gridIdentity] != nil {
			t.Errorf("%s holds the identity of the operator who did not consent", p.nation)
		}
		// Every object of the released report arrived, the indicator among them.
		if ind := derived("indicator", greenID+"/indicator/domain//c2-green.attacker.example"); got[ind] == nil {
			t.Errorf("%s misses the report's indicator %s", p.nation, ind)
		}
		// The receipt is in the partner's trail, the disclosure in AU's.
		if !recorded(p.trail(), audit.Receipt, "peer:node-AU", "", green) {
			t.Errorf("%s's audit trail has no receipt of the incident from AU", p.nation)
		}
		if !recorded(au.trail(), audit.Disclosure, "peer:"+p.nation, policy.RuleAnonymise, green) {
			t.Errorf("AU's audit trail has no disclosure of the anonymised incident to %s", p.nation)
		}
	}
	// The redaction itself is recorded at AU.
	if !slices.ContainsFunc(au.trail(), func(rec audit.Record) bool {
		return rec.Actor == "peer:JP" && rec.Rule == "redacted" && bytes.Contains(rec.Detail, []byte(`"kind":"`+policy.KindReporter+`"`)) &&
			slices.ContainsFunc(rec.Objects, func(o audit.ObjectRef) bool { return o.ID == green })
	}) {
		t.Error("AU's audit trail does not record the reporter's removal from the incident sent to JP")
	}

	// The operator who consented to partners is named to JP (share_attribution), not to US.
	j, u := jp.inbound(), us.inbound()
	if inc := object(t, j[named]); inc["created_by_ref"] != waterIdentity || reporter(t, inc)["ref"] != waterIdentity {
		t.Errorf("JP: the incident of an operator who consented is not attributed: %s", j[named])
	}
	if id := object(t, j[waterIdentity]); id["name"] != water.Name {
		t.Errorf("JP: the consenting operator's identity %v", id)
	}
	if inc := object(t, u[named]); inc["created_by_ref"] != au.agency || u[waterIdentity] != nil {
		t.Errorf("US, whose agreement does not share attribution, sees the operator: %s", u[named])
	}

	// IN has no agreement: AU queued nothing for it, and it holds nothing.
	if p, _ := au.st.Peer(context.Background(), "node-IN"); p.Queued != 0 {
		t.Errorf("AU queued %d objects for IN, which has no agreement", p.Queued)
	}
	if got := in.inbound(); len(got) != 0 {
		t.Errorf("IN holds %d objects", len(got))
	}
}

// object decodes a STIX object received, failing the test when absent.
func object(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	return m
}

// reporter is the reporter of an object in our sharing extension.
func reporter(t *testing.T, obj map[string]any) map[string]any {
	t.Helper()
	exts, _ := obj["extensions"].(map[string]any)
	sh, _ := exts[policy.SharingExtension].(map[string]any)
	rep, _ := sh["reporter"].(map[string]any)
	if rep == nil {
		t.Fatalf("no reporter in %v", obj)
	}
	return rep
}

// A configuration cannot share an operator's inbox: the node refuses to start.
func TestInboxNotShareable(t *testing.T) {
	au := newTestNode(t, "AU")
	ctx := context.Background()
	org := store.Organisation{ID: uuid.New(), Name: "Grid Co", Nation: "AU", Kind: store.KindOperator}
	if err := au.st.PutOrganisation(ctx, org); err != nil {
		t.Fatal(err)
	}
	inbox := store.Collection{ID: uuid.New(), Alias: "grid-inbox", Title: "Grid Co reports", OwnerOrg: org.ID, CreatedAt: time.Now()}
	if err := au.st.CreateCollection(ctx, inbox); err != nil {
		t.Fatal(err)
	}
	cfg := federation.Config{Store: au.st, Gate: au.n.Gate, Key: au.key(), Cert: au.n.TLS.Cert}
	for _, name := range []string{inbox.ID, inbox.Alias} {
		cfg.Collections = []string{au.shared.Alias, name}
		if _, err := federation.New(ctx, cfg); err == nil || !strings.Contains(err.Error(), "inbox") {
			t.Errorf("sharing the inbox %q: %v", name, err)
		}
	}
	cfg.Collections = []string{au.shared.Alias}
	if _, err := federation.New(ctx, cfg); err != nil {
		t.Errorf("sharing a collection: %v", err)
	}
}
