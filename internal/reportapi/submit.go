package reportapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"quadshare/internal/auth"
	"quadshare/internal/httpx"
	"quadshare/internal/report"
	"quadshare/internal/stix"
	"quadshare/internal/store"
	"quadshare/internal/uuid"
)

// IdempotencyHeader carries the client's idempotency key, as the report's
// idempotency_key member may.
const IdempotencyHeader = "Idempotency-Key"

// errRace says that another version of the same report was stored first: the
// submission is computed again on what is now there.
var errRace = errors.New("reportapi: another version came first")

// postReport accepts a report or a new version of one (openapi.json).
func (s *Server) postReport(w http.ResponseWriter, r *http.Request) error {
	p, ctx, err := who(r)
	if err != nil {
		return err
	}
	if !isOperator(p) {
		return httpx.Forbidden("Only operators submit reports.")
	}
	if err := jsonBody(r, report.MaxBytes); err != nil {
		return err
	}
	op, err := s.operator(ctx, p.Org)
	if err != nil {
		return err
	}
	rep, err := report.DecodeWith(http.MaxBytesReader(w, r.Body, report.MaxBytes+1), s.cfg.Sectors, s.now())
	if err := decodeError(err); err != nil {
		return err
	}
	if err := idempotencyHeader(r, rep); err != nil {
		return err
	}
	receipt, status, err := s.submitRetrying(ctx, p, op, *rep)
	if err != nil {
		return err
	}
	var rc report.Receipt
	if json.Unmarshal(receipt, &rc) == nil {
		w.Header().Set("Location", Prefix+"reports/"+rc.ReportID)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err = w.Write(receipt)
	return err
}

// jsonBody refuses a body declared larger than limit or not declared JSON.
func jsonBody(r *http.Request, limit int64) error {
	if r.ContentLength > limit {
		return &fieldError{status: http.StatusRequestEntityTooLarge, desc: fmt.Sprintf("The body is larger than %d bytes.", limit),
			fields: report.Errors{{Message: fmt.Sprintf("more than %d bytes", limit)}}}
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return httpx.Errorf(http.StatusUnsupportedMediaType, "Send the body as application/json.")
		}
	}
	return nil
}

// decodeError turns an error of report.Decode into the answer to the client.
func decodeError(err error) error {
	var es report.Errors
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, report.ErrTooLarge), errors.As(err, &mbe):
		return &fieldError{status: http.StatusRequestEntityTooLarge, desc: fmt.Sprintf("The report is larger than %d bytes.", report.MaxBytes),
			fields: report.Errors{{Message: fmt.Sprintf("more than %d bytes", report.MaxBytes)}}}
	case errors.Is(err, report.ErrSyntax):
		return &fieldError{status: http.StatusBadRequest, desc: "The body is not one well-formed JSON object.",
			fields: report.Errors{{Message: strings.TrimPrefix(err.Error(), report.ErrSyntax.Error()+": ")}}}
	case errors.As(err, &es):
		return &fieldError{status: http.StatusUnprocessableEntity, desc: "The report has invalid fields; each is listed.", fields: es}
	}
	return httpx.Errorf(http.StatusBadRequest, "The request body could not be read.")
}

// idempotencyHeader takes the key of the Idempotency-Key header into the report:
// the same rules as the idempotency_key member, and the same value when both are
// given.
func idempotencyHeader(r *http.Request, rep *report.Report) error {
	vals := r.Header.Values(IdempotencyHeader)
	if len(vals) == 0 {
		return nil
	}
	key := vals[0]
	switch {
	case len(vals) > 1:
		return invalid("The Idempotency-Key header is given more than once.", report.FieldError{Message: "Idempotency-Key: more than one header"})
	case !validKey(key):
		return invalid("The Idempotency-Key header is not a key.", report.FieldError{
			Message: fmt.Sprintf("Idempotency-Key: 1 to %d of A-Z, a-z, 0-9, '.', '_', ':' and '-'", report.MaxIdempotencyKey)})
	case rep.IdempotencyKey != "" && rep.IdempotencyKey != key:
		return invalid("The Idempotency-Key header and the report's idempotency_key differ.", report.FieldError{
			Pointer: "/idempotency_key", Message: "differs from the Idempotency-Key header"})
	}
	rep.IdempotencyKey = key
	return nil
}

