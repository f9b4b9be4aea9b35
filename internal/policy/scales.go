package policy

import (
	"bytes"
	"crypto/sha1" // #nosec G505 -- UUIDv5 (RFC 9562 §5.5) is defined on SHA-1; not used for security.
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Level is a classification level on the common ordinal scale shared by the four
// nations: 0 public, 1 official, 2 sensitive, 3 protected, 4 secret, 5 top secret.
type Level uint8

// MaxLevel is the highest level of the common scale.
const MaxLevel Level = 5

// ClassificationExtension is the id of our extension definition that marks a
// marking-definition as a classification marking (docs/classification-marking.md).
const ClassificationExtension = "extension-definition--4beb45ba-4a08-4796-9399-d0de46fc0a3b"

// SharingExtension is the id of our extension definition that carries, on any
// object, the sharing facts STIX has no property for: sectors, the reporting
// operator and its consent, and the named recipients of TLP:RED content.
const SharingExtension = "extension-definition--4fa0a938-5ae7-49dd-a962-04cf7377b478"

//go:embed scales.json
var defaultScalesJSON []byte

// Scales maps each nation's classification labels to the common scale. It is data:
// DefaultScales holds the defaults, LoadScales reads an edited copy.
type Scales struct {
	Format  int                   `json:"format"`
	Levels  []string              `json:"levels"`  // names of the common levels, index = Level
	Nations map[string][][]string `json:"nations"` // nation -> level -> labels (first is canonical)

	byLabel map[string]Level  // "AU\x00PROTECTED" (upper case) -> level
	byID    map[string]idInfo // classification marking-definition id -> nation, level
}

type idInfo struct {
	nation string
	level  Level
}

// scalesFormat is the only format of the scales file this version reads.
const scalesFormat = 1

// maxConfigBytes bounds every configuration file read by this package.
const maxConfigBytes = 4 << 20

// DefaultScales returns the default mapping, from the table agreed by the four
// agencies (to be confirmed by each; edit the data, not the code).
func DefaultScales() *Scales {
	s, err := LoadScales(bytes.NewReader(defaultScalesJSON))
	if err != nil {
		panic("policy: embedded scales.json is invalid: " + err.Error()) // a build defect, caught by tests
	}
	return s
}

// LoadScales reads and validates a scales file.
func LoadScales(r io.Reader) (*Scales, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("policy: read scales: %w", err)
	}
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("policy: scales: larger than %d bytes", maxConfigBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Scales
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("policy: scales: %w", err)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Validate checks the scales and builds the lookup tables. Every nation has a
// label for each common level; no label appears twice within a nation.
func (s *Scales) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("policy: scales: "+format, a...)) }
	if s.Format != scalesFormat {
		bad("format is %d; this version reads format %d", s.Format, scalesFormat)
	}
	if len(s.Levels) != int(MaxLevel)+1 {
		bad("levels: want %d names (0..%d), got %d", MaxLevel+1, MaxLevel, len(s.Levels))
	}
	if len(s.Nations) == 0 {
		bad("nations: none")
	}
	s.byLabel = make(map[string]Level)
	s.byID = make(map[string]idInfo)
	for _, n := range sortedKeys(s.Nations) {
		levels := s.Nations[n]
		if !validNation(n) {
			bad("nation %q: not an ISO 3166-1 alpha-2 code in upper case", n)
			continue
		}
		if len(levels) != int(MaxLevel)+1 {
			bad("nation %s: want labels for %d levels, got %d", n, MaxLevel+1, len(levels))
			continue
		}
		for l, labels := range levels {
			if len(labels) == 0 {
				bad("nation %s level %d: no label", n, l)
			}
			for _, lab := range labels {
				k := n + "\x00" + normLabel(lab)
				if normLabel(lab) == "" {
					bad("nation %s level %d: empty label", n, l)
					continue
				}
				if prev, dup := s.byLabel[k]; dup {
					bad("nation %s: label %q is at level %d and level %d", n, lab, prev, l)
					continue
				}
				s.byLabel[k] = Level(l)
			}
			s.byID[ClassificationMarkingID(n, Level(l))] = idInfo{nation: n, level: Level(l)}
		}
	}
	return errors.Join(errs...)
}

// Level maps a national label ("PROTECTED", "CUI", "取扱注意") to the common scale.
// Labels compare without regard to case or surrounding space.
func (s *Scales) Level(nation, label string) (Level, bool) {
	l, ok := s.byLabel[nation+"\x00"+normLabel(label)]
	return l, ok
}

