package federation_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/federation"
	"quadshare/internal/httpx"
	"quadshare/internal/pki"
	"quadshare/internal/provenance"
	"quadshare/internal/stix"
)

// An object shared at JP appears at AU, signed by JP; TLP:RED never leaves JP.
func TestPushPerPolicy(t *testing.T) {
	jp := newTestNode(t, "JP", "AU")
	au := newTestNode(t, "AU", "JP")
	mesh(t, jp, au)

	green := indicator(tlpGreen, "green one")
	red := indicator(tlpRed, "red one")
	amber := indicator(tlpAmber, "amber of JP's agency", jp.agency)
	amberOther := indicator(tlpAmber, "amber of somebody else")
	start := time.Now()
	jp.put(green, red, amber, amberOther)
	waitFor(t, 10*time.Second, "JP's objects at AU", func() bool {
		in := au.inbound()
		return in[green.ID] != nil && in[amber.ID] != nil
	})
	t.Logf("propagated in %v", time.Since(start))
	in := au.inbound()
	if in[red.ID] != nil {
		t.Fatal("TLP:RED left JP")
	}
	if in[amberOther.ID] != nil {
		t.Fatal("TLP:AMBER of another originator left JP")
	}
	keys := func(id string) (ed25519.PublicKey, string, bool) {
		if id == provenance.KeyID(jp.pub) {
			return jp.pub, "JP", true
		}
		return nil, "", false
	}
	ext, err := provenance.Verify(in[green.ID], keys)
	if err != nil || ext.Node != "JP" {
		t.Fatalf("provenance at AU: %+v %v", ext, err)
	}
	p, err := jp.st.Peer(context.Background(), "node-AU")
	if err != nil {
		t.Fatal(err)
	}
	if p.Queued != 2 {
		t.Errorf("JP queued %d for AU, want 2 (not the TLP:RED one)", p.Queued)
	}
	waitFor(t, 5*time.Second, "acknowledgement", func() bool {
		p, _ := jp.st.Peer(context.Background(), "node-AU")
		return p.Depth == 0 && p.Pushed == 2 && !p.LastSuccess.IsZero()
	})
	// AU does not send JP's objects back.
	time.Sleep(500 * time.Millisecond)
	if q, _ := au.st.Peer(context.Background(), "node-JP"); q.Queued != 0 {
		t.Errorf("AU queued %d objects for JP, their origin", q.Queued)
	}
}

// pinnedClient talks to n as the node whose certificate is cert.
func pinnedClient(n *testNode, cert tls.Certificate) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: federation.PinnedTLS(cert, n.n.TLS.Fingerprint)}}
}

func postEnvelope(t *testing.T, c *http.Client, to *testNode, objs ...[]byte) (int, map[string]any) {
	t.Helper()
	body := `{"objects":[` + string(bytes.Join(objs, []byte(","))) + `]}`
	req, _ := http.NewRequest(http.MethodPost, to.n.URL+"/api/collections/"+federation.InboundAlias+"/objects/", strings.NewReader(body))
	req.Header.Set("Content-Type", httpx.MediaType)
	req.Header.Set("Accept", httpx.MediaType)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

// An object altered after signing, one signed by a key nobody pinned, and one that
// is not STIX are refused and recorded; the valid one beside them is stored.
func TestAlteredObjectRejected(t *testing.T) {
	jp := newTestNode(t, "JP", "AU")
	au := newTestNode(t, "AU", "JP")
	mesh(t, jp, au)
	ctx := context.Background()
	signer, err := jp.n.Federation.Signer()
	if err != nil {
		t.Fatal(err)
	}
	good, _ := signer.Sign(indicator(tlpGreen, "fine").Raw)
	orig := indicator(tlpGreen, "evil.example is bad")
	signed, _ := signer.Sign(orig.Raw)
	altered := bytes.Replace(signed, []byte("evil.example is bad"), []byte("evil.example is good"), 1)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	stranger, _ := provenance.NewSigner("JP", jp.agency, otherKey)
	forged, _ := stranger.Sign(indicator(tlpGreen, "forged").Raw)
	notSTIX := []byte(`{"type":"indicator","id":"indicator--00000000-0000-4000-8000-000000000000"}`)

	code, status := postEnvelope(t, pinnedClient(au, jp.n.TLS.Cert), au, good, altered, forged, notSTIX)
	if code != http.StatusAccepted || status["success_count"] != 1.0 || status["failure_count"] != 3.0 || status["status"] != "complete" {
		t.Fatalf("%d %v", code, status)
	}
	in := au.inbound()
	if len(in) != 1 || in[orig.ID] != nil {
		t.Fatalf("stored %d objects, the altered one: %v", len(in), in[orig.ID] != nil)
	}
	p, _ := au.st.Peer(ctx, "node-JP")
	if p.Rejected != 3 || p.Pulled != 1 || !strings.Contains(p.LastError, "refused 3") {
		t.Errorf("peer record: %+v", p)
	}
	if !auditRule(t, au.st, audit.PeerEvent, "provenance.rejected", "peer:node-JP", 3) {
		t.Error("the refusal is not in the audit trail")
	}
}

// A client presenting a certificate nobody pinned is refused, and our side refuses a
// server whose certificate is not the pinned one.
func TestUnpinnedCertificateRefused(t *testing.T) {
	jp := newTestNode(t, "JP", "AU")
	au := newTestNode(t, "AU", "JP")
	mesh(t, jp, au)
	other, err := pki.IssueClient(t.TempDir(), "intruder")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := jp.n.Federation.Signer()
	obj, _ := signer.Sign(indicator(tlpGreen, "x").Raw)
	if code, _ := postEnvelope(t, pinnedClient(au, other.Cert), au, obj); code != http.StatusUnauthorized {
		t.Errorf("push with an unpinned certificate: %d", code)
	}
	resp, err := pinnedClient(au, other.Cert).Get(au.n.URL + "/api/collections/" + federation.OutboxAlias + "/objects/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("pull with an unpinned certificate: %d", resp.StatusCode)
	}
	// JP's node dialling AU while pinning another certificate refuses to talk.
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: federation.PinnedTLS(jp.n.TLS.Cert, other.Fingerprint)}}
	_, err = c.Get(au.n.URL + "/taxii2/")
	if !errors.Is(err, federation.ErrUnpinned) {
		t.Errorf("dial with the wrong pin: %v", err)
	}
	if len(au.inbound()) != 0 {
		t.Error("something was stored")
	}
}

