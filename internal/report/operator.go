package report

import (
	"fmt"
	"time"
)

// SizeBand is an operator's size, coarse enough that naming it does not name the
// operator: the sharing policy keeps it when it removes the operator's identity.
type SizeBand string

// Size bands.
const (
	SizeSmall  SizeBand = "small"
	SizeMedium SizeBand = "medium"
	SizeLarge  SizeBand = "large"
)

// Valid reports whether b is one of the size bands.
func (b SizeBand) Valid() bool { return b == SizeSmall || b == SizeMedium || b == SizeLarge }

// Consent is what an operator agreed to about being named as the source of what it
// reports. The words are those of the sharing-facts extension the policy reads.
type Consent string

// Consent levels, from least to most open.
const (
	ConsentNever      Consent = "never"      // named to no one beyond our agency
	ConsentGovernment Consent = "government" // named to our own government's agencies
	ConsentPartners   Consent = "partners"   // named to partner agencies too
)

// Valid reports whether c is one of the consent levels.
func (c Consent) Valid() bool {
	return c == ConsentNever || c == ConsentGovernment || c == ConsentPartners
}

// Operator is a critical-infrastructure organisation that reports to the agency.
type Operator struct {
	ID           string    // stable account id at this node; the STIX identity id derives from it
	Name         string    // legal name
	Jurisdiction string    // ISO 3166-1 alpha-2 code of the nation whose law applies: AU, IN, JP, US
	Sectors      []string  // national sector ids of that nation (sectors.json)
	SizeBand     SizeBand  //
	Consent      Consent   //
	Created      time.Time // when the operator was registered
	Modified     time.Time // when its record last changed (the identity's version)
}

// Check validates the operator against the sector data.
func (o *Operator) Check(s *Sectors) error {
	switch {
	case o.ID == "" || len(o.ID) > 256:
		return fmt.Errorf("report: operator: id must be 1 to 256 bytes")
	case o.Name == "" || len(o.Name) > 256:
		return fmt.Errorf("report: operator %s: name must be 1 to 256 bytes", o.ID)
	case !isNation(o.Jurisdiction):
		return fmt.Errorf("report: operator %s: jurisdiction %q is not an ISO 3166-1 alpha-2 code", o.ID, o.Jurisdiction)
	case len(o.Sectors) == 0:
		return fmt.Errorf("report: operator %s: no sector", o.ID)
	case !o.SizeBand.Valid():
		return fmt.Errorf("report: operator %s: size band %q: want small, medium or large", o.ID, o.SizeBand)
	case !o.Consent.Valid():
		return fmt.Errorf("report: operator %s: consent %q: want never, government or partners", o.ID, o.Consent)
	case o.Created.IsZero() || o.Modified.Before(o.Created):
		return fmt.Errorf("report: operator %s: created must be set and not after modified", o.ID)
	}
	if _, err := s.Map(o.Jurisdiction, o.Sectors...); err != nil {
		return fmt.Errorf("report: operator %s: %w", o.ID, err)
	}
	return nil
}
