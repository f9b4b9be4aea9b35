package policy

import (
	"errors"
	"fmt"
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
// a member of the wrong type and lists beyond the limits are errors. The JSON is
// read by the strict parser of package stix, the one that admitted the object to
// the store, which also refuses duplicate member names (other readers may take
// another of two duplicates than we did), invalid UTF-8 and nesting deeper than
// stix.MaxDepth. Only the members the policy needs are looked at: nothing is
// decoded into maps, so a cold read costs a parse, not a decode.
func (s *Scales) Extract(raw []byte) (Facts, error) {
	if len(raw) > stix.MaxObjectSize {
		return Facts{}, fmt.Errorf("%w: object larger than %d bytes", ErrFacts, stix.MaxObjectSize)
	}
	var f Facts
	err := stix.WithView(raw, func(top stix.View) error { return s.extract(&f, top) })
	if err != nil {
		if !errors.Is(err, ErrFacts) {
			err = fmt.Errorf("%w: %w", ErrFacts, err)
		}
		return Facts{}, err
	}
	return f, nil
}

// extract fills f from the parsed object top. The strings of top share memory
// with the input: whatever f keeps is cloned.
func (s *Scales) extract(f *Facts, top stix.View) error {
	id, err := text(top, "id")
	typ, err2 := text(top, "type")
	created, err3 := text(top, "created")
	modified, err4 := text(top, "modified")
	createdBy, err5 := text(top, "created_by_ref")
	markingRefs, err6 := texts(top, "object_marking_refs")
	sectors, err7 := texts(top, "sectors")
	granular, err8 := array(top, "granular_markings")
	if err := errors.Join(err, err2, err3, err4, err5, err6, err7, err8); err != nil {
		return fmt.Errorf("%w: %w", ErrFacts, err)
	}
	if typ == "" || len(id) < len(typ)+2 || id[:len(typ)] != typ || id[len(typ):len(typ)+2] != "--" {
		return fmt.Errorf("%w: id %q does not name an object of type %q", ErrFacts, clip(id), clip(typ))
	}
	f.ID, f.Type, f.CreatedBy = strings.Clone(id), strings.Clone(typ), strings.Clone(createdBy)
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s: "+format, append([]any{ErrFacts, f.ID}, a...)...)
	}
	if markingRefs.Len() > maxMarkingRefs {
		return bad("more than %d object_marking_refs", maxMarkingRefs)
	}
	for i := range markingRefs.Len() {
		f.Mark.add(s, elem(markingRefs, i))
	}
	if granular.Len() > maxGranular {
		return bad("more than %d granular_markings", maxGranular)
	}
	for i := range granular.Len() {
		gm := granular.Index(i)
		var ref string
		var sels stix.View
		err := errNotObject
		if gm.Kind() == stix.KindObject {
			var err1, err2, err3 error
			ref, err1 = text(gm, "marking_ref")
			_, err2 = text(gm, "lang")
			sels, err3 = texts(gm, "selectors")
			err = errors.Join(err1, err2, err3)
		}
		if err != nil {
			return bad("granular_markings.[%d]: %v", i, err)
		}
		if ref == "" {
			continue // a language marking (§7.2.3) restricts nothing
		}
		if n := sels.Len(); n == 0 || n > maxSelectors {
			return bad("granular_markings.[%d]: want 1 to %d selectors, got %d", i, maxSelectors, n)
		}
		whole := false
		for j := range sels.Len() {
			sel := elem(sels, j)
			if err := checkSelector(sel); err != nil {
				return bad("granular_markings.[%d].selectors.[%d]: %v", i, j, err)
			}
			whole = whole || structural(sel)
		}
		if whole {
			// Content that cannot be removed without destroying the object:
			// its marking governs the whole object.
			f.Mark.add(s, ref)
			continue
		}
		var g Granular
		g.add(s, ref)
		g.Selectors = make([]string, sels.Len())
		for j := range g.Selectors {
			g.Selectors[j] = strings.Clone(elem(sels, j))
		}
		f.Granular = append(f.Granular, g)
	}
	if sectors.Len() > maxSectors {
		return bad("more than %d sectors", maxSectors)
	}
	for i := range sectors.Len() {
		f.Sectors |= SectorOf(elem(sectors, i))
	}
	if err := s.extractSharing(f, top); err != nil {
		return bad("extension %s: %v", SharingExtension, err)
	}
	ts := modified
	if ts == "" {
		ts = created
	}
	if ts != "" {
		t, err := stix.ParseTimestamp(ts)
		if err != nil {
			return bad("%v", err)
		}
		f.Since = t.Time()
	}
	return nil
}

