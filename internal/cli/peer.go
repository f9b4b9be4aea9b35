package cli

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"quadshare/internal/config"
	"quadshare/internal/federation"
	"quadshare/internal/node"
	"quadshare/internal/pki"
	"quadshare/internal/provenance"
	"quadshare/internal/store"
)

const synPeerAdd = "NAME --nation CC --url https://HOST:PORT/api/ --fingerprint SHA256 --public-key KEY"

func runPeer(ctx context.Context, e *Env, args []string) error {
	return dispatch(ctx, e, "peer", args, map[string]subcommand{
		"add":    {synPeerAdd, runPeerAdd},
		"list":   {"", runPeerList},
		"remove": {"NAME", runPeerRemove},
		"status": {"[NAME]", runPeerStatus},
		"self":   {"[-url URL]", runPeerSelf},
	})
}

func runPeerAdd(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "peer add", synPeerAdd)
	nation := fs.String("nation", "", "the peer's nation, ISO 3166-1 alpha-2 (AU, IN, JP, US)")
	url := fs.String("url", "", "the peer's TAXII API root, https://HOST:PORT/api/")
	fp := fs.String("fingerprint", "", "SHA-256 of the peer's TLS certificate (quadshare peer self on its node)")
	key := fs.String("public-key", "", "the peer's signing key (quadshare peer self on its node)")
	cfg, pos, err := parseArgs(e, fs, cf, args, 1, "the peer's NAME")
	if err != nil {
		return err
	}
	if *nation == "" || *url == "" || *fp == "" || *key == "" {
		return fmt.Errorf("%w: --nation, --url, --fingerprint and --public-key are required", errUsage)
	}
	norm, err := pki.NormalizeFingerprint(*fp)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	pub, err := provenance.ParsePublic(*key)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	u := *url
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	p := store.Peer{Name: pos[0], Nation: strings.ToUpper(*nation), URL: u, Fingerprint: norm, PublicKey: pub}
	if err := store.CheckPeer(p); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	user, err := federation.AddPeer(ctx, st, p)
	if errors.Is(err, store.ErrExists) {
		return fmt.Errorf("a peer named %s or with that certificate exists (quadshare peer list)", p.Name)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "peer %s (%s) added: its node authenticates as user %s by its certificate %s\n",
		p.Name, p.Nation, user.Name, shortFP(p.Fingerprint))
	fmt.Fprintf(e.Stdout, "what it receives follows the agreement with %s in the sharing policy (quadshare policy check)\n", p.Nation)
	return nil
}

func runPeerRemove(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "peer remove", "NAME")
	st, pos, err := parseAndOpen(ctx, e, fs, cf, args, 1, "the peer's NAME")
	if err != nil {
		return err
	}
	defer st.Close()
	if err := federation.RemovePeer(ctx, st, pos[0]); err != nil {
		return notFound("peer", pos[0], err)
	}
	fmt.Fprintf(e.Stdout, "peer %s removed with its queue; its node is refused by the federation endpoints (quadshare user revoke disables its user)\n", pos[0])
	return nil
}

func runPeerList(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "peer list", "")
	st, _, err := parseAndOpen(ctx, e, fs, cf, args, 0, "no arguments")
	if err != nil {
		return err
	}
	defer st.Close()
	peers, err := st.Peers(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tNATION\tURL\tCERTIFICATE\tKEY ID\tADDED")
	for _, p := range peers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.Nation, p.URL, shortFP(p.Fingerprint),
			provenance.KeyID(p.PublicKey), p.CreatedAt.UTC().Format(time.DateOnly))
	}
	return tw.Flush()
}

func runPeerStatus(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "peer status", "[NAME]")
	cfg, pos, err := parseMixed(e, fs, cf, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return fmt.Errorf("%w: at most one peer NAME", errUsage)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	var peers []store.Peer
	if len(pos) == 1 {
		p, err := st.Peer(ctx, pos[0])
		if err != nil {
			return notFound("peer", pos[0], err)
		}
		peers = []store.Peer{p}
	} else if peers, err = st.Peers(ctx); err != nil {
		return err
	}
	return writePeerStatus(e.Stdout, peers, time.Now())
}

func writePeerStatus(w io.Writer, peers []store.Peer, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tNATION\tQUEUE\tLAG\tPUSHED\tRECEIVED\tREJECTED\tCONFLICTS\tLAST SUCCESS\tLAST ERROR")
	for _, p := range peers {
		lag := "-"
		if !p.OldestQueue.IsZero() {
			lag = now.Sub(p.OldestQueue).Round(time.Millisecond).String()
		}
		lastErr := "-"
		if !p.LastErrorAt.IsZero() {
			lastErr = ago(now, p.LastErrorAt) + ": " + clipText(p.LastError, 80)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", p.Name, p.Nation, p.Depth, lag, p.Pushed,
			p.Pulled, p.Rejected, p.Conflicts, ago(now, p.LastSuccess), lastErr)
	}
	return tw.Flush()
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return now.Sub(t).Round(time.Second).String() + " ago"
}

func clipText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// runPeerSelf prints this node's identity as its partners need it, creating the
// signing key and TLS certificate when the node has not started yet.
func runPeerSelf(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "peer self", "[-url URL]")
	url := fs.String("url", "", "the TAXII API root partners reach this node at (default https://LISTEN/api/)")
	cfg, _, err := parseArgs(e, fs, cf, args, 0, "no arguments")
	if err != nil {
		return err
	}
	return printSelf(e, cfg, *url)
}

func printSelf(e *Env, cfg config.Config, url string) error {
	engine, err := node.LoadPolicy(cfg)
	if err != nil {
		return err
	}
	pc := engine.Config()
	key, _, err := provenance.LoadOrCreateKey(filepath.Join(cfg.DataDir, provenance.KeyFile))
	if err != nil {
		return err
	}
	// The certificate the node serves: read when it exists (creating one for other
	// host names here would replace the one partners pin), made as serve would when not.
	var tlsID *pki.Server
	certFile, keyFile := cfg.TLSCert, cfg.TLSKey
	if certFile == "" {
		certFile, keyFile = filepath.Join(cfg.DataDir, "tls", pki.ServerCertFile), filepath.Join(cfg.DataDir, "tls", pki.ServerKeyFile)
	}
	if _, serr := os.Stat(certFile); serr == nil || cfg.TLSCert != "" {
		tlsID, err = pki.LoadServer(certFile, keyFile)
	} else {
		host, _, _ := net.SplitHostPort(cfg.Listen)
		tlsID, _, err = pki.EnsureServer(filepath.Join(cfg.DataDir, "tls"), []string{host})
	}
	if err != nil {
		return err
	}
	pub := key.Public().(ed25519.PublicKey)
	if url == "" {
		url = "https://" + cfg.Listen + "/api/"
	} else if !strings.HasSuffix(url, "/") {
		url += "/"
	}
	fmt.Fprintf(e.Stdout, "nation       %s\nagency       %s\nurl          %s\nfingerprint  %s\npublic key   %s\nkey id       %s\n\n",
		pc.Nation, pc.Agency, url, tlsID.Fingerprint, provenance.EncodePublic(pub), provenance.KeyID(pub))
	fmt.Fprintf(e.Stdout, "on a partner's node:\n  quadshare peer add %s --nation %s --url %s --fingerprint %s --public-key %s\n",
		strings.ToLower(pc.Nation)+"-node", pc.Nation, url, tlsID.Fingerprint, provenance.EncodePublic(pub))
	return nil
}
