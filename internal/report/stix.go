package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"quadshare/internal/policy"
	"quadshare/internal/stix"
)

// Extension is the id of the extension definition that carries, on the incident,
// what STIX 2.1 has no property for (docs/reporting.md).
const Extension = "extension-definition--" + Namespace

//go:embed extension.json
var extensionJSON []byte

// ExtensionDefinition returns the extension definition object, compact.
func ExtensionDefinition() []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, extensionJSON); err != nil {
		panic(err) // the embedded file is checked by the tests
	}
	return b.Bytes()
}

// STIXOptions is what the conversion needs beside the report.
type STIXOptions struct {
	Operator *Operator // the reporting operator; required
	Sectors  *Sectors  // to map the operator's sectors; nil means DefaultSectors
	// Created is when the first version of the report was received, Modified when
	// this version was; every derived object carries them (§3.2 versioning: an update
	// keeps created and moves modified forward).
	Created, Modified time.Time
	// History is every earlier version of the report, oldest first; the last one is
	// the version this one updates. Indicators of that version that are gone from
	// this one are revoked (§3.6), with their relationships. Revocation is permanent,
	// so an indicator added again after it was revoked gets a new id (the next
	// generation, docs/reporting.md); the history is what tells.
	History []*Report
}

// ToSTIX converts a report into STIX 2.1 objects: the TLP 2.0 marking definition,
// the operator's identity, an incident carrying the report extension, one indicator
// per indicator with its cyber-observable object, an observed-data grouping those,
// and relationships (indicator related-to incident, indicator based-on
// observed-data, observed-data related-to incident). Every object has a
// deterministic id (docs/reporting.md), so converting an update with a later
// Modified yields new versions of the same objects. Every object is checked with
// stix.Parse; an error means the conversion is wrong, never that it is partial.
func ToSTIX(rep *Report, opts STIXOptions) ([]stix.Object, error) {
	c, err := newConversion(rep, opts)
	if err != nil {
		return nil, err
	}
	c.run()
	if c.err != nil {
		return nil, fmt.Errorf("report: to stix: %w", c.err)
	}
	out := make([]stix.Object, 0, len(c.raw))
	for _, raw := range c.raw {
		o, err := stix.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("report: to stix: %w", err)
		}
		out = append(out, o)
	}
	return out, nil
}

type conversion struct {
	rep            *Report
	opts           STIXOptions
	created, mod   string
	marking        string
	identity       string
	incident       string
	observed       string // the id of the current generation of the observed data
	generation     map[string]int
	sectors        []string // of the incident
	operatorCommon []string
	raw            [][]byte
	err            error
}

func newConversion(rep *Report, opts STIXOptions) (*conversion, error) {
	if opts.Sectors == nil {
		opts.Sectors = DefaultSectors()
	}
	switch {
	case rep == nil || !isUUID(rep.ID):
		return nil, errors.New("report: to stix: the report has no id")
	case opts.Operator == nil:
		return nil, errors.New("report: to stix: no operator")
	case opts.Created.IsZero() || opts.Modified.Before(opts.Created):
		return nil, errors.New("report: to stix: created must be set and not after modified")
	}
	for _, h := range opts.History {
		if h == nil || h.ID != rep.ID {
			return nil, errors.New("report: to stix: the history holds another report")
		}
	}
	if err := opts.Operator.Check(opts.Sectors); err != nil {
		return nil, fmt.Errorf("report: to stix: %w", err)
	}
	marking, ok := rep.TLP.Marking()
	if !ok {
		return nil, fmt.Errorf("report: to stix: unknown TLP %q", rep.TLP)
	}
	common, err := opts.Sectors.Map(opts.Operator.Jurisdiction, opts.Operator.Sectors...)
	if err != nil {
		return nil, fmt.Errorf("report: to stix: %w", err)
	}
	c := &conversion{
		rep: rep, opts: opts,
		created:        ts(opts.Created),
		mod:            ts(opts.Modified),
		marking:        marking,
		identity:       OperatorIdentityID(opts.Operator.ID),
		incident:       derivedID("incident", rep.ID+"/incident"),
		operatorCommon: common,
		sectors:        rep.Sectors,
	}
	if len(c.sectors) == 0 {
		c.sectors = common
	}
	return c, nil
}

