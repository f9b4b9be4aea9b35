package policy

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Explanation is one recipient's decision, with a sentence saying why.
type Explanation struct {
	Recipient Recipient
	Decision  Decision
	Reason    string
}

// Explain decides for each recipient and says why, for `quadshare policy check`
// and for administrators: who may receive this object version, and under which
// rule. With no recipients it explains for one partner node per agreement.
func (e *Engine) Explain(f *Facts, recipients []Recipient, now time.Time) []Explanation {
	if len(recipients) == 0 {
		recipients = e.Partners()
	}
	out := make([]Explanation, 0, len(recipients))
	for i := range recipients {
		r := &recipients[i]
		d := e.Decide(f, r, now)
		out = append(out, Explanation{Recipient: *r, Decision: d, Reason: e.reason(f, r, d, now)})
	}
	return out
}

// Partners is a partner-node recipient for each agreement, by nation.
func (e *Engine) Partners() []Recipient {
	var rs []Recipient
	for _, a := range e.cfg.Agreements {
		rs = append(rs, Recipient{Kind: KindPartner, Nation: a.Partner})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].Nation < rs[j].Nation })
	return rs
}

// String describes the recipient for people.
func (r Recipient) String() string {
	switch r.Kind {
	case KindPartner:
		return "partner node " + r.Nation
	case KindUser:
		return fmt.Sprintf("user %s (%s, %s %s, clearance %d)", r.User, r.Nation, r.OrgKind, r.Org, r.Clearance)
	case KindOrganisation:
		return fmt.Sprintf("organisation %s (%s, %s, clearance %d)", r.Org, r.Nation, r.OrgKind, r.Clearance)
	}
	return "invalid recipient"
}

func (k OrgKind) String() string {
	switch k {
	case OrgAgency:
		return "agency"
	case OrgOperator:
		return "operator"
	}
	return "no organisation kind"
}

// reason puts a decision into words.
func (e *Engine) reason(f *Facts, r *Recipient, d Decision, now time.Time) string {
	tlp, level := f.TLP, f.Class
	tlpSrc, levelSrc := "", ""
	if !f.HasTLP {
		tlp, tlpSrc = e.defTLP, " (the default for objects without TLP)"
	}
	if !f.HasClass {
		level, levelSrc = e.defLevel, " (the default for unclassified objects)"
	}
	lv := func(l Level) string {
		if int(l) < len(e.scales.Levels) {
			return fmt.Sprintf("level %d (%s)", l, e.scales.Levels[l])
		}
		return fmt.Sprintf("level %d", l)
	}
	var ag *agreement
	if i := nationIndex(r.Nation); i >= 0 {
		ag = e.agreements[i]
	}
	agName := func() string {
		if ag == nil {
			return "no agreement"
		}
		return fmt.Sprintf("the agreement with %s (version %d)", ag.Partner, ag.Version)
	}
	switch d.Rule {
	case RuleRecipient:
		return "denied: the recipient is not one this node can serve (unknown kind, bad nation, foreign operator, or a partner node of our own nation)"
	case RuleNoAgreement:
		return fmt.Sprintf("denied: there is no agreement with %s", r.Nation)
	case RuleType:
		return fmt.Sprintf("denied: %s does not allow objects of type %s (allowed: %s)", agName(), f.Type, strings.Join(ag.ObjectTypes, ", "))
	case RuleSector:
		return fmt.Sprintf("denied: the object concerns %s; %s allows only %s",
			strings.Join(f.Sectors.Names(), ", "), agName(), strings.Join(ag.Sectors, ", "))
	case RuleEmbargo:
		if f.Since.IsZero() {
			return fmt.Sprintf("denied: %s has an embargo of %s and the object's time is unknown", agName(), time.Duration(ag.Embargo))
		}
		return fmt.Sprintf("denied: under embargo until %s (%s after %s, %s)", f.Since.Add(time.Duration(ag.Embargo)).UTC().Format(time.RFC3339),
			time.Duration(ag.Embargo), f.Since.UTC().Format(time.RFC3339), agName())
	case RuleNodeLevel:
		return fmt.Sprintf("denied: the object is at %s%s, above this node's accreditation, %s", lv(level), levelSrc, lv(e.nodeLevel))
	case RuleAgreementTLP:
		return fmt.Sprintf("denied: the object is %s%s; %s allows up to %s", tlpName(tlp), tlpSrc, agName(), tlpName(ag.maxTLP))
	case RuleAgreementLevel:
		return fmt.Sprintf("denied: the object is at %s%s; %s is accredited up to %s", lv(level), levelSrc, agName(), lv(ag.maxLevel))
	case RuleUnknownMarking:
		return "denied: the object carries a marking definition this node cannot interpret, and unknown markings are refused"
	case RuleNeedToKnow:
		return fmt.Sprintf("denied: %s goes to operators only on need to know; the object's sectors (%s) and the operator's (%s) have none in common",
			tlpName(tlp), strings.Join(f.Sectors.Names(), ", "), strings.Join(r.Sectors.Names(), ", "))
	case RuleOriginator:
		return fmt.Sprintf("denied: %s%s leaves the nation only when our agency authored it; created_by_ref is %q", tlpName(tlp), tlpSrc, f.CreatedBy)
	case RuleStrict:
		return fmt.Sprintf("denied: %s%s is for the recipient organisation only", tlpName(tlp), tlpSrc)
	case RuleRedNamed:
		return fmt.Sprintf("denied: %s%s goes only to the individuals it names (%d named)", tlpName(tlp), tlpSrc, len(f.Named))
	case RuleClearance:
		return fmt.Sprintf("denied: the object is at %s%s; the recipient's clearance is %s", lv(level), levelSrc, lv(r.Clearance))
	case RuleAnonIdentity:
		return fmt.Sprintf("denied: the object is the identity of its reporter, whose consent (%s) does not allow naming it to this recipient", f.Consent)
	}
	base := fmt.Sprintf("%s%s at %s%s", tlpName(tlp), tlpSrc, lv(level), levelSrc)
	if ag != nil {
		base += ", within " + agName()
	}
	if d.Verdict == Allow {
		return "allowed: " + base
	}
	var parts []string
	if d.Redact != 0 {
		parts = append(parts, "removing content under granular markings ("+strings.Join(d.Selectors(f), ", ")+")")
	}
	if d.Anonymise {
		parts = append(parts, fmt.Sprintf("replacing the reporter by our agency (consent: %s)", f.Consent))
	}
	if d.Scrub {
		parts = append(parts, "removing personal and internal data")
	}
	return "allowed after " + strings.Join(parts, ", ") + ": " + base
}
