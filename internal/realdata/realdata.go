// Package realdata finds the public data sets that tests and benchmarks read in place.
// The directory is named by QUADSHARE_TESTDATA; without it, a "shared/data" directory
// beside the module root is used when present. Tests skip with a message otherwise.
package realdata

import (
	"os"
	"path/filepath"
	"testing"
)

// Env is the variable that names the data directory.
const Env = "QUADSHARE_TESTDATA"

// Dir returns the data directory, or "" when there is none.
func Dir() string {
	if d := os.Getenv(Env); d != "" {
		if abs, err := filepath.Abs(d); err == nil {
			return abs
		}
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			cand := filepath.Join(filepath.Dir(d), "shared", "data")
			if st, err := os.Stat(cand); err == nil && st.IsDir() {
				return cand
			}
			return ""
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// Path returns the path of rel inside the data directory, skipping the test when the
// directory or the file is missing.
func Path(tb testing.TB, rel string) string {
	tb.Helper()
	d := Dir()
	if d == "" {
		tb.Skipf("real data not found: set %s to the shared data directory to run this test", Env)
	}
	p := filepath.Join(d, filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		if os.Getenv(Env) != "" {
			tb.Fatalf("%s is set but %s is missing: %v", Env, rel, err)
		}
		tb.Skipf("real data %s not found: %v", rel, err)
	}
	return p
}
