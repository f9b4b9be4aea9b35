package config

// Federation configures the exchange with partner nodes (docs/federation.md). Peers
// themselves are in the database (quadshare peer add).
type Federation struct {
	// Collections shared with peers, by id or alias; empty: every collection.
	Collections []string `json:"collections"`
	// Disabled stops the push and pull workers (the endpoints peers use stay).
	Disabled bool `json:"disabled"`
	// NoticeRetention is how long the notice of a deletion is kept once every
	// peer's walk has passed it: a peer removed and added again within it (a new
	// certificate, a restore from backup) is still told of the deletion.
	NoticeRetention Duration `json:"notice_retention"`
}
