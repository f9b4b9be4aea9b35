package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
)

//go:embed sectors.json
var defaultSectorsJSON []byte

// maxDataSize bounds the editable data files (sectors, deadlines) a loader reads.
const maxDataSize = 1 << 20

// NationalSector is one critical-infrastructure sector of one nation's own list and
// the sectors of the common list it maps to.
type NationalSector struct {
	ID     string   `json:"id"`     // a stable slug: "water-sewerage"
	Name   string   `json:"name"`   // as the nation names it
	Common []string `json:"common"` // sectors of the common list
}

// Sectors is the common list of sectors (the STIX industry-sector-ov vocabulary,
// STIX 2.1 §10.11, so that identities and the sharing policy use the same words) and
// each nation's sectors mapped onto it. It is data (sectors.json), loaded and checked
// by LoadSectors; a loaded Sectors is never modified.
type Sectors struct {
	common  []string
	nations map[string]nationSectors
}

type nationSectors struct {
	Source  string           `json:"source"`
	Sectors []NationalSector `json:"sectors"`
}

type sectorsFile struct {
	Common  []string                 `json:"common"`
	Nations map[string]nationSectors `json:"nations"`
}

// ErrData is wrapped by every error about an editable data file.
var ErrData = errors.New("report: data")

// LoadSectors reads and checks a sectors file: the common list is non-empty with
// unique vocabulary words; every nation is an ISO 3166-1 alpha-2 code; national sector
// ids are unique slugs with a name; every mapping names sectors of the common list.
func LoadSectors(r io.Reader) (*Sectors, error) {
	var f sectorsFile
	if err := decodeData(r, &f); err != nil {
		return nil, fmt.Errorf("%w: sectors: %w", ErrData, err)
	}
	if err := f.check(); err != nil {
		return nil, fmt.Errorf("%w: sectors: %w", ErrData, err)
	}
	return &Sectors{common: f.Common, nations: f.Nations}, nil
}

// decodeData decodes one bounded JSON document, refusing unknown fields and
// trailing data.
func decodeData(r io.Reader, v any) error {
	raw, err := io.ReadAll(io.LimitReader(r, maxDataSize+1))
	if err != nil {
		return err
	}
	if len(raw) > maxDataSize {
		return fmt.Errorf("larger than %d bytes", maxDataSize)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON document")
	}
	return nil
}

func (f *sectorsFile) check() error {
	if len(f.Common) == 0 {
		return errors.New("the common list is empty")
	}
	known := make(map[string]bool, len(f.Common))
	for _, c := range f.Common {
		if !isSlug(c) {
			return fmt.Errorf("common sector %q: want lower-case a-z, 0-9 and hyphens", c)
		}
		if known[c] {
			return fmt.Errorf("common sector %q listed twice", c)
		}
		known[c] = true
	}
	for nation, ns := range f.Nations {
		if !isNation(nation) {
			return fmt.Errorf("nation %q: want an ISO 3166-1 alpha-2 code", nation)
		}
		if len(ns.Sectors) == 0 {
			return fmt.Errorf("%s: no sectors", nation)
		}
		ids := map[string]bool{}
		for i, s := range ns.Sectors {
			if !isSlug(s.ID) {
				return fmt.Errorf("%s sector %d: id %q: want lower-case a-z, 0-9 and hyphens", nation, i, s.ID)
			}
			if ids[s.ID] {
				return fmt.Errorf("%s sector %q listed twice", nation, s.ID)
			}
			ids[s.ID] = true
			if s.Name == "" {
				return fmt.Errorf("%s sector %q has no name", nation, s.ID)
			}
			if len(s.Common) == 0 {
				return fmt.Errorf("%s sector %q maps to no common sector", nation, s.ID)
			}
			for _, c := range s.Common {
				if !known[c] {
					return fmt.Errorf("%s sector %q maps to %q, which is not on the common list", nation, s.ID, c)
				}
			}
		}
	}
	return nil
}

// defaultSectors parses the embedded data once; the result is never modified.
var defaultSectors = sync.OnceValues(func() (*Sectors, error) {
	return LoadSectors(bytes.NewReader(defaultSectorsJSON))
})

// DefaultSectors returns the sectors shipped with quadshare (sectors.json).
func DefaultSectors() *Sectors {
	s, err := defaultSectors()
	if err != nil {
		panic(err) // the embedded file is checked by the tests
	}
	return s
}

// DefaultSectorsJSON returns the shipped sectors file, to serve or to start editing.
func DefaultSectorsJSON() []byte { return slices.Clone(defaultSectorsJSON) }

// Common returns the common list of sectors.
func (s *Sectors) Common() []string { return slices.Clone(s.common) }

// Known reports whether name is on the common list.
func (s *Sectors) Known(name string) bool { return slices.Contains(s.common, name) }

// Nations returns the nations that have a sector list, sorted.
func (s *Sectors) Nations() []string {
	var out []string
	for n := range s.nations {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// National returns one nation's sectors, in the order of the data.
func (s *Sectors) National(nation string) []NationalSector {
	ns := s.nations[nation].Sectors
	out := make([]NationalSector, len(ns))
	for i, n := range ns {
		out[i] = NationalSector{ID: n.ID, Name: n.Name, Common: slices.Clone(n.Common)}
	}
	return out
}

// Map returns the common sectors of the national sectors ids of one nation, sorted
// and without repeats.
func (s *Sectors) Map(nation string, ids ...string) ([]string, error) {
	ns, ok := s.nations[nation]
	if !ok {
		return nil, fmt.Errorf("report: sectors: no sector list for nation %q", nation)
	}
	var out []string
	for _, id := range ids {
		i := slices.IndexFunc(ns.Sectors, func(n NationalSector) bool { return n.ID == id })
		if i < 0 {
			return nil, fmt.Errorf("report: sectors: %s has no sector %q", nation, id)
		}
		out = append(out, ns.Sectors[i].Common...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// isSlug reports whether s is 1..64 characters of a-z, 0-9 and hyphens, not
// starting or ending with a hyphen.
func isSlug(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// isNation reports whether s looks like an ISO 3166-1 alpha-2 code.
func isNation(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}
