package policy

import (
	"errors"
	"math/bits"
	"net/netip"
	"slices"
	"time"

	"quadshare/internal/stix"
)

// RecipientKind is what receives an object.
type RecipientKind uint8

// Recipient kinds. The zero value is invalid and always refused.
const (
	KindUser         RecipientKind = iota + 1 // one person
	KindOrganisation                          // a whole organisation (an export, a grant)
	KindPartner                               // a partner nation's node
)

// OrgKind is what the recipient's organisation is.
type OrgKind uint8

// Organisation kinds. The zero value is invalid for users and organisations.
const (
	OrgAgency   OrgKind = iota + 1 // a national agency (ours, another of our government, a partner's)
	OrgOperator                    // a critical-infrastructure operator
)

// Recipient is who would receive an object. Build it once per session or peer.
type Recipient struct {
	Kind      RecipientKind
	Nation    string  // ISO 3166-1 alpha-2
	Org       string  // the STIX identity id of the organisation (users, organisations); "" for a partner node
	OrgKind   OrgKind // users and organisations
	User      string  // user id on this node (users)
	Clearance Level   // users: personal clearance, organisations: facility clearance, on the common scale; unused for partner nodes
	Sectors   Sectors // operators: the sectors they work in (need to know)
}

// Verdict is the outcome of a decision. The zero value is Deny.
type Verdict uint8

// Verdicts.
const (
	Deny   Verdict = iota
	Allow          // send as is
	Redact         // send after Engine.Apply
)

func (v Verdict) String() string {
	switch v {
	case Allow:
		return "allow"
	case Redact:
		return "redact"
	}
	return "deny"
}

// Rules that decide (see the package documentation for their meaning).
const (
	RuleRecipient      = "recipient.invalid"
	RuleNodeLevel      = "classification.node"
	RuleNoAgreement    = "agreement.none"
	RuleType           = "agreement.type"
	RuleSector         = "agreement.sector"
	RuleAgreementTLP   = "agreement.tlp"
	RuleAgreementLevel = "agreement.level"
	RuleEmbargo        = "agreement.embargo"
	RuleUnknownMarking = "marking.unknown"
	RuleNeedToKnow     = "tlp.amber.need-to-know"
	RuleOriginator     = "tlp.amber.originator"
	RuleStrict         = "tlp.amber+strict.organisation"
	RuleRedNamed       = "tlp.red.named"
	RuleClearance      = "classification.clearance"
	RuleAnonIdentity   = "anonymity.identity"
	RuleAllow          = "allow"
	RuleGranular       = "redact.granular"
	RuleAnonymise      = "redact.anonymise"
	RuleScrub          = "redact.scrub"
)

// Decision is the answer for one object version and one recipient.
type Decision struct {
	Verdict Verdict
	Rule    string // the rule that decided
	// Redact has bit i set when the content selected by Facts.Granular[i] must be
	// removed (Selectors lists it).
	Redact    uint64
	Anonymise bool // replace the reporter by our agency
	Scrub     bool // remove personal and internal data from the configured properties
}

// Selectors lists the selectors of the granular markings Redact names.
func (d Decision) Selectors(f *Facts) []string {
	var out []string
	for m := d.Redact; m != 0; m &= m - 1 {
		i := bits.TrailingZeros64(m)
		if i < len(f.Granular) {
			out = append(out, f.Granular[i].Selectors...)
		}
	}
	return out
}

// Engine decides. It is immutable once built and safe for concurrent use; build a
// new one when the configuration changes.
type Engine struct {
	cfg         Config
	scales      *Scales
	defTLP      stix.TLPLevel
	defLevel    Level
	nodeLevel   Level
	scrub       bool
	agreements  [26 * 26]*agreement // by nation code
	internalNet []netip.Prefix
	internalDNS []string
	scrubPaths  [][]string
}

type agreement struct {
	Agreement
	allTypes bool
	types    map[string]bool
	sectors  Sectors
	maxTLP   stix.TLPLevel
	maxLevel Level
	embargo  time.Duration
}

