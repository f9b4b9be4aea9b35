package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"quadshare/internal/auth"
	"quadshare/internal/report"
	"quadshare/internal/reportapi"
)

// The report form is a plain form: the server turns it into the report document of
// the API and submits it through the report API's own code (reportapi.Submit), so
// the rules, receipts and deadlines are the API's. Refused fields come back next to
// their inputs.

type reportForm struct {
	Title, Description, DetectedAt, StartedAt, Impact, TLP string
	Ongoing                                                bool
	Services, Indicators, Techniques, Notes                string
	Key                                                    string // idempotency key: a double submission files once
	// For an update: the report's id, and the members the form does not edit
	// (ransom, sectors, attachments) as JSON, carried over unchanged.
	ID, Carry string
}

type formData struct {
	Form     reportForm
	Errors   map[string][]string // by form field; "" for the document as a whole
	Message  string
	Rules    []report.Rule
	Nation   string
	Impacts  []string
	TLPs     []string
	Kinds    []string
	Fields   int
	Received bool
}

var (
	impacts = []string{"none", "minor", "significant", "severe"}
	tlps    = []string{"clear", "green", "amber", "amber+strict", "red"}
	kinds   = []string{"ip", "domain", "url", "email", "hash"}
)

func (s *Server) formData(p *auth.Principal, f reportForm) formData {
	return formData{Form: f, Rules: s.reports.Deadlines().Rules(p.Org.Nation), Nation: p.Org.Nation,
		Impacts: impacts, TLPs: tlps, Kinds: kinds, Errors: map[string][]string{}}
}

func (s *Server) newReport(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	f := reportForm{Impact: "minor", TLP: "amber", Key: "web-" + randomKey(18),
		DetectedAt: s.cfg.Now().UTC().Format("2006-01-02T15:04")}
	s.render(w, r, http.StatusOK, "reportform", p, "File an incident report", s.formData(p, f))
	return nil
}

// maxReportForm bounds the form: the document it becomes is at most report.MaxBytes.
const maxReportForm = report.MaxBytes + 64<<10

func (s *Server) postReport(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxReportForm)
	if err := r.ParseForm(); err != nil {
		return badRequest("The form could not be read (at most %d bytes).", maxReportForm)
	}
	v := r.PostForm
	f := reportForm{Title: v.Get("title"), Description: v.Get("description"), DetectedAt: v.Get("detected_at"),
		StartedAt: v.Get("started_at"), Impact: v.Get("impact"), TLP: v.Get("tlp"), Ongoing: v.Get("ongoing") == "on",
		Services: v.Get("affected_services"), Indicators: v.Get("indicators"), Techniques: v.Get("techniques"),
		Notes: v.Get("notes"), Key: v.Get("idempotency_key"), ID: v.Get("id"), Carry: v.Get("carry")}
	data := s.formData(p, f)
	doc, formErrs := f.document()
	if len(formErrs) == 0 {
		body, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		rc, err := s.reports.Submit(r.Context(), p, bytes.NewReader(body))
		if err == nil {
			http.Redirect(w, r, Prefix+"reports/"+rc.ReportID+"?filed=1", http.StatusSeeOther)
			return nil
		}
		status, desc, fields, ok := reportapi.Refusal(err)
		if !ok {
			return err
		}
		if status != http.StatusUnprocessableEntity && status != http.StatusBadRequest && status != http.StatusRequestEntityTooLarge {
			return err
		}
		data.Message = desc
		for _, fe := range fields {
			field := fieldOf(fe.Pointer)
			data.Errors[field] = append(data.Errors[field], fe.Message)
		}
	} else {
		data.Message = "The report has invalid fields; each is marked."
		for k, msgs := range formErrs {
			data.Errors[k] = msgs
		}
	}
	data.Fields = len(data.Errors)
	s.render(w, r, http.StatusUnprocessableEntity, "reportform", p, "File an incident report", data)
	return nil
}

