package report

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

//go:embed deadlines.json
var defaultDeadlinesJSON []byte

// Clock starts of a deadline rule.
const (
	FromDetected   = "detected"    // the report's detected_at: when the operator noticed
	FromRansomPaid = "ransom_paid" // the report's ransom.paid_at; the rule applies only when a ransom was paid
)

// Rule is one legal reporting obligation of a jurisdiction: report within Hours of
// the clock start, when the impact is at least MinImpact.
type Rule struct {
	Name      string `json:"name"`       // a stable slug: "soci-significant"
	Law       string `json:"law"`        // where the obligation comes from, for people
	Hours     int    `json:"hours"`      // 1 to 8760
	From      string `json:"from"`       // FromDetected or FromRansomPaid
	MinImpact Impact `json:"min_impact"` // the least impact the rule applies to
}

// Deadlines holds the rules of each jurisdiction (deadlines.json): data, loaded and
// checked by LoadDeadlines, never modified once loaded. A jurisdiction with an empty
// list, or without a list, has no deadline.
type Deadlines struct {
	rules map[string][]Rule
}

// LoadDeadlines reads and checks a deadlines file: a JSON object from ISO 3166-1
// alpha-2 codes to lists of rules with unique names, 1 to 8760 hours, a known clock
// start and a known impact.
func LoadDeadlines(r io.Reader) (*Deadlines, error) {
	var m map[string][]Rule
	if err := decodeData(r, &m); err != nil {
		return nil, fmt.Errorf("%w: deadlines: %w", ErrData, err)
	}
	for nation, rules := range m {
		if !isNation(nation) {
			return nil, fmt.Errorf("%w: deadlines: %q is not an ISO 3166-1 alpha-2 code", ErrData, nation)
		}
		names := map[string]bool{}
		for i, ru := range rules {
			var msg string
			switch {
			case !isSlug(ru.Name):
				msg = "name must be lower-case a-z, 0-9 and hyphens"
			case names[ru.Name]:
				msg = "name used twice"
			case ru.Hours < 1 || ru.Hours > 8760:
				msg = "hours must be from 1 to 8760"
			case ru.From != FromDetected && ru.From != FromRansomPaid:
				msg = "from must be detected or ransom_paid"
			case ru.MinImpact.Rank() < 0:
				msg = "min_impact must be none, minor, significant or severe"
			}
			if msg != "" {
				return nil, fmt.Errorf("%w: deadlines: %s rule %d (%q): %s", ErrData, nation, i, ru.Name, msg)
			}
			names[ru.Name] = true
		}
	}
	return &Deadlines{rules: m}, nil
}

var defaultDeadlines = sync.OnceValues(func() (*Deadlines, error) {
	return LoadDeadlines(bytes.NewReader(defaultDeadlinesJSON))
})

// DefaultDeadlines returns the deadlines shipped with quadshare (deadlines.json):
// India 6 hours from noticing (CERT-In); Australia 12 hours for a significant impact
// and 72 hours for a relevant one (SOCI Act Part 2B); the United States 72 hours for
// a covered incident and 24 hours after a ransom payment (CIRCIA); Japan none.
func DefaultDeadlines() *Deadlines {
	d, err := defaultDeadlines()
	if err != nil {
		panic(err) // the embedded file is checked by the tests
	}
	return d
}

// DefaultDeadlinesJSON returns the shipped deadlines file, to serve or to edit.
func DefaultDeadlinesJSON() []byte { return slices.Clone(defaultDeadlinesJSON) }

// Rules returns the rules of one jurisdiction.
func (d *Deadlines) Rules(nation string) []Rule { return slices.Clone(d.rules[nation]) }

// Obligation is one rule that applies to one report, and when it falls due.
type Obligation struct {
	Rule Rule
	Due  time.Time
}

// Obligations returns every rule of the jurisdiction that applies to rep, earliest
// due first (ties in the order of the data).
func (d *Deadlines) Obligations(rep *Report, nation string) []Obligation {
	var out []Obligation
	for _, ru := range d.rules[nation] {
		if rep.Impact.Rank() < ru.MinImpact.Rank() {
			continue
		}
		var start time.Time
		switch ru.From {
		case FromDetected:
			start = rep.DetectedAt
		case FromRansomPaid:
			if rep.Ransom == nil || !rep.Ransom.Paid || rep.Ransom.PaidAt == nil {
				continue
			}
			start = *rep.Ransom.PaidAt
		}
		out = append(out, Obligation{Rule: ru, Due: start.Add(time.Duration(ru.Hours) * time.Hour)})
	}
	slices.SortStableFunc(out, func(a, b Obligation) int { return a.Due.Compare(b.Due) })
	return out
}

// Due returns the earliest deadline the jurisdiction sets for rep and its rule, or
// ok false when no rule applies (Japan by default, or an impact below every rule).
func (d *Deadlines) Due(rep *Report, nation string) (due time.Time, rule Rule, ok bool) {
	obs := d.Obligations(rep, nation)
	if len(obs) == 0 {
		return time.Time{}, Rule{}, false
	}
	return obs[0].Due, obs[0].Rule, true
}

// ErrNoDeadline is returned by OnTime when no rule applies.
var ErrNoDeadline = errors.New("report: no reporting deadline applies")

// OnTime reports whether a report first received at received met every deadline of
// the jurisdiction: a report received exactly at the deadline is on time. It returns
// the rules missed, earliest first, and ErrNoDeadline when no rule applies.
func (d *Deadlines) OnTime(rep *Report, nation string, received time.Time) (bool, []Obligation, error) {
	obs := d.Obligations(rep, nation)
	if len(obs) == 0 {
		return true, nil, ErrNoDeadline
	}
	var missed []Obligation
	for _, o := range obs {
		if received.After(o.Due) {
			missed = append(missed, o)
		}
	}
	return len(missed) == 0, missed, nil
}

// Version is one received version of a report.
type Version struct {
	Report   *Report
	Received time.Time
}

// Verdict is one obligation of the latest version of a report and whether it was
// met: by the first version to which the same rule applied, received at MetAt.
type Verdict struct {
	Obligation
	MetAt  time.Time
	OnTime bool // MetAt not after Due
}

// Judge weighs the versions of one report, oldest first, against the rules of the
// jurisdiction. Each obligation of the latest version is met by the first version
// that the same rule already applied to: an initial report filed fast meets the
// detection clock even if details come later, while a ransom payment reported only
// in an update is judged by when that update arrived. The due time is the latest
// version's (its times are the operator's best knowledge). It returns nil when no
// rule applies.
func (d *Deadlines) Judge(nation string, versions []Version) []Verdict {
	if len(versions) == 0 {
		return nil
	}
	var out []Verdict
	for _, ob := range d.Obligations(versions[len(versions)-1].Report, nation) {
		v := Verdict{Obligation: ob}
		for _, ver := range versions {
			if slices.ContainsFunc(d.Obligations(ver.Report, nation), func(o Obligation) bool { return o.Rule.Name == ob.Rule.Name }) {
				v.MetAt = ver.Received
				break
			}
		}
		v.OnTime = !v.MetAt.After(ob.Due)
		out = append(out, v)
	}
	return out
}
