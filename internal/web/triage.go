package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"quadshare/internal/auth"
	"quadshare/internal/report"
	"quadshare/internal/reportapi"
	"quadshare/internal/store"
)

// Triage forms post to the report API itself, in process: the analyst's form is
// turned into the API's JSON action and served by the API's own handler with the
// signed-in principal, so the rules, history and releases are exactly the API's.

// maxTriageForm bounds a triage form: a note of report.MaxText and a few fields.
const maxTriageForm = report.MaxText + 8<<10

// triage returns the handler of one analyst action of the report API
// (notes, marking, release), whose members are allowed.
func (s *Server) triage(action string, allowed ...string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
		r.Body = http.MaxBytesReader(w, r.Body, maxTriageForm)
		if err := r.ParseForm(); err != nil {
			return badRequest("The form could not be read (at most %d bytes).", maxTriageForm)
		}
		m := map[string]string{}
		for _, k := range allowed {
			if v := r.PostForm.Get(k); v != "" {
				m[k] = v
			}
		}
		id := r.PathValue("id")
		status, body, err := s.callAPI(r.Context(), p, http.MethodPost, "reports/"+url.PathEscape(id)+"/"+action, m)
		if err != nil {
			return err
		}
		if status == http.StatusOK {
			http.Redirect(w, r, Prefix+"reports/"+url.PathEscape(id)+"?done="+action, http.StatusSeeOther)
			return nil
		}
		if status >= 500 {
			return fmt.Errorf("web: report API %s of %s answered %d", action, id, status)
		}
		var eb struct {
			Description string              `json:"description"`
			Errors      []report.FieldError `json:"errors"`
		}
		_ = json.Unmarshal(body, &eb) // the API's error object; a message is shown either way
		msg := eb.Description
		for _, fe := range eb.Errors {
			msg += " " + strings.TrimPrefix(fe.Pointer, "/") + ": " + fe.Message + "."
		}
		if msg == "" {
			msg = http.StatusText(status)
		}
		return s.showReport(w, r, p, status, msg)
	}
}

// callAPI serves one request of the report API for p in process.
func (s *Server) callAPI(ctx context.Context, p *auth.Principal, method, path string, members map[string]string) (int, []byte, error) {
	b, err := json.Marshal(members)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(auth.NewContext(ctx, p), method, reportapi.Prefix+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	rec := &recorder{header: http.Header{}}
	s.api.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.status, rec.body.Bytes(), nil
}

// recorder keeps the answer of an in-process call.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// releaseTargets are the collections an analyst may release a report to: not an
// operator's inbox, and writable by p.
func (s *Server) releaseTargets(ctx context.Context, p *auth.Principal) ([]store.Collection, error) {
	cs, err := s.st.Collections(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.Collection
	for _, c := range cs {
		if c.OwnerOrg != "" {
			continue
		}
		rt, err := s.authn.Rights(ctx, p, c)
		if err != nil {
			return nil, err
		}
		if rt.Write {
			out = append(out, c)
		}
	}
	return out, nil
}
