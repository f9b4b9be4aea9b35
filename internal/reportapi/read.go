package reportapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"quadshare/internal/auth"
	"quadshare/internal/httpx"
	"quadshare/internal/report"
	"quadshare/internal/store"
)

// View is a report as the API shows it. An operator sees its own reports; analysts
// also see the operator, the history of triage and the statuses the report may move to.
type View struct {
	ID       string        `json:"id"`
	Title    string        `json:"title"`
	Operator *OperatorView `json:"operator,omitempty"`
	Status   string        `json:"status"`
	// TLP is the label in force: the operator's, or the analysts' correction of it
	// (OperatorTLP then keeps the operator's).
	TLP         string    `json:"tlp"`
	OperatorTLP string    `json:"operator_tlp,omitempty"`
	Impact      string    `json:"impact"`
	Versions    int       `json:"versions"`
	Created     time.Time `json:"created"`  // the first version received
	Modified    time.Time `json:"modified"` // the latest version or revision
	DetectedAt  time.Time `json:"detected_at"`
	// Due and Rule are the earliest reporting deadline of the latest version; OnTime
	// whether every obligation was met in time (absent when no deadline applies).
	Due    *time.Time `json:"due,omitempty"`
	Rule   string     `json:"rule,omitempty"`
	OnTime *bool      `json:"on_time,omitempty"`
	// Overdue: the report is still new or triaged and its deadline has passed.
	Overdue bool            `json:"overdue"`
	Receipt json.RawMessage `json:"receipt"` // of the latest version

	// Only for one report:
	Report       *report.Report    `json:"report,omitempty"`   // the latest version
	Receipts     []json.RawMessage `json:"receipts,omitempty"` // every version's, oldest first
	History      []Event           `json:"history,omitempty"`
	NextStatuses []string          `json:"next_statuses,omitempty"`
	// UpdatedSinceRelease: the operator sent a version after the last release, which
	// partners have not received (an update is not released by itself).
	UpdatedSinceRelease bool `json:"updated_since_release,omitempty"`
}

// OperatorView names the operator of a report, for analysts.
type OperatorView struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Jurisdiction string `json:"jurisdiction"`
}

// Event is one analyst action on a report.
type Event struct {
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	Action     string    `json:"action"`
	From       string    `json:"from,omitempty"`
	To         string    `json:"to,omitempty"`
	Collection string    `json:"collection,omitempty"`
	Text       string    `json:"text,omitempty"`
}

// List is one page of reports; Next, when set, is the after parameter of the next.
type List struct {
	Reports []View `json:"reports"`
	Next    string `json:"next,omitempty"`
}

// Listing limits.
const (
	defaultLimit = 50
	maxLimit     = 200
)

// listReports lists reports: an operator its own, analysts every operator's.
// Parameters: status (comma-separated), due (open reports with a deadline, earliest
// first), overdue (those whose deadline has passed), operator (analysts), limit,
// after.
func (s *Server) listReports(w http.ResponseWriter, r *http.Request) error {
	p, ctx, err := who(r)
	if err != nil {
		return err
	}
	if !isOperator(p) && !s.isAnalyst(p) {
		return httpx.Forbidden("Only operators and analysts read reports.")
	}
	q, overdue, err := listQuery(r, p, s.isAnalyst(p))
	if err != nil {
		return err
	}
	now := s.now()
	recs, err := s.st.Reports(ctx, q)
	if err != nil {
		return err
	}
	out := List{Reports: []View{}}
	orgs := orgCache{}
	for _, rec := range recs {
		if overdue && !rec.Due.Before(now) {
			break // by due time: the rest are not overdue either
		}
		v, err := s.view(ctx, rec, p, now, false, orgs)
		if err != nil {
			return err
		}
		out.Reports = append(out.Reports, v)
	}
	if n := len(recs); n == q.Limit && len(out.Reports) == n {
		last := recs[n-1]
		t := last.Created
		if q.WithDue {
			t = last.Due
		}
		out.Next = encodeCursor(t, last.ID)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func listQuery(r *http.Request, p *auth.Principal, analyst bool) (store.ReportQuery, bool, error) {
	q := store.ReportQuery{Limit: defaultLimit}
	var errs report.Errors
	bad := func(format string, a ...any) {
		errs = append(errs, report.FieldError{Message: fmt.Sprintf(format, a...)})
	}
	flag := func(name, v string) bool {
		switch v {
		case "", "1", "true":
			return true
		case "0", "false":
			return false
		}
		bad("%s: must be true or false", name)
		return false
	}
	overdue := false
	vals := r.URL.Query()
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if len(vals[k]) > 1 {
			bad("%s: given more than once", clip(k))
			continue
		}
		v := vals[k][0]
		switch k {
		case "status":
			for _, st := range strings.Split(v, ",") {
				if !report.Status(st).Valid() {
					bad("status: %q is not one of new, triaged, shared, closed", clip(st))
				}
				q.Statuses = append(q.Statuses, st)
			}
		case "due":
			q.WithDue = flag(k, v)
		case "overdue":
			overdue = flag(k, v)
		case "operator":
			if !analyst {
				bad("operator: only analysts choose the operator")
			}
			q.Operator = v
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxLimit {
				bad("limit: must be a whole number from 1 to %d", maxLimit)
			}
			q.Limit = n
		case "after":
			t, id, ok := decodeCursor(v)
			if !ok {
				bad("after: not a value this server gave as next")
			}
			q.AfterTime, q.AfterID = t, id
		default:
			bad("%s: unknown parameter", clip(k))
		}
	}
	if overdue {
		q.WithDue = true
	}
	if q.WithDue && len(q.Statuses) == 0 {
		q.Statuses = open
	}
	if isOperator(p) {
		q.Operator = p.Org.ID
	}
	if len(errs) > 0 {
		return q, false, invalid("The query has invalid parameters; each is listed.", errs...)
	}
	return q, overdue, nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func encodeCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(t.UTC().Format(time.RFC3339Nano) + " " + id))
}

