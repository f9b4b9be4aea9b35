package federation_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"quadshare/internal/auth"
	"quadshare/internal/federation"
	"quadshare/internal/httpx"
	"quadshare/internal/pki"
	"quadshare/internal/stix"
	"quadshare/internal/store"
	"quadshare/internal/uuid"
)

// Four nations: what JP shares reaches each partner as JP's agreement with it
// allows (AU up to AMBER, US up to GREEN, IN up to CLEAR), also when the others
// could forward it, and TLP:RED reaches nobody.
func TestFourNations(t *testing.T) {
	au := newTestNode(t, "AU", "IN", "JP", "US")
	in := newTestNode(t, "IN", "AU", "JP", "US")
	jp := newTestNode(t, "JP", "AU", "IN=clear", "US=green")
	us := newTestNode(t, "US", "AU", "IN", "JP")
	mesh(t, au, in, jp, us)
	clear := indicator(tlpClear, "clear")
	green := indicator(tlpGreen, "green")
	amber := indicator(tlpAmber, "amber", jp.agency)
	red := indicator(tlpRed, "red", jp.agency)
	jp.put(clear, green, amber, red)
	waitFor(t, 15*time.Second, "what each agreement allows", func() bool {
		a, i, u := au.inbound(), in.inbound(), us.inbound()
		return a[clear.ID] != nil && a[green.ID] != nil && a[amber.ID] != nil && i[clear.ID] != nil && u[clear.ID] != nil && u[green.ID] != nil
	})
	time.Sleep(time.Second) // whatever should not arrive has had time to
	for _, c := range []struct {
		n    *testNode
		want []string
	}{{au, []string{clear.ID, green.ID, amber.ID}}, {in, []string{clear.ID}}, {us, []string{clear.ID, green.ID}}} {
		got := c.n.inbound()
		if len(got) != len(c.want) {
			t.Errorf("%s holds %d objects, want %d", c.n.nation, len(got), len(c.want))
		}
		for _, id := range c.want {
			if got[id] == nil {
				t.Errorf("%s misses %s", c.n.nation, id)
			}
		}
		if got[red.ID] != nil {
			t.Errorf("TLP:RED reached %s", c.n.nation)
		}
	}
}

