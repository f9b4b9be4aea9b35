package config

// Federation configures the exchange with partner nodes (docs/federation.md). Peers
// themselves are in the database (quadshare peer add).
type Federation struct {
	// Collections shared with peers, by id or alias; empty: every collection.
	Collections []string `json:"collections"`
	// Disabled stops the push and pull workers (the endpoints peers use stay).
	Disabled bool `json:"disabled"`
}
