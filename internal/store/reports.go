package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrReportChanged is returned when an action on a report expected a status or a
// marking that another action changed first: the caller reads the report again.
var ErrReportChanged = errors.New("report changed meanwhile")

// OperatorProfile is what the reporting of a critical-infrastructure operator needs
// beyond its organisation (whose Nation is the jurisdiction and Name the legal name):
// its sectors in its nation's own list, its size band and its consent to be named
// (the words of package report).
type OperatorProfile struct {
	Org      string   // organisation id
	Sectors  []string // national sector ids (report sectors.json)
	SizeBand string   // small, medium, large
	Consent  string   // never, government, partners
	Created  time.Time
	Modified time.Time // the version of the operator's STIX identity
}

// Report is one incident report of an operator as the node keeps it. Its content is
// in its versions; what is here is what lists and triage need.
type Report struct {
	ID         string
	Operator   string // organisation id of the operator that submitted it
	Collection string // id of the inbox its STIX objects are filed in
	Status     string // triage status (report.Status): new, triaged, shared, closed
	// Marking is an analyst's correction of the operator's TLP label; "" keeps the
	// operator's.
	Marking  string
	Versions int       // how many versions were received; the latest is this number
	Created  time.Time // when the first version was received
	Modified time.Time // when the latest version or revision was made
	// Due is the earliest reporting deadline of the latest version, zero when none
	// applies; Late says that some obligation was met after it fell due.
	Due  time.Time
	Late bool
}

// ReportVersion is one submission of a report, as accepted.
type ReportVersion struct {
	Report         string
	Version        int // 1, 2, ...
	Operator       string
	Author         string // user id of the submitter
	IdempotencyKey string // "" when none; unique per operator
	Received       time.Time
	Body           []byte // the report as accepted (normalised JSON)
	Receipt        []byte // the signed receipt (JSON)
}

// ReportRevision is one filing of a report as STIX: each version, and each marking
// correction, is filed as new versions (Modified) of the same objects.
type ReportRevision struct {
	Report   string
	Modified time.Time
	Objects  []byte // JSON array of the STIX objects
	Filed    bool   // put in the report's collection
}

// Actions of a ReportEvent.
const (
	ReportNote    = "note"    // a note only
	ReportStatus  = "status"  // the status moves From To
	ReportMarking = "marking" // the marking moves From To, with a new revision
	ReportRelease = "release" // the status moves From To; the objects went to Collection
)

// ReportEvent is one analyst action in the history of a report.
type ReportEvent struct {
	Report     string
	Seq        int // assigned by the store: 1, 2, ... per report
	At         time.Time
	Actor      string // user id
	Action     string
	From, To   string
	Collection string // for a release: where the objects went
	Text       string // the analyst's note
}

// ReportQuery selects reports.
type ReportQuery struct {
	Operator string   // "" for every operator
	Statuses []string // empty for any
	// WithDue selects only reports with a deadline, earliest due first (then by id);
	// otherwise every report, newest first (by Created, then id, descending).
	WithDue bool
	// AfterTime and AfterID continue a listing after the report with this sort key
	// (Due or Created) and id; zero to start at the beginning.
	AfterTime time.Time
	AfterID   string
	Limit     int // > 0; backends cap it at 1000
}

// MaxReportDays bounds the days of one ReportsPerDay.
const MaxReportDays = 366

// ReportDays checks the arguments of ReportsPerDay and returns the first instant
// counted and the end (exclusive).
func ReportDays(since time.Time, days int) (from, to time.Time, err error) {
	if days <= 0 || days > MaxReportDays {
		return from, to, fmt.Errorf("reports per day: want 1 to %d days, got %d", MaxReportDays, days)
	}
	from = since.UTC().Truncate(24 * time.Hour)
	return from, from.AddDate(0, 0, days), nil
}

// Reports keeps operator incident reports (package report holds their format): every
// version as received with its signed receipt, the STIX revisions they are filed as,
// the triage status with its history, and the operators' reporting profiles.
type Reports interface {
	PutOperator(ctx context.Context, p OperatorProfile) error // insert or update by Org
	Operator(ctx context.Context, org string) (OperatorProfile, error)

	// SubmitReport records version v of report r and the revision it is filed as,
	// in one transaction. Version 1 creates r (ErrExists when its id is taken).
	// A later version needs the stored report to have v.Version-1 versions (else
	// ErrExists: another version came first) and sets its Versions, Modified, Due
	// and Late from r; ErrNotFound when there is no such report. ErrExists also when
	// the operator already used v.IdempotencyKey: look it up with ReportVersionByKey.
	SubmitReport(ctx context.Context, r Report, v ReportVersion, rev ReportRevision) error
	Report(ctx context.Context, id string) (Report, error)
	ReportVersions(ctx context.Context, id string) ([]ReportVersion, error) // oldest first
	ReportVersionByKey(ctx context.Context, operator, key string) (ReportVersion, error)
	Reports(ctx context.Context, q ReportQuery) ([]Report, error)
	// ReportsPerDay counts the reports first received on each of days UTC days
	// from the day of since (which is truncated to its UTC midnight), from the
	// index of reports by creation: the dashboard's chart. days is at most
	// MaxReportDays.
	ReportsPerDay(ctx context.Context, since time.Time, days int) ([]int, error)

	// ChangeReport applies one analyst action in one transaction and appends it to
	// the report's history with the next Seq. ReportStatus and ReportRelease move the
	// status from ev.From to ev.To; ReportMarking moves the marking from ev.From to
	// ev.To and records rev (required), whose Modified becomes the report's. When the
	// status or marking is no longer ev.From: ErrReportChanged. ErrNotFound for an
	// unknown report.
	ChangeReport(ctx context.Context, ev ReportEvent, rev *ReportRevision) error
	ReportEvents(ctx context.Context, id string) ([]ReportEvent, error) // oldest first

	ReportRevisions(ctx context.Context, id string) ([]ReportRevision, error) // oldest first
	// UnfiledRevisions returns up to limit revisions not yet filed, oldest first.
	UnfiledRevisions(ctx context.Context, limit int) ([]ReportRevision, error)
	MarkRevisionFiled(ctx context.Context, report string, modified time.Time) error
}
