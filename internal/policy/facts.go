package policy

import (
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

// wire is the part of an object Extract reads.
type wire struct {
	ID         string                     `json:"id"`
	Type       string                     `json:"type"`
	Created    string                     `json:"created"`
	Modified   string                     `json:"modified"`
	CreatedBy  string                     `json:"created_by_ref"`
	MarkingRef []string                   `json:"object_marking_refs"`
	Sectors    []string                   `json:"sectors"`
	Granular   []wireGranular             `json:"granular_markings"`
	Extensions map[string]json.RawMessage `json:"extensions"`
}

type wireGranular struct {
	MarkingRef string   `json:"marking_ref"`
	Lang       string   `json:"lang"`
	Selectors  []string `json:"selectors"`
}

// wireSharing is our sharing extension (docs/classification-marking.md).
type wireSharing struct {
	Sectors    []string `json:"sectors"`
	Recipients []string `json:"recipients"`
	Reporter   *struct {
		Ref      string `json:"ref"`
		Sector   string `json:"sector"`
		SizeBand string `json:"size_band"`
		Consent  string `json:"consent"`
	} `json:"reporter"`
}

// Extract reads the Facts of one object from its JSON. Markings it cannot
// interpret set Unknown rather than fail; malformed JSON, a missing id or type and
// lists beyond the limits are errors.
func (s *Scales) Extract(raw []byte) (Facts, error) {
	var f Facts
	if len(raw) > stix.MaxObjectSize {
		return f, fmt.Errorf("%w: object larger than %d bytes", ErrFacts, stix.MaxObjectSize)
	}
	var w wire
	if err := json.Unmarshal(raw, &w); err != nil {
		return f, fmt.Errorf("%w: %w", ErrFacts, err)
	}
	if w.Type == "" || !strings.HasPrefix(w.ID, w.Type+"--") {
		return f, fmt.Errorf("%w: id %q does not name an object of type %q", ErrFacts, clip(w.ID), clip(w.Type))
	}
	f.ID, f.Type, f.CreatedBy = w.ID, w.Type, w.CreatedBy
	bad := func(format string, a ...any) (Facts, error) {
		return Facts{}, fmt.Errorf("%w: %s: "+format, append([]any{ErrFacts, f.ID}, a...)...)
	}
	if len(w.MarkingRef) > maxMarkingRefs {
		return bad("more than %d object_marking_refs", maxMarkingRefs)
	}
	for _, id := range w.MarkingRef {
		f.Mark.add(s, id)
	}
	if len(w.Granular) > maxGranular {
		return bad("more than %d granular_markings", maxGranular)
	}
	for i, g := range w.Granular {
		if g.MarkingRef == "" {
			continue // a language marking (§7.2.3) restricts nothing
		}
		if len(g.Selectors) == 0 || len(g.Selectors) > maxSelectors {
			return bad("granular_markings.[%d]: want 1 to %d selectors, got %d", i, maxSelectors, len(g.Selectors))
		}
		for j, sel := range g.Selectors {
			if err := checkSelector(sel); err != nil {
				return bad("granular_markings.[%d].selectors.[%d]: %v", i, j, err)
			}
		}
		if slices.ContainsFunc(g.Selectors, structural) {
			// Content that cannot be removed without destroying the object:
			// its marking governs the whole object.
			f.Mark.add(s, g.MarkingRef)
			continue
		}
		var gm Granular
		gm.add(s, g.MarkingRef)
		gm.Selectors = g.Selectors
		f.Granular = append(f.Granular, gm)
	}
	if len(w.Sectors) > maxSectors {
		return bad("more than %d sectors", maxSectors)
	}
	for _, sec := range w.Sectors {
		f.Sectors |= SectorOf(sec)
	}
	if ext, ok := w.Extensions[SharingExtension]; ok {
		var sh wireSharing
		if err := json.Unmarshal(ext, &sh); err != nil {
			return bad("extension %s: %v", SharingExtension, err)
		}
		if len(sh.Sectors) > maxSectors {
			return bad("more than %d sectors", maxSectors)
		}
		for _, sec := range sh.Sectors {
			f.Sectors |= SectorOf(sec)
		}
		if len(sh.Recipients) > maxNamed {
			return bad("more than %d named recipients", maxNamed)
		}
		for _, r := range sh.Recipients {
			nation, user, ok := strings.Cut(r, ":")
			if !ok || !validNation(nation) || user == "" {
				return bad("named recipient %q: want NATION:user-id", clip(r))
			}
			f.Named = append(f.Named, Named{Nation: nation, User: user})
		}
		// An anonymised reporter keeps only its sector and size band, no ref.
		if rep := sh.Reporter; rep != nil && rep.Ref != "" {
			if !strings.HasPrefix(rep.Ref, "identity--") {
				return bad("reporter.ref %q: want an identity id", clip(rep.Ref))
			}
			f.Reporter = rep.Ref
			f.Consent = ConsentNever
			for c, name := range consentNames {
				if rep.Consent == name {
					f.Consent = Consent(c)
				}
			}
		}
	}
	ts := w.Modified
	if ts == "" {
		ts = w.Created
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
