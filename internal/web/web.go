// Package web is the browser interface of a node, served by the same binary under
// Prefix: html/template pages, our own CSS and a vendored htmx, all embedded. Every
// core flow works without JavaScript; htmx only spares full page loads. Users sign
// in with the same user name and API token as the API and get the same roles and
// rights (package auth); every page that shows objects passes them through the
// sharing gate (gate.Gate.Release) for the signed-in user, which records the
// disclosure. See docs/web.md.
package web

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"quadshare/internal/auth"
	"quadshare/internal/gate"
	"quadshare/internal/httpx"
	"quadshare/internal/reportapi"
	"quadshare/internal/store"
)

// Prefix is the path under which the node serves the interface.
const Prefix = "/ui/"

// ContentSecurityPolicy allows only our own scripts, styles and images: no inline
// script or style, no framing, forms only to ourselves.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config is what the interface needs beside its collaborators.
type Config struct {
	SessionKey []byte            // at least 32 bytes; signs session cookies
	Secure     bool              // served over TLS: cookies are Secure and __Host-
	AuditKey   ed25519.PublicKey // verifies the trail's checkpoints; nil: not verified
	Now        func() time.Time  // nil: time.Now
}

// Authenticator checks sign-in credentials and rights; *auth.Authenticator is one.
type Authenticator interface {
	Authenticate(r *http.Request) (*auth.Principal, error)
	Rights(ctx context.Context, p *auth.Principal, c store.Collection) (auth.Rights, error)
	TokenPrincipal(ctx context.Context, tokenID, userID string) (*auth.Principal, error)
}

// Server serves the interface.
type Server struct {
	cfg     Config
	st      store.Store
	authn   Authenticator
	gate    *gate.Gate
	reports *reportapi.Server
	api     http.Handler // the report API, called in process by the triage forms
	log     *slog.Logger
	sess    *sessions
	pages   map[string]*template.Template
}

// New returns the interface over st.
func New(cfg Config, st store.Store, authn Authenticator, g *gate.Gate, reports *reportapi.Server, log *slog.Logger) (*Server, error) {
	if st == nil || authn == nil || g == nil || reports == nil || log == nil {
		return nil, errors.New("web: store, authenticator, gate, report API and logger are required")
	}
	if len(cfg.SessionKey) < 32 {
		return nil, errors.New("web: the session key must have at least 32 bytes")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, st: st, authn: authn, gate: g, reports: reports, api: reports.Handler(), log: log,
		sess: &sessions{key: cfg.SessionKey, secure: cfg.Secure, now: cfg.Now}, pages: pages}, nil
}

// parsePages makes one template set per page: the layout plus the page.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := make(map[string]*template.Template)
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", n, err)
		}
		pages[base] = t
	}
	return pages, nil
}

var funcs = template.FuncMap{
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"deref": func(b *bool) bool { return b != nil && *b },
	"field": func(name, label string, d formData) formField {
		return formField{Name: name, Label: label, Errors: d.Errors[name]}
	},
	"prev": func(seq int64) int64 { return max(0, seq-1) }, // the audit page after= that starts at seq
	"timep": func(t *time.Time) string {
		if t == nil || t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04Z")
	},
}

// formField is one labelled input of a form, with the messages refusing it.
type formField struct {
	Name, Label string
	Errors      []string
}

// handlerFunc is a page handler; an error is rendered as an error page.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error

