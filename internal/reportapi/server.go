// Package reportapi is the HTTP API of operator incident reporting (package report):
// operators submit and update reports in plain JSON and get signed receipts;
// analysts list what is due, triage, correct markings and release reports to the
// collections partners read. The node mounts it at Prefix beside the TAXII server,
// behind the same middleware (httpx) and authentication (auth).
package reportapi

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"quadshare/internal/auth"
	"quadshare/internal/httpx"
	"quadshare/internal/report"
	"quadshare/internal/store"
)

// Prefix is the path under which the node serves the API.
const Prefix = "/reporting/v1/"

// Config is what the API needs beside the store.
type Config struct {
	Node      string             // the receiving node's name, carried by receipts
	Key       ed25519.PrivateKey // signs receipts
	Deadlines *report.Deadlines  // nil: report.DefaultDeadlines
	Sectors   *report.Sectors    // nil: report.DefaultSectors
	Now       func() time.Time   // nil: time.Now
	// MaxVersions is how many versions one report may have; 0: report.MaxVersions.
	MaxVersions int
	// Agency returns the organisation id of our agency as the sharing policy names
	// it now (a reload may change it): its analysts and admins triage.
	Agency func() string
}

// Authorizer decides a principal's rights on a collection; *auth.Authenticator is one.
type Authorizer interface {
	Rights(ctx context.Context, p *auth.Principal, c store.Collection) (auth.Rights, error)
}

// Server serves the report API.
type Server struct {
	cfg   Config
	st    store.Store
	authz Authorizer
	log   *slog.Logger
}

