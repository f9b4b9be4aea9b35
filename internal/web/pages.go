package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/auth"
	"quadshare/internal/gate"
	"quadshare/internal/policy"
	"quadshare/internal/report"
	"quadshare/internal/reportapi"
	"quadshare/internal/store"
)

// chartDays is how many days the dashboard's chart covers.
const chartDays = 14

// dueShown bounds the reports the dashboard lists by deadline.
const dueShown = 50

type dashboardData struct {
	New, Overdue, DueSoon []reportapi.View
	Chart                 chart
	MoreDue               bool // more reports are due than listed
	Partners              []partnerRow
	PartnerChart          chart
}

// dashboard shows analysts the new reports, the deadlines overdue and due in the
// next day, a chart of the reports received each day and, to our agency's staff
// only, for each partner node the traffic of the last day and week and the
// health of the link.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx := r.Context()
	now := s.cfg.Now().UTC()
	var data dashboardData
	var err error
	if data.New, err = s.reports.Reports(ctx, p, store.ReportQuery{Statuses: []string{string(report.StatusNew)}, Limit: 20}, false); err != nil {
		return err
	}
	// Views only of the reports shown: open, due before tomorrow, earliest first.
	due, err := s.reports.DueBefore(ctx, p, now.Add(24*time.Hour), dueShown+1) // one more: are there more?
	if err != nil {
		return err
	}
	if data.MoreDue = len(due) > dueShown; data.MoreDue {
		due = due[:dueShown]
	}
	for _, v := range due {
		if v.Overdue {
			data.Overdue = append(data.Overdue, v)
		} else {
			data.DueSoon = append(data.DueSoon, v)
		}
	}
	// Reports received per day: one count by day from the store's index.
	start := now.Truncate(24*time.Hour).AddDate(0, 0, -(chartDays - 1))
	counts, err := s.st.ReportsPerDay(ctx, start, chartDays)
	if err != nil {
		return err
	}
	labels := make([]string, chartDays)
	for i := range labels {
		labels[i] = start.AddDate(0, 0, i).Format("01-02")
	}
	data.Chart = barChart("Reports received per day", labels, counts)
	// The partner links: the dashboard is for our agency's staff alone (ourAgencyOnly).
	if data.Partners, err = s.partnerTraffic(ctx, now); err != nil {
		return err
	}
	if len(data.Partners) > 0 {
		data.PartnerChart = partnerChart(data.Partners)
	}
	s.render(w, r, http.StatusOK, "dashboard", p, "Dashboard", data)
	return nil
}

// auditPageSize is the number of records the audit page shows.
const auditPageSize = 50

type auditRow struct {
	Seq                        int64
	Time                       time.Time
	Kind, Actor, Subject, Rule string
	Objects                    int
	Detail                     string
}

type auditData struct {
	Rows     []auditRow
	After    int64
	Next     int64 // 0: no next page
	Verified bool
	Report   *audit.Report
	NoKey    bool
	Latest   int64 // after= for the last page, known after a verification
}

// auditPage lists the trail page by page and, on request, verifies it whole with
// the node's audit key.
func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx := r.Context()
	var data auditData
	if a := r.URL.Query().Get("after"); a != "" {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n < 0 {
			return badRequest("“after” must be a record number.")
		}
		data.After = n
	}
	if r.URL.Query().Get("verify") == "1" {
		if len(s.cfg.AuditKey) == 0 {
			data.NoKey = true
		} else {
			rep, err := audit.Verify(ctx, store.AuditSource(s.st), s.cfg.AuditKey)
			if err != nil {
				return err
			}
			data.Verified, data.Report = true, rep
			data.Latest = max(0, rep.LastSeq-auditPageSize)
		}
	}
	recs, err := s.st.AuditRecords(ctx, data.After, auditPageSize)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		row := auditRow{Seq: rec.Seq, Time: rec.Time, Kind: string(rec.Kind), Actor: rec.Actor, Subject: rec.Subject,
			Rule: rec.Rule, Objects: len(rec.Objects), Detail: clip(string(rec.Detail))}
		data.Rows = append(data.Rows, row)
	}
	if len(recs) == auditPageSize {
		data.Next = recs[len(recs)-1].Seq
	}
	s.render(w, r, http.StatusOK, "audit", p, "Audit trail", data)
	return nil
}

type reportListData struct {
	Reports  []reportapi.View
	Operator bool
	Status   string
	Statuses []string
}

