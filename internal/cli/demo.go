package cli

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"quadshare/internal/config"
	"quadshare/internal/federation"
	"quadshare/internal/node"
	"quadshare/internal/policy"
	"quadshare/internal/provenance"
	"quadshare/internal/stix"
	"quadshare/internal/store"
	"quadshare/internal/uuid"
)

// demoNations are the four nodes of the demo, with their agencies and what JP's
// agreement with each lets through (the other agreements allow up to TLP:AMBER).
var demoNations = []struct{ nation, agency, fromJP string }{
	{"AU", "ACSC", "amber"},
	{"IN", "CERT-In", "clear"},
	{"JP", "JPCERT CC", ""},
	{"US", "CISA", "green"},
}

type demoNode struct {
	nation string
	cfg    config.Config
	st     store.Store
	n      *node.Node
	pub    ed25519.PublicKey
	agency string
}

// runDemo starts four national nodes on 127.0.0.1 with generated certificates, peers
// and agreements, submits a sample report at JP and shows where it arrives.
func runDemo(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "demo", "[-dir DIR] [-keep]")
	dir := fs.String("dir", "", "data directories of the nodes (default: a new temporary directory)")
	keep := fs.Bool("keep", false, "keep the nodes running until interrupted")
	if _, _, err := parseArgs(e, fs, cf, args, 0, "no arguments"); err != nil {
		return err
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "quadshare-demo-")
		if err != nil {
			return err
		}
		*dir = d
	}
	log := slog.New(slog.DiscardHandler)
	var nodes []*demoNode
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, d := range nodes {
			if d.n != nil {
				_ = d.n.Close(c)
			}
			_ = d.st.Close()
		}
	}()
	for _, dn := range demoNations {
		d, err := startDemoNode(ctx, filepath.Join(*dir, strings.ToLower(dn.nation)), dn.nation, dn.agency, log)
		if d != nil {
			nodes = append(nodes, d)
		}
		if err != nil {
			return fmt.Errorf("node %s: %w", dn.nation, err)
		}
		fmt.Fprintf(e.Stdout, "node %s (%s) at %s, certificate %s, key %s\n", dn.nation, dn.agency, d.n.URL,
			shortFP(d.n.TLS.Fingerprint), provenance.KeyID(d.pub))
	}
	for _, a := range nodes {
		for _, b := range nodes {
			if a == b {
				continue
			}
			p := store.Peer{Name: strings.ToLower(b.nation) + "-node", Nation: b.nation, URL: b.n.URL + "/api/",
				Fingerprint: b.n.TLS.Fingerprint, PublicKey: b.pub}
			if _, err := federation.AddPeer(ctx, a.st, p); err != nil {
				return fmt.Errorf("peer %s at %s: %w", p.Name, a.nation, err)
			}
		}
	}
	fmt.Fprintf(e.Stdout, "\nevery node is a peer of every other (mutual TLS, pinned certificates)\n")
	fmt.Fprintf(e.Stdout, "JP's agreements: AU up to TLP:AMBER, US up to TLP:GREEN, IN up to TLP:CLEAR\n\n")

	jp := nodes[2]
	reports := store.Collection{ID: uuid.New(), Alias: "reports", Title: "Incident reports",
		MediaTypes: []string{"application/stix+json;version=2.1"}, CreatedAt: time.Now()}
	if err := jp.st.CreateCollection(ctx, reports); err != nil {
		return err
	}
	objs, names, err := demoReport(jp.agency)
	if err != nil {
		return err
	}
	start := time.Now()
	if _, err := jp.st.Put(ctx, reports.ID, "", objs); err != nil {
		return err
	}
	jp.n.Federation.Wake()
	fmt.Fprintf(e.Stdout, "submitted at JP: %d objects\n", len(objs))

	// Wait until what each agreement allows has arrived (or 15 s pass).
	want := map[string]int{"AU": 3, "US": 2, "IN": 1}
	arrived := map[string]time.Duration{}
	deadline := time.Now().Add(15 * time.Second)
	for len(arrived) < len(want) && time.Now().Before(deadline) {
		for _, d := range nodes {
			if w, ok := want[d.nation]; ok && arrived[d.nation] == 0 {
				if c, _ := d.st.Count(ctx, d.n.Federation.Inbound().ID); c >= w {
					arrived[d.nation] = time.Since(start)
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // let anything that should not arrive have its chance

	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "\nOBJECT\tAU\tIN\tUS\n")
	for i, o := range objs {
		fmt.Fprintf(tw, "%s", names[i])
		for _, nation := range []string{"AU", "IN", "US"} {
			fmt.Fprintf(tw, "\t%s", demoHas(ctx, nodes, nation, o.ID))
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, nation := range []string{"AU", "IN", "US"} {
		if d, ok := arrived[nation]; ok {
			fmt.Fprintf(e.Stdout, "%s had everything its agreement allows %v after the submission\n", nation, d.Round(time.Millisecond))
		} else {
			fmt.Fprintf(e.Stdout, "%s: not everything arrived within 15 s\n", nation)
		}
	}
	fmt.Fprintln(e.Stdout, "\nat JP, quadshare peer status:")
	if err := printPeerStatus(ctx, e.Stdout, jp.st); err != nil {
		return err
	}
	if len(arrived) < len(want) {
		return errors.New("the demo did not complete")
	}
	if *keep {
		fmt.Fprintf(e.Stdout, "\nnodes keep running (data in %s); interrupt to stop\n", *dir)
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sig)
		select {
		case <-sig:
		case <-ctx.Done():
		}
	} else {
		fmt.Fprintf(e.Stdout, "\ndata in %s\n", *dir)
	}
	return nil
}

func demoHas(ctx context.Context, nodes []*demoNode, nation, id string) string {
	for _, d := range nodes {
		if d.nation != nation {
			continue
		}
		pg, err := d.st.Query(ctx, store.Query{Collection: d.n.Federation.Inbound().ID, IDs: []string{id}, Limit: 1})
		if err == nil && len(pg.Entries) > 0 {
			if ext, err := provenance.Read(pg.Entries[0].Object.Raw); err == nil {
				return "yes, signed by " + ext.Node
			}
			return "yes"
		}
	}
	return "-"
}

func startDemoNode(ctx context.Context, dir, nation, agency string, log *slog.Logger) (*demoNode, error) {
	cfg := config.Default()
	cfg.DataDir = dir
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cfg.Listen = ln.Addr().String()
	ln.Close()
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	d := &demoNode{nation: nation, cfg: cfg, st: st}
	pc, _, err := node.InitPolicy(ctx, cfg, st, nation, agency)
	if err != nil {
		return d, err
	}
	d.agency = pc.Agency
	for _, o := range demoNations {
		if o.nation == nation {
			continue
		}
		maxTLP := "amber"
		if nation == "JP" {
			maxTLP = o.fromJP
		}
		pc.Agreements = append(pc.Agreements, policy.Agreement{Partner: o.nation, Version: 1, Approved: "2026-01-01T00:00:00Z",
			ObjectTypes: []string{"*"}, Sectors: []string{"*"}, MaxTLP: maxTLP, MaxLevel: 3})
	}
	if err := node.WritePolicy(cfg.PolicyFile(), pc); err != nil {
		return d, err
	}
	if d.n, err = node.Start(ctx, cfg, st, log); err != nil {
		return d, err
	}
	k, _, err := provenance.LoadOrCreateKey(filepath.Join(dir, provenance.KeyFile))
	if err != nil {
		return d, err
	}
	d.pub = k.Public().(ed25519.PublicKey)
	return d, nil
}

// demoReport is a small incident report of JP's agency: a TLP:CLEAR indicator, a
// TLP:GREEN one, a TLP:AMBER report, and a TLP:RED indicator that never leaves.
func demoReport(agency string) ([]stix.Object, []string, error) {
	const (
		tlpClear = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
		tlpGreen = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
		tlpAmber = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
		tlpRed   = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
	)
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	ind := func(marking, ip string) string {
		return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--%s","created_by_ref":%q,"created":%q,"modified":%q,`+
			`"name":"C2 server","pattern":"[ipv4-addr:value = '%s']","pattern_type":"stix","valid_from":%q,"object_marking_refs":[%q]}`,
			uuid.New(), agency, now, now, ip, now, marking)
	}
	i1, i2, i4 := ind(tlpClear, "203.0.113.10"), ind(tlpGreen, "203.0.113.11"), ind(tlpRed, "203.0.113.12")
	ids := func(raw string) string {
		return raw[strings.Index(raw, `"indicator--`)+1 : strings.Index(raw, `","created_by_ref"`)]
	}
	report := fmt.Sprintf(`{"type":"report","spec_version":"2.1","id":"report--%s","created_by_ref":%q,"created":%q,"modified":%q,`+
		`"name":"Intrusion at a port operator","published":%q,"object_refs":[%q,%q],"object_marking_refs":[%q]}`,
		uuid.New(), agency, now, now, now, ids(i1), ids(i2), tlpAmber)
	raws := []string{i1, i2, report, i4}
	names := []string{"indicator TLP:CLEAR", "indicator TLP:GREEN", "report TLP:AMBER", "indicator TLP:RED"}
	objs := make([]stix.Object, len(raws))
	for i, r := range raws {
		o, err := stix.Parse([]byte(r))
		if err != nil {
			return nil, nil, fmt.Errorf("sample %s: %w", names[i], err)
		}
		objs[i] = o
	}
	return objs, names, nil
}

// printPeerStatus writes the peer status table of a store.
func printPeerStatus(ctx context.Context, w io.Writer, st store.Store) error {
	peers, err := st.Peers(ctx)
	if err != nil {
		return err
	}
	return writePeerStatus(w, peers, time.Now())
}
