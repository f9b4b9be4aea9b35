package reportapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"quadshare/internal/auth"
	"quadshare/internal/httpx"
	"quadshare/internal/report"
	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// maxAction bounds the body of an analyst action: a note of report.MaxText and a
// few short members.
const maxAction = report.MaxText + 4<<10

// readAction reads the body of an analyst action: one JSON object whose members are
// among allowed, each a string. Every broken member is listed.
func readAction(w http.ResponseWriter, r *http.Request, allowed ...string) (map[string]string, error) {
	if err := jsonBody(r, maxAction); err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAction))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, &fieldError{status: http.StatusRequestEntityTooLarge, desc: fmt.Sprintf("The body is larger than %d bytes.", maxAction),
			fields: report.Errors{{Message: fmt.Sprintf("more than %d bytes", maxAction)}}}
	}
	if err != nil {
		return nil, httpx.Errorf(http.StatusBadRequest, "The request body could not be read.")
	}
	malformed := func(msg string) error {
		return &fieldError{status: http.StatusBadRequest, desc: "The body is not one well-formed JSON object.", fields: report.Errors{{Message: msg}}}
	}
	if _, err := stix.Canonical(raw); err != nil {
		return nil, malformed(strings.TrimPrefix(err.Error(), "canonical: "))
	}
	var m map[string]json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' || json.Unmarshal(t, &m) != nil {
		return nil, malformed("the document must be a JSON object")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := map[string]string{}
	var errs report.Errors
	for _, k := range keys {
		ptr := "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(clip(k))
		if !slices.Contains(allowed, k) {
			errs = append(errs, report.FieldError{Pointer: ptr, Message: "unknown field"})
			continue
		}
		var v string
		if err := json.Unmarshal(m[k], &v); err != nil {
			errs = append(errs, report.FieldError{Pointer: ptr, Message: "must be a string"})
			continue
		}
		out[k] = v
	}
	if len(errs) > 0 {
		return nil, invalid("The request has invalid fields; each is listed.", errs...)
	}
	return out, nil
}

// noteText checks an analyst's note under the rules of a report's free text.
func noteText(v map[string]string, key string, required bool) (string, *report.FieldError) {
	s, ok := v[key]
	switch {
	case !ok && required:
		return "", &report.FieldError{Pointer: "/" + key, Message: "required"}
	case !ok:
		return "", nil
	case s == "":
		return "", &report.FieldError{Pointer: "/" + key, Message: "must not be empty"}
	case len(s) > report.MaxText:
		return "", &report.FieldError{Pointer: "/" + key, Message: fmt.Sprintf("longer than %d bytes", report.MaxText)}
	}
	if msg := report.CheckText(s, true); msg != "" {
		return "", &report.FieldError{Pointer: "/" + key, Message: msg}
	}
	return s, nil
}

// analyst returns the principal of an analyst action and the report it is on.
func (s *Server) analyst(r *http.Request) (*auth.Principal, context.Context, store.Report, error) {
	p, ctx, err := who(r)
	if err != nil {
		return nil, nil, store.Report{}, err
	}
	rec, err := s.visible(ctx, p, r.PathValue("id"))
	if err != nil {
		return nil, nil, store.Report{}, err
	}
	if !s.isAnalyst(p) {
		return nil, nil, store.Report{}, httpx.Forbidden("Only analysts triage reports.")
	}
	return p, ctx, rec, nil
}

// change records an action.
func (s *Server) change(ctx context.Context, ev store.ReportEvent, rev *store.ReportRevision) error {
	err := s.st.ChangeReport(ctx, ev, rev)
	if errors.Is(err, store.ErrReportChanged) {
		return httpx.Errorf(http.StatusConflict, "Another analyst changed this report meanwhile: read it again.")
	}
	return err
}