// document turns the form into the report document; what cannot even be put into
// it (a time that is not a time, an indicator line without a kind) is an error of
// the form's own.
func (f reportForm) document() (map[string]any, map[string][]string) {
	errs := map[string][]string{}
	doc := map[string]any{
		"title": f.Title, "description": f.Description, "impact": f.Impact, "tlp": f.TLP, "ongoing": f.Ongoing,
	}
	if f.Key != "" {
		doc["idempotency_key"] = f.Key
	}
	if f.ID != "" {
		doc["id"] = f.ID
	}
	if f.Carry != "" {
		var carry map[string]json.RawMessage
		if err := json.Unmarshal([]byte(f.Carry), &carry); err != nil {
			errs[""] = append(errs[""], "the carried-over part of the report is damaged: open the update again")
		}
		for _, k := range []string{"ransom", "sectors", "attachments"} {
			if v, ok := carry[k]; ok {
				doc[k] = v
			}
		}
	}
	at := func(field, v string, required bool) {
		v = strings.TrimSpace(v)
		if v == "" {
			if required {
				errs[field] = append(errs[field], "required")
			}
			return
		}
		t, err := time.Parse("2006-01-02T15:04", v)
		if err != nil {
			if t, err = time.Parse("2006-01-02T15:04:05", v); err != nil {
				errs[field] = append(errs[field], "not a date and time (yyyy-mm-ddThh:mm, UTC)")
				return
			}
		}
		doc[field] = t.UTC().Format(time.RFC3339)
	}
	at("detected_at", f.DetectedAt, true)
	at("started_at", f.StartedAt, false)
	if ls := lines(f.Services); len(ls) > 0 {
		doc["affected_services"] = ls
	}
	var inds []map[string]string
	for i, l := range lines(f.Indicators) {
		l, note, _ := strings.Cut(l, " # ")
		kind, value, ok := strings.Cut(l, " ")
		value = strings.TrimSpace(value)
		if !ok || value == "" {
			errs["indicators"] = append(errs["indicators"], "line "+itoa(i+1)+": write the kind, a space, then the value")
			continue
		}
		ind := map[string]string{"kind": kind, "value": value}
		if note = strings.TrimSpace(note); note != "" {
			ind["note"] = note
		}
		if kind == "hash" {
			if alg, val, ok := strings.Cut(value, " "); ok {
				ind["algorithm"], ind["value"] = alg, strings.TrimSpace(val)
			}
		}
		inds = append(inds, ind)
	}
	if len(inds) > 0 {
		doc["indicators"] = inds
	}
	if ts := strings.FieldsFunc(f.Techniques, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }); len(ts) > 0 {
		doc["techniques"] = ts
	}
	if strings.TrimSpace(f.Notes) != "" {
		doc["notes"] = f.Notes
	}
	return doc, errs
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// fieldOf names the form field of a JSON Pointer into the document.
func fieldOf(pointer string) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(pointer, "/"), "/")
	switch seg {
	case "title", "description", "detected_at", "started_at", "impact", "tlp", "ongoing", "indicators", "techniques", "notes":
		return seg
	case "affected_services":
		return "affected_services"
	}
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }

// updateReport shows the form filled with the latest version of a report of the
// operator's, to file the next version (a follow-up).
func (s *Server) updateReport(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := s.reports.Report(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	if v.Report == nil || v.Status == string(report.StatusClosed) {
		return &pageError{status: http.StatusConflict, msg: "This report is closed: file a new report."}
	}
	s.render(w, r, http.StatusOK, "reportform", p, "Update: "+v.Title, s.formData(p, formOf(v.ID, v.Report)))
	return nil
}

// formOf fills the form with a report.
func formOf(id string, rep *report.Report) reportForm {
	f := reportForm{ID: id, Key: "web-" + randomKey(18), Title: rep.Title, Description: rep.Description,
		DetectedAt: rep.DetectedAt.UTC().Format("2006-01-02T15:04:05"), Impact: string(rep.Impact), TLP: string(rep.TLP),
		Ongoing: rep.Ongoing, Services: strings.Join(rep.AffectedServices, "\n"), Techniques: strings.Join(rep.Techniques, ", "),
		Notes: rep.Notes}
	if rep.StartedAt != nil {
		f.StartedAt = rep.StartedAt.UTC().Format("2006-01-02T15:04:05")
	}
	var inds []string
	for _, in := range rep.Indicators {
		l := string(in.Kind) + " "
		if in.Algorithm != "" {
			l += in.Algorithm + " "
		}
		l += in.Value
		if in.Note != "" {
			l += " # " + in.Note
		}
		inds = append(inds, l)
	}
	f.Indicators = strings.Join(inds, "\n")
	carry := map[string]any{}
	if rep.Ransom != nil {
		carry["ransom"] = rep.Ransom
	}
	if len(rep.Sectors) > 0 {
		carry["sectors"] = rep.Sectors
	}
	if len(rep.Attachments) > 0 {
		carry["attachments"] = rep.Attachments
	}
	if len(carry) > 0 {
		b, _ := json.Marshal(carry) // plain values always marshal
		f.Carry = string(b)
	}
	return f
}
