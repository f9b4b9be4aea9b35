package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	f := BindFlags(fs)
	f.BindServeFlags()
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f.Load(func(k string) string { return env[k] })
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.json")
	if err := os.WriteFile(file, []byte(`{"listen":"127.0.0.1:9000","db":"sqlite:from-file.db","taxii":{"max_page_size":50,"status_retention":"72h"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// The file in the data directory is read without naming it.
	c, err := load(t, map[string]string{"QUADSHARE_DATA": dir})
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9000" || c.TAXII.MaxPageSize != 50 || c.TAXII.StatusRetention.Duration != 72*time.Hour {
		t.Errorf("file not applied: %+v", c)
	}
	if c.TAXII.MaxContentLength != Default().TAXII.MaxContentLength {
		t.Errorf("default lost: %d", c.TAXII.MaxContentLength)
	}
	// Environment over file, flags over environment.
	c, err = load(t, map[string]string{"QUADSHARE_DATA": dir, "QUADSHARE_LISTEN": "127.0.0.1:9001", "QUADSHARE_DB": "sqlite:env.db"}, "-listen", "127.0.0.1:9002")
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9002" || c.DB != "sqlite:env.db" {
		t.Errorf("precedence wrong: listen %s db %s", c.Listen, c.DB)
	}
}

func TestInvalid(t *testing.T) {
	for name, tc := range map[string]struct {
		file string
		args []string
		want string
	}{
		"unknown field": {file: `{"listne":"x"}`, want: "unknown field"},
		"not JSON":      {file: `listen = 1`, want: "config:"},
		"bad db":        {args: []string{"-db", "mysql://x"}, want: "want postgres://"},
		"bad listen":    {args: []string{"-listen", "nowhere"}, want: "listen address"},
		"page size":     {file: `{"taxii":{"max_page_size":0}}`, want: "max_page_size"},
		"retention":     {file: `{"taxii":{"status_retention":"1h"}}`, want: "at least 24h"},
		"duration":      {file: `{"taxii":{"status_retention":"soon"}}`, want: "duration"},
		"cert alone":    {file: `{"tls_cert":"a.pem"}`, want: "go together"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.file != "" {
				if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := load(t, map[string]string{"QUADSHARE_DATA": dir}, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestNamedFileMustExist(t *testing.T) {
	_, err := load(t, nil, "-config", filepath.Join(t.TempDir(), "missing.json"))
	if err == nil {
		t.Fatal("a named configuration file that is missing must be an error")
	}
}
