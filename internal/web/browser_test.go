package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"quadshare/internal/gate"
	"quadshare/internal/report"
	"quadshare/internal/store"
	"quadshare/internal/uuid"
)

// chromiumPath finds a headless-capable Chromium, else skips the test.
func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("browser tests skipped: no chromium on PATH (Debian: apt-get install chromium)")
	return ""
}

// artifacts is where the browser tests write their screenshots:
// QUADSHARE_WEB_ARTIFACTS when set, else a temporary directory of the test.
func artifacts(t *testing.T) string {
	dir := os.Getenv("QUADSHARE_WEB_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBrowserReportFlow drives headless Chromium against a real node, AU's,
// federated with a second real node, JP's: an operator signs in and files a
// TLP:GREEN report through the form; a reader without a right to the operator's
// inbox does not see it; an analyst sees it on the dashboard, triages and releases
// it, and finds its incident with the live search; the reader then finds it in the
// collection it was released to. The incident reaches JP over federation, where a
// cleared analyst finds it in JP's object browser, the operator replaced by AU's
// agency, and an analyst cleared only to PUBLIC does not. Screenshots of each page
// are kept.
func TestBrowserReportFlow(t *testing.T) {
	path := chromiumPath(t)
	if testing.Short() {
		t.Skip("browser tests skipped in -short mode")
	}
	e := newEnv(t)
	jp := newPartner(t, e)
	jp.user("jp-ana", jp.agency.ID, store.RoleAnalyst, "UNMARKED OFFICIAL") // JP's level 1, that of unmarked objects
	jp.user("jp-pub", jp.agency.ID, store.RoleAnalyst, "PUBLIC")
	shots := artifacts(t)
	t.Logf("screenshots in %s", shots)

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1280, 900),
		chromedp.Flag("ignore-certificate-errors", true), // the node's test certificate is self-signed
		chromedp.UserDataDir(t.TempDir()))...)
	defer cancelAlloc()
	browserCtx, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	if err := chromedp.Do(browserCtx); err != nil { // starts the browser
		t.Fatalf("starting chromium: %v", err)
	}

	// do runs steps with a bound on their time (generous: a loaded machine under
	// -race is slow), leaving the tab usable after.
	do := func(ctx context.Context, steps ...chromedp.Action[chromedp.Void]) error {
		ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		return chromedp.Do(ctx, steps...)
	}
	// user opens a tab with its own cookies, signed in as name at the node of at.
	user := func(at *env, name string) context.Context {
		ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		if err := chromedp.Do(ctx); err != nil { // opens the tab, for as long as ctx lives
			t.Fatal(err)
		}
		if err := do(ctx,
			chromedp.Navigate(at.n.URL+"/ui/signin"),
			chromedp.WaitVisible(chromedp.CSS("#user")),
			chromedp.SendKeys(chromedp.CSS("#user"), name),
			chromedp.SendKeys(chromedp.CSS("#token"), at.tokens[name]),
			chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`form[action="/ui/signout"]`)),
		); err != nil {
			t.Fatalf("sign in as %s: %v", name, err)
		}
		return ctx
	}
	shot := func(ctx context.Context, name string) {
		t.Helper()
		// A loaded machine can keep a capture waiting for a frame: bound it, and
		// lose the picture rather than the test.
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Logf("screenshot %s not taken: %v", name, err)
			return
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text := func(ctx context.Context, sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	const title = "Substation control network intrusion"
	op := user(e, "op")
	shot(op, "operator-reports")
	if err := do(op,
		chromedp.Navigate(e.n.URL+"/ui/reports/new"),
		chromedp.WaitVisible(chromedp.CSS("#title")),
		chromedp.SendKeys(chromedp.CSS("#title"), title),
		chromedp.SendKeys(chromedp.CSS("#description"), "Unknown host on the control network of substation 4."),
		chromedp.SetValue(chromedp.CSS("#detected_at"), time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04")),
		chromedp.SetValue(chromedp.CSS("#impact"), "significant"),
		chromedp.SetValue(chromedp.CSS("#tlp"), "green"), // TLP:AMBER of an operator stays in the nation
		chromedp.SendKeys(chromedp.CSS("#indicators"), "ip 203.0.113.9"),
	); err != nil {
		t.Fatalf("filling the form: %v", err)
	}
	shot(op, "report-form")
	if err := do(op,
		chromedp.Click(chromedp.CSS(`form.report-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("p.notice.ok")),
	); err != nil {
		t.Fatalf("submitting the form: %v", err)
	}
	if got := text(op, "main h1"); got != title {
		t.Fatalf("report page title %q", got)
	}
	if !strings.Contains(text(op, "main"), "soci-significant") {
		t.Error("the report page does not show the deadline's rule")
	}
	shot(op, "report-filed")

	// Before the release, a reader without a right to the operator's inbox does not see it.
	rdr := user(e, "rdr")
	if err := do(rdr,
		chromedp.Navigate(e.n.URL+"/ui/objects?q=Substation"),
		chromedp.WaitVisible(chromedp.CSS("#results")),
	); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text(rdr, "main"), title) {
		t.Fatal("a reader without a right to the operator's inbox sees its report")
	}
	shot(rdr, "reader-search")

	ana := user(e, "cleared")
	if err := do(ana, chromedp.WaitVisible(chromedp.CSS("svg.chart"))); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	if !strings.Contains(text(ana, "main"), title) {
		t.Fatal("the analyst's dashboard does not list the new report")
	}
	shot(ana, "dashboard")
	// The analyst triages and releases it to the partners' collection.
	if err := do(ana,
		chromedp.Click(chromedp.CSS(`#h-new ~ ul a`)),
		chromedp.WaitVisible(chromedp.CSS(`#note-text`)),
		chromedp.SendKeys(chromedp.CSS("#note-text"), "Confirmed by phone."),
		chromedp.SetValue(chromedp.CSS("#note-status"), "triaged"),
		chromedp.Click(chromedp.CSS(`form[action$="/notes"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#done-notes`)),
		chromedp.SetValue(chromedp.CSS("#release-collection"), collShared),
		chromedp.Click(chromedp.CSS(`form[action$="/release"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#done-release`)),
	); err != nil {
		shot(ana, "failed-triage")
		t.Fatalf("triage: %v", err)
	}
	if got := text(ana, "p.notice.ok"); got != "Done: release." {
		t.Fatalf("after the release: %q", got)
	}
	shot(ana, "report-released")
	// htmx loaded under the Content-Security-Policy, and the search updates the list
	// as the analyst types, without a page load.
	kind, err := chromedp.Run(ana, chromedp.Evaluate[string](`typeof htmx`))
	if err != nil || kind != "object" {
		t.Fatalf("htmx not loaded: %q %v", kind, err)
	}
	if err := do(ana,
		chromedp.Navigate(e.n.URL+"/ui/objects"),
		chromedp.WaitVisible(chromedp.CSS("#q")),
		chromedp.Evaluate[chromedp.Void](`window.__sameDocument = true`),
		chromedp.SendKeys(chromedp.CSS("#q"), "Substation"),
		chromedp.WaitVisible(chromedp.CSS(`#results a[href*="/objects/incident--"]`)),
	); err != nil {
		shot(ana, "failed-live-search")
		t.Fatalf("live search: %v", err)
	}
	if same, err := chromedp.Run(ana, chromedp.Evaluate[bool](`window.__sameDocument === true`)); err != nil || !same {
		t.Errorf("the search reloaded the page instead of updating the list (%v)", err)
	}
	shot(ana, "objects-search")
	if err := do(ana,
		chromedp.Click(chromedp.CSS(`#results a[href*="/objects/incident--"]`)),
		chromedp.WaitVisible(chromedp.CSS("pre.json")),
	); err != nil {
		t.Fatalf("object page: %v", err)
	}
	if got := text(ana, "main h1"); got != title {
		t.Fatalf("object page title %q", got)
	}
	shot(ana, "object")

	// Once released, the reader, whose organisation reads that collection, finds it.
	if err := do(rdr,
		chromedp.Navigate(e.n.URL+"/ui/objects?q=Substation"),
		chromedp.WaitVisible(chromedp.CSS(`#results a[href*="/objects/incident--"]`)),
	); err != nil {
		t.Fatalf("the reader does not find the released report: %v", err)
	}

	// The incident reaches JP through AU's sharing policy and the federation.
	ctx := context.Background()
	var incident string
	deadline := time.Now().Add(60 * time.Second)
	for incident == "" {
		page, err := jp.st.Query(ctx, store.Query{Collection: jp.coll, Types: []string{"incident"}, Versions: store.VersionFilter{Last: true}, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Entries) > 0 {
			incident = page.Entries[0].Object.ID
		} else if time.Now().After(deadline) {
			t.Fatal("after 60s the released incident has not reached JP")
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	jpAna := user(jp, "jp-ana")
	if err := do(jpAna,
		chromedp.Navigate(jp.n.URL+"/ui/objects?q=Substation"),
		chromedp.WaitVisible(chromedp.CSS(`#results a[href*="/objects/`+incident+`"]`)),
	); err != nil {
		shot(jpAna, "failed-partner-search")
		t.Fatalf("JP's analyst does not find the incident: %v", err)
	}
	shot(jpAna, "partner-search")
	if err := do(jpAna,
		chromedp.Click(chromedp.CSS(`#results a[href*="/objects/`+incident+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("pre.json")),
	); err != nil {
		t.Fatalf("JP's object page: %v", err)
	}
	if got := text(jpAna, "main h1"); got != title {
		t.Fatalf("JP's object page title %q", got)
	}
	// Grid Co consented to be named to its own government only: at JP, AU's agency
	// stands for it, and its identity is nowhere.
	grid, err := e.st.Organisation(ctx, "Grid Co")
	if err != nil {
		t.Fatal(err)
	}
	operator := "identity--" + uuid.V5(uuid.Must(report.Namespace), []byte("operator/"+grid.ID))
	if body := text(jpAna, "pre.json"); !strings.Contains(body, gate.Identity(e.agency.ID)) || strings.Contains(body, operator) {
		t.Errorf("at JP the incident is not anonymised (want %s, not %s): %s", gate.Identity(e.agency.ID), operator, body)
	}
	shot(jpAna, "partner-object")
	objectPage, err := chromedp.Run(jpAna, chromedp.Evaluate[string](`location.pathname`))
	if err != nil {
		t.Fatal(err)
	}

	// A JP analyst cleared only to PUBLIC finds nothing, not even by the object's address.
	jpPub := user(jp, "jp-pub")
	if err := do(jpPub,
		chromedp.Navigate(jp.n.URL+"/ui/objects?q=Substation"),
		chromedp.WaitVisible(chromedp.CSS("#results")),
	); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text(jpPub, "main"), title) {
		t.Error("a JP analyst without the clearance finds the incident")
	}
	shot(jpPub, "partner-uncleared-search")
	if err := do(jpPub,
		chromedp.Navigate(jp.n.URL+objectPage),
		chromedp.WaitVisible(chromedp.CSS("main")),
	); err != nil {
		t.Fatal(err)
	}
	if body := text(jpPub, "main"); strings.Contains(body, title) || strings.Contains(body, incident) {
		t.Errorf("a JP analyst without the clearance reads the incident's page: %s", body)
	}
	shot(jpPub, "partner-uncleared-object")
}
