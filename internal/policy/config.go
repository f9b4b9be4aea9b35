package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"quadshare/internal/stix"
)

// configFormat is the only format of the policy file this version reads. The
// format changes when the file's shape does; Revision changes on every edit.
const configFormat = 1

// Config is the sharing policy of this node: who we are, the defaults for
// unmarked objects, what is scrubbed before leaving the nation, and one agreement
// per partner nation. It is read from a JSON file (LoadConfig) and checked by
// Validate before an Engine is built from it.
type Config struct {
	Format   int `json:"format"`   // configFormat
	Revision int `json:"revision"` // increases on every change of this file

	Nation string `json:"nation"` // our nation, ISO 3166-1 alpha-2
	Agency string `json:"agency"` // our agency's STIX identity id

	DefaultTLP   string `json:"default_tlp"`   // for objects with no TLP marking: clear, green, amber, amber+strict, red
	DefaultLevel int    `json:"default_level"` // for objects with no classification marking
	NodeLevel    int    `json:"node_level"`    // the accreditation of this node: nothing above it is released

	// DenyUnknownMarkings refuses objects (and redacts parts) marked with a
	// marking definition this node cannot interpret. Statement markings are such.
	DenyUnknownMarkings bool `json:"deny_unknown_markings"`

	Redaction  RedactionConfig `json:"redaction"`
	Agreements []Agreement     `json:"agreements"`
}

// RedactionConfig says what Scrub removes from objects that leave the nation.
type RedactionConfig struct {
	// Properties are the selectors (§7.2.3 syntax, "*" matches any one key or list
	// index) of the string properties that are scrubbed.
	Properties []string `json:"properties"`
	// InternalNetworks are address ranges that are internal besides RFC 1918,
	// RFC 4193 and loopback/link-local, which always are.
	InternalNetworks []string `json:"internal_networks"`
	// InternalDomains are DNS suffixes of internal host names ("corp.example",
	// "internal"); "local", "lan", "internal", "intranet", "corp" and "home.arpa" always are.
	InternalDomains []string `json:"internal_domains"`
}

// Agreement is the sharing agreement with one partner nation: the channel's
// accreditation and what may cross it.
type Agreement struct {
	Partner  string `json:"partner"`  // nation, ISO 3166-1 alpha-2
	Version  int    `json:"version"`  // increases on every change of this agreement
	Approved string `json:"approved"` // when this version was approved, a STIX timestamp (informative)

	ObjectTypes      []string `json:"object_types"`      // STIX types; "*" for all
	Sectors          []string `json:"sectors"`           // common sectors; "*" for all
	MaxTLP           string   `json:"max_tlp"`           // highest TLP released
	MaxLevel         int      `json:"max_level"`         // highest classification: the channel's accreditation
	Embargo          Duration `json:"embargo"`           // delay after the object version before release
	ShareAttribution bool     `json:"share_attribution"` // may operators who consented be named at all
}

// Duration is a time.Duration written as a Go duration string ("72h", "0s").
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string such as \"72h\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// LoadConfig reads a policy file and validates it.
func LoadConfig(r io.Reader) (Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxConfigBytes+1))
	if err != nil {
		return Config{}, fmt.Errorf("policy: read config: %w", err)
	}
	if len(data) > maxConfigBytes {
		return Config{}, fmt.Errorf("policy: config: larger than %d bytes", maxConfigBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("policy: config: %w", err)
	}
	if dec.More() {
		return Config{}, errors.New("policy: config: trailing data after the JSON object")
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate reports every problem of the configuration, one readable line each.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("policy: "+format, a...)) }
	if c.Format != configFormat {
		bad("format is %d; this version reads format %d", c.Format, configFormat)
	}
	if c.Revision < 1 {
		bad("revision must be 1 or more, got %d", c.Revision)
	}
	if !validNation(c.Nation) {
		bad("nation %q: want an ISO 3166-1 alpha-2 code in upper case (AU, IN, JP, US)", c.Nation)
	}
	if !strings.HasPrefix(c.Agency, "identity--") {
		bad("agency %q: want our agency's STIX identity id (identity--<uuid>)", c.Agency)
	}
	if _, ok := parseTLP(c.DefaultTLP); !ok {
		bad("default_tlp %q: want one of %s", c.DefaultTLP, tlpNamesList)
	}
	checkLevel := func(name string, l int) {
		if l < 0 || l > int(MaxLevel) {
			bad("%s %d: want a level of the common scale, 0 to %d", name, l, MaxLevel)
		}
	}
	checkLevel("default_level", c.DefaultLevel)
	checkLevel("node_level", c.NodeLevel)
	for i, p := range c.Redaction.Properties {
		if err := checkPattern(p); err != nil {
			bad("redaction.properties[%d]: %v", i, err)
		}
	}
	for i, n := range c.Redaction.InternalNetworks {
		if _, err := netip.ParsePrefix(n); err != nil {
			bad("redaction.internal_networks[%d] %q: want a CIDR prefix such as 10.20.0.0/16", i, n)
		}
	}
	for i, d := range c.Redaction.InternalDomains {
		if d = strings.Trim(d, "."); d == "" || strings.ContainsAny(d, " /@*") {
			bad("redaction.internal_domains[%d] %q: want a DNS suffix such as corp.example", i, c.Redaction.InternalDomains[i])
		}
	}
	seen := map[string]bool{}
	for i, a := range c.Agreements {
		where := fmt.Sprintf("agreements[%d]", i)
		if validNation(a.Partner) {
			where = fmt.Sprintf("agreement with %s", a.Partner)
		}
		for _, e := range a.problems(c.Nation) {
			bad("%s: %s", where, e)
		}
		if seen[a.Partner] {
			bad("%s: more than one agreement with %s", where, a.Partner)
		}
		seen[a.Partner] = true
	}
	return errors.Join(errs...)
}