// New builds an Engine from a configuration and the classification scales.
func New(cfg Config, scales *Scales) (*Engine, error) {
	if scales == nil {
		return nil, errors.New("policy: no classification scales")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.clone() // the caller's lists may change after New
	e := &Engine{cfg: cfg, scales: scales}
	e.defTLP, _ = parseTLP(cfg.DefaultTLP)
	e.defLevel = Level(cfg.DefaultLevel)
	e.nodeLevel = Level(cfg.NodeLevel)
	for _, a := range cfg.Agreements {
		ag := &agreement{Agreement: a, types: map[string]bool{}, maxLevel: Level(a.MaxLevel), embargo: time.Duration(a.Embargo)}
		ag.maxTLP, _ = parseTLP(a.MaxTLP)
		for _, t := range a.ObjectTypes {
			if t == "*" {
				ag.allTypes = true
			}
			ag.types[t] = true
		}
		for _, s := range a.Sectors {
			if s == "*" {
				ag.sectors = AllSectors
			} else {
				ag.sectors |= SectorOf(s)
			}
		}
		e.agreements[nationIndex(a.Partner)] = ag
	}
	if err := e.compileRedaction(); err != nil {
		return nil, err
	}
	return e, nil
}

// DefaultTLP is the level the policy gives an object without a TLP marking.
func (e *Engine) DefaultTLP() stix.TLPLevel { return e.defTLP }

// Config returns a copy of the configuration the engine was built from.
func (e *Engine) Config() Config { return e.cfg.clone() }

// clone copies the configuration with its lists.
func (c Config) clone() Config {
	c.Agreements = slices.Clone(c.Agreements)
	for i := range c.Agreements {
		c.Agreements[i].ObjectTypes = slices.Clone(c.Agreements[i].ObjectTypes)
		c.Agreements[i].Sectors = slices.Clone(c.Agreements[i].Sectors)
	}
	c.Redaction.Properties = slices.Clone(c.Redaction.Properties)
	c.Redaction.InternalNetworks = slices.Clone(c.Redaction.InternalNetworks)
	c.Redaction.InternalDomains = slices.Clone(c.Redaction.InternalDomains)
	return c
}

// Scales returns the classification scales the engine was built with.
func (e *Engine) Scales() *Scales { return e.scales }

// Extract reads the Facts of an object (see Scales.Extract).
func (e *Engine) Extract(raw []byte) (Facts, error) { return e.scales.Extract(raw) }

// nationIndex maps a valid nation code to 0..675, anything else to -1.
func nationIndex(n string) int {
	if !validNation(n) {
		return -1
	}
	return int(n[0]-'A')*26 + int(n[1]-'A')
}

type class uint8

const (
	classInvalid class = iota
	classOwn
	classGovernment
	classOperator
	classPartner
	classForeign
)

func (e *Engine) classOf(r *Recipient) class {
	if !validNation(r.Nation) {
		return classInvalid
	}
	switch r.Kind {
	case KindPartner:
		if r.Nation == e.cfg.Nation {
			return classInvalid
		}
		return classPartner
	case KindUser, KindOrganisation:
		if r.Kind == KindUser && r.User == "" {
			return classInvalid
		}
		if r.Nation != e.cfg.Nation {
			if r.OrgKind == OrgAgency {
				return classForeign
			}
			return classInvalid
		}
		switch r.OrgKind {
		case OrgAgency:
			if r.Org == e.cfg.Agency {
				return classOwn
			}
			return classGovernment
		case OrgOperator:
			return classOperator
		}
	}
	return classInvalid
}

// Decide is the sharing decision for one object version and one recipient at time
// now (for the embargo). It allocates nothing and reads nothing but its arguments,
// which must not be nil.
func (e *Engine) Decide(f *Facts, r *Recipient, now time.Time) Decision {
	c := e.classOf(r)
	if c == classInvalid {
		return Decision{Rule: RuleRecipient}
	}
	var ag *agreement
	if c == classPartner || c == classForeign {
		ag = e.agreements[nationIndex(r.Nation)]
		if ag == nil {
			return Decision{Rule: RuleNoAgreement}
		}
	}
	if ag != nil {
		if !ag.allTypes && !ag.types[f.Type] {
			return Decision{Rule: RuleType}
		}
		if f.Sectors&^ag.sectors != 0 {
			return Decision{Rule: RuleSector}
		}
		if ag.embargo > 0 && (f.Since.IsZero() || now.Before(f.Since.Add(ag.embargo))) {
			return Decision{Rule: RuleEmbargo}
		}
	}
	tlp, level := f.TLP, f.Class
	if !f.HasTLP {
		tlp = e.defTLP
	}
	if !f.HasClass {
		level = e.defLevel
	}
	if rule := e.check(f, r, c, ag, tlp, level, f.Unknown); rule != "" {
		return Decision{Rule: rule}
	}
	author := r.Org != "" && (r.Org == f.CreatedBy || r.Org == f.Reporter)
	anonymise := f.Reporter != "" && !e.attributed(f, r, c, ag)
	if anonymise && f.Type == "identity" && f.ID == f.Reporter {
		return Decision{Rule: RuleAnonIdentity}
	}
	d := Decision{Verdict: Allow, Rule: RuleAllow}
	for i := range f.Granular {
		g := &f.Granular[i]
		gt, gl := tlp, level
		if g.HasTLP && g.TLP > gt {
			gt = g.TLP
		}
		if g.HasClass && g.Class > gl {
			gl = g.Class
		}
		if e.check(f, r, c, ag, gt, gl, g.Unknown) != "" {
			d.Redact |= 1 << i
		}
	}
	d.Anonymise = anonymise
	d.Scrub = e.scrub && c != classOwn && !author
	switch {
	case d.Redact != 0:
		d.Verdict, d.Rule = Redact, RuleGranular
	case d.Anonymise:
		d.Verdict, d.Rule = Redact, RuleAnonymise
	case d.Scrub:
		d.Verdict, d.Rule = Redact, RuleScrub
	}
	return d
}

// check applies the marking rules, from classification.node to
// classification.clearance, to content with the given effective TLP and level and
// interpretability; it returns the rule that refuses, or "".
func (e *Engine) check(f *Facts, r *Recipient, c class, ag *agreement, tlp stix.TLPLevel, level Level, unknown bool) string {
	if level > e.nodeLevel {
		return RuleNodeLevel
	}
	if ag != nil {
		if tlp > ag.maxTLP {
			return RuleAgreementTLP
		}
		if level > ag.maxLevel {
			return RuleAgreementLevel
		}
	}
	if unknown && e.cfg.DenyUnknownMarkings {
		return RuleUnknownMarking
	}
	if rule := e.checkTLP(f, r, c, tlp); rule != "" {
		return rule
	}
	if c != classPartner && r.Clearance < level {
		return RuleClearance
	}
	return ""
}

// checkTLP is the TLP table of the package documentation.
func (e *Engine) checkTLP(f *Facts, r *Recipient, c class, tlp stix.TLPLevel) string {
	switch tlp {
	case stix.TLPClear, stix.TLPGreen:
		return ""
	case stix.TLPRed:
		if c == classPartner {
			for i := range f.Named {
				if f.Named[i].Nation == r.Nation {
					return ""
				}
			}
			return RuleRedNamed
		}
		if r.Kind == KindUser {
			for i := range f.Named {
				if f.Named[i].User == r.User && f.Named[i].Nation == r.Nation {
					return ""
				}
			}
		}
		return RuleRedNamed
	}
	// AMBER or AMBER+STRICT.
	if c == classOwn || (r.Org != "" && (r.Org == f.CreatedBy || r.Org == f.Reporter)) {
		return ""
	}
	switch c {
	case classPartner, classForeign:
		if f.CreatedBy != e.cfg.Agency {
			return RuleOriginator
		}
		return ""
	case classGovernment:
		if tlp == stix.TLPAmber {
			return ""
		}
		return RuleStrict
	case classOperator:
		if tlp == stix.TLPAmber {
			if f.Sectors&r.Sectors&^SectorOther != 0 {
				return ""
			}
			return RuleNeedToKnow
		}
		return RuleStrict
	}
	return RuleRecipient
}

// attributed reports whether the reporter may be named to this recipient.
func (e *Engine) attributed(f *Facts, r *Recipient, c class, ag *agreement) bool {
	if r.Org != "" && r.Org == f.Reporter {
		return true
	}
	switch c {
	case classOwn:
		return true
	case classGovernment:
		return f.Consent >= ConsentGovernment
	case classOperator:
		return f.Consent == ConsentPartners
	case classPartner, classForeign:
		return f.Consent == ConsentPartners && ag != nil && ag.ShareAttribution
	}
	return false
}
