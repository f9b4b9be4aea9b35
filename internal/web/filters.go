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

// filterScan bounds the versions one filtered page examines: a filter the
// store cannot apply costs at most this many fact lookups, and the page links
// on to the versions after the last one examined.
const filterScan = 1000

// scanBatch is the store page read while filtering.
const scanBatch = 250

var nationCode = regexp.MustCompile(`^[A-Z]{2}$`)

// objectFilter holds the filters that read an object's policy facts and
// provenance rather than the store's columns. They select among the versions
// before the gate, and only what matches goes to the gate, which still decides
// what is shown: a filter never shows, counts or hints at a version the gate
// withholds.
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
	if i := slices.Index(tlps, cfg.DefaultTLP); i >= 0 {
		f.defTLP = stix.TLPLevel(i)
	}
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

// match says whether an entry passes the filters, from its facts (cached by the
// gate) and its provenance. An entry whose facts cannot be read matches nothing:
// the gate would deny it anyway.
func (f objectFilter) match(g *gate.Gate, en *store.Entry) bool {
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
	if f.Nation != "" && originOf(en.Object.Raw, f.ownNode) != f.Nation {
		return false
	}
	return true
}

// originOf is the nation named by an object's provenance extension, else ours.
// The signature is not checked here: the inbound collection stores only
// versions whose signature verified, and the object page shows the check.
func originOf(raw []byte, own string) string {
	if !bytes.Contains(raw, []byte(provenance.ExtensionID)) {
		return own
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