func validKey(s string) bool {
	if s == "" || len(s) > report.MaxIdempotencyKey {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && !strings.ContainsRune("._:-", rune(c)) {
			return false
		}
	}
	return true
}

// submit stores one submission and returns its signed receipt and the status to
// answer with: 201 for a new version, 200 for a retry answered with the first receipt.
func (s *Server) submit(ctx context.Context, p *auth.Principal, op *report.Operator, rep report.Report) ([]byte, int, error) {
	org := p.Org.ID
	asSent := rep // before a new report gets its id: what a retry is compared with
	if rep.IdempotencyKey != "" {
		prev, err := s.st.ReportVersionByKey(ctx, org, rep.IdempotencyKey)
		if err == nil {
			return retried(prev, &rep)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, 0, err
		}
	}
	now := s.now()
	var rec store.Report
	var history []store.ReportVersion
	if rep.ID == "" {
		inbox, err := s.inbox(ctx, p.Org, now)
		if err != nil {
			return nil, 0, err
		}
		rep.ID = report.NewID()
		rec = store.Report{ID: rep.ID, Operator: org, Collection: inbox.ID, Status: string(report.StatusNew), Created: now}
	} else {
		var err error
		rec, err = s.st.Report(ctx, rep.ID)
		if errors.Is(err, store.ErrNotFound) || err == nil && rec.Operator != org {
			return nil, 0, invalidStatus(http.StatusNotFound, "No report of your organisation has this id.", "/id", "no report of yours has this id")
		}
		if err != nil {
			return nil, 0, err
		}
		if rec.Status == string(report.StatusClosed) {
			return nil, 0, invalidStatus(http.StatusConflict, "This report is closed: file a new report.", "/id", "the report is closed")
		}
		if history, err = s.st.ReportVersions(ctx, rep.ID); err != nil {
			return nil, 0, err
		}
		if len(history) >= s.cfg.MaxVersions {
			return nil, 0, invalidStatus(http.StatusConflict,
				fmt.Sprintf("This report has %d versions, the most one report may have: file a new report.", len(history)),
				"/id", "the report has as many versions as it may have")
		}
	}
	// Each version (and each marking revision) is a STIX version of the same objects:
	// its modified must be later than the one before, to the millisecond.
	received := now
	if !rec.Modified.IsZero() && !received.After(rec.Modified) {
		received = rec.Modified.Add(time.Millisecond)
	}
	prev, err := bodies(history)
	if err != nil {
		return nil, 0, err
	}
	n := len(history) + 1
	versions := make([]report.Version, 0, n)
	for i, h := range history {
		versions = append(versions, report.Version{Report: prev[i], Received: h.Received})
	}
	versions = append(versions, report.Version{Report: &rep, Received: received})
	receipt, err := report.NewReceipt(&rep, n, received, s.cfg.Node, s.cfg.Deadlines.Judge(op.Jurisdiction, versions), s.cfg.Key)
	if err != nil {
		return nil, 0, err
	}
	objects, err := s.convert(&rep, prev, op, rec.Created, received, rec.Marking)
	if err != nil {
		return nil, 0, err
	}
	body, err := json.Marshal(&rep)
	if err != nil {
		return nil, 0, err
	}
	rcJSON, err := json.Marshal(receipt)
	if err != nil {
		return nil, 0, err
	}
	rec.Versions, rec.Modified, rec.Due, rec.Late = n, received, time.Time{}, false
	if receipt.Due != nil {
		rec.Due, rec.Late = *receipt.Due, !*receipt.OnTime
	}
	ver := store.ReportVersion{Report: rep.ID, Version: n, Operator: org, Author: p.User.ID,
		IdempotencyKey: rep.IdempotencyKey, Received: received, Body: body, Receipt: rcJSON}
	rev := store.ReportRevision{Report: rep.ID, Modified: received, Objects: objects}
	err = s.st.SubmitReport(ctx, rec, ver, rev)
	if errors.Is(err, store.ErrExists) {
		// A concurrent submission took the key, or the version number: decide again
		// on what is stored now.
		if rep.IdempotencyKey != "" {
			if prev, kerr := s.st.ReportVersionByKey(ctx, org, rep.IdempotencyKey); kerr == nil {
				return retried(prev, &asSent)
			}
		}
		return nil, 0, errRace
	}
	if err != nil {
		return nil, 0, err
	}
	if err := s.fileRevision(ctx, rec, rev); err != nil {
		// The report is recorded and its receipt stands; the filing is retried.
		s.log.LogAttrs(ctx, slog.LevelError, "report api: filing a report", slog.String("report", rec.ID), slog.String("error", err.Error()))
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "report received", slog.String("report", rec.ID), slog.Int("version", n),
		slog.String("operator", org), slog.String("user", p.User.ID))
	return rcJSON, http.StatusCreated, nil
}