// Label is the canonical national label of a common level.
func (s *Scales) Label(nation string, l Level) (string, bool) {
	levels, ok := s.Nations[nation]
	if !ok || int(l) >= len(levels) || len(levels[l]) == 0 {
		return "", false
	}
	return levels[l][0], true
}

// marking resolves a classification marking-definition id.
func (s *Scales) marking(id string) (idInfo, bool) {
	i, ok := s.byID[id]
	return i, ok
}

// ClassificationMarkingID is the fixed id of the classification marking of one
// nation at one common level: a name-based UUID (version 5, RFC 9562 §5.5) in the
// namespace of ClassificationExtension's UUID, of the name "<NATION>:<level>".
// Every node computes the same ids, so objects can be marked without shipping the
// definition, and the id alone tells the level.
func ClassificationMarkingID(nation string, l Level) string {
	return "marking-definition--" + uuid5(ClassificationExtension[len("extension-definition--"):], nation+":"+strconv.Itoa(int(l)))
}

// ClassificationMarking returns the marking-definition object (compact JSON) of one
// nation's label at one common level, as documented in docs/classification-marking.md.
// created is the STIX timestamp to write (marking definitions are not versioned).
func (s *Scales) ClassificationMarking(nation string, l Level, createdBy, created string) ([]byte, error) {
	label, ok := s.Label(nation, l)
	if !ok {
		return nil, fmt.Errorf("policy: no classification label for nation %q level %d", nation, l)
	}
	type ext struct {
		ExtensionType string `json:"extension_type"`
		Nation        string `json:"nation"`
		Label         string `json:"label"`
		Level         int    `json:"level"`
	}
	md := struct {
		Type        string         `json:"type"`
		SpecVersion string         `json:"spec_version"`
		ID          string         `json:"id"`
		CreatedBy   string         `json:"created_by_ref,omitempty"`
		Created     string         `json:"created"`
		Name        string         `json:"name"`
		Extensions  map[string]ext `json:"extensions"`
	}{
		Type: "marking-definition", SpecVersion: "2.1", ID: ClassificationMarkingID(nation, l),
		CreatedBy: createdBy, Created: created, Name: nation + " " + label,
		Extensions: map[string]ext{ClassificationExtension: {
			ExtensionType: "property-extension", Nation: nation, Label: label, Level: int(l),
		}},
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(md); err != nil {
		return nil, fmt.Errorf("policy: encode classification marking: %w", err)
	}
	return bytes.TrimSpace(b.Bytes()), nil
}

func normLabel(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

func validNation(n string) bool {
	return len(n) == 2 && n[0] >= 'A' && n[0] <= 'Z' && n[1] >= 'A' && n[1] <= 'Z'
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// uuid5 computes a version 5 UUID (RFC 9562 §5.5) of name in namespace ns (a UUID
// in its text form, assumed valid: it is one of our constants).
func uuid5(ns, name string) string {
	nsb, err := hex.DecodeString(strings.ReplaceAll(ns, "-", ""))
	if err != nil || len(nsb) != 16 {
		panic("policy: bad namespace UUID " + ns) // only called with constants
	}
	h := sha1.New() // #nosec G401 -- required by UUIDv5
	h.Write(nsb)
	h.Write([]byte(name))
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	x := hex.EncodeToString(u)
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}

//go:embed extensions.json
var extensionsJSON []byte

// ExtensionsAuthor is the identity of quadshare, which defines our extensions.
const ExtensionsAuthor = "identity--11760bb7-ab3a-49df-ad66-bc3b87e706b3"

// ExtensionDefinitions returns our STIX objects that define the extensions
// (§7.3): the quadshare identity, then the classification marking and sharing
// facts extension definitions, each as compact JSON, ready to be stored and shared.
func ExtensionDefinitions() ([][]byte, error) {
	var objs []json.RawMessage
	if err := json.Unmarshal(extensionsJSON, &objs); err != nil {
		return nil, fmt.Errorf("policy: extensions.json: %w", err)
	}
	out := make([][]byte, 0, len(objs))
	for _, o := range objs {
		var b bytes.Buffer
		if err := json.Compact(&b, o); err != nil {
			return nil, fmt.Errorf("policy: extensions.json: %w", err)
		}
		out = append(out, b.Bytes())
	}
	return out, nil
}