func decodeCursor(s string) (time.Time, string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, "", false
	}
	ts, id, ok := strings.Cut(string(b), " ")
	t, err := time.Parse(time.RFC3339Nano, ts)
	return t, id, ok && err == nil && id != ""
}

// getReport shows one report with every receipt.
func (s *Server) getReport(w http.ResponseWriter, r *http.Request) error {
	p, ctx, err := who(r)
	if err != nil {
		return err
	}
	rec, err := s.visible(ctx, p, r.PathValue("id"))
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

// visible returns the report with this id when p may see it: analysts every report,
// an operator its organisation's; otherwise the same 404 as for a missing report.
func (s *Server) visible(ctx context.Context, p *auth.Principal, id string) (store.Report, error) {
	if !isOperator(p) && !s.isAnalyst(p) {
		return store.Report{}, notFound()
	}
	rec, err := s.st.Report(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && !s.isAnalyst(p) && rec.Operator != p.Org.ID {
		return store.Report{}, notFound()
	}
	return rec, err
}

// orgCache keeps the organisations one listing has read: a list of many reports
// of few operators reads each operator once.
type orgCache map[string]*store.Organisation

// view builds the view of rec; orgs, when not nil, caches the operators read.
func (s *Server) view(ctx context.Context, rec store.Report, p *auth.Principal, now time.Time, full bool, orgs orgCache) (View, error) {
	versions, err := s.st.ReportVersions(ctx, rec.ID)
	if err != nil {
		return View{}, err
	}
	if len(versions) == 0 {
		return View{}, fmt.Errorf("reportapi: report %s has no version", rec.ID)
	}
	latest := versions[len(versions)-1]
	var rep report.Report
	if err := json.Unmarshal(latest.Body, &rep); err != nil {
		return View{}, fmt.Errorf("reportapi: report %s: %w", rec.ID, err)
	}
	var rc report.Receipt
	if err := json.Unmarshal(latest.Receipt, &rc); err != nil {
		return View{}, fmt.Errorf("reportapi: receipt of %s: %w", rec.ID, err)
	}
	v := View{ID: rec.ID, Title: rep.Title, Status: rec.Status, TLP: string(rep.TLP), Impact: string(rep.Impact),
		Versions: rec.Versions, Created: rec.Created, Modified: rec.Modified, DetectedAt: rep.DetectedAt,
		Receipt: latest.Receipt, Rule: rc.Rule}
	if rec.Marking != "" && rec.Marking != v.TLP {
		v.TLP, v.OperatorTLP = rec.Marking, v.TLP
	}
	if !rec.Due.IsZero() {
		due, onTime := rec.Due, !rec.Late
		v.Due, v.OnTime = &due, &onTime
		v.Overdue = isOpen(rec.Status) && now.After(due)
	}
	analyst := s.isAnalyst(p)
	if analyst {
		v.Operator = &OperatorView{ID: rec.Operator}
		org, cached := orgs[rec.Operator]
		if !cached {
			if o, err := s.st.Organisation(ctx, rec.Operator); err == nil {
				org = &o
			}
			if orgs != nil {
				orgs[rec.Operator] = org
			}
		}
		if org != nil {
			v.Operator.Name, v.Operator.Jurisdiction = org.Name, org.Nation
		}
	}
	if !full {
		return v, nil
	}
	v.Report = &rep
	for _, ver := range versions {
		v.Receipts = append(v.Receipts, ver.Receipt)
	}
	if analyst {
		evs, err := s.st.ReportEvents(ctx, rec.ID)
		if err != nil {
			return View{}, err
		}
		var released time.Time
		for _, e := range evs {
			v.History = append(v.History, Event{At: e.At, Actor: e.Actor, Action: e.Action, From: e.From, To: e.To, Collection: e.Collection, Text: e.Text})
			if e.Action == store.ReportRelease {
				released = e.At
			}
		}
		v.UpdatedSinceRelease = !released.IsZero() && latest.Received.After(released)
		for _, n := range report.Status(rec.Status).Next() {
			v.NextStatuses = append(v.NextStatuses, string(n))
		}
	}
	return v, nil
}