// retried answers a submission under a used idempotency key: the first receipt when
// it is the same submission again, else 409.
func retried(prev store.ReportVersion, rep *report.Report) ([]byte, int, error) {
	var rc report.Receipt
	if err := json.Unmarshal(prev.Receipt, &rc); err != nil {
		return nil, 0, fmt.Errorf("reportapi: stored receipt of %s: %w", prev.Report, err)
	}
	if !report.IsRetry(&rc, rep) {
		return nil, 0, invalidStatus(http.StatusConflict, "This idempotency key was used for another submission: use a new key for new content.",
			"/idempotency_key", "already used for other content")
	}
	return prev.Receipt, http.StatusOK, nil
}

func invalidStatus(status int, desc, ptr, msg string) *fieldError {
	return &fieldError{status: status, desc: desc, fields: report.Errors{{Pointer: ptr, Message: msg}}}
}

// bodies decodes the stored reports of versions.
func bodies(versions []store.ReportVersion) ([]*report.Report, error) {
	out := make([]*report.Report, len(versions))
	for i, v := range versions {
		out[i] = new(report.Report)
		if err := json.Unmarshal(v.Body, out[i]); err != nil {
			return nil, fmt.Errorf("reportapi: stored version %d of %s: %w", v.Version, v.Report, err)
		}
	}
	return out, nil
}

// convert returns the STIX objects of rep as a JSON array, with the analysts'
// marking in place of the operator's TLP when they corrected it.
func (s *Server) convert(rep *report.Report, history []*report.Report, op *report.Operator, created, modified time.Time, marking string) ([]byte, error) {
	c := *rep
	if marking != "" {
		c.TLP = report.TLP(marking)
	}
	objs, err := report.ToSTIX(&c, report.STIXOptions{Operator: op, Sectors: s.cfg.Sectors, Created: created, Modified: modified, History: history})
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteByte('[')
	for i, o := range objs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(o.Raw)
	}
	b.WriteByte(']')
	return b.Bytes(), nil
}

// operator returns the reporting facts of an operator organisation.
func (s *Server) operator(ctx context.Context, org store.Organisation) (*report.Operator, error) {
	prof, err := s.st.Operator(ctx, org.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, httpx.Forbidden("Your organisation is not registered as a reporting operator (sectors, size band, consent): ask the agency to register it.")
	}
	if err != nil {
		return nil, err
	}
	op := &report.Operator{ID: org.ID, Name: org.Name, Jurisdiction: org.Nation, Sectors: prof.Sectors,
		SizeBand: report.SizeBand(prof.SizeBand), Consent: report.Consent(prof.Consent), Created: prof.Created, Modified: prof.Modified}
	if err := op.Check(s.cfg.Sectors); err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "report api: operator profile", slog.String("org", org.ID), slog.String("error", err.Error()))
		return nil, httpx.Forbidden("Your organisation's reporting profile is incomplete or wrong: ask the agency to correct it.")
	}
	return op, nil
}