// OperatorIdentityID is the id of an operator's STIX identity: UUIDv5 of
// "operator/<operator id>" in Namespace.
func OperatorIdentityID(operatorID string) string {
	return derivedID("identity", "operator/"+operatorID)
}

// ts formats a time as a STIX timestamp with millisecond precision (§3.2).
func ts(t time.Time) string { return stix.NewTimestamp(t.UTC(), 3).String() }

func (c *conversion) emit(obj map[string]any) {
	raw, err := marshal(obj)
	if err != nil && c.err == nil {
		c.err = err
	}
	c.raw = append(c.raw, raw)
}

// marshal encodes v as compact JSON without HTML escaping, so that "<" in an
// operator's text stays "<" in the STIX object.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// common returns the common properties of an SDO or SRO of this report.
func (c *conversion) common(typ, id string) map[string]any {
	return map[string]any{
		"type": typ, "spec_version": "2.1", "id": id,
		"created": c.created, "modified": c.mod,
		"created_by_ref":      c.identity,
		"object_marking_refs": []string{c.marking},
		"extensions":          map[string]any{policy.SharingExtension: c.sharing(c.sectors)},
	}
}

// sharing is the sharing-facts extension the policy engine reads
// (docs/classification-marking.md): the sectors and the reporting operator.
func (c *conversion) sharing(sectors []string) map[string]any {
	op := c.opts.Operator
	return map[string]any{
		"extension_type": "property-extension",
		"sectors":        sectors,
		"reporter": map[string]any{
			"ref": c.identity, "sector": c.operatorCommon[0],
			"size_band": string(op.SizeBand), "consent": string(op.Consent),
		},
	}
}

func (c *conversion) run() {
	c.emit(mustJSON(stix.TLPDefinition(c.marking)))
	c.identityObject()
	c.incidentObject()

	type indicatorOut struct {
		id      string
		ind     Indicator
		revoked bool
	}
	gens, obsGen := generations(c.opts.History)
	c.generation = gens
	c.observed = generationID("observed-data", c.rep.ID+"/observed-data", obsGen)
	var prev []Indicator
	if n := len(c.opts.History); n > 0 {
		prev = c.opts.History[n-1].Indicators
	}
	current := make(map[string]bool, len(c.rep.Indicators))
	var inds []indicatorOut
	for _, ind := range c.rep.Indicators {
		current[ind.key()] = true
		inds = append(inds, indicatorOut{id: c.indicatorID(ind), ind: ind})
	}
	for _, ind := range prev {
		if !current[ind.key()] {
			inds = append(inds, indicatorOut{id: c.indicatorID(ind), ind: ind, revoked: true})
		}
	}
	var scos []string
	seen := map[string]bool{}
	for _, it := range inds {
		if it.revoked {
			continue
		}
		id, raw, err := sco(it.ind, c.marking)
		if err != nil {
			c.err = err
			return
		}
		if !seen[id] {
			seen[id] = true
			scos = append(scos, id)
			c.raw = append(c.raw, raw)
		}
	}
	observedRevoked := false
	if len(scos) == 0 && len(prev) > 0 {
		// Every indicator is gone: the observed data is revoked too, with the
		// observables it last referred to.
		observedRevoked = true
		for _, ind := range prev {
			id, _, err := sco(ind, c.marking)
			if err != nil {
				c.err = err
				return
			}
			if !seen[id] {
				seen[id] = true
				scos = append(scos, id)
			}
		}
	}
	if len(scos) > 0 {
		c.observedData(scos, observedRevoked)
	}
	for _, it := range inds {
		c.indicatorObject(it.id, it.ind, it.revoked)
		c.relationship(it.id, "related-to", c.incident, it.revoked)
		c.relationship(it.id, "based-on", c.observed, it.revoked)
	}
	if len(scos) > 0 {
		c.relationship(c.observed, "related-to", c.incident, observedRevoked)
	}
}

