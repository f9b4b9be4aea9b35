package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"quadshare/internal/config"
	"quadshare/internal/gate"
	"quadshare/internal/policy"
	"quadshare/internal/store"
	"quadshare/internal/uuid"
)

// ErrNoPolicy is returned by LoadPolicy when the node has no policy file yet.
var ErrNoPolicy = errors.New("no sharing policy")

// LoadScales reads the classification scales: the configured file, else
// scales.json in the data directory when present, else the built-in defaults.
func LoadScales(cfg config.Config) (*policy.Scales, error) {
	path, configured := cfg.ScalesFile()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) && !configured {
		return policy.DefaultScales(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("scales: %w", err)
	}
	defer f.Close()
	s, err := policy.LoadScales(f)
	if err != nil {
		return nil, fmt.Errorf("scales: %s: %w", path, err)
	}
	return s, nil
}

// LoadPolicy reads and checks the sharing policy and builds its engine.
func LoadPolicy(cfg config.Config) (*policy.Engine, error) {
	scales, err := LoadScales(cfg)
	if err != nil {
		return nil, err
	}
	path := cfg.PolicyFile()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist (quadshare policy init writes one)", ErrNoPolicy, path)
	}
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	pc, err := policy.LoadConfig(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	e, err := policy.New(pc, scales)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return e, nil
}

// StartingPolicy is the policy of a new node of nation whose agency is the
// organisation agencyID: unmarked objects are TLP:AMBER at level 1 (official),
// the node is accredited to level 3, personal and internal data is scrubbed from
// the usual free-text properties, and there is no agreement, so nothing goes to
// a partner until one is written.
func StartingPolicy(nation, agencyID string) policy.Config {
	return policy.Config{
		Format: 1, Revision: 1,
		Nation: nation, Agency: gate.Identity(agencyID),
		DefaultTLP: "amber", DefaultLevel: 1, NodeLevel: 3,
		Redaction: policy.RedactionConfig{Properties: []string{
			"name", "description",
			"external_references.*.description", "extensions.*.description",
			"extensions.*.notes", "extensions.*.affected_services.*", "extensions.*.attachments.*.name",
		}},
		Agreements: []policy.Agreement{},
	}
}

// InitPolicy writes the starting policy of a new node to the policy file and
// records its agency as an organisation of kind agency (created when no
// organisation has that name). It refuses to overwrite a policy.
func InitPolicy(ctx context.Context, cfg config.Config, st store.Store, nation, agencyName string) (policy.Config, store.Organisation, error) {
	path := cfg.PolicyFile()
	if _, err := os.Stat(path); err == nil {
		return policy.Config{}, store.Organisation{}, fmt.Errorf("%s exists; edit it and run quadshare policy check", path)
	}
	org, err := st.Organisation(ctx, agencyName)
	switch {
	case errors.Is(err, store.ErrNotFound):
		org = store.Organisation{ID: uuid.New(), Name: agencyName, Nation: nation, Kind: store.KindAgency}
		if err := st.PutOrganisation(ctx, org); err != nil {
			return policy.Config{}, org, fmt.Errorf("create organisation %q: %w", agencyName, err)
		}
	case err != nil:
		return policy.Config{}, org, err
	case org.Kind != store.KindAgency || org.Nation != nation:
		return policy.Config{}, org, fmt.Errorf("organisation %q is a %s of %s, not an agency of %s", agencyName, org.Kind, org.Nation, nation)
	}
	pc := StartingPolicy(nation, org.ID)
	if _, err := policy.New(pc, policy.DefaultScales()); err != nil {
		return pc, org, err // a bad nation code
	}
	if err := WritePolicy(path, pc); err != nil {
		return pc, org, err
	}
	return pc, org, nil
}

// WritePolicy writes a policy file atomically (a reader sees the old or the new
// file, never half of one).
func WritePolicy(path string, pc policy.Config) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(pc); err != nil {
		return err
	}
	return replaceFile(path, buf.Bytes())
}