// New returns the API over st.
func New(cfg Config, st store.Store, authz Authorizer, log *slog.Logger) (*Server, error) {
	if st == nil || authz == nil || log == nil {
		return nil, errors.New("reportapi: store, authorizer and logger are required")
	}
	if len(cfg.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("reportapi: the receipt key must be an Ed25519 private key")
	}
	if cfg.Node == "" {
		return nil, errors.New("reportapi: the node needs a name for its receipts")
	}
	if cfg.Agency == nil {
		return nil, errors.New("reportapi: the node needs its agency, whose analysts triage")
	}
	if cfg.Deadlines == nil {
		cfg.Deadlines = report.DefaultDeadlines()
	}
	if cfg.Sectors == nil {
		cfg.Sectors = report.DefaultSectors()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxVersions <= 0 {
		cfg.MaxVersions = report.MaxVersions
	}
	return &Server{cfg: cfg, st: st, authz: authz, log: log}, nil
}

// LoadData reads the editable reporting data of a node from dir: deadlines.json and
// sectors.json when present (docs/reporting.md), else the shipped defaults.
func LoadData(dir string) (*report.Deadlines, *report.Sectors, error) {
	d, s := report.DefaultDeadlines(), report.DefaultSectors()
	if f, err := os.Open(filepath.Join(dir, "deadlines.json")); err == nil {
		d, err = report.LoadDeadlines(f)
		f.Close()
		if err != nil {
			return nil, nil, err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	if f, err := os.Open(filepath.Join(dir, "sectors.json")); err == nil {
		s, err = report.LoadSectors(f)
		f.Close()
		if err != nil {
			return nil, nil, err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	return d, s, nil
}

// Handler returns the routes of the API, every one under Prefix.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	p := Prefix
	s.handle(mux, "GET "+p+"schema.json", s.getSchema)
	s.handle(mux, "GET "+p+"openapi.json", s.getOpenAPI)
	s.handle(mux, "GET "+p+"receipt-key", s.getReceiptKey)
	s.handle(mux, "POST "+p+"reports", s.postReport)
	s.handle(mux, "GET "+p+"reports", s.listReports)
	s.handle(mux, "GET "+p+"reports/{id}", s.getReport)
	s.handle(mux, "POST "+p+"reports/{id}/notes", s.postNote)
	s.handle(mux, "POST "+p+"reports/{id}/marking", s.postMarking)
	s.handle(mux, "POST "+p+"reports/{id}/release", s.postRelease)
	mux.Handle("/", s.wrap(func(w http.ResponseWriter, r *http.Request) error {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "/" && pattern != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			return notFound()
		}
		e := httpx.Errorf(http.StatusMethodNotAllowed, "Use %s on this endpoint.", strings.Join(allow, ", "))
		e.Header = http.Header{"Allow": {strings.Join(allow, ", ")}}
		return e
	}))
	return mux
}

func (s *Server) handle(mux *http.ServeMux, pattern string, h httpx.HandlerFunc) {
	mux.Handle(pattern, s.wrap(h))
}

// wrap renders the error a handler returns as a JSON error object.
func (s *Server) wrap(h httpx.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// fieldError is a client error with the fields at fault.
type fieldError struct {
	status int
	desc   string
	fields report.Errors
}

func (e *fieldError) Error() string { return fmt.Sprintf("%d %s: %v", e.status, e.desc, e.fields) }

func invalid(desc string, fields ...report.FieldError) *fieldError {
	return &fieldError{status: http.StatusUnprocessableEntity, desc: desc, fields: fields}
}

func notFound() *httpx.Error {
	return &httpx.Error{Status: http.StatusNotFound, Title: "Not Found",
		Description: "The requested resource does not exist or you do not have access to it."}
}

// errorBody is the error object of every failed request: the TAXII error members
// (httpx) and, for a refused document, each field at fault with its JSON Pointer
// (the FieldErrors of openapi.json).
type errorBody struct {
	Title       string              `json:"title"`
	Description string              `json:"description,omitempty"`
	ErrorID     string              `json:"error_id,omitempty"`
	HTTPStatus  string              `json:"http_status"`
	Errors      []report.FieldError `json:"errors,omitempty"`
}

// writeError renders err. Errors that are neither *httpx.Error nor *fieldError are the
// server's: logged, and shown as a generic 500 that says nothing of the inside.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpx.Error
	var fe *fieldError
	var mbe *http.MaxBytesError
	body := errorBody{}
	status := 0
	switch {
	case errors.As(err, &fe):
		status, body.Description, body.Errors = fe.status, fe.desc, fe.fields
	case errors.As(err, &he):
		status, body.Description = he.Status, he.Description
		for k, vs := range he.Header {
			w.Header()[k] = vs
		}
	case errors.As(err, &mbe):
		status, body.Description = http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than %d bytes.", mbe.Limit)
	default:
		status, body.Description = http.StatusInternalServerError, "The server could not complete the request. Quote the error_id when reporting it."
	}
	body.Title, body.HTTPStatus, body.ErrorID = http.StatusText(status), fmt.Sprint(status), httpx.RequestID(r.Context())
	level := slog.LevelDebug
	if status >= 500 {
		level = slog.LevelError
	}
	s.log.LogAttrs(r.Context(), level, "report api: request failed", slog.String("request_id", body.ErrorID),
		slog.Int("status", status), slog.String("error", err.Error()))
	w.Header().Del("Location")
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value written here is made of plain types.
		b, status = []byte(`{"title":"Internal Server Error","http_status":"500"}`), http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// who returns the principal of the request and a context naming it as the actor of
// what the store writes.
func who(r *http.Request) (*auth.Principal, context.Context, error) {
	p, ok := auth.FromContext(r.Context())
	if !ok || !p.User.DisabledAt.IsZero() || p.User.Org != p.Org.ID {
		return nil, nil, &httpx.Error{Status: http.StatusUnauthorized, Title: "Unauthorized",
			Description: "Authenticate with HTTP Basic: your user name and an API token.",
			Header:      http.Header{"Www-Authenticate": {auth.Challenge}}}
	}
	return p, store.WithActor(r.Context(), "user:"+p.User.ID), nil
}

// isAnalyst reports whether p triages reports: an analyst or admin of our own
// agency. Staff of another agency (a partner nation's, say) see reports only as
// what the sharing policy releases of them, never the operators behind them.
func (s *Server) isAnalyst(p *auth.Principal) bool {
	return (p.User.Role == store.RoleAnalyst || p.User.Role == store.RoleAdmin) && p.Org.ID == s.cfg.Agency()
}

func isOperator(p *auth.Principal) bool { return p.User.Role == store.RoleOperator }

func (s *Server) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Millisecond) }

func (s *Server) getSchema(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/schema+json")
	_, err := w.Write(report.Schema())
	return err
}

func (s *Server) getOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(report.OpenAPI())
	return err
}

// ReceiptKey is the node's public receipt key as GET receipt-key gives it.
type ReceiptKey struct {
	Algorithm string `json:"algorithm"`  // "Ed25519"
	PublicKey string `json:"public_key"` // base64 (RFC 4648 §4)
	Node      string `json:"node"`
}

func (s *Server) getReceiptKey(w http.ResponseWriter, r *http.Request) error {
	pub := s.cfg.Key.Public().(ed25519.PublicKey)
	writeJSON(w, http.StatusOK, ReceiptKey{Algorithm: "Ed25519", PublicKey: base64.StdEncoding.EncodeToString(pub), Node: s.cfg.Node})
	return nil
}

// open reports the statuses of reports still in the analysts' hands.
var open = []string{string(report.StatusNew), string(report.StatusTriaged)}

func isOpen(status string) bool { return slices.Contains(open, status) }