// generations counts, over the history of a report, how many times each indicator
// and the observed data were dropped (and so revoked): the generation of the id
// they have now.
func generations(history []*Report) (map[string]int, int) {
	gens := map[string]int{}
	obs := 0
	var before map[string]bool
	for _, h := range history {
		now := make(map[string]bool, len(h.Indicators))
		for _, ind := range h.Indicators {
			now[ind.key()] = true
		}
		for k := range before {
			if !now[k] {
				gens[k]++
			}
		}
		if len(before) > 0 && len(now) == 0 {
			obs++
		}
		before = now
	}
	return gens, obs
}

// generationID is derivedID of name for generation 0, and of "name#<generation>"
// after.
func generationID(typ, name string, generation int) string {
	if generation > 0 {
		name += "#" + strconv.Itoa(generation)
	}
	return derivedID(typ, name)
}

func mustJSON(raw []byte) map[string]any {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		panic(err) // fixed definitions from package stix
	}
	return m
}

// identityObject is the operator. It is versioned by the operator record, not by
// the report, and marked by the operator's consent to be named: partners TLP:GREEN,
// government TLP:AMBER, never TLP:AMBER+STRICT.
func (c *conversion) identityObject() {
	op := c.opts.Operator
	mark := map[Consent]TLP{ConsentPartners: TLPGreen, ConsentGovernment: TLPAmber, ConsentNever: TLPAmberStrict}[op.Consent]
	mid, _ := mark.Marking()
	mod := op.Modified
	if mod.IsZero() {
		mod = op.Created
	}
	c.emit(map[string]any{
		"type": "identity", "spec_version": "2.1", "id": c.identity,
		"created": ts(op.Created), "modified": ts(mod),
		"name":                op.Name,
		"identity_class":      "organization",
		"sectors":             c.operatorCommon,
		"object_marking_refs": []string{mid},
		"extensions":          map[string]any{policy.SharingExtension: c.sharing(c.operatorCommon)},
	})
}

func (c *conversion) incidentObject() {
	r := c.rep
	o := c.common("incident", c.incident)
	o["name"] = r.Title
	o["description"] = r.Description
	ext := map[string]any{
		"extension_type": "property-extension",
		"report_id":      r.ID,
		"jurisdiction":   c.opts.Operator.Jurisdiction,
		"detected_at":    ts(r.DetectedAt),
		"impact":         string(r.Impact),
		"ongoing":        r.Ongoing,
	}
	if r.StartedAt != nil {
		ext["started_at"] = ts(*r.StartedAt)
	}
	if len(r.AffectedServices) > 0 {
		ext["affected_services"] = r.AffectedServices
	}
	if rs := r.Ransom; rs != nil {
		m := map[string]any{"demanded": rs.Demanded, "extortion": rs.Extortion, "paid": rs.Paid}
		if rs.PaidAt != nil {
			m["paid_at"] = ts(*rs.PaidAt)
		}
		ext["ransom"] = m
	}
	if r.Notes != "" {
		ext["notes"] = r.Notes
	}
	if len(r.Attachments) > 0 {
		var as []map[string]any
		for _, a := range r.Attachments {
			m := map[string]any{"name": a.Name, "sha256": a.SHA256}
			if a.Size > 0 {
				m["size"] = a.Size
			}
			if a.MediaType != "" {
				m["media_type"] = a.MediaType
			}
			as = append(as, m)
		}
		ext["attachments"] = as
	}
	o["extensions"].(map[string]any)[Extension] = ext
	if len(r.Techniques) > 0 {
		var refs []map[string]any
		for _, t := range r.Techniques {
			refs = append(refs, map[string]any{
				"source_name": "mitre-attack", "external_id": t,
				"url": "https://attack.mitre.org/techniques/" + strings.Replace(t, ".", "/", 1) + "/",
			})
		}
		o["external_references"] = refs
	}
	c.emit(o)
}

// indicatorID is UUIDv5 of "<report id>/indicator/<kind>/<algorithm>/<value>",
// followed by "#<generation>" once the indicator was revoked and added again.
func (c *conversion) indicatorID(ind Indicator) string {
	return generationID("indicator", c.rep.ID+"/indicator/"+ind.key(), c.generation[ind.key()])
}