// A node that was down catches up when it returns: nothing lost, nothing twice.
func TestCatchUpAfterRestart(t *testing.T) {
	jp := newTestNode(t, "JP", "AU")
	au := newTestNode(t, "AU", "JP")
	mesh(t, jp, au)
	first := indicator(tlpGreen, "before")
	jp.put(first)
	waitFor(t, 10*time.Second, "first object", func() bool { return au.inbound()[first.ID] != nil })

	au.stop()
	const n = 1000
	want := map[string]bool{first.ID: true}
	for i := 0; i < n; i += 100 {
		var batch []stix.Object
		for j := range 100 {
			o := indicator(tlpGreen, fmt.Sprintf("while down %d", i+j))
			want[o.ID] = true
			batch = append(batch, o)
		}
		jp.put(batch...)
	}
	waitFor(t, 10*time.Second, "JP queues everything for AU", func() bool {
		p, _ := jp.st.Peer(context.Background(), "node-AU")
		return p.Queued == n+1
	})
	start := time.Now()
	au.restart()
	waitFor(t, 60*time.Second, "AU catches up", func() bool { return len(au.inbound()) >= n+1 })
	t.Logf("caught up %d objects in %v", n, time.Since(start))
	in := au.inbound() // fails on a duplicate
	for id := range want {
		if in[id] == nil {
			t.Errorf("lost %s", id)
		}
	}
	if len(in) != len(want) {
		t.Errorf("AU holds %d objects, want %d", len(in), len(want))
	}
	if c, _ := au.st.Count(context.Background(), au.n.Federation.Inbound().ID); c != len(want) {
		t.Errorf("count %d, want %d", c, len(want))
	}
}

// relayed starts JP, AU and US, where AU exchanges with both and US with AU
// alone: US knows JP as a peer (its key) at an address where nothing answers.
func relayed(t *testing.T) (jp, au, us *testNode) {
	t.Helper()
	jp = newTestNode(t, "JP", "AU", "US")
	au = newTestNode(t, "AU", "JP", "US")
	us = newTestNode(t, "US", "JP", "AU")
	mesh(t, jp, au)
	mesh(t, au, us)
	unreachable := jp.peer()
	unreachable.URL = "https://127.0.0.1:1/api/"
	if _, err := federation.AddPeer(context.Background(), us.st, unreachable); err != nil {
		t.Fatal(err)
	}
	return jp, au, us
}

// What AU received from JP goes on to US only when TLP:CLEAR, with JP's signature,
// and never back to JP. JP does not exchange with US; US knows JP's key (a peer of
// its, unreachable), so what it holds of JP's came through AU.
func TestOnward(t *testing.T) {
	jp, au, us := relayed(t)
	clear := indicator(tlpClear, "clear")
	green := indicator(tlpGreen, "green")
	amber := indicator(tlpAmber, "amber of JP", jp.agency)
	jp.put(clear, green, amber)
	waitFor(t, 10*time.Second, "JP's objects at AU, the TLP:CLEAR one at US", func() bool {
		a := au.inbound()
		return a[clear.ID] != nil && a[green.ID] != nil && a[amber.ID] != nil && us.inbound()[clear.ID] != nil
	})
	time.Sleep(time.Second) // whatever should not go on has had time to
	in := us.inbound()
	if len(in) != 1 {
		t.Errorf("US holds %d objects through AU, want only the TLP:CLEAR one", len(in))
	}
	if ext, err := provenance.Read(in[clear.ID]); err != nil || ext.Node != "JP" {
		t.Errorf("provenance at US %+v %v", ext, err)
	}
	if p, _ := au.st.Peer(context.Background(), "node-JP"); p.Queued != 0 {
		t.Errorf("AU queued %d objects back to JP", p.Queued)
	}
	if p, _ := au.st.Peer(context.Background(), "node-US"); p.Queued != 1 {
		t.Errorf("AU queued %d objects for US, want 1", p.Queued)
	}
}