// answer writes the report as it now stands.
func (s *Server) answer(w http.ResponseWriter, ctx context.Context, p *auth.Principal, id string) error {
	rec, err := s.st.Report(ctx, id)
	if err != nil {
		return err
	}
	v, err := s.view(ctx, rec, p, s.now(), true, nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// postNote adds a note and may move the status: {"text": ..., "status": ...}.
// Sharing goes through release, which shares.
func (s *Server) postNote(w http.ResponseWriter, r *http.Request) error {
	p, ctx, rec, err := s.analyst(r)
	if err != nil {
		return err
	}
	v, err := readAction(w, r, "text", "status")
	if err != nil {
		return err
	}
	_, hasStatus := v["status"]
	text, ferr := noteText(v, "text", !hasStatus)
	if ferr != nil {
		return invalid("The request has invalid fields; each is listed.", *ferr)
	}
	ev := store.ReportEvent{Report: rec.ID, At: s.now(), Actor: p.User.ID, Action: store.ReportNote, Text: text}
	if hasStatus {
		to := report.Status(v["status"])
		switch {
		case !to.Valid():
			return invalid("The status is unknown.", report.FieldError{Pointer: "/status", Message: "must be one of new, triaged, shared, closed"})
		case to == report.StatusShared:
			return invalid("A report is shared by releasing it.", report.FieldError{Pointer: "/status", Message: "use release to share a report"})
		}
		if _, err := report.Status(rec.Status).Transition(to); err != nil {
			return invalidStatus(http.StatusConflict, fmt.Sprintf("A %s report may become: %s.", rec.Status, nextList(rec.Status)),
				"/status", fmt.Sprintf("a %s report cannot become %s", rec.Status, to))
		}
		ev.Action, ev.From, ev.To = store.ReportStatus, rec.Status, string(to)
	}
	if err := s.change(ctx, ev, nil); err != nil {
		return err
	}
	return s.answer(w, ctx, p, rec.ID)
}

func nextList(status string) string {
	var out []string
	for _, n := range report.Status(status).Next() {
		out = append(out, string(n))
	}
	if len(out) == 0 {
		return "nothing (it is final)"
	}
	return strings.Join(out, ", ")
}

// postMarking corrects the TLP of a report: {"tlp": ..., "note": ...}. The report's
// objects are filed again as new versions with the corrected marking, in its inbox
// and in every collection it was released to.
func (s *Server) postMarking(w http.ResponseWriter, r *http.Request) error {
	p, ctx, rec, err := s.analyst(r)
	if err != nil {
		return err
	}
	v, err := readAction(w, r, "tlp", "note")
	if err != nil {
		return err
	}
	var errs report.Errors
	tlp := report.TLP(v["tlp"])
	if _, ok := v["tlp"]; !ok {
		errs = append(errs, report.FieldError{Pointer: "/tlp", Message: "required"})
	} else if _, known := tlp.Marking(); !known {
		errs = append(errs, report.FieldError{Pointer: "/tlp", Message: "must be one of clear, green, amber, amber+strict, red (TLP 2.0)"})
	}
	note, ferr := noteText(v, "note", false)
	if ferr != nil {
		errs = append(errs, *ferr)
	}
	if len(errs) > 0 {
		return invalid("The request has invalid fields; each is listed.", errs...)
	}
	if rec.Status == string(report.StatusClosed) {
		return httpx.Errorf(http.StatusConflict, "This report is closed.")
	}
	versions, err := s.st.ReportVersions(ctx, rec.ID)
	if err != nil {
		return err
	}
	reps, err := bodies(versions)
	if err != nil {
		return err
	}
	if len(reps) == 0 {
		return fmt.Errorf("reportapi: report %s has no version", rec.ID)
	}
	latest := reps[len(reps)-1]
	inForce := latest.TLP
	if rec.Marking != "" {
		inForce = report.TLP(rec.Marking)
	}
	if tlp == inForce {
		return invalid("The report already has this TLP.", report.FieldError{Pointer: "/tlp", Message: "is already the report's TLP"})
	}
	org, err := s.st.Organisation(ctx, rec.Operator)
	if err != nil {
		return err
	}
	op, err := s.operator(ctx, org)
	if err != nil {
		return httpx.Errorf(http.StatusConflict, "The operator's reporting profile is missing or wrong: correct it first.")
	}
	modified := s.now()
	if !modified.After(rec.Modified) {
		modified = rec.Modified.Add(time.Millisecond)
	}
	objects, err := s.convert(latest, reps[:len(reps)-1], op, rec.Created, modified, string(tlp))
	if err != nil {
		return err
	}
	rev := store.ReportRevision{Report: rec.ID, Modified: modified, Objects: objects}
	ev := store.ReportEvent{Report: rec.ID, At: s.now(), Actor: p.User.ID, Action: store.ReportMarking,
		From: rec.Marking, To: string(tlp), Text: note}
	if err := s.change(ctx, ev, &rev); err != nil {
		return err
	}
	if err := s.fileRevision(ctx, rec, rev); err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "report api: filing a report", slog.String("report", rec.ID), slog.String("error", err.Error()))
	}
	if err := s.rerelease(ctx, rec.ID, objects); err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "report api: releasing a corrected marking; release the report again",
			slog.String("report", rec.ID), slog.String("error", err.Error()))
	}
	return s.answer(w, ctx, p, rec.ID)
}

// rerelease puts objects in every collection the report was released to, as the
// organisation that released it there.
func (s *Server) rerelease(ctx context.Context, id string, objects []byte) error {
	evs, err := s.st.ReportEvents(ctx, id)
	if err != nil {
		return err
	}
	var objs []stix.Object
	done := map[string]bool{}
	for _, e := range slices.Backward(evs) {
		if e.Action != store.ReportRelease || done[e.Collection] {
			continue
		}
		done[e.Collection] = true
		if objs == nil {
			if objs, err = parseObjects(objects); err != nil {
				return err
			}
		}
		u, err := s.st.User(ctx, e.Actor)
		if err != nil {
			return err
		}
		if err := s.withdrawObservables(ctx, e.Collection, objs); err != nil {
			return err
		}
		if err := s.put(ctx, e.Collection, u.Org, objs); err != nil {
			return err
		}
	}
	return nil
}

