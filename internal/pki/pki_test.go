package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEnsureServerCreatesOnceThenReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	s1, created, err := EnsureServer(dir, []string{"node.example.org", "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		t.Fatal("first call: created = false, want true")
	}
	if len(s1.Fingerprint) != 64 || s1.Fingerprint != Fingerprint(s1.Cert.Leaf.Raw) {
		t.Fatalf("fingerprint %q does not match the leaf", s1.Fingerprint)
	}
	s2, created, err := EnsureServer(dir, []string{"node.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if created {
		t.Fatal("second call: created = true, want false (reuse)")
	}
	if s2.Fingerprint != s1.Fingerprint {
		t.Fatalf("second call fingerprint %s, first %s", s2.Fingerprint, s1.Fingerprint)
	}
	for _, h := range []string{"localhost", "127.0.0.1", "::1", "node.example.org", "192.0.2.7"} {
		if err := s1.Cert.Leaf.VerifyHostname(h); err != nil {
			t.Errorf("server certificate does not name %s: %v", h, err)
		}
	}
	// The leaf chains to the CA pool for server authentication.
	if _, err := s2.Cert.Leaf.Verify(x509.VerifyOptions{Roots: s2.CAPool, DNSName: "localhost"}); err != nil {
		t.Fatalf("server certificate does not verify against the CA: %v", err)
	}
	// A new host gets a new server certificate from the same CA.
	s3, created, err := EnsureServer(dir, []string{"other.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if !created || s3.Fingerprint == s1.Fingerprint {
		t.Fatalf("new host: created=%v, same fingerprint=%v; want a new certificate", created, s3.Fingerprint == s1.Fingerprint)
	}
	if !s3.CACert.Equal(s1.CACert) {
		t.Fatal("new host: the CA changed")
	}
}

func TestKeyPermissions(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := EnsureServer(dir, nil); err != nil {
		t.Fatal(err)
	}
	c, err := IssueClient(dir, "partner-jp")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{filepath.Join(dir, CAKeyFile), filepath.Join(dir, ServerKeyFile), c.KeyFile} {
		fi, err := os.Stat(k)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(k), fi.Mode().Perm())
		}
	}
	// A key that became group-readable is refused rather than used.
	if err := os.Chmod(filepath.Join(dir, ServerKeyFile), 0o640); err != nil {
		t.Fatal(err)
	}
	_, _, err = EnsureServer(dir, nil)
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("group-readable key: err = %v, want a refusal", err)
	}
}

