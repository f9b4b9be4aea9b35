// Package config holds the one typed configuration of a quadshare node: defaults, then
// an optional JSON file, then environment variables, then command-line flags.
package config

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config is everything a node is configured with.
type Config struct {
	DataDir  string `json:"data_dir"` // where the database, keys and certificates live
	DB       string `json:"db"`       // database URL; "" means SQLite in DataDir
	Listen   string `json:"listen"`   // host:port of the TAXII server
	Insecure bool   `json:"insecure"` // plain HTTP, for local development only
	TLSCert  string `json:"tls_cert"` // PEM certificate; "" means generated in DataDir
	TLSKey   string `json:"tls_key"`  // PEM key for TLSCert
	// AuditKey is the Ed25519 key (PKCS#8 PEM) that signs audit checkpoints; "" means
	// audit.key in DataDir, created on first use. Processes sharing a PostgreSQL
	// database must all use the same key file.
	AuditKey string `json:"audit_key"`
	LogJSON  bool   `json:"log_json"` // JSON logs (production) instead of text
	AutoMigr bool   `json:"auto_migrate"`
	Policy   string `json:"policy"` // sharing policy file; "" means policy.json in DataDir
	Scales   string `json:"scales"` // classification scales file; "" means scales.json in DataDir when present, else the built-in scales

	TAXII      TAXII      `json:"taxii"`
	Federation Federation `json:"federation"`
}

// TAXII holds the limits of the TAXII server.
type TAXII struct {
	Title            string   `json:"title"`
	MaxPageSize      int      `json:"max_page_size"`
	MaxContentLength int64    `json:"max_content_length"`
	AsyncThreshold   int      `json:"async_threshold"` // envelopes with more objects are processed in the background
	StatusRetention  Duration `json:"status_retention"`
}

// Duration is a time.Duration written as "24h" in JSON.
type Duration struct{ time.Duration }

// UnmarshalJSON reads "90s", "24h".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"24h\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// Default returns the configuration of a fresh node.
func Default() Config {
	return Config{
		DataDir:  "quadshare-data",
		Listen:   "127.0.0.1:8443",
		AutoMigr: true,
		TAXII: TAXII{
			Title:            "quadshare",
			MaxPageSize:      1000,
			MaxContentLength: 100 << 20,
			AsyncThreshold:   500,
			StatusRetention:  Duration{48 * time.Hour},
		},
		Federation: Federation{NoticeRetention: Duration{90 * 24 * time.Hour}},
	}
}

// Env names the environment variables that override the file.
var Env = map[string]string{
	"QUADSHARE_DATA":      "data directory",
	"QUADSHARE_DB":        "database URL",
	"QUADSHARE_LISTEN":    "listen address",
	"QUADSHARE_CONFIG":    "configuration file",
	"QUADSHARE_AUDIT_KEY": "audit signing key file",
}

// Flags binds the global flags. Call Load after parsing.
type Flags struct {
	fs                                 *flag.FlagSet
	config, data, db, listen, auditKey string
	insecure, logJSON, noMigr          bool
}

// BindFlags adds the global flags to fs.
func BindFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{fs: fs}
	fs.StringVar(&f.config, "config", "", "configuration file (JSON); default: $QUADSHARE_CONFIG, or config.json in the data directory when present")
	fs.StringVar(&f.data, "data", "", "data directory (default $QUADSHARE_DATA or ./quadshare-data)")
	fs.StringVar(&f.db, "db", "", "database URL: postgres://... (default: SQLite in the data directory; $QUADSHARE_DB)")
	fs.StringVar(&f.auditKey, "audit-key", "", "Ed25519 key (PKCS#8 PEM) that signs audit checkpoints; processes sharing a PostgreSQL database must share it (default: audit.key in the data directory; $QUADSHARE_AUDIT_KEY)")
	return f
}

// BindServeFlags adds the flags that only serve needs.
func (f *Flags) BindServeFlags() {
	f.fs.StringVar(&f.listen, "listen", "", "address to listen on (default 127.0.0.1:8443; $QUADSHARE_LISTEN)")
	f.fs.BoolVar(&f.insecure, "insecure-http", false, "serve plain HTTP without TLS (local development only)")
	f.fs.BoolVar(&f.logJSON, "log-json", false, "write logs as JSON")
	f.fs.BoolVar(&f.noMigr, "no-auto-migrate", false, "refuse to start when the database needs migrations")
}

// Load builds the configuration: defaults, file, environment, flags.
func (f *Flags) Load(getenv func(string) string) (Config, error) {
	c := Default()
	data := first(f.data, getenv("QUADSHARE_DATA"), c.DataDir)
	file := first(f.config, getenv("QUADSHARE_CONFIG"))
	explicit := file != ""
	if file == "" {
		file = filepath.Join(data, "config.json")
	}
	if err := c.readFile(file, explicit); err != nil {
		return Config{}, err
	}
	c.DataDir = first(f.data, getenv("QUADSHARE_DATA"), c.DataDir)
	c.DB = first(f.db, getenv("QUADSHARE_DB"), c.DB)
	c.AuditKey = first(f.auditKey, getenv("QUADSHARE_AUDIT_KEY"), c.AuditKey)
	c.Listen = first(f.listen, getenv("QUADSHARE_LISTEN"), c.Listen)
	c.Insecure = c.Insecure || f.insecure
	c.LogJSON = c.LogJSON || f.logJSON
	if f.noMigr {
		c.AutoMigr = false
	}
	return c, c.Validate()
}

func (c *Config) readFile(path string, mustExist bool) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !mustExist {
		return nil
	}
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	return nil
}

// Validate reports the first setting that cannot work.
func (c *Config) Validate() error {
	switch {
	case c.DataDir == "":
		return errors.New("config: data directory must not be empty")
	case c.DB != "" && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") && !strings.HasPrefix(c.DB, "sqlite:"):
		return fmt.Errorf("config: database URL %q: want postgres://... or sqlite:PATH", c.DB)
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("config: tls_cert and tls_key go together")
	case c.TAXII.MaxPageSize < 1 || c.TAXII.MaxPageSize > 100000:
		return fmt.Errorf("config: taxii.max_page_size %d: want 1..100000", c.TAXII.MaxPageSize)
	case c.TAXII.MaxContentLength < 1024:
		return fmt.Errorf("config: taxii.max_content_length %d: want at least 1024", c.TAXII.MaxContentLength)
	case c.TAXII.AsyncThreshold < 0:
		return errors.New("config: taxii.async_threshold must not be negative")
	case c.TAXII.StatusRetention.Duration < 24*time.Hour:
		return errors.New("config: taxii.status_retention must be at least 24h (TAXII statuses are kept a day)")
	case c.Federation.NoticeRetention.Duration < 0:
		return errors.New("config: federation.notice_retention must not be negative")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("config: listen address %q: %w", c.Listen, err)
	}
	return nil
}

// PolicyFile is where the sharing policy is read from.
func (c *Config) PolicyFile() string {
	return first(c.Policy, filepath.Join(c.DataDir, "policy.json"))
}

// ScalesFile is where edited classification scales are read from; the built-in
// scales apply when the file does not exist and was not configured.
func (c *Config) ScalesFile() (path string, configured bool) {
	if c.Scales != "" {
		return c.Scales, true
	}
	return filepath.Join(c.DataDir, "scales.json"), false
}

// AuditKeyPath is the file of the audit signing key.
func (c *Config) AuditKeyPath() string {
	if c.AuditKey != "" {
		return c.AuditKey
	}
	return filepath.Join(c.DataDir, "audit.key")
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
