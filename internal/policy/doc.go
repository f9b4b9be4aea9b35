// Package policy is the one sharing decision of quadshare: given the facts of an
// object version and a recipient, allow, deny, or allow after redaction, and name
// the rule that decided. Every path out of a node (TAXII reads, exports, federation
// pushes) asks Engine.Decide, then applies Engine.Apply to the JSON it sends.
//
// Facts are extracted once per object version (Scales.Extract) and may be cached:
// they depend only on the object and the fixed marking ids, not on agreements.
// Decide does no I/O and allocates nothing.
//
// # Recipients
//
// A Recipient is a user, an organisation (an export or a grant to a whole
// organisation) or a partner node (another nation's quadshare). Decide sorts it
// into one class:
//
//	class        who
//	own agency   a user or organisation of our nation whose organisation is our agency (Config.Agency)
//	government   a user or organisation of another agency of our nation
//	operator     a user or organisation of a critical-infrastructure operator of our nation
//	partner      a partner node (Kind Partner), of a nation other than ours
//	foreign      a user or organisation of a partner nation's agency on this node
//
// Anything else (an unknown kind, a bad nation code, a foreign operator, a partner
// node of our own nation) is refused: recipient.invalid.
//
// # Effective markings
//
// The TLP of an object is the most restrictive of its TLP markings, TLP 1.0 and 2.0
// alike (WHITE = CLEAR; TLP 1.0 AMBER = AMBER, not AMBER+STRICT), or Config.DefaultTLP
// when it has none. Its level is the highest of its classification markings
// (docs/classification-marking.md), or Config.DefaultLevel when it has none. A
// granular marking (STIX 2.1 §7.2.3) makes the content it selects at least as
// restricted as that marking: the most restrictive of object and granular wins.
//
// # Rules, in the order they are checked (the first that fails decides)
//
// The rules from classification.node to classification.clearance are the marking
// rules: they are applied again to each granular marking, with the property's
// effective TLP and level, to decide what is redacted.
//
//	rule                          denies when
//	recipient.invalid             the recipient has no class (above)
//	agreement.none                partner/foreign: no agreement with the recipient's nation
//	agreement.type                partner/foreign: the object type is not in object_types ("*" = all)
//	agreement.sector              partner/foreign: a sector of the object is not in sectors ("*" = all)
//	agreement.embargo             partner/foreign: embargo > 0 and now < Since + embargo (or Since unknown)
//	classification.node           level > Config.NodeLevel (this node's accreditation)
//	agreement.tlp                 partner/foreign: TLP > max_tlp
//	agreement.level               partner/foreign: level > max_level (the channel's accreditation)
//	marking.unknown               Config.DenyUnknownMarkings and a marking cannot be interpreted
//	tlp.amber.need-to-know        see the TLP table
//	tlp.amber.originator          see the TLP table
//	tlp.amber+strict.organisation see the TLP table
//	tlp.red.named                 see the TLP table
//	classification.clearance      user or organisation: Recipient.Clearance < level
//	anonymity.identity            the object is the identity of its own reporter, who is not to be named to this recipient
//
// # What TLP means per class
//
// "author" is a user or organisation whose organisation is the object's created_by_ref
// or its reporter, in any class: its own content is never withheld from it for TLP
// below RED. A partner node is never an author.
//
//	TLP            own agency  government  operator               partner / foreign
//	CLEAR          yes         yes         yes                    yes
//	GREEN          yes         yes         yes                    yes
//	AMBER          yes         yes         author, or a sector    author, or created_by_ref is our agency
//	                                       shared with the object (tlp.amber.originator)
//	                                       (tlp.amber.need-to-know)
//	AMBER+STRICT   yes         author      author                 author, or created_by_ref is our agency
//	                           (tlp.amber+strict.organisation)    (tlp.amber.originator)
//	RED            named users only (tlp.red.named)               partner node: the object names a user of
//	                                                              that nation; foreign user: named
//
// GREEN is the community: every partner agency and its constituents. AMBER is the
// recipient organisation and its clients: our agency, our government and, on need
// to know, our operators (need to know: a sector of the common list that operator
// and object share; an object with no sector goes to no operator at AMBER but its
// author); it leaves the nation only when our agency, which may pick
// the recipients, authored (or re-marked) the object. AMBER+STRICT is the recipient
// organisation only. RED goes to named individuals: an object names them in our
// sharing extension as "NATION:user-id"; organisations never receive RED, and a
// partner node receives it only for its own named users, which it enforces in turn.
//
// # Redaction (verdict Redact)
//
// When the object may go, it may still need changes first; each sets a field of the
// Decision, and Engine.Apply carries them out and records each redaction:
//
//   - granular: content under a granular marking this recipient could not receive as
//     a whole object (same rules, with the property's markings) is removed.
//   - anonymise: the reporter (our sharing extension's reporter.ref) is replaced by our
//     agency, keeping only its sector and size band, unless the reporter is to be named
//     to this recipient: always to our agency and to the reporter itself; to our
//     government with consent "government" or "partners"; to other operators and
//     across the border only with consent "partners", and across the border only
//     when the agreement has share_attribution.
//   - scrub: e-mail addresses, phone numbers, internal addresses and host names are
//     removed from Config.Redaction.Properties for every recipient except our agency
//     and the author.
//
// Decisions of another kind (audit, routes) are not made here.
package policy
