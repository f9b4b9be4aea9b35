package policy

import (
	"math/bits"
	"strings"
)

// Sectors is a set of sectors of the common list, one bit each. The common list is
// the STIX industry-sector-ov vocabulary (STIX 2.1 §10.11); national CNI sectors map
// onto it. A sector outside the list sets SectorOther, which only an agreement that
// allows every sector ("*") admits.
type Sectors uint64

// commonSectors is the industry-sector-ov vocabulary (§10.11), in the order of the
// specification; the index is the bit.
var commonSectors = [...]string{
	"agriculture", "aerospace", "automotive", "chemical", "commercial", "communications",
	"construction", "defense", "education", "energy", "entertainment", "financial-services",
	"government", "emergency-services", "government-local", "government-national",
	"government-public-services", "government-regional", "healthcare", "hospitality-leisure",
	"infrastructure", "dams", "nuclear", "water", "insurance", "legal", "manufacturing",
	"mining", "non-profit", "pharmaceuticals", "retail", "technology", "telecommunications",
	"transportation", "utilities",
}

// SectorOther stands for any sector outside the common list.
const SectorOther Sectors = 1 << 63

// AllSectors is every sector, including SectorOther.
const AllSectors Sectors = 1<<len(commonSectors) - 1 | SectorOther

// SectorOf returns the bit of one sector name ("energy"), or SectorOther.
func SectorOf(name string) Sectors {
	name = strings.ToLower(strings.TrimSpace(name))
	for i, s := range commonSectors {
		if s == name {
			return 1 << i
		}
	}
	return SectorOther
}

// knownSector reports whether name is on the common list.
func knownSector(name string) bool { return SectorOf(name) != SectorOther }

// Names lists the sectors of the set, "other" last.
func (s Sectors) Names() []string {
	var out []string
	for v := s &^ SectorOther; v != 0; v &= v - 1 {
		out = append(out, commonSectors[bits.TrailingZeros64(uint64(v))])
	}
	if s&SectorOther != 0 {
		out = append(out, "other")
	}
	return out
}

// SectorNames is the common list of sectors.
func SectorNames() []string { return append([]string(nil), commonSectors[:]...) }
