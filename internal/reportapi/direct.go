package reportapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"quadshare/internal/auth"
	"quadshare/internal/httpx"
	"quadshare/internal/report"
	"quadshare/internal/store"
)

// The functions below let another front end of this node (the web interface) act
// exactly as the HTTP API does, with the same decoding, rules and storage, without
// going through HTTP. Their errors are those the API answers with: Refusal tells
// which are the client's and what to show.

// Submit files a report document (the JSON of POST reports, at most report.MaxBytes)
// for the operator p, as POST reports does, and returns the signed receipt.
func (s *Server) Submit(ctx context.Context, p *auth.Principal, body io.Reader) (report.Receipt, error) {
	if p == nil || !isOperator(p) {
		return report.Receipt{}, httpx.Forbidden("Only operators submit reports.")
	}
	ctx = store.WithActor(ctx, "user:"+p.User.ID)
	op, err := s.operator(ctx, p.Org)
	if err != nil {
		return report.Receipt{}, err
	}
	rep, err := report.DecodeWith(io.LimitReader(body, report.MaxBytes+1), s.cfg.Sectors, s.now())
	if err := decodeError(err); err != nil {
		return report.Receipt{}, err
	}
	raw, _, err := s.submitRetrying(ctx, p, op, *rep)
	if err != nil {
		return report.Receipt{}, err
	}
	var rc report.Receipt
	if err := json.Unmarshal(raw, &rc); err != nil {
		return report.Receipt{}, err
	}
	return rc, nil
}

// submitRetrying is submit, computed again when another version of the same report
// was stored first.
func (s *Server) submitRetrying(ctx context.Context, p *auth.Principal, op *report.Operator, rep report.Report) ([]byte, int, error) {
	s.fileUnfiled(ctx)
	for attempt := 1; ; attempt++ {
		receipt, status, err := s.submit(ctx, p, op, rep)
		if errors.Is(err, errRace) && attempt < 5 {
			continue
		}
		if errors.Is(err, errRace) {
			return nil, 0, httpx.Errorf(http.StatusConflict, "Other versions of this report are arriving at the same time; submit again.")
		}
		return receipt, status, err
	}
}

// Refusal describes an error of Submit, Report or Reports that is the client's: the
// HTTP status the API would answer, a description and the fields at fault. ok is
// false for a failure of the server, which is not to be shown.
func Refusal(err error) (status int, desc string, fields report.Errors, ok bool) {
	var fe *fieldError
	var he *httpx.Error
	switch {
	case errors.As(err, &fe):
		return fe.status, fe.desc, fe.fields, true
	case errors.As(err, &he):
		return he.Status, he.Description, nil, true
	}
	return 0, "", nil, false
}

// Report returns report id as GET reports/{id} shows it to p.
func (s *Server) Report(ctx context.Context, p *auth.Principal, id string) (View, error) {
	rec, err := s.visible(ctx, p, id)
	if err != nil {
		return View{}, err
	}
	return s.view(ctx, rec, p, s.now(), true, nil)
}

// Reports lists reports as GET reports does for p: an operator's own whatever
// q.Operator says, every operator's for analysts. With overdue, only the open
// reports whose deadline has passed, earliest first.
func (s *Server) Reports(ctx context.Context, p *auth.Principal, q store.ReportQuery, overdue bool) ([]View, error) {
	if p == nil || !isOperator(p) && !s.isAnalyst(p) {
		return nil, httpx.Forbidden("Only operators and analysts read reports.")
	}
	if isOperator(p) {
		q.Operator = p.Org.ID
	}
	if overdue {
		q.WithDue = true
	}
	if q.WithDue && len(q.Statuses) == 0 {
		q.Statuses = open
	}
	if q.Limit <= 0 || q.Limit > maxLimit {
		q.Limit = defaultLimit
	}
	now := s.now()
	recs, err := s.st.Reports(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.views(ctx, p, recs, now, func(rec store.Report) bool { return !overdue || rec.Due.Before(now) })
}

// DueBefore lists the open reports due before t, earliest first, at most
// limit: the dashboard's deadlines, with views made only of those it shows.
func (s *Server) DueBefore(ctx context.Context, p *auth.Principal, t time.Time, limit int) ([]View, error) {
	if p == nil || !isOperator(p) && !s.isAnalyst(p) {
		return nil, httpx.Forbidden("Only operators and analysts read reports.")
	}
	q := store.ReportQuery{WithDue: true, Statuses: open, Limit: min(max(limit, 1), maxLimit)}
	if isOperator(p) {
		q.Operator = p.Org.ID
	}
	recs, err := s.st.Reports(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.views(ctx, p, recs, s.now(), func(rec store.Report) bool { return rec.Due.Before(t) })
}

// views makes the list views of recs up to the first that keep refuses (they
// are in the order keep follows).
func (s *Server) views(ctx context.Context, p *auth.Principal, recs []store.Report, now time.Time, keep func(store.Report) bool) ([]View, error) {
	out := make([]View, 0, len(recs))
	orgs := orgCache{}
	for _, rec := range recs {
		if !keep(rec) {
			break
		}
		v, err := s.view(ctx, rec, p, now, false, orgs)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Deadlines returns the reporting deadlines in force, for showing them.
func (s *Server) Deadlines() *report.Deadlines { return s.cfg.Deadlines }

// Sectors returns the sector lists in force.
func (s *Server) Sectors() *report.Sectors { return s.cfg.Sectors }