var inboxNamespace = uuid.Must(report.Namespace)

// inbox returns the operator's inbox collection (the first collection its
// organisation owns), creating it when there is none. Its id derives from the
// organisation's, so that two first submissions at once create one inbox.
func (s *Server) inbox(ctx context.Context, org store.Organisation, now time.Time) (store.Collection, error) {
	cs, err := s.st.Collections(ctx)
	if err != nil {
		return store.Collection{}, err
	}
	for _, c := range cs {
		if c.OwnerOrg == org.ID {
			return c, nil
		}
	}
	c := store.Collection{ID: uuid.V5(inboxNamespace, []byte("inbox/"+org.ID)), Title: "Incident reports of " + org.Name,
		Description: "The STIX 2.1 objects of the incident reports this operator submitted.",
		MediaTypes:  []string{"application/stix+json;version=2.1"}, OwnerOrg: org.ID, CreatedAt: now}
	err = s.st.CreateCollection(ctx, c)
	if errors.Is(err, store.ErrExists) {
		got, gerr := s.st.Collection(ctx, c.ID)
		if gerr == nil && got.OwnerOrg == org.ID {
			return got, nil
		}
		return store.Collection{}, fmt.Errorf("reportapi: inbox of %s: %w", org.ID, errors.Join(err, gerr))
	}
	if err != nil {
		return store.Collection{}, err
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "report api: inbox created", slog.String("org", org.ID), slog.String("collection", c.ID))
	return c, nil
}

// parseObjects reads a revision's JSON array of objects.
func parseObjects(raw []byte) ([]stix.Object, error) {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("reportapi: stored objects: %w", err)
	}
	out := make([]stix.Object, 0, len(list))
	for _, r := range list {
		o, err := stix.Parse(r)
		if err != nil {
			return nil, fmt.Errorf("reportapi: stored object: %w", err)
		}
		out = append(out, o)
	}
	return out, nil
}

// put adds objects to a collection. A conflict (the same id and version with other
// content) is expected only for cyber-observables, whose ids are the same for every
// report of a value while the marking is each report's: the first stays.
func (s *Server) put(ctx context.Context, collection, submitter string, objs []stix.Object) error {
	res, err := s.st.Put(ctx, collection, submitter, objs)
	if err != nil {
		return err
	}
	for i, r := range res {
		if r.Outcome == store.Conflict {
			level := slog.LevelWarn
			if stix.KindOf(objs[i].Type) == stix.KindSCO {
				level = slog.LevelDebug
			}
			s.log.LogAttrs(ctx, level, "report api: object already stored with other content",
				slog.String("collection", collection), slog.String("id", objs[i].ID))
		}
	}
	return nil
}

// fileRevision puts a revision's objects in the report's inbox and records that.
func (s *Server) fileRevision(ctx context.Context, rec store.Report, rev store.ReportRevision) error {
	objs, err := parseObjects(rev.Objects)
	if err != nil {
		return err
	}
	if err := s.put(ctx, rec.Collection, rec.Operator, objs); err != nil {
		return err
	}
	return s.st.MarkRevisionFiled(ctx, rec.ID, rev.Modified)
}

// fileUnfiled files the revisions whose filing failed before (the store was
// unavailable after the report was recorded). Errors are logged: the next write
// tries again.
func (s *Server) fileUnfiled(ctx context.Context) {
	revs, err := s.st.UnfiledRevisions(ctx, 16)
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "report api: unfiled revisions", slog.String("error", err.Error()))
		return
	}
	for _, rev := range revs {
		rec, err := s.st.Report(ctx, rev.Report)
		if err == nil {
			err = s.fileRevision(ctx, rec, rev)
		}
		if err != nil {
			s.log.LogAttrs(ctx, slog.LevelError, "report api: filing a report", slog.String("report", rev.Report), slog.String("error", err.Error()))
			return
		}
	}
}
