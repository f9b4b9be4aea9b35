package report

import (
	"encoding/json"
	"fmt"
	"time"

	"quadshare/internal/stix"
)

// Report is one incident report as an operator submits it. The JSON names are the
// published format (schema.json); every field is checked by Decode.
type Report struct {
	// ID names the report across its versions: absent on a first submission (the
	// receiving node assigns one with NewID), present on an update.
	ID string `json:"id,omitempty"`
	// IdempotencyKey is chosen by the client so that a retried submission is
	// recognised and answered with the first receipt instead of a second report.
	IdempotencyKey string `json:"idempotency_key,omitempty"`

	Title       string     `json:"title"`                // a short name of what happened
	Description string     `json:"description"`          // what happened, in the operator's words
	StartedAt   *time.Time `json:"started_at,omitempty"` // when the incident began, if known
	DetectedAt  time.Time  `json:"detected_at"`          // when the operator noticed it: the reporting clock starts here
	Impact      Impact     `json:"impact"`
	Ongoing     bool       `json:"ongoing"`

	AffectedServices []string `json:"affected_services,omitempty"`
	// Sectors are names from the common sector list; absent means the operator's own.
	Sectors []string `json:"sectors,omitempty"`

	Ransom *Ransom `json:"ransom,omitempty"`

	Indicators  []Indicator  `json:"indicators,omitempty"`
	Techniques  []string     `json:"techniques,omitempty"` // MITRE ATT&CK technique ids: T1486, T1566.001
	Notes       string       `json:"notes,omitempty"`      // anything else, free text
	Attachments []Attachment `json:"attachments,omitempty"`

	TLP TLP `json:"tlp"`
}

// Ransom says whether the incident involved a ransom demand or extortion, and
// whether a ransom was paid (which starts its own clock in some jurisdictions).
type Ransom struct {
	Demanded  bool       `json:"demanded"`
	Extortion bool       `json:"extortion"` // a threat to publish or sell data
	Paid      bool       `json:"paid"`
	PaidAt    *time.Time `json:"paid_at,omitempty"` // required when Paid
}

// Impact is the operator's judgement of the incident's effect on its services.
type Impact string

// Impacts, from least to most severe.
const (
	ImpactNone        Impact = "none"
	ImpactMinor       Impact = "minor"
	ImpactSignificant Impact = "significant"
	ImpactSevere      Impact = "severe"
)

var impacts = []Impact{ImpactNone, ImpactMinor, ImpactSignificant, ImpactSevere}

// Rank orders impacts: none 0 ... severe 3; -1 for an unknown impact.
func (i Impact) Rank() int {
	for r, v := range impacts {
		if v == i {
			return r
		}
	}
	return -1
}

// IndicatorKind is what an indicator's value is.
type IndicatorKind string

// Indicator kinds.
const (
	KindIP     IndicatorKind = "ip"     // an IPv4 or IPv6 address
	KindDomain IndicatorKind = "domain" // a domain name
	KindURL    IndicatorKind = "url"
	KindEmail  IndicatorKind = "email" // an e-mail address
	KindHash   IndicatorKind = "hash"  // a file hash; Algorithm says which
)

// Indicator is one observable the operator saw in the incident.
type Indicator struct {
	Kind      IndicatorKind `json:"kind"`
	Value     string        `json:"value"`
	Algorithm string        `json:"algorithm,omitempty"` // for a hash: MD5, SHA-1, SHA-256 or SHA-512
	Note      string        `json:"note,omitempty"`      // what it was: "phishing sender", "C2 server"
}

// Attachment is a file the operator holds (a log, a sample, a screenshot), known
// here only by its hash; the file itself travels separately.
type Attachment struct {
	Name      string `json:"name"`
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size,omitempty"`
	MediaType string `json:"media_type,omitempty"`
}

// TLP is the Traffic Light Protocol 2.0 label the operator chose for the report.
type TLP string

// TLP 2.0 labels (FIRST TLP 2.0).
const (
	TLPClear       TLP = "clear"
	TLPGreen       TLP = "green"
	TLPAmber       TLP = "amber"
	TLPAmberStrict TLP = "amber+strict"
	TLPRed         TLP = "red"
)

// tlpMarkings maps each label to its fixed TLP 2.0 marking definition.
var tlpMarkings = map[TLP]string{
	TLPClear:       "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
	TLPGreen:       "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
	TLPAmber:       "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
	TLPAmberStrict: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
	TLPRed:         "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}

// Marking returns the id of the TLP 2.0 marking definition of t.
func (t TLP) Marking() (string, bool) {
	id, ok := tlpMarkings[t]
	return id, ok
}

// Hash returns the SHA-256 of the RFC 8785 canonical JSON of the report, as
// "sha256:<hex>": the content hash a receipt carries.
func (r *Report) Hash() (string, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("report: hash: %w", err)
	}
	c, err := stix.Canonical(raw)
	if err != nil {
		return "", fmt.Errorf("report: hash: %w", err)
	}
	return sha256Text(c), nil
}
