// Package pki gives a node its TLS identity: a local certificate authority and server
// certificate created on first start in the data directory, or an operator-provided
// certificate and key, plus the server TLS configuration and client certificates for
// partner setup and tests.
//
// TAXII 2.1 §8.2.2: a server MUST accept TLS 1.2, SHOULD accept TLS 1.3, MUST NOT use
// 0-RTT and SHOULD NOT accept the TLS 1.2 cipher suites blacklisted in RFC 7540
// Appendix A. §8.3.1 allows client certificate verification by pinning, which is what
// partner nodes use here (see ServerConfig).
package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"
)

// File names inside the directory given to EnsureServer and IssueClient.
const (
	CACertFile     = "ca.crt"
	CAKeyFile      = "ca.key"
	ServerCertFile = "server.crt"
	ServerKeyFile  = "server.key"
)

// Validity periods of what this package creates.
const (
	caValidity     = 10 * 365 * 24 * time.Hour
	leafValidity   = 397 * 24 * time.Hour // the longest lifetime TLS clients commonly accept
	renewBefore    = 7 * 24 * time.Hour   // a server certificate this close to expiry is replaced
	clockSkew      = 5 * time.Minute      // NotBefore is backdated by this much
	maxHosts       = 64
	maxHostLen     = 253
	maxPEMFileSize = 1 << 20
)

// Server is the TLS identity of a node.
type Server struct {
	Cert        tls.Certificate   // the server certificate chain and key; Leaf is set
	CAPool      *x509.CertPool    // the local CA (nil for an operator-provided pair)
	CACert      *x509.Certificate // the local CA certificate (nil for an operator-provided pair)
	Fingerprint string            // hex SHA-256 of the server certificate (DER), lowercase
	CertFile    string
	KeyFile     string
}

// Client is a client certificate issued by the local CA.
type Client struct {
	Cert        tls.Certificate
	Fingerprint string // hex SHA-256 of the certificate (DER): what auth pins
	CertFile    string
	KeyFile     string
}

// Fingerprint returns the lowercase hex SHA-256 of a DER certificate; it is the form
// in which client certificates are pinned in the store.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// NormalizeFingerprint accepts a SHA-256 fingerprint as people write it (upper or lower
// case, with or without colons or spaces) and returns the lowercase hex form.
func NormalizeFingerprint(s string) (string, error) {
	if len(s) > 200 {
		return "", errors.New("fingerprint: too long")
	}
	r := strings.NewReplacer(":", "", " ", "", "-", "")
	h := strings.ToLower(r.Replace(strings.TrimSpace(s)))
	if len(h) != 2*sha256.Size {
		return "", fmt.Errorf("fingerprint: want %d hex digits (SHA-256), got %d", 2*sha256.Size, len(h))
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", errors.New("fingerprint: not hexadecimal")
	}
	return h, nil
}

