package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"quadshare/internal/stix"
)

// The extractor as it was before it read the strict parser's tree: it decoded
// the members into maps with encoding/json. It is kept here, and only here, as
// the oracle of the differential tests (extract_diff_test.go).

// oldExtract is Extract as it was, on encoding/json: the oracle that the
// extractor on the strict parser is compared with. It read the Facts of one object from its JSON. Markings it cannot
// interpret set Unknown rather than fail; malformed JSON, a missing id or type,
// duplicate members and lists beyond the limits are errors. Members are matched
// by their exact names (encoding/json alone would also take "Object_Marking_Refs",
// and the last of two duplicates, which other readers may not).
func oldExtract(s *Scales, raw []byte) (Facts, error) {
	var f Facts
	if len(raw) > stix.MaxObjectSize {
		return f, fmt.Errorf("%w: object larger than %d bytes", ErrFacts, stix.MaxObjectSize)
	}
	top, err := oldMembers(raw)
	if err != nil {
		return f, fmt.Errorf("%w: %w", ErrFacts, err)
	}
	var w struct {
		id, typ, created, modified, createdBy string
		markingRefs, sectors                  []string
		granular                              []json.RawMessage
	}
	errs := []error{
		oldField(top, "id", &w.id), oldField(top, "type", &w.typ), oldField(top, "created", &w.created),
		oldField(top, "modified", &w.modified), oldField(top, "created_by_ref", &w.createdBy),
		oldField(top, "object_marking_refs", &w.markingRefs), oldField(top, "sectors", &w.sectors),
		oldField(top, "granular_markings", &w.granular),
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
		gm, err := oldMembers(graw)
		var ref, lang string
		var sels []string
		if err == nil {
			err = errors.Join(oldField(gm, "marking_ref", &ref), oldField(gm, "lang", &lang), oldField(gm, "selectors", &sels))
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
	if err := oldExtractSharing(s, &f, top); err != nil {
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
func oldExtractSharing(s *Scales, f *Facts, top map[string]json.RawMessage) error {
	extsRaw, ok := top["extensions"]
	if !ok {
		return nil
	}
	exts, err := oldMembers(extsRaw)
	if err != nil {
		return fmt.Errorf("extensions: %w", err)
	}
	extRaw, ok := exts[SharingExtension]
	if !ok {
		return nil
	}
	ext, err := oldMembers(extRaw)
	if err != nil {
		return err
	}
	var sectors, recipients []string
	var repRaw json.RawMessage
	if err := errors.Join(oldField(ext, "sectors", &sectors), oldField(ext, "recipients", &recipients), oldField(ext, "reporter", &repRaw)); err != nil {
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
	rep, err := oldMembers(repRaw)
	if err != nil {
		return fmt.Errorf("reporter: %w", err)
	}
	var ref, consent string
	if err := errors.Join(oldField(rep, "ref", &ref), oldField(rep, "consent", &consent)); err != nil {
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
func oldMembers(raw []byte) (map[string]json.RawMessage, error) {
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &m); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if n := oldCountMembers(trimmed); n != len(m) {
		return nil, fmt.Errorf("%d members but %d distinct names: a member appears twice", n, len(m))
	}
	return m, nil
}

// countMembers counts the members of the JSON object raw, which must be valid JSON
// (json.Unmarshal has checked it): the colons outside strings at depth one.
func oldCountMembers(raw []byte) int {
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
func oldField(m map[string]json.RawMessage, name string, v any) error {
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