func (c *conversion) indicatorObject(id string, ind Indicator, revoked bool) {
	o := c.common("indicator", id)
	o["name"] = indicatorName(ind)
	if ind.Note != "" {
		o["description"] = ind.Note
	}
	o["pattern"] = Pattern(ind)
	o["pattern_type"] = "stix"
	from := c.rep.DetectedAt
	if c.rep.StartedAt != nil {
		from = *c.rep.StartedAt
	}
	o["valid_from"] = ts(from)
	if revoked {
		o["revoked"] = true
	}
	c.emit(o)
}

func (c *conversion) observedData(scos []string, revoked bool) {
	o := c.common("observed-data", c.observed)
	first, last := c.rep.DetectedAt, c.rep.DetectedAt
	if c.rep.StartedAt != nil {
		first = *c.rep.StartedAt
	}
	if c.rep.Ongoing && c.opts.Modified.After(last) {
		last = c.opts.Modified
	}
	o["first_observed"] = ts(first)
	o["last_observed"] = ts(last)
	o["number_observed"] = 1
	o["object_refs"] = scos
	if revoked {
		o["revoked"] = true
	}
	c.emit(o)
}

// relationship ids are UUIDv5 of "<report id>/relationship/<source>/<type>/<target>".
func (c *conversion) relationship(src, typ, dst string, revoked bool) {
	o := c.common("relationship", derivedID("relationship", c.rep.ID+"/relationship/"+src+"/"+typ+"/"+dst))
	o["relationship_type"] = typ
	o["source_ref"] = src
	o["target_ref"] = dst
	if revoked {
		o["revoked"] = true
	}
	c.emit(o)
}

var kindNames = map[IndicatorKind]string{
	KindIP: "IP address", KindDomain: "Domain", KindURL: "URL", KindEmail: "E-mail address", KindHash: "File",
}

func indicatorName(ind Indicator) string {
	v := ind.Value
	if ind.Kind == KindHash {
		v = ind.Algorithm + " " + v
	}
	return kindNames[ind.Kind] + " " + clip(v)
}

// scoType is the STIX cyber-observable type of an indicator (§6).
func scoType(ind Indicator) string {
	switch ind.Kind {
	case KindIP:
		if a, err := netip.ParseAddr(ind.Value); err == nil && a.Is4() {
			return "ipv4-addr"
		}
		return "ipv6-addr"
	case KindDomain:
		return "domain-name"
	case KindURL:
		return "url"
	case KindEmail:
		return "email-addr"
	}
	return "file"
}

// Pattern returns the STIX pattern (§9) matching an indicator's value exactly.
func Pattern(ind Indicator) string {
	if ind.Kind == KindHash {
		return "[file:hashes.'" + ind.Algorithm + "' = '" + quotePattern(ind.Value) + "']"
	}
	return "[" + scoType(ind) + ":value = '" + quotePattern(ind.Value) + "']"
}

// quotePattern escapes a string constant of a pattern: backslash and apostrophe
// (§9.2).
func quotePattern(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}

// sco returns the cyber-observable of an indicator, its deterministic id (§2.9) and
// JSON. SCOs carry the report's TLP but no reporter: their id is the same for every
// report of the same value.
func sco(ind Indicator, marking string) (string, []byte, error) {
	typ := scoType(ind)
	props := map[string]any{}
	if ind.Kind == KindHash {
		props["hashes"] = map[string]string{ind.Algorithm: ind.Value}
	} else {
		props["value"] = ind.Value
	}
	raw, err := marshal(props)
	if err != nil {
		return "", nil, err
	}
	id, err := stix.SCOID(typ, raw)
	if err != nil {
		return "", nil, fmt.Errorf("report: to stix: %w", err)
	}
	props["type"], props["spec_version"], props["id"] = typ, "2.1", id
	props["object_marking_refs"] = []string{marking}
	raw, err = marshal(props)
	return id, raw, err
}