func (s *Server) reportList(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	q := store.ReportQuery{Limit: 100}
	status := r.URL.Query().Get("status")
	if status != "" {
		if !report.Status(status).Valid() {
			return badRequest("Unknown status.")
		}
		q.Statuses = []string{status}
	}
	vs, err := s.reports.Reports(r.Context(), p, q, false)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "reports", p, "Reports", reportListData{Reports: vs, Operator: operators(p.User.Role), Status: status,
		Statuses: []string{"new", "triaged", "shared", "closed"}})
	return nil
}

type reportData struct {
	View     reportapi.View
	Receipts []string
	Analyst  bool
	Done     string // the action just made: filed, notes, marking, release
	Message  string // a refused action
	Targets  []store.Collection
	TLPs     []string
}

func (s *Server) reportPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return s.showReport(w, r, p, http.StatusOK, "")
}

// showReport renders a report's page, with the message of a refused action.
func (s *Server) showReport(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, msg string) error {
	v, err := s.reports.Report(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	data := reportData{View: v, Analyst: analysts(p.User.Role), Message: msg, TLPs: tlps}
	switch done := r.URL.Query().Get("done"); done {
	case "notes", "marking", "release":
		data.Done = done
	}
	if r.URL.Query().Get("filed") == "1" {
		data.Done = "filed"
	}
	if data.Analyst {
		if data.Targets, err = s.releaseTargets(r.Context(), p); err != nil {
			return err
		}
	}
	for i := len(v.Receipts) - 1; i >= 0; i-- {
		data.Receipts = append(data.Receipts, pretty(v.Receipts[i]))
	}
	s.render(w, r, status, "report", p, v.Title, data)
	return nil
}

type adminData struct {
	Users       []store.User
	Orgs        []store.Organisation
	OrgNames    map[string]string
	Collections []store.Collection
	Tokens      []tokenRow
	Policy      policy.Config
	PolicyJSON  string
	Problems    []string
}

// admin shows the configuration read-only, with what is wrong in it.
func (s *Server) admin(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx := r.Context()
	var data adminData
	var err error
	if data.Users, err = s.st.Users(ctx); err != nil {
		return err
	}
	if data.Orgs, err = s.st.Organisations(ctx); err != nil {
		return err
	}
	if data.Collections, err = s.st.Collections(ctx); err != nil {
		return err
	}
	now := s.cfg.Now()
	for _, u := range data.Users {
		toks, err := s.st.Tokens(ctx, u.ID)
		if err != nil {
			return err
		}
		for _, t := range toks {
			state := "valid"
			switch {
			case !t.RevokedAt.IsZero():
				state = "revoked"
			case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
				state = "expired"
			}
			data.Tokens = append(data.Tokens, tokenRow{User: u.Name, ID: t.ID, Created: t.CreatedAt, Expires: t.ExpiresAt, State: state})
		}
	}
	e := s.gate.Policy()
	data.Policy = e.Config()
	b, _ := json.MarshalIndent(data.Policy, "", "  ")
	data.PolicyJSON = string(b)
	data.OrgNames = make(map[string]string, len(data.Orgs))
	agencyFound := false
	for _, o := range data.Orgs {
		data.OrgNames[o.ID] = o.Name
		if gate.Identity(o.ID) == data.Policy.Agency {
			agencyFound = true
			if o.Kind != store.KindAgency {
				data.Problems = append(data.Problems, "The policy's agency is the organisation "+o.Name+", which is not of kind agency.")
			}
		}
	}
	if err := data.Policy.Validate(); err != nil {
		data.Problems = append(data.Problems, "Policy: "+err.Error())
	}
	if !agencyFound {
		data.Problems = append(data.Problems, "The policy's agency "+data.Policy.Agency+" is the identity of no organisation of this node.")
	}
	for _, u := range data.Users {
		if _, ok := data.OrgNames[u.Org]; !ok {
			data.Problems = append(data.Problems, "User "+u.Name+" belongs to no known organisation.")
			continue
		}
		if u.Clearance == "" {
			continue
		}
		nat := u.Nationality
		if nat == "" {
			nat = orgNation(data.Orgs, u.Org)
		}
		if _, ok := e.Scales().Level(nat, u.Clearance); !ok {
			data.Problems = append(data.Problems, "User "+u.Name+" has the clearance "+u.Clearance+", which the scale of "+nat+" does not know: it counts as none.")
		}
	}
	slices.Sort(data.Problems)
	s.render(w, r, http.StatusOK, "admin", p, "Configuration", data)
	return nil
}

// tokenRow is what the configuration page shows of a token: never its hash.
type tokenRow struct {
	User, ID, State  string
	Created, Expires time.Time
}

func orgNation(orgs []store.Organisation, id string) string {
	for _, o := range orgs {
		if o.ID == id {
			return o.Nation
		}
	}
	return ""
}
