package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"quadshare/internal/stix"
)

// Consent is what a reporting operator agreed to about being named.
type Consent uint8

// Consent levels. The zero value, ConsentNever, is what an absent or unreadable
// consent means.
const (
	ConsentNever      Consent = iota // named to no one beyond our agency
	ConsentGovernment                // named to our own government's agencies
	ConsentPartners                  // named to partner agencies too
)

var consentNames = [...]string{"never", "government", "partners"}

func (c Consent) String() string {
	if int(c) < len(consentNames) {
		return consentNames[c]
	}
	return "invalid"
}

// Mark is the data marking of one part of an object: the most restrictive TLP and
// classification among the marking definitions applied to it.
type Mark struct {
	TLP      stix.TLPLevel
	HasTLP   bool
	Class    Level
	HasClass bool
	Unknown  bool // a marking definition this node cannot interpret
}

// add folds one marking-definition id into m: the most restrictive wins.
func (m *Mark) add(s *Scales, id string) {
	if t, ok := stix.TLPOf(id); ok {
		if !m.HasTLP || t.Level > m.TLP {
			m.TLP = t.Level
		}
		m.HasTLP = true
		return
	}
	if c, ok := s.marking(id); ok {
		if !m.HasClass || c.level > m.Class {
			m.Class = c.level
		}
		m.HasClass = true
		return
	}
	m.Unknown = true
}

// Granular is one granular data marking (§7.2.3): the marking and the selectors it
// applies to.
type Granular struct {
	Mark
	Selectors []string
}

// Named is one named recipient of TLP:RED content: a user of a node.
type Named struct {
	Nation string // the node's nation
	User   string // the user id on that node
}

// Facts is what the policy needs to know about one object version. Extract it once
// per version and keep it: Decide reads nothing else. It depends only on the object
// and the scales (which fix the classification marking ids), never on agreements.
type Facts struct {
	ID   string
	Type string

	Mark                // object markings (object_marking_refs), most restrictive
	Granular []Granular // granular data markings; language markings are left out

	Sectors   Sectors // from "sectors" (identity) and our sharing extension
	CreatedBy string  // created_by_ref
	Reporter  string  // identity id of the reporting operator; "" when none
	Consent   Consent // the reporter's consent about being named
	Named     []Named // named recipients of TLP:RED content

	// Since starts the embargo: modified, else created. The store sets it to
	// date_added for objects that have neither (SCOs).
	Since time.Time
}

// Limits on what Extract accepts, so one hostile object cannot cost much.
const (
	maxMarkingRefs = 64  // object_marking_refs
	maxGranular    = 64  // granular_markings (a Decision's Redact is a 64-bit set)
	maxSelectors   = 256 // selectors of one granular marking
	maxSelectorLen = 1024
	maxNamed       = 256 // named recipients
	maxSectors     = 64
)

// ErrFacts is wrapped by every Extract error.
var ErrFacts = errors.New("policy: extract")

// Extract reads the Facts of one object from its JSON. Markings it cannot
// interpret set Unknown rather than fail; malformed JSON, a missing id or type,
// duplicate members and lists beyond the limits are errors. Members are matched
// by their exact names (encoding/json alone would also take "Object_Marking_Refs",
// and the last of two duplicates, which other readers may not).
func (s *Scales) Extract(raw []byte) (Facts, error) {
	var f Facts
	if len(raw) > stix.MaxObjectSize {
		return f, fmt.Errorf("%w: object larger than %d bytes", ErrFacts, stix.MaxObjectSize)
	}
	top, err := members(raw)
	if err != nil {
		return f, fmt.Errorf("%w: %w", ErrFacts, err)
	}
	var w struct {
		id, typ, created, modified, createdBy string
		markingRefs, sectors                  []string
		granular                              []json.RawMessage
	}
	errs := []error{
		field(top, "id", &w.id), field(top, "type", &w.typ), field(top, "created", &w.created),
		field(top, "modified", &w.modified), field(top, "created_by_ref", &w.createdBy),
		field(top, "object_marking_refs", &w.markingRefs), field(top, "sectors", &w.sectors),
		field(top, "granular_markings", &w.granular),
	}
	if err := errors.Join(errs...); err != nil {
		return f, fmt.Errorf("%w: %w", ErrFacts, err)
	}
	if w.typ == "" || !strings.HasPrefix(w.id, w.typ+"--") {
		return f, fmt.Errorf("%w: id %q does not name an object of type %q", ErrFacts, clip(w.id), clip(w.typ))
	}
	f.ID, f.Type, f.CreatedBy = w.id, w.typ, w.createdBy
	bad := func(format string, a ...any) (Facts, error) {
		return Facts{}, fmt.Errorf("%w: %s: "+format, append([]any{ErrFacts, f.ID}, a...)...)
	}
	if len(w.markingRefs) > maxMarkingRefs {
		return bad("more than %d object_marking_refs", maxMarkingRefs)
	}
	for _, id := range w.markingRefs {
		f.Mark.add(s, id)
	}
	if len(w.granular) > maxGranular {
		return bad("more than %d granular_markings", maxGranular)
	}
	for i, graw := range w.granular {
		gm, err := members(graw)
		var ref, lang string
		var sels []string
		if err == nil {
			err = errors.Join(field(gm, "marking_ref", &ref), field(gm, "lang", &lang), field(gm, "selectors", &sels))
		}
		if err != nil {
			return bad("granular_markings.[%d]: %v", i, err)
		}
		if ref == "" {
			continue // a language marking (§7.2.3) restricts nothing
		}
		if len(sels) == 0 || len(sels) > maxSelectors {
			return bad("granular_markings.[%d]: want 1 to %d selectors, got %d", i, maxSelectors, len(sels))
		}
		for j, sel := range sels {
			if err := checkSelector(sel); err != nil {
				return bad("granular_markings.[%d].selectors.[%d]: %v", i, j, err)
			}
		}
		if slices.ContainsFunc(sels, structural) {
			// Content that cannot be removed without destroying the object:
			// its marking governs the whole object.
			f.Mark.add(s, ref)
			continue
		}
		var g Granular
		g.add(s, ref)
		g.Selectors = sels
		f.Granular = append(f.Granular, g)
	}
	if len(w.sectors) > maxSectors {
		return bad("more than %d sectors", maxSectors)
	}
	for _, sec := range w.sectors {
		f.Sectors |= SectorOf(sec)
	}
	if err := s.extractSharing(&f, top); err != nil {
		return bad("extension %s: %v", SharingExtension, err)
	}
	ts := w.modified
	if ts == "" {
		ts = w.created
	}
	if ts != "" {
		t, err := stix.ParseTimestamp(ts)
		if err != nil {
			return bad("%v", err)
		}
		f.Since = t.Time()
	}
	return f, nil
}

