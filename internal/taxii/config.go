package taxii

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config holds what the TAXII server is configured with. The zero value of every field
// means its default (see Defaults).
type Config struct {
	// Title and Description of the server (discovery, §4.1.1) and of its one API root
	// (§4.2.1).
	Title       string
	Description string
	Contact     string
	// APIRoot is the path of the API root, "/" separated, starting and ending with "/"
	// (§4.1.1: a relative URL beginning with a single "/"). Default "/api/".
	APIRoot string
	// MaxPageSize caps the objects in one response (§3.4 limit: "the server-imposed
	// limit"). Default 1000.
	MaxPageSize int
	// DefaultPageSize is used when the client gives no limit. Default MaxPageSize.
	DefaultPageSize int
	// MaxContentLength is max_content_length (§4.2.1): bodies up to this many octets are
	// accepted, larger ones get 413. Default 100 MiB.
	MaxContentLength int64
	// MaxObjects caps the objects of one envelope (422 beyond). Default 100,000.
	MaxObjects int
	// AsyncThreshold: envelopes with more objects than this are processed in the
	// background and answered "pending" (§5.5). Default 500.
	AsyncThreshold int
	// Workers process pending additions in this process, leased from the store's
	// queue; QueueSize bounds the additions not yet done in the store (503 with
	// Retry-After beyond). Defaults 2 and 8.
	Workers   int
	QueueSize int
	// StatusRetention is how long status resources are kept after their addition
	// completed (§4.3: "at least 24 hours after the server has finished processing
	// the request"); a pending one is kept until it completes. Default 48h; less
	// than 24h is refused.
	StatusRetention time.Duration
	// TokenKey is the key from which the key sealing next tokens (§3.5) is derived, at
	// least 32 bytes, kept by the caller so tokens survive restarts.
	TokenKey []byte
	// TokenTTL is how long a next token stays valid. Default 24h.
	TokenTTL time.Duration
	// RequestTimeout bounds the work of one request. Default 2 minutes.
	RequestTimeout time.Duration
}

// Defaults returns c with every zero field set to its default.
func (c Config) Defaults() Config {
	if c.Title == "" {
		c.Title = "quadshare"
	}
	if c.APIRoot == "" {
		c.APIRoot = "/api/"
	}
	if c.MaxPageSize == 0 {
		c.MaxPageSize = 1000
	}
	if c.DefaultPageSize == 0 {
		c.DefaultPageSize = c.MaxPageSize
	}
	if c.MaxContentLength == 0 {
		c.MaxContentLength = 100 << 20
	}
	if c.MaxObjects == 0 {
		c.MaxObjects = 100_000
	}
	if c.AsyncThreshold == 0 {
		c.AsyncThreshold = 500
	}
	if c.Workers == 0 {
		c.Workers = 2
	}
	if c.QueueSize == 0 {
		c.QueueSize = 8
	}
	if c.StatusRetention == 0 {
		c.StatusRetention = 48 * time.Hour
	}
	if c.TokenTTL == 0 {
		c.TokenTTL = 24 * time.Hour
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 2 * time.Minute
	}
	return c
}

// Validate reports what is wrong with a defaulted configuration.
func (c Config) Validate() error {
	var errs []error
	if !strings.HasPrefix(c.APIRoot, "/") || !strings.HasSuffix(c.APIRoot, "/") ||
		strings.HasPrefix(c.APIRoot, "//") || strings.Contains(c.APIRoot, "..") ||
		strings.ContainsAny(c.APIRoot, "?#{}") || c.APIRoot == "/taxii2/" || c.APIRoot == "/" {
		errs = append(errs, fmt.Errorf("taxii: api root %q must be a path like /api/ (§4.1.1)", c.APIRoot))
	}
	if c.MaxPageSize < 1 || c.DefaultPageSize < 1 || c.DefaultPageSize > c.MaxPageSize {
		errs = append(errs, errors.New("taxii: page sizes must be positive, the default no larger than the maximum"))
	}
	if c.MaxContentLength < 1 {
		errs = append(errs, errors.New("taxii: max_content_length must be positive (§4.2.1)"))
	}
	if c.MaxObjects < 1 || c.AsyncThreshold < 1 || c.Workers < 1 || c.QueueSize < 1 {
		errs = append(errs, errors.New("taxii: object, threshold, worker and queue limits must be positive"))
	}
	if c.StatusRetention < 24*time.Hour {
		errs = append(errs, errors.New("taxii: status retention must be at least 24h (§4.3)"))
	}
	if len(c.TokenKey) < 32 {
		errs = append(errs, errors.New("taxii: the pagination token key must be at least 32 bytes"))
	}
	if c.TokenTTL <= 0 || c.RequestTimeout <= 0 {
		errs = append(errs, errors.New("taxii: durations must be positive"))
	}
	return errors.Join(errs...)
}