func (a *Agreement) problems(ours string) []string {
	var p []string
	if !validNation(a.Partner) {
		p = append(p, fmt.Sprintf("partner %q: want an ISO 3166-1 alpha-2 code in upper case", a.Partner))
	} else if a.Partner == ours {
		p = append(p, "an agreement is with another nation, not our own")
	}
	if a.Version < 1 {
		p = append(p, fmt.Sprintf("version must be 1 or more, got %d", a.Version))
	}
	if a.Approved != "" {
		if _, err := stix.ParseTimestamp(a.Approved); err != nil {
			p = append(p, fmt.Sprintf("approved: %v", err))
		}
	}
	if len(a.ObjectTypes) == 0 {
		p = append(p, `object_types: empty; list the STIX types allowed, or "*" for all`)
	}
	for _, t := range a.ObjectTypes {
		if t != "*" && !validTypeName(t) {
			p = append(p, fmt.Sprintf("object_types: %q is not a STIX type name (§3.1)", t))
		}
	}
	if len(a.Sectors) == 0 {
		p = append(p, `sectors: empty; list the sectors allowed, or "*" for all`)
	}
	for _, s := range a.Sectors {
		if s != "*" && !knownSector(s) {
			p = append(p, fmt.Sprintf("sectors: %q is not on the common list (STIX industry-sector-ov, §10.11)", s))
		}
	}
	if _, ok := parseTLP(a.MaxTLP); !ok {
		p = append(p, fmt.Sprintf("max_tlp %q: want one of %s", a.MaxTLP, tlpNamesList))
	}
	if a.MaxLevel < 0 || a.MaxLevel > int(MaxLevel) {
		p = append(p, fmt.Sprintf("max_level %d: want a level of the common scale, 0 to %d", a.MaxLevel, MaxLevel))
	}
	if a.Embargo < 0 {
		p = append(p, "embargo: must not be negative")
	}
	return p
}

// validTypeName checks §3.1: lowercase ASCII letters, digits and single hyphens,
// 3 to 250 characters.
func validTypeName(t string) bool {
	if len(t) < 3 || len(t) > 250 || t[0] == '-' || t[len(t)-1] == '-' || strings.Contains(t, "--") {
		return false
	}
	for _, r := range t {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

var tlpNames = [...]string{"clear", "green", "amber", "amber+strict", "red"}

const tlpNamesList = "clear, green, amber, amber+strict, red"

// parseTLP reads a TLP name of the configuration; "white" is TLP 1.0's "clear".
func parseTLP(s string) (stix.TLPLevel, bool) {
	s = strings.ToLower(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "TLP:"))
	if s == "white" {
		return stix.TLPClear, true
	}
	for i, n := range tlpNames {
		if s == n {
			return stix.TLPLevel(i), true
		}
	}
	return 0, false
}

// tlpName names a level for people.
func tlpName(l stix.TLPLevel) string {
	if int(l) < len(tlpNames) {
		return "TLP:" + strings.ToUpper(tlpNames[l])
	}
	return "TLP:?"
}

// checkPattern checks a redaction property pattern: a selector whose components
// may also be "*".
func checkPattern(p string) error {
	return checkSelector(strings.ReplaceAll(p, "*", "x"))
}

// CheckUpdate checks that c may replace prev, the configuration in force: the
// revision goes up, and every agreement whose terms changed has a higher version
// (an agreement's version never goes down). The audited admin action that changes
// agreements calls it before the new configuration takes effect.
func (c *Config) CheckUpdate(prev *Config) error {
	var errs []error
	if c.Revision <= prev.Revision {
		errs = append(errs, fmt.Errorf("policy: revision %d does not follow the revision in force, %d", c.Revision, prev.Revision))
	}
	old := map[string]Agreement{}
	for _, a := range prev.Agreements {
		old[a.Partner] = a
	}
	for _, a := range c.Agreements {
		p, ok := old[a.Partner]
		if !ok {
			continue
		}
		switch {
		case a.Version < p.Version:
			errs = append(errs, fmt.Errorf("policy: agreement with %s: version %d is older than the version in force, %d", a.Partner, a.Version, p.Version))
		case a.Version == p.Version && !sameTerms(a, p):
			errs = append(errs, fmt.Errorf("policy: agreement with %s: the terms changed but the version is still %d", a.Partner, a.Version))
		}
	}
	return errors.Join(errs...)
}

// sameTerms compares two agreements, leaving out their version and approval date.
func sameTerms(a, b Agreement) bool {
	a.Version, a.Approved, b.Version, b.Approved = 0, "", 0, ""
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}
