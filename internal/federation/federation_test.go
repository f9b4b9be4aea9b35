package federation_test

import (
	"context"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"quadshare/internal/provenance"
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
	out, _ := jp.st.Outbox(context.Background(), "node-AU", 0, 100)
	for _, it := range out {
		if strings.Contains(string(it.Raw), red.ID) {
			t.Error("TLP:RED in the outbox")
		}
	}
}
