package federation

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"quadshare/internal/httpx"
	"quadshare/internal/pki"
	"quadshare/internal/store"
	"quadshare/internal/taxii"
)

// maxResponse bounds what a peer may answer with.
const maxResponse = 256 << 20

// Doer sends one request; *http.Client is one.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

type client struct {
	fingerprint string
	doer        Doer
}

// ErrUnpinned is wrapped when a peer presents a certificate other than the pinned one.
var ErrUnpinned = errors.New("federation: the peer's certificate is not the one pinned")

// PinnedTLS is the client TLS configuration for a peer: our certificate presented for
// mutual TLS, and the peer's certificate accepted only when its SHA-256 is the pinned
// fingerprint (partners' certificates come from their own national CAs, so pinning,
// which TAXII 2.1 §8.3.1 allows, replaces chain verification).
func PinnedTLS(ours tls.Certificate, fingerprint string) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		Certificates:       []tls.Certificate{ours},
		InsecureSkipVerify: true, // replaced by VerifyPeerCertificate: the pin
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return ErrUnpinned
			}
			if got := pki.Fingerprint(raw[0]); got != fingerprint {
				return fmt.Errorf("%w: got %s", ErrUnpinned, got)
			}
			cert, err := x509.ParseCertificate(raw[0])
			if err != nil {
				return err
			}
			if now := time.Now(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
				return errors.New("federation: the peer's certificate has expired or is not yet valid")
			}
			return nil
		},
	}
}

func (s *Service) client(p store.Peer) (Doer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[p.Name]; ok && c.fingerprint == p.Fingerprint {
		return c.doer, nil
	}
	var d Doer
	if s.cfg.Client != nil {
		var err error
		if d, err = s.cfg.Client(p); err != nil {
			return nil, err
		}
	} else {
		d = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
			TLSClientConfig: PinnedTLS(s.cfg.Cert, p.Fingerprint), ForceAttemptHTTP2: true,
			MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second,
		}}
	}
	s.clients[p.Name] = client{fingerprint: p.Fingerprint, doer: d}
	return d, nil
}

// post sends objects to the peer's inbound collection in one envelope.
func (s *Service) post(ctx context.Context, p store.Peer, raws [][]byte) error {
	var body bytes.Buffer
	body.WriteString(`{"objects":[`)
	for i, r := range raws {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(r)
	}
	body.WriteString(`]}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL+"collections/"+InboundAlias+"/objects/", &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", httpx.MediaType)
	req.Header.Set("Accept", httpx.MediaType)
	resp, err := s.do(p, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s: %s", p.URL, resp.Status, clip(b))
	}
	return nil
}

func (s *Service) do(p store.Peer, req *http.Request) (*http.Response, error) {
	d, err := s.client(p)
	if err != nil {
		return nil, err
	}
	return d.Do(req)
}

// page is one page of a peer's outbox.
type page struct {
	Objects [][]byte
	More    bool
	Next    string
	Last    string // X-TAXII-Date-Added-Last: the cursor after this page
}

// get reads one page of the peer's outbox for us: after the added_after cursor, or
// the next token of a walk under way.
func (s *Service) get(ctx context.Context, p store.Peer, addedAfter, next string, limit int) (page, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if next != "" {
		q.Set("next", next)
	} else if addedAfter != "" {
		q.Set("added_after", addedAfter)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"collections/"+OutboxAlias+"/objects/?"+q.Encode(), nil)
	if err != nil {
		return page{}, err
	}
	req.Header.Set("Accept", httpx.MediaType)
	resp, err := s.do(p, req)
	if err != nil {
		return page{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return page{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return page{}, fmt.Errorf("%s answered %s: %s", p.URL, resp.Status, clip(b))
	}
	if len(b) > maxResponse {
		return page{}, fmt.Errorf("%s: page larger than %d bytes", p.URL, maxResponse)
	}
	pg, err := parsePage(b, resp.Header.Get("X-TAXII-Date-Added-Last"))
	if err != nil {
		return page{}, fmt.Errorf("%s: %w", p.URL, err)
	}
	return pg, nil
}

// parsePage reads one page of a peer's outbox: a TAXII envelope and the
// X-TAXII-Date-Added-Last header. It trusts nothing: the objects are checked one by
// one later, the cursor and the token here.
func parsePage(b []byte, last string) (page, error) {
	env, err := taxii.ReadPage(b, MaxEnvelope)
	if err != nil {
		return page{}, fmt.Errorf("not a TAXII envelope: %w", err)
	}
	if last != "" {
		if _, err := time.Parse(time.RFC3339Nano, last); err != nil || len(last) > 40 {
			return page{}, fmt.Errorf("X-TAXII-Date-Added-Last %q is not a timestamp", clip([]byte(last)))
		}
	}
	if len(env.Next) > 200 {
		return page{}, errors.New("next token too long")
	}
	return page{Objects: env.Objects, More: env.More, Next: env.Next, Last: last}, nil
}

func clip(b []byte) string {
	if len(b) > 300 {
		b = b[:300]
	}
	return string(bytes.ToValidUTF8(b, []byte("?")))
}