// Handler returns the routes of the interface, every one under Prefix, behind
// cross-origin protection (CSRF) and the security headers.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	p := Prefix
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET "+p+"static/", http.StripPrefix(p+"static/", staticFiles(static)))
	mux.HandleFunc("GET "+p+"signin", s.getSignIn)
	mux.HandleFunc("POST "+p+"signin", s.postSignIn)
	mux.HandleFunc("POST "+p+"signout", s.postSignOut)
	s.page(mux, "GET "+p+"{$}", s.home, anyone)
	s.page(mux, "GET "+p+"dashboard", s.ourAgencyOnly(s.dashboard), analysts)
	s.page(mux, "GET "+p+"objects", s.objects, readers)
	s.page(mux, "GET "+p+"collections/{collection}/objects/{id}", s.object, readers)
	s.page(mux, "GET "+p+"audit", s.ourAgencyOnly(s.auditPage), analysts)
	s.page(mux, "GET "+p+"reports", s.reportList, reporters)
	s.page(mux, "GET "+p+"reports/new", s.newReport, operators)
	s.page(mux, "POST "+p+"reports", s.postReport, operators)
	s.page(mux, "GET "+p+"reports/{id}", s.reportPage, reporters)
	s.page(mux, "GET "+p+"reports/{id}/update", s.updateReport, operators)
	s.page(mux, "POST "+p+"reports/{id}/notes", s.triage("notes", "text", "status"), analysts)
	s.page(mux, "POST "+p+"reports/{id}/marking", s.triage("marking", "tlp", "note"), analysts)
	s.page(mux, "POST "+p+"reports/{id}/release", s.triage("release", "collection", "note"), analysts)
	s.page(mux, "GET "+p+"admin", s.ourAgencyOnly(s.admin), admins)
	mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, nil, &pageError{status: http.StatusNotFound, msg: "There is no such page."})
	})
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, nil, &pageError{status: http.StatusForbidden, msg: "This request came from another site and was refused."})
	}))
	return headers(csrf.Handler(mux))
}

// startKey keys the time a request reached the interface in its context.
type startKey struct{}

// headers sets the browser protections of every answer of the interface.
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), startKey{}, time.Now())))
	})
}

// staticFiles serves the embedded files, cacheable: they change only with the binary.
func staticFiles(fsys fs.FS) http.Handler {
	fsrv := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}

// Who may open a page.
type allow func(store.Role) bool

func anyone(r store.Role) bool { return r != store.RolePeer && r != "" }
func analysts(r store.Role) bool {
	return r == store.RoleAnalyst || r == store.RoleAdmin
}
func readers(r store.Role) bool {
	return r == store.RoleAnalyst || r == store.RoleAdmin || r == store.RoleReader || r == store.RoleOperator
}

// ourAgency says whether p is an analyst or administrator of our own agency:
// of the organisation whose identity is the policy's agency. Being of kind
// agency is not enough: partners' agencies and our government's other agencies
// are of that kind too. Only our agency's staff see where intelligence came
// from, who received it, the partner links and the audit trail.
func (s *Server) ourAgency(p *auth.Principal) bool {
	return p != nil && analysts(p.User.Role) &&
		gate.Identity(p.Org.ID) == s.gate.Policy().Config().Agency
}

// ourAgencyOnly refuses h to anyone but our agency's staff.
func (s *Server) ourAgencyOnly(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
		if !s.ourAgency(p) {
			return &pageError{status: http.StatusForbidden, msg: "Only our agency's analysts see this page."}
		}
		return h(w, r, p)
	}
}

func reporters(r store.Role) bool { return analysts(r) || r == store.RoleOperator }
func operators(r store.Role) bool { return r == store.RoleOperator }
func admins(r store.Role) bool    { return r == store.RoleAdmin }

// page routes pattern to h for signed-in users whose role ok allows.
func (s *Server) page(mux *http.ServeMux, pattern string, h handlerFunc, ok allow) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, err := s.signedIn(r)
		if errors.Is(err, errNoSession) {
			s.sess.clear(w)
			target := Prefix + "signin"
			if r.Method == http.MethodGet {
				target += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		if err != nil {
			s.renderError(w, r, nil, err)
			return
		}
		if !ok(p.User.Role) {
			s.renderError(w, r, p, &pageError{status: http.StatusForbidden, msg: "Your role does not give access to this page."})
			return
		}
		if err := h(w, r, p); err != nil {
			s.renderError(w, r, p, err)
		}
	})
}