// withdrawObservables removes from a collection the cyber-observables of objs that
// it holds with other content. An observable has no versions (its id derives from its
// value), so a corrected marking cannot replace the copy released under the old one:
// that copy is withdrawn instead, lest the value stay shared under the old marking.
// The corrected copy cannot be added either while the old one is stored elsewhere
// (the inbox), so the partners do without it: withholding is the safe side.
func (s *Server) withdrawObservables(ctx context.Context, collection string, objs []stix.Object) error {
	want := map[string][]byte{}
	var ids []string
	for _, o := range objs {
		if stix.KindOf(o.Type) == stix.KindSCO {
			want[o.ID] = o.Raw
			ids = append(ids, o.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	page, err := s.st.Query(ctx, store.Query{Collection: collection, IDs: ids, Versions: store.VersionFilter{All: true}, Limit: len(ids) + 1})
	if err != nil {
		return err
	}
	for _, en := range page.Entries {
		if bytes.Equal(en.Object.Raw, want[en.Object.ID]) {
			continue
		}
		if _, err := s.st.Delete(ctx, collection, en.Object.ID, store.VersionFilter{All: true}, nil); err != nil {
			return err
		}
		s.log.LogAttrs(ctx, slog.LevelInfo, "report api: observable withdrawn after a marking correction",
			slog.String("collection", collection), slog.String("id", en.Object.ID))
	}
	return nil
}

// postRelease shares a triaged report: {"collection": ..., "note": ...}. The latest
// revision of its objects is put in the collection, which must be one the analyst
// may write and not an operator's inbox; partners then receive them only through
// the sharing policy of the TAXII read path. A shared report may be released again
// (after an update, or to another collection).
func (s *Server) postRelease(w http.ResponseWriter, r *http.Request) error {
	p, ctx, rec, err := s.analyst(r)
	if err != nil {
		return err
	}
	v, err := readAction(w, r, "collection", "note")
	if err != nil {
		return err
	}
	var errs report.Errors
	cid, ok := v["collection"]
	if !ok || cid == "" {
		errs = append(errs, report.FieldError{Pointer: "/collection", Message: "required: the id or alias of a collection partners read"})
	}
	note, ferr := noteText(v, "note", false)
	if ferr != nil {
		errs = append(errs, *ferr)
	}
	if len(errs) > 0 {
		return invalid("The request has invalid fields; each is listed.", errs...)
	}
	if rec.Status != string(report.StatusShared) {
		if _, err := report.Status(rec.Status).Transition(report.StatusShared); err != nil {
			return httpx.Errorf(http.StatusConflict, "A %s report cannot be released: it is triaged first, and a closed report stays closed.", rec.Status)
		}
	}
	c, err := s.st.Collection(ctx, cid)
	if errors.Is(err, store.ErrNotFound) {
		return invalid("No such collection.", report.FieldError{Pointer: "/collection", Message: "no collection has this id or alias"})
	}
	if err != nil {
		return err
	}
	if c.OwnerOrg != "" {
		return invalid("That collection is an operator's inbox.", report.FieldError{Pointer: "/collection", Message: "an operator's inbox: release to a collection partners read"})
	}
	rights, err := s.authz.Rights(ctx, p, c)
	if err != nil {
		return err
	}
	if !rights.Write {
		return httpx.Forbidden("You may not add objects to that collection.")
	}
	revs, err := s.st.ReportRevisions(ctx, rec.ID)
	if err != nil {
		return err
	}
	if len(revs) == 0 {
		return fmt.Errorf("reportapi: report %s has no revision", rec.ID)
	}
	objs, err := parseObjects(revs[len(revs)-1].Objects)
	if err != nil {
		return err
	}
	// The decision is recorded first, so that two analysts cannot both release from
	// a status one of them changed; a failed put below is repaired by releasing again.
	ev := store.ReportEvent{Report: rec.ID, At: s.now(), Actor: p.User.ID, Action: store.ReportRelease,
		From: rec.Status, To: string(report.StatusShared), Collection: c.ID, Text: note}
	if err := s.change(ctx, ev, nil); err != nil {
		return err
	}
	if err := s.put(ctx, c.ID, p.Org.ID, objs); err != nil {
		return err
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "report released", slog.String("report", rec.ID),
		slog.String("collection", c.ID), slog.String("user", p.User.ID))
	return s.answer(w, ctx, p, rec.ID)
}