// extractSharing reads our sharing extension (docs/classification-marking.md).
func (s *Scales) extractSharing(f *Facts, top stix.View) error {
	exts, ok := top.Member("extensions")
	if !ok {
		return nil
	}
	if exts.Kind() != stix.KindObject {
		return fmt.Errorf("extensions: %w", errNotObject)
	}
	ext, ok := exts.Member(SharingExtension)
	if !ok {
		return nil
	}
	if ext.Kind() != stix.KindObject {
		return errNotObject
	}
	sectors, err1 := texts(ext, "sectors")
	recipients, err2 := texts(ext, "recipients")
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	if sectors.Len() > maxSectors {
		return fmt.Errorf("more than %d sectors", maxSectors)
	}
	for i := range sectors.Len() {
		f.Sectors |= SectorOf(elem(sectors, i))
	}
	if recipients.Len() > maxNamed {
		return fmt.Errorf("more than %d named recipients", maxNamed)
	}
	for i := range recipients.Len() {
		r := elem(recipients, i)
		nation, user, ok := strings.Cut(r, ":")
		if !ok || !validNation(nation) || user == "" {
			return fmt.Errorf("named recipient %q: want NATION:user-id", clip(r))
		}
		f.Named = append(f.Named, Named{Nation: strings.Clone(nation), User: strings.Clone(user)})
	}
	rep, ok := ext.Member("reporter")
	if !ok || rep.Kind() == stix.KindNull {
		return nil
	}
	if rep.Kind() != stix.KindObject {
		return fmt.Errorf("reporter: %w", errNotObject)
	}
	ref, err1 := text(rep, "ref")
	consent, err2 := text(rep, "consent")
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("reporter: %w", err)
	}
	// An anonymised reporter keeps only its sector and size band, no ref.
	if ref == "" {
		return nil
	}
	if !strings.HasPrefix(ref, "identity--") {
		return fmt.Errorf("reporter.ref %q: want an identity id", clip(ref))
	}
	f.Reporter = strings.Clone(ref)
	f.Consent = ConsentNever // absent or unknown consent
	for c, name := range consentNames {
		if consent == name {
			f.Consent = Consent(c)
		}
	}
	return nil
}

var errNotObject = errors.New("not a JSON object")

// text returns member name of o, a string; "" when it is absent or null.
func text(o stix.View, name string) (string, error) {
	m, ok := o.Member(name)
	if !ok {
		return "", nil
	}
	switch m.Kind() {
	case stix.KindNull:
		return "", nil
	case stix.KindString:
		s, _ := m.Str()
		return s, nil
	}
	return "", fmt.Errorf("%s: want a string, got %s", name, kindName(m.Kind()))
}

// array returns member name of o, an array; the zero View, which is empty, when
// it is absent or null.
func array(o stix.View, name string) (stix.View, error) {
	m, ok := o.Member(name)
	if !ok || m.Kind() == stix.KindNull {
		return stix.View{}, nil
	}
	if m.Kind() != stix.KindArray {
		return stix.View{}, fmt.Errorf("%s: want an array, got %s", name, kindName(m.Kind()))
	}
	return m, nil
}

// texts returns member name of o, an array of strings, as array does. A null
// element reads as "" (as encoding/json, which read these lists before, has it).
func texts(o stix.View, name string) (stix.View, error) {
	a, err := array(o, name)
	if err != nil {
		return a, err
	}
	for i := range a.Len() {
		if k := a.Index(i).Kind(); k != stix.KindString && k != stix.KindNull {
			return stix.View{}, fmt.Errorf("%s: want an array of strings, got a %s at [%d]", name, kindName(k), i)
		}
	}
	return a, nil
}

// elem is element i of an array that texts accepted.
func elem(a stix.View, i int) string {
	s, _ := a.Index(i).Str()
	return s
}

func kindName(k stix.ValueKind) string {
	return [...]string{"null", "boolean", "number", "string", "array", "object"}[k]
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