// signedIn returns the principal of the request's session.
func (s *Server) signedIn(r *http.Request) (*auth.Principal, error) {
	ss, err := s.sess.read(r)
	if err != nil {
		return nil, err
	}
	// The accounts as they are now: revoking the token or disabling the user ends
	// the session at once.
	p, err := s.authn.TokenPrincipal(r.Context(), ss.Token, ss.User)
	if errors.Is(err, auth.ErrUnauthenticated) {
		return nil, errNoSession
	}
	return p, err
}

// pageError is an error whose message may be shown.
type pageError struct {
	status int
	msg    string
}

func (e *pageError) Error() string { return fmt.Sprintf("%d %s", e.status, e.msg) }

func notFound() *pageError {
	return &pageError{status: http.StatusNotFound, msg: "This does not exist, or you may not see it."}
}

func badRequest(format string, a ...any) *pageError {
	return &pageError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, a...)}
}

// renderError shows err: its own message for a pageError or a refusal of the report
// API, a generic one with the request id for anything else (which is logged).
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, p *auth.Principal, err error) {
	var pe *pageError
	status, msg := http.StatusInternalServerError, "The server could not show this page. Quote this id when reporting it: "+httpx.RequestID(r.Context())
	switch {
	case errors.As(err, &pe):
		status, msg = pe.status, pe.msg
	default:
		if st, desc, _, ok := reportapi.Refusal(err); ok {
			status, msg = st, desc
		} else {
			s.log.LogAttrs(r.Context(), slog.LevelError, "web: page failed", slog.String("path", r.URL.Path),
				slog.String("request_id", httpx.RequestID(r.Context())), slog.String("error", err.Error()))
		}
	}
	s.render(w, r, status, "error", p, "Error", map[string]any{"Status": status, "StatusText": http.StatusText(status), "Message": msg})
}

// view is what the layout needs around every page.
type view struct {
	Title string
	User  *auth.Principal
	Nav   []navItem
	Path  string
	Data  any
}

type navItem struct {
	Href, Label string
	Current     bool
}

func navFor(p *auth.Principal, path string, ourAgency bool) []navItem {
	if p == nil {
		return nil
	}
	var items []navItem
	add := func(href, label string) {
		items = append(items, navItem{Href: href, Label: label, Current: path == href || strings.HasPrefix(path, href+"/")})
	}
	role := p.User.Role
	if ourAgency {
		add(Prefix+"dashboard", "Dashboard")
	}
	if readers(role) {
		add(Prefix+"objects", "Objects")
	}
	if reporters(role) {
		add(Prefix+"reports", "Reports")
	}
	if ourAgency {
		add(Prefix+"audit", "Audit trail")
	}
	if ourAgency && admins(role) {
		add(Prefix+"admin", "Configuration")
	}
	return items
}

// render writes a page; templates render into a buffer so that a failing one
// sends a clean error, not half a page. A request from htmx gets the same page:
// htmx picks the part it swaps.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, p *auth.Principal, title string, data any) {
	t, ok := s.pages[page]
	if !ok {
		s.log.LogAttrs(r.Context(), slog.LevelError, "web: no template", slog.String("page", page))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, view{Title: title, User: p, Nav: navFor(p, r.URL.Path, s.ourAgency(p)), Path: r.URL.Path, Data: data}); err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelError, "web: template", slog.String("page", page), slog.String("error", err.Error()))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Vary", "HX-Request")
	if start, ok := r.Context().Value(startKey{}).(time.Time); ok {
		// The server's time for the page (W3C Server Timing): the figure the
		// speed goal is about, without the network and the client.
		w.Header().Set("Server-Timing", "page;dur="+strconv.FormatFloat(float64(time.Since(start).Microseconds())/1000, 'f', 2, 64))
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// randomKey returns n random bytes in URL-safe base64.
func randomKey(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