func TestEnsureServerBadInput(t *testing.T) {
	for _, hosts := range [][]string{{"bad host"}, {"a..b"}, {strings.Repeat("a", 300)}, {"-x.example"}, {"*.example.org"}, {"host:8443"}} {
		if _, _, err := EnsureServer(t.TempDir(), hosts); err == nil {
			t.Errorf("hosts %q: no error", hosts)
		}
	}
	if _, _, err := EnsureServer("", nil); err == nil {
		t.Error("empty dir: no error")
	}
	// Unspecified addresses stand for all interfaces and are not put in the certificate.
	s, _, err := EnsureServer(t.TempDir(), []string{"0.0.0.0", "[::]"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ip := range s.Cert.Leaf.IPAddresses {
		if ip.IsUnspecified() {
			t.Errorf("certificate names unspecified address %s", ip)
		}
	}
	// A corrupt certificate is an error, not silently replaced.
	dir := t.TempDir()
	if _, _, err := EnsureServer(dir, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ServerCertFile), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := EnsureServer(dir, nil); err == nil {
		t.Error("corrupt server certificate: no error")
	}
	if _, err := IssueClient(dir, "../escape"); err == nil {
		t.Error("client name with a path: no error")
	}
}

func TestLoadServer(t *testing.T) {
	dir := t.TempDir()
	s, _, err := EnsureServer(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := LoadServer(s.CertFile, s.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if l.Fingerprint != s.Fingerprint || l.CAPool != nil {
		t.Fatalf("loaded fingerprint %s (CA pool %v), want %s and no pool", l.Fingerprint, l.CAPool, s.Fingerprint)
	}
	_, err = LoadServer(filepath.Join(dir, "missing.crt"), s.KeyFile)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	// Mismatched certificate and key.
	c, err := IssueClient(dir, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadServer(s.CertFile, c.KeyFile); err == nil {
		t.Fatal("mismatched key: no error")
	}
}

func TestNormalizeFingerprint(t *testing.T) {
	const want = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		in string
		ok bool
	}{
		{want, true},
		{strings.ToUpper(want), true},
		{"01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF", true},
		{want[:62], false},
		{want + "00", false},
		{strings.Repeat("zz", 32), false},
		{"", false},
		{strings.Repeat(":", 500), false},
	}
	for _, tt := range tests {
		got, err := NormalizeFingerprint(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("%q: err = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && got != want {
			t.Errorf("%q: got %q", tt.in, got)
		}
	}
}

// serve starts an HTTPS server on 127.0.0.1 with cfg that answers the negotiated TLS
// version and the fingerprint of the client certificate, if any.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fp := "none"
			if len(r.TLS.PeerCertificates) > 0 {
				fp = Fingerprint(r.TLS.PeerCertificates[0].Raw)
			}
			_, _ = io.WriteString(w, tls.VersionName(r.TLS.Version)+" "+fp)
		}),
		TLSConfig:         cfg,
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { srv.Close() })
	return "https://" + ln.Addr().String() + "/"
}

func get(t *testing.T, url string, cfg *tls.Config) (string, error) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: cfg}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestServerConfigVersions(t *testing.T) {
	dir := t.TempDir()
	s, _, err := EnsureServer(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, ServerConfig(s.Cert, nil))

	got, err := get(t, url, &tls.Config{RootCAs: s.CAPool})
	if err != nil {
		t.Fatal(err)
	}
	if got != "TLS 1.3 none" {
		t.Fatalf("default client: %q, want TLS 1.3 and no client certificate", got)
	}
	got, err = get(t, url, &tls.Config{RootCAs: s.CAPool, MaxVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "TLS 1.2 ") {
		t.Fatalf("TLS 1.2 client: %q", got)
	}
	_, err = get(t, url, &tls.Config{RootCAs: s.CAPool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
	if err == nil {
		t.Fatal("TLS 1.1 client was accepted")
	}
	// A TLS 1.2 client offering only a blacklisted (CBC) suite is refused.
	_, err = get(t, url, &tls.Config{RootCAs: s.CAPool, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}})
	if err == nil {
		t.Fatal("TLS 1.2 with a CBC suite was accepted")
	}
}

func TestServerConfigClientCertificates(t *testing.T) {
	dir := t.TempDir()
	s, _, err := EnsureServer(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := IssueClient(dir, "node-au")
	if err != nil {
		t.Fatal(err)
	}
	// A certificate from another CA, as a partner nation's would be.
	foreign, err := IssueClient(t.TempDir(), "node-jp")
	if err != nil {
		t.Fatal(err)
	}

	// Whether or not the local CA pool is passed, every certificate the client proves
	// it holds reaches the application, where auth checks the pin.
	for _, pool := range []*x509.CertPool{nil, s.CAPool} {
		url := serve(t, ServerConfig(s.Cert, pool))
		for _, c := range []*Client{ours, foreign} {
			got, err := get(t, url, &tls.Config{RootCAs: s.CAPool, Certificates: []tls.Certificate{c.Cert}})
			if err != nil {
				t.Fatal(err)
			}
			if got != "TLS 1.3 "+c.Fingerprint {
				t.Errorf("pool %v, client %s: %q, want its fingerprint", pool != nil, c.Cert.Leaf.Subject.CommonName, got)
			}
		}
		if got, err := get(t, url, &tls.Config{RootCAs: s.CAPool}); err != nil || got != "TLS 1.3 none" {
			t.Fatalf("without a client certificate: %q, %v", got, err)
		}
	}
	// A client that cannot prove it holds the key is refused by the handshake.
	stolen := tls.Certificate{Certificate: foreign.Cert.Certificate, PrivateKey: ours.Cert.PrivateKey}
	if _, err := get(t, serve(t, ServerConfig(s.Cert, nil)), &tls.Config{RootCAs: s.CAPool, Certificates: []tls.Certificate{stolen}}); err == nil {
		t.Fatal("a certificate presented with the wrong key was accepted")
	} else {
		t.Logf("wrong key: %v", err)
	}
}

func TestServerCertificateReplaced(t *testing.T) {
	dir := t.TempDir()
	s, _, err := EnsureServer(dir, []string{"node.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	names, ips, err := sanHosts([]string{"node.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"fresh", now, true},
		{"eight days before expiry", s.Cert.Leaf.NotAfter.Add(-8 * 24 * time.Hour), true},
		{"six days before expiry", s.Cert.Leaf.NotAfter.Add(-6 * 24 * time.Hour), false},
		{"expired", s.Cert.Leaf.NotAfter.Add(time.Hour), false},
		{"before NotBefore", s.Cert.Leaf.NotBefore.Add(-time.Hour), false},
	}
	for _, tt := range tests {
		if got := reusable(s.Cert.Leaf, s.CACert, names, ips, tt.at); got != tt.want {
			t.Errorf("%s: reusable = %v, want %v", tt.name, got, tt.want)
		}
	}

	// A server certificate signed by another CA (copied in by mistake) is replaced by
	// one from this directory's CA.
	other, _, err := EnsureServer(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range [][2]string{{other.CertFile, s.CertFile}, {other.KeyFile, s.KeyFile}} {
		b, err := os.ReadFile(f[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f[1], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	again, created, err := EnsureServer(dir, []string{"node.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if !created || again.Fingerprint == other.Fingerprint || again.Cert.Leaf.CheckSignatureFrom(s.CACert) != nil {
		t.Fatalf("foreign server certificate kept: created=%v", created)
	}
}