// extractSharing reads our sharing extension (docs/classification-marking.md).
func (s *Scales) extractSharing(f *Facts, top map[string]json.RawMessage) error {
	extsRaw, ok := top["extensions"]
	if !ok {
		return nil
	}
	exts, err := members(extsRaw)
	if err != nil {
		return fmt.Errorf("extensions: %w", err)
	}
	extRaw, ok := exts[SharingExtension]
	if !ok {
		return nil
	}
	ext, err := members(extRaw)
	if err != nil {
		return err
	}
	var sectors, recipients []string
	var repRaw json.RawMessage
	if err := errors.Join(field(ext, "sectors", &sectors), field(ext, "recipients", &recipients), field(ext, "reporter", &repRaw)); err != nil {
		return err
	}
	if len(sectors) > maxSectors {
		return fmt.Errorf("more than %d sectors", maxSectors)
	}
	for _, sec := range sectors {
		f.Sectors |= SectorOf(sec)
	}
	if len(recipients) > maxNamed {
		return fmt.Errorf("more than %d named recipients", maxNamed)
	}
	for _, r := range recipients {
		nation, user, ok := strings.Cut(r, ":")
		if !ok || !validNation(nation) || user == "" {
			return fmt.Errorf("named recipient %q: want NATION:user-id", clip(r))
		}
		f.Named = append(f.Named, Named{Nation: nation, User: user})
	}
	if repRaw == nil {
		return nil
	}
	rep, err := members(repRaw)
	if err != nil {
		return fmt.Errorf("reporter: %w", err)
	}
	var ref, consent string
	if err := errors.Join(field(rep, "ref", &ref), field(rep, "consent", &consent)); err != nil {
		return fmt.Errorf("reporter: %w", err)
	}
	// An anonymised reporter keeps only its sector and size band, no ref.
	if ref == "" {
		return nil
	}
	if !strings.HasPrefix(ref, "identity--") {
		return fmt.Errorf("reporter.ref %q: want an identity id", clip(ref))
	}
	f.Reporter = ref
	f.Consent = ConsentNever // absent or unknown consent
	for c, name := range consentNames {
		if consent == name {
			f.Consent = Consent(c)
		}
	}
	return nil
}

// members splits a JSON object into its members, refusing anything else and
// duplicate names.
func members(raw []byte) (map[string]json.RawMessage, error) {
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &m); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if n := countMembers(trimmed); n != len(m) {
		return nil, fmt.Errorf("%d members but %d distinct names: a member appears twice", n, len(m))
	}
	return m, nil
}

// countMembers counts the members of the JSON object raw, which must be valid JSON
// (json.Unmarshal has checked it): the colons outside strings at depth one.
func countMembers(raw []byte) int {
	n, depth, inString := 0, 0, false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case ':':
			if depth == 1 {
				n++
			}
		}
	}
	return n
}

// field decodes member name of m into v when present and not null.
func field(m map[string]json.RawMessage, name string, v any) error {
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// structural reports whether a selector names content that identifies the object or
// carries its markings, which redaction cannot remove.
func structural(sel string) bool {
	top, _, _ := strings.Cut(sel, ".")
	switch top {
	case "id", "type", "spec_version", "created", "modified", "object_marking_refs", "granular_markings":
		return true
	}
	return false
}

// checkSelector checks the selector syntax of §7.2.3: components separated by ".",
// each a property name or dictionary key, or "[n]" with n a non-negative integer.
func checkSelector(sel string) error {
	if sel == "" || len(sel) > maxSelectorLen {
		return fmt.Errorf("selector must have 1 to %d characters", maxSelectorLen)
	}
	for c := range strings.SplitSeq(sel, ".") {
		if c == "" {
			return fmt.Errorf("selector %q has an empty component", clip(sel))
		}
		if c[0] == '[' {
			if _, ok := listIndex(c); !ok {
				return fmt.Errorf("selector %q: %q is not a list index", clip(sel), clip(c))
			}
		}
	}
	return nil
}

// listIndex parses "[n]".
func listIndex(c string) (int, bool) {
	if len(c) < 3 || c[0] != '[' || c[len(c)-1] != ']' || len(c) > 12 {
		return 0, false
	}
	n := 0
	for _, d := range c[1 : len(c)-1] {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int(d-'0')
	}
	return n, true
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
