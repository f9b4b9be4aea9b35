package web

import (
	"bytes"
	"net/url"
	"regexp"
	"slices"

	"quadshare/internal/gate"
	"quadshare/internal/policy"
	"quadshare/internal/provenance"
	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// filterScan bounds the versions one list page examines: a filter the store
// cannot apply, or a collection where the user may receive little, costs at
// most this many decisions, and the page links on to the versions after the
// last one examined that the user may receive.
const filterScan = 1000

// scanBatch is the store page read while filtering.
const scanBatch = 250

var nationCode = regexp.MustCompile(`^[A-Z]{2}$`)

// objectFilter holds the filters that read an object's policy facts and
// provenance rather than the store's columns. They read each version as the
// gate would release it to the user (gate.PreviewTo: decided and redacted,
// nothing recorded), never its stored form: a version the user may not receive
// matches nothing, and a field a granular marking removes is not matched. A
// filtered page, its link to the next page and its cursor come only from the
// versions the user may receive, so a filter shows, counts and dates nothing
// the gate withholds.
type objectFilter struct {
	TLP    string // clear, green, amber, amber+strict, red; "" any
	Sector string // a name of the common sector list; "" any
	Nation string // ISO 3166-1 alpha-2 of the originating node; "" any

	tlp     stix.TLPLevel
	sector  policy.Sectors
	defTLP  stix.TLPLevel // the policy's level for objects without a TLP marking
	ownNode string        // our nation: the origin of objects without provenance
}

// parseFilter reads the filters of q; a bad value is a badRequest.
func parseFilter(q url.Values, e *policy.Engine) (objectFilter, error) {
	f := objectFilter{TLP: q.Get("tlp"), Sector: q.Get("sector"), Nation: q.Get("nation")}
	cfg := e.Config()
	f.ownNode = cfg.Nation
	f.defTLP = e.DefaultTLP()
	if f.TLP != "" {
		i := slices.Index(tlps, f.TLP)
		if i < 0 {
			return f, badRequest("Unknown TLP level.")
		}
		f.tlp = stix.TLPLevel(i) // tlps is in the order of the levels
	}
	if f.Sector != "" {
		if f.sector = policy.SectorOf(f.Sector); f.sector == policy.SectorOther {
			return f, badRequest("Unknown sector.")
		}
	}
	if f.Nation != "" && !nationCode.MatchString(f.Nation) {
		return f, badRequest("A nation is two capital letters (ISO 3166-1).")
	}
	return f, nil
}

func (f objectFilter) active() bool { return f.TLP != "" || f.Sector != "" || f.Nation != "" }

// set adds the filters to the query of a link.
func (f objectFilter) set(v url.Values) {
	for k, x := range map[string]string{"tlp": f.TLP, "sector": f.Sector, "nation": f.Nation} {
		if x != "" {
			v.Set(k, x)
		}
	}
}

// match says whether a released entry passes the filters, from its facts (read
// by the gate from the released form) and its origin; inbound says that the
// entry is in the federation inbound collection. An entry whose facts cannot be
// read matches nothing.
func (f objectFilter) match(g *gate.Gate, en *store.Entry, inbound bool) bool {
	if f.TLP != "" || f.Sector != "" {
		facts, ok := g.Facts(en)
		if !ok {
			return false
		}
		if f.TLP != "" {
			level := f.defTLP
			if facts.HasTLP {
				level = facts.TLP
			}
			if level != f.tlp {
				return false
			}
		}
		if f.Sector != "" && facts.Sectors&f.sector == 0 {
			return false
		}
	}
	if f.Nation != "" && originOf(en.Object.Raw, inbound, f.ownNode) != f.Nation {
		return false
	}
	return true
}

// originOf is the nation an object came from. Only the federation inbound
// collection takes objects from peers, and it stores only versions whose
// provenance signature verified on receipt: there the provenance extension
// names the origin. Anywhere else an object was made or submitted here, and an
// extension it carries is a claim nobody checked, so its origin is our nation.
// An inbound version released without its extension (redacted) has no origin
// the user may learn: "", which matches no nation.
func originOf(raw []byte, inbound bool, own string) string {
	if !inbound {
		return own
	}
	if !bytes.Contains(raw, []byte(provenance.ExtensionID)) {
		return ""
	}
	ext, err := provenance.Read(raw)
	if err != nil {
		return ""
	}
	return ext.Node
}

// filterChoices are the values the filter form offers.
type filterChoices struct {
	TLPs, Sectors, Nations []string
}
