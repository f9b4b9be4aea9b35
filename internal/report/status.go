package report

import "fmt"

// Status is where a report stands in the agency's triage.
type Status string

// Statuses. A report starts New; an analyst triages it; it is then shared with
// partners or closed. New may go straight to Closed (a duplicate or a mistaken
// submission); Shared may be Closed when handling ends. Closed is final.
const (
	StatusNew     Status = "new"
	StatusTriaged Status = "triaged"
	StatusShared  Status = "shared"
	StatusClosed  Status = "closed"
)

var transitions = map[Status][]Status{
	StatusNew:     {StatusTriaged, StatusClosed},
	StatusTriaged: {StatusShared, StatusClosed},
	StatusShared:  {StatusClosed},
	StatusClosed:  nil,
}

// Valid reports whether s is a status.
func (s Status) Valid() bool {
	_, ok := transitions[s]
	return ok
}

// Next returns the statuses s may move to.
func (s Status) Next() []Status { return append([]Status(nil), transitions[s]...) }

// Transition returns to when s may move to it, and an error otherwise.
func (s Status) Transition(to Status) (Status, error) {
	if !s.Valid() || !to.Valid() {
		return s, fmt.Errorf("report: unknown status %q or %q", s, to)
	}
	for _, n := range transitions[s] {
		if n == to {
			return to, nil
		}
	}
	return s, fmt.Errorf("report: a %s report cannot become %s", s, to)
}
