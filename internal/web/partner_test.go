package web_test

import (
	"context"
	"testing"

	"quadshare/internal/federation"
	"quadshare/internal/policy"
	"quadshare/internal/store"
)

// newPartner starts Japan's node beside au's on 127.0.0.1, with its own store,
// certificate and signing key, and federates the two over mutual TLS: each pins
// the other's certificate and knows its key. au's administrator puts in force an
// agreement that lets JP have up to TLP:GREEN of every type, operators unnamed.
// JP's node comes as an env of its own, without users.
func newPartner(t testing.TB, au *env) *env {
	t.Helper()
	ctx := context.Background()
	cfg, st, agency := newStore(t, "JP", "JPCERT/CC")
	jp := &env{t: t, st: st, tokens: map[string]string{}, users: map[string]store.User{}, agency: agency}
	jp.start(cfg)
	jp.coll = jp.n.Federation.Inbound().ID

	pc := au.n.Gate.Policy().Config()
	pc.Revision++
	pc.Agreements = append(pc.Agreements, policy.Agreement{Partner: "JP", Version: 1, Approved: "2026-01-01T00:00:00Z",
		ObjectTypes: []string{"*"}, Sectors: []string{"*"}, MaxTLP: "green", MaxLevel: 3})
	engine, err := policy.New(pc, au.n.Gate.Policy().Scales())
	if err != nil {
		t.Fatal(err)
	}
	au.n.Gate.SetPolicy(engine) // in force as on SIGHUP (the policy-change record is not under test here)
	for _, pair := range [][2]*env{{au, jp}, {jp, au}} {
		if _, err := federation.AddPeer(ctx, pair[0].st, peerOf(t, pair[1])); err != nil {
			t.Fatal(err)
		}
		pair[0].n.Federation.Wake()
	}
	return jp
}

// peerOf describes e's node as a peer of another: its nation, URL, certificate
// and signing key.
func peerOf(t testing.TB, e *env) store.Peer {
	t.Helper()
	signer, err := e.n.Federation.Signer()
	if err != nil {
		t.Fatal(err)
	}
	return store.Peer{Name: "node-" + signer.Nation, Nation: signer.Nation, URL: e.n.URL + "/api/",
		Fingerprint: e.n.TLS.Fingerprint, PublicKey: signer.Public()}
}
