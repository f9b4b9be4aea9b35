package web

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"quadshare/internal/auth"
)

// maxForm bounds a form other than the report form.
const maxForm = 16 << 10

type signInData struct {
	Name, Next, Message string
}

func (s *Server) getSignIn(w http.ResponseWriter, r *http.Request) {
	if p, err := s.signedIn(r); err == nil {
		http.Redirect(w, r, s.landing(p), http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "signin", nil, "Sign in", signInData{Next: safeNext(r.URL.Query().Get("next"))})
}

// postSignIn checks the user name and API token exactly as the API does (same
// failure limits, same log), then starts a session bound to that token.
func (s *Server) postSignIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, nil, badRequest("The form could not be read."))
		return
	}
	name, token := strings.TrimSpace(r.PostForm.Get("user")), strings.TrimSpace(r.PostForm.Get("token"))
	data := signInData{Name: name, Next: safeNext(r.PostForm.Get("next"))}
	if name == "" || token == "" || strings.ContainsAny(name, ":") {
		data.Message = "Give your user name and an API token."
		s.render(w, r, http.StatusUnauthorized, "signin", nil, "Sign in", data)
		return
	}
	// A copy of the request with the credentials as HTTP Basic and without the TLS
	// client certificate: the form's credentials decide, nothing else.
	basic := r.Clone(r.Context())
	basic.TLS = nil
	basic.Header = http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(name+":"+token))}}
	p, err := s.authn.Authenticate(basic)
	switch {
	case errors.Is(err, auth.ErrRateLimited):
		w.Header().Set("Retry-After", "30")
		data.Message = "Too many failed sign-ins; wait a minute before trying again."
		s.render(w, r, http.StatusTooManyRequests, "signin", nil, "Sign in", data)
		return
	case errors.Is(err, auth.ErrUnauthenticated):
		data.Message = "The user name or the token is wrong, expired or revoked."
		s.render(w, r, http.StatusUnauthorized, "signin", nil, "Sign in", data)
		return
	case err != nil:
		s.renderError(w, r, nil, err)
		return
	}
	if !anyone(p.User.Role) {
		data.Message = "Partner nodes have no web interface."
		s.render(w, r, http.StatusForbidden, "signin", nil, "Sign in", data)
		return
	}
	cred, err := auth.ParseCredentials(basic.Header.Get("Authorization"))
	if err != nil {
		s.renderError(w, r, nil, err)
		return
	}
	tok, err := s.st.Token(r.Context(), cred.TokenID)
	if err != nil {
		s.renderError(w, r, nil, err)
		return
	}
	if err := s.sess.issue(w, p.User.ID, tok); err != nil {
		s.renderError(w, r, nil, err)
		return
	}
	next := data.Next
	if next == "" {
		next = s.landing(p)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) postSignOut(w http.ResponseWriter, r *http.Request) {
	if ss, err := s.sess.read(r); err == nil {
		s.sess.end(ss)
	}
	s.sess.clear(w)
	http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
}

// safeNext keeps a return address only when it is a path of the interface, so that
// sign-in cannot send the user elsewhere.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") ||
		strings.HasPrefix(next, Prefix+"signin") || len(next) > 2048 {
		return ""
	}
	return next
}

// landing is where a user starts.
func (s *Server) landing(p *auth.Principal) string {
	switch {
	case s.ourAgency(p):
		return Prefix + "dashboard"
	case operators(p.User.Role):
		return Prefix + "reports"
	}
	return Prefix + "objects"
}

func (s *Server) home(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	http.Redirect(w, r, s.landing(p), http.StatusSeeOther)
	return nil
}
