package node

import (
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"path/filepath"

	"quadshare/internal/auth"
	"quadshare/internal/config"
	"quadshare/internal/gate"
	"quadshare/internal/reportapi"
	"quadshare/internal/store"
)

// startReports makes the incident report API: receipts are signed with the Ed25519
// key whose seed is receipt.key in the data directory, and deadlines.json and
// sectors.json there replace the shipped reporting data.
func startReports(cfg config.Config, st store.Store, authn *auth.Authenticator, g *gate.Gate, log *slog.Logger) (*reportapi.Server, error) {
	seed, err := loadOrCreateKey(filepath.Join(cfg.DataDir, "receipt.key"))
	if err != nil {
		return nil, fmt.Errorf("receipt key: %w", err)
	}
	deadlines, sectors, err := reportapi.LoadData(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	return reportapi.New(reportapi.Config{Node: cfg.TAXII.Title, Key: ed25519.NewKeyFromSeed(seed),
		Deadlines: deadlines, Sectors: sectors,
		Agency: func() string { return gate.OrgID(g.Policy().Config().Agency) }}, st, authn, log)
}