// EnsureServer loads the local CA and server certificate from dir, creating what is
// missing: the CA (ECDSA P-256, ten years) on first start, and a server certificate
// (ECDSA P-256, 397 days) for 127.0.0.1, ::1, localhost and hosts. An existing server
// certificate is reused while it is valid for more than a week and names every host;
// otherwise it is replaced, signed by the same CA. created reports whether a new
// server certificate was written (its fingerprint is then new). Keys are written 0600
// and refused when group- or world-readable.
func EnsureServer(dir string, hosts []string) (*Server, bool, error) {
	names, ips, err := sanHosts(hosts)
	if err != nil {
		return nil, false, err
	}
	caCert, caKey, _, err := ensureCA(dir)
	if err != nil {
		return nil, false, err
	}
	certPath := filepath.Join(dir, ServerCertFile)
	keyPath := filepath.Join(dir, ServerKeyFile)
	created := false
	cert, err := loadPair(certPath, keyPath, true)
	switch {
	case err == nil && reusable(cert.Leaf, caCert, names, ips, time.Now()):
	case err == nil || errors.Is(err, os.ErrNotExist):
		cert, err = issue(caCert, caKey, leafTemplate("quadshare server", names, ips, x509.ExtKeyUsageServerAuth), certPath, keyPath)
		if err != nil {
			return nil, false, fmt.Errorf("pki: server certificate: %w", err)
		}
		created = true
	default:
		return nil, false, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &Server{
		Cert:        cert,
		CAPool:      pool,
		CACert:      caCert,
		Fingerprint: Fingerprint(cert.Leaf.Raw),
		CertFile:    certPath,
		KeyFile:     keyPath,
	}, created, nil
}

// LoadServer loads an operator-provided PEM certificate (chain) and key, the tls_cert
// and tls_key of the configuration. The key file's permissions are the operator's
// business (secret mounts are often 0640 or 0644), so they are not checked.
func LoadServer(certFile, keyFile string) (*Server, error) {
	cert, err := loadPair(certFile, keyFile, false)
	if err != nil {
		return nil, err
	}
	if time.Now().After(cert.Leaf.NotAfter) {
		return nil, fmt.Errorf("pki: %s expired on %s", certFile, cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return &Server{
		Cert:        cert,
		Fingerprint: Fingerprint(cert.Leaf.Raw),
		CertFile:    certFile,
		KeyFile:     keyFile,
	}, nil
}

var clientName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// IssueClient makes a client certificate named name (letters, digits, '.', '_', '-')
// signed by the local CA in dir, creating the CA when absent, and writes it to
// dir/client-NAME.crt and dir/client-NAME.key (0600). An existing pair of that name is
// replaced. The fingerprint is what a partner pins (quadshare user add --cert-fingerprint).
func IssueClient(dir, name string) (*Client, error) {
	if !clientName.MatchString(name) {
		return nil, fmt.Errorf("pki: client name %q: want 1-64 letters, digits, '.', '_' or '-'", name)
	}
	caCert, caKey, _, err := ensureCA(dir)
	if err != nil {
		return nil, err
	}
	certPath := filepath.Join(dir, "client-"+name+".crt")
	keyPath := filepath.Join(dir, "client-"+name+".key")
	tmpl := leafTemplate(name, nil, nil, x509.ExtKeyUsageClientAuth)
	cert, err := issue(caCert, caKey, tmpl, certPath, keyPath)
	if err != nil {
		return nil, fmt.Errorf("pki: client certificate %s: %w", name, err)
	}
	return &Client{Cert: cert, Fingerprint: Fingerprint(cert.Leaf.Raw), CertFile: certPath, KeyFile: keyPath}, nil
}

// ServerConfig is the TLS configuration of the TAXII server: TLS 1.2 at least (1.3 is
// negotiated whenever the client offers it), and for TLS 1.2 only ECDHE key exchange
// with AEAD ciphers, none of which is on the RFC 7540 Appendix A blacklist. Go never
// accepts TLS 1.3 0-RTT data, as TAXII §8.2.2 requires.
//
// Client certificates are requested, never required (ClientAuth RequestClientCert);
// the handshake proves that the client holds the certificate's key, and whether the
// certificate is accepted is decided by its pinned SHA-256 fingerprint in auth (TAXII
// §8.3.1 allows pinning). A partner's certificate comes from its own national CA, so no
// CA is required of it, and the server advertises no acceptable CAs: clients (Go's
// among them) withhold a certificate that matches none of the names advertised.
// clientCAs is therefore neither advertised nor used to verify; it may be nil. It stays
// in the signature for a future CA-verified mode, which would need its own decision in
// auth as well.
func ServerConfig(cert tls.Certificate, clientCAs *x509.CertPool) *tls.Config {
	_ = clientCAs
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		CipherSuites: []uint16{ // TLS 1.2 only; TLS 1.3 suites are not configurable and all are fine
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		ClientAuth: tls.RequestClientCert,
	}
}

// ensureCA loads the CA of dir, creating the directory (0700) and the CA when absent.
func ensureCA(dir string) (*x509.Certificate, crypto.Signer, bool, error) {
	if dir == "" {
		return nil, nil, false, errors.New("pki: empty directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, false, fmt.Errorf("pki: %w", err)
	}
	certPath := filepath.Join(dir, CACertFile)
	keyPath := filepath.Join(dir, CAKeyFile)
	pair, err := loadPair(certPath, keyPath, true)
	if err == nil {
		if !pair.Leaf.IsCA {
			return nil, nil, false, fmt.Errorf("pki: %s is not a CA certificate", certPath)
		}
		signer, ok := pair.PrivateKey.(crypto.Signer)
		if !ok {
			return nil, nil, false, fmt.Errorf("pki: %s: key cannot sign", keyPath)
		}
		return pair.Leaf, signer, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, false, err
	}
	if _, err := os.Stat(certPath); err == nil {
		return nil, nil, false, fmt.Errorf("pki: %s exists without its key %s; move it away to create a new CA", certPath, keyPath)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, false, fmt.Errorf("pki: CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "quadshare local CA", Organization: []string{"quadshare"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, false, fmt.Errorf("pki: CA certificate: %w", err)
	}
	if err := writePair(certPath, keyPath, [][]byte{der}, key); err != nil {
		return nil, nil, false, err
	}
	caCert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, false, fmt.Errorf("pki: CA certificate: %w", err)
	}
	return caCert, key, true, nil
}

func leafTemplate(cn string, names []string, ips []net.IP, usage x509.ExtKeyUsage) *x509.Certificate {
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"quadshare"}},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     now.Add(leafValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		DNSNames:     names,
		IPAddresses:  ips,
	}
}

// issue makes a P-256 key, signs tmpl with the CA and writes both files.
func issue(ca *x509.Certificate, caKey crypto.Signer, tmpl *x509.Certificate, certPath, keyPath string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := writePair(certPath, keyPath, [][]byte{der, ca.Raw}, key); err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

// reusable reports whether an existing server certificate can serve on: signed by our
// CA, valid for more than renewBefore, and naming every host.
func reusable(leaf, ca *x509.Certificate, names []string, ips []net.IP, now time.Time) bool {
	if leaf.CheckSignatureFrom(ca) != nil {
		return false
	}
	if now.Before(leaf.NotBefore) || now.Add(renewBefore).After(leaf.NotAfter) {
		return false
	}
	for _, n := range names {
		if leaf.VerifyHostname(n) != nil {
			return false
		}
	}
	for _, ip := range ips {
		if leaf.VerifyHostname(ip.String()) != nil {
			return false
		}
	}
	return true
}

// sanHosts splits hosts into DNS names and IP addresses, always including localhost,
// 127.0.0.1 and ::1. An unspecified address (0.0.0.0, ::) or an empty host stands for
// every interface: the machine's host name is added instead.
func sanHosts(hosts []string) ([]string, []net.IP, error) {
	if len(hosts) > maxHosts {
		return nil, nil, fmt.Errorf("pki: %d hosts: at most %d", len(hosts), maxHosts)
	}
	names := []string{"localhost"}
	ips := []net.IP{net.IPv4(127, 0, 0, 1).To4(), net.IPv6loopback}
	seen := map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true}
	add := func(h string) error {
		h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
		if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
			h = h[1 : len(h)-1]
		}
		if seen[h] {
			return nil
		}
		if ip := net.ParseIP(h); ip != nil {
			if ip.IsUnspecified() {
				return nil
			}
			seen[h] = true
			if v4 := ip.To4(); v4 != nil {
				ip = v4
			}
			ips = append(ips, ip)
			return nil
		}
		if !validDNSName(h) {
			return fmt.Errorf("pki: host %q is neither an IP address nor a DNS name", h)
		}
		seen[h] = true
		names = append(names, h)
		return nil
	}
	wild := false
	for _, h := range hosts {
		t := strings.TrimSpace(h)
		if ip := net.ParseIP(strings.Trim(t, "[]")); t == "" || (ip != nil && ip.IsUnspecified()) {
			wild = true
			continue
		}
		if err := add(t); err != nil {
			return nil, nil, err
		}
	}
	if wild {
		if hn, err := os.Hostname(); err == nil && validDNSName(strings.ToLower(hn)) {
			_ = add(hn)
		}
	}
	return names, ips, nil
}

func validDNSName(h string) bool {
	if h == "" || len(h) > maxHostLen {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic("pki: crypto/rand failed: " + err.Error()) // crypto/rand does not fail on supported systems
	}
	return n.Add(n, big.NewInt(1))
}

// loadPair reads a PEM certificate chain and key. With strictKey, a key file readable
// by group or others is refused (on systems with Unix permissions). A missing file
// gives an error matching os.ErrNotExist.
func loadPair(certPath, keyPath string, strictKey bool) (tls.Certificate, error) {
	certPEM, err := readBounded(certPath)
	if err != nil {
		return tls.Certificate{}, err
	}
	if strictKey && runtime.GOOS != "windows" {
		fi, err := os.Stat(keyPath)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("pki: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return tls.Certificate{}, fmt.Errorf("pki: %s has mode %v: a private key must be readable by its owner only (chmod 600)", keyPath, fi.Mode().Perm())
		}
	}
	keyPEM, err := readBounded(keyPath)
	if err != nil {
		return tls.Certificate{}, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: %s and %s: %w", certPath, keyPath, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return tls.Certificate{}, fmt.Errorf("pki: %s: %w", certPath, err)
		}
	}
	return cert, nil
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPEMFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("pki: read %s: %w", path, err)
	}
	if len(b) > maxPEMFileSize {
		return nil, fmt.Errorf("pki: %s is larger than %d bytes", path, maxPEMFileSize)
	}
	return b, nil
}

// writePair writes the key (0600) and then the certificate chain (0644), each to a
// temporary file renamed into place, so a crash never leaves a half-written file.
func writePair(certPath, keyPath string, chain [][]byte, key *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("pki: marshal key: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if err := writeAtomic(keyPath, keyPEM, 0o600); err != nil {
		return err
	}
	var certPEM bytes.Buffer
	for _, der := range chain {
		if err := pem.Encode(&certPEM, &pem.Block{Type: "CERTIFICATE", Bytes: der}); err != nil {
			return fmt.Errorf("pki: encode certificate: %w", err)
		}
	}
	return writeAtomic(certPath, certPEM.Bytes(), 0o644)
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if err := f.Chmod(mode); err != nil && runtime.GOOS != "windows" {
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	return nil
}