// The federation endpoints refuse what is not a peer, and hostile envelopes; metrics
// are for admins.
func TestEndpointsRefuse(t *testing.T) {
	jp := newTestNode(t, "JP", "AU")
	au := newTestNode(t, "AU", "JP")
	mesh(t, jp, au)
	ctx := context.Background()
	org, _ := au.st.Organisation(ctx, "national agency AU")
	mk := func(name string, role store.Role) string {
		u := store.User{ID: uuid.New(), Name: name, Org: org.ID, Role: role, CreatedAt: time.Now()}
		if err := au.st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		secret, _, err := auth.CreateToken(ctx, au.st, u.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	analyst, admin := mk("ana", store.RoleAnalyst), mk("adm", store.RoleAdmin)
	// JP's peer user with a token, on a connection with another certificate
	peerUser, err := au.st.UserByCert(ctx, jp.n.TLS.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	peerSecret, _, err := auth.CreateToken(ctx, au.st, peerUser.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	intruder, err := pki.IssueClient(t.TempDir(), "intruder")
	if err != nil {
		t.Fatal(err)
	}
	stolen := pinnedClient(au, intruder.Cert)
	c := pinnedClient(au, jp.n.TLS.Cert) // JP's certificate: a peer
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: federation.PinnedTLS(au.n.TLS.Cert, au.n.TLS.Fingerprint)}}
	do := func(c *http.Client, method, path, user, secret, ctype, body string) (int, string) {
		req, _ := http.NewRequest(method, au.n.URL+path, strings.NewReader(body))
		if user != "" {
			req.SetBasicAuth(user, secret)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		req.Header.Set("Accept", httpx.MediaType)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	inbound := "/api/collections/" + federation.InboundAlias + "/objects/"
	byID := "/api/collections/" + au.n.Federation.Inbound().ID + "/objects/"
	outbox := "/api/collections/" + federation.OutboxAlias + "/objects/"
	for _, tc := range []struct {
		name                       string
		c                          *http.Client
		method, path, user, secret string
		ctype, body                string
		want                       int
	}{
		{"peer's token on another certificate", stolen, "POST", inbound, peerUser.Name, peerSecret, httpx.MediaType, `{"objects":[]}`, 403},
		{"peer's token without a certificate", anon, "GET", outbox, peerUser.Name, peerSecret, "", "", 403},
		{"analyst posts to inbound", anon, "POST", inbound, "ana", analyst, httpx.MediaType, `{"objects":[]}`, 403},
		{"admin posts to inbound by id", anon, "POST", byID, "adm", admin, httpx.MediaType, `{"objects":[]}`, 403},
		{"analyst reads the outbox", anon, "GET", outbox, "ana", analyst, "", "", 403},
		{"peer with the wrong media type", c, "POST", inbound, "", "", "application/json", `{"objects":[]}`, 415},
		{"peer with garbage", c, "POST", inbound, "", "", httpx.MediaType, `{"objects":`, 400},
		{"peer with a bad limit", c, "GET", outbox + "?limit=-1", "", "", "", "", 400},
		{"peer with a bad next", c, "GET", outbox + "?next=x", "", "", "", "", 400},
		{"peer with a bad added_after", c, "GET", outbox + "?added_after=yesterday", "", "", "", "", 400},
		{"peer posts to the outbox", c, "POST", outbox, "", "", httpx.MediaType, `{}`, 405},
		{"peer reads metrics", c, "GET", "/metrics", "", "", "", "", 403},
		{"analyst reads metrics", anon, "GET", "/metrics", "ana", analyst, "", "", 403},
		{"nobody reads metrics", anon, "GET", "/metrics", "", "", "", "", 401},
		{"peer with an empty envelope", c, "POST", inbound, "", "", httpx.MediaType, `{"objects":[]}`, 202},
		{"peer with too many objects", c, "POST", inbound, "", "", httpx.MediaType,
			`{"objects":[{}` + strings.Repeat(`,{}`, federation.MaxEnvelope+1) + `]}`, 413},
	} {
		if code, body := do(tc.c, tc.method, tc.path, tc.user, tc.secret, tc.ctype, tc.body); code != tc.want {
			t.Errorf("%s: %d, want %d: %s", tc.name, code, tc.want, body)
		}
	}
	jp.put(indicator(tlpGreen, "metric"))
	// The object is stored a moment before its receipt is counted.
	var code int
	var body string
	waitFor(t, 10*time.Second, "an object counted at AU", func() bool {
		code, body = do(anon, "GET", "/metrics", "adm", admin, "", "")
		return strings.Contains(body, `quadshare_peer_received_total{peer="node-JP",nation="JP"} 1`)
	})
	if code != 200 || !strings.Contains(body, "# TYPE quadshare_peer_queue_depth gauge") {
		t.Errorf("metrics: %d\n%s", code, body)
	}
}

// Four nations; US is down while JP shares 1,000 TLP:CLEAR objects, which AU and IN
// also forward: when US returns it holds each exactly once.
func TestFourNationsCatchUp(t *testing.T) {
	if testing.Short() {
		t.Skip("four nodes and 1,000 objects")
	}
	au := newTestNode(t, "AU", "IN", "JP", "US")
	in := newTestNode(t, "IN", "AU", "JP", "US")
	jp := newTestNode(t, "JP", "AU", "IN", "US")
	us := newTestNode(t, "US", "AU", "IN", "JP")
	mesh(t, au, in, jp, us)
	us.stop()
	want := map[string]bool{}
	for i := 0; i < 1000; i += 100 {
		var batch []stix.Object
		for j := range 100 {
			o := indicator(tlpClear, fmt.Sprintf("while US is down %d", i+j))
			want[o.ID] = true
			batch = append(batch, o)
		}
		jp.put(batch...)
	}
	waitFor(t, 3*time.Minute, "AU and IN have everything", func() bool { return len(au.inbound()) == 1000 && len(in.inbound()) == 1000 })
	start := time.Now()
	us.restart()
	waitFor(t, 3*time.Minute, "US catches up", func() bool { return len(us.inbound()) >= 1000 })
	t.Logf("US caught up in %v", time.Since(start))
	time.Sleep(time.Second) // let the forwarded copies arrive too
	got := us.inbound()     // fails on an object stored twice
	if len(got) != len(want) {
		t.Errorf("US holds %d objects, want %d", len(got), len(want))
	}
	for id := range want {
		if got[id] == nil {
			t.Errorf("lost %s", id)
		}
	}
	if c, _ := us.st.Count(context.Background(), us.n.Federation.Inbound().ID); c != len(want) {
		t.Errorf("count %d, want %d", c, len(want))
	}
}
