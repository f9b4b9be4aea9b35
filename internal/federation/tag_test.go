package federation

import (
	"context"
	"encoding/json"
	"path/filepath"
	"runtime"
	"testing"
	"weak"

	"quadshare/internal/gate"
	"quadshare/internal/policy"
	"quadshare/internal/store/sqlite"
)

// The tag of a policy names its configuration and its scales; a policy replaced
// is not kept alive by it (a node reloads its policy at every edit).
func TestPolicyTag(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "quadshare.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pc := policy.Config{Format: 1, Revision: 1, Nation: "JP", Agency: "identity--8e2e2d2b-17d4-4cbe-9b4f-6f1e6e1c8f5a", DefaultTLP: "amber", NodeLevel: 3}
	engine := func(s *policy.Scales) *policy.Engine {
		e, err := policy.New(pc, s)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	first := engine(policy.DefaultScales())
	g, err := gate.New(first, st)
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{cfg: Config{Gate: g}}
	tag := s.policyTag()
	old := weak.Make(first)
	first = nil
	g.SetPolicy(engine(policy.DefaultScales())) // the same policy, loaded again
	if again := s.policyTag(); again != tag {
		t.Errorf("the same policy and scales, another tag: %s, %s", tag, again)
	}
	for range 5 {
		runtime.GC()
	}
	if old.Value() != nil {
		t.Error("a policy replaced is still alive")
	}
	b, _ := json.Marshal(policy.DefaultScales())
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	delete(raw["nations"].(map[string]any), "US")
	b, _ = json.Marshal(raw)
	var other policy.Scales
	if err := json.Unmarshal(b, &other); err != nil || other.Validate() != nil {
		t.Fatalf("scales: %v %v", err, other.Validate())
	}
	g.SetPolicy(engine(&other))
	if s.policyTag() == tag {
		t.Error("other scales, the same tag")
	}
}
