package stix

import "strings"

// Error is one broken rule of one object.
type Error struct {
	ObjectID string // the object's id, or "" when it has none
	Path     string // the property path, selector syntax (§7.2.3): "external_references.[0].url"
	Rule     string // the rule and the section it comes from: "timestamp (§2.16)"
	Message  string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.ObjectID != "" {
		b.WriteString(e.ObjectID)
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Rule)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Errors is every broken rule found in an object, in the order found.
type Errors []*Error

func (es Errors) Error() string {
	switch len(es) {
	case 0:
		return "no errors"
	case 1:
		return es[0].Error()
	}
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// maxErrors bounds how many errors one object can collect.
const maxErrors = 64

// Rules, named with the section of the specification they come from.
const (
	RuleJSON         = "json (RFC 8259)"
	RuleType         = "type name (§3.1)"
	RuleID           = "identifier (§2.9)"
	RuleRef          = "reference (§3.3)"
	RuleRequired     = "required property (§3.2)"
	RuleDataType     = "data type (§2)"
	RuleTimestamp    = "timestamp (§2.16)"
	RulePrecision    = "timestamp precision (§3.2)"
	RuleVersioning   = "versioning (§3.6)"
	RuleSpecVersion  = "spec_version (§3.2)"
	RulePropertyName = "property name (§3.1)"
	RuleReserved     = "reserved name (§3.8)"
	RuleList         = "list (§2.12)"
	RuleExternalRef  = "external reference (§2.5)"
	RuleHashes       = "hashes (§2.7)"
	RuleHex          = "hex (§2.8)"
	RuleBinary       = "binary (§2.1)"
	RuleKillChain    = "kill chain phase (§2.11)"
	RuleMarkingRef   = "object markings (§7.2.2)"
	RuleGranular     = "granular markings (§7.2.3)"
	RuleTLP          = "TLP marking (§7.2.1.4)"
	RuleMarkingDef   = "marking definition (§7.2.1)"
	RuleExtensions   = "extensions (§3.2, §7.3)"
	RuleExtDef       = "extension definition (§7.3)"
	RuleDictionary   = "dictionary (§2.3)"
	RuleRange        = "value range"
	RuleOrder        = "time order"
	RulePattern      = "pattern (§9)"
	RuleProperty     = "object property"
	RuleBundle       = "bundle (§8)"
	RuleSCOID        = "deterministic SCO id (§2.9, §3.4)"
	RuleNUL          = "no U+0000 in text"
)
