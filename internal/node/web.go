package node

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"

	"quadshare/internal/auth"
	"quadshare/internal/config"
	"quadshare/internal/gate"
	"quadshare/internal/reportapi"
	"quadshare/internal/store"
	"quadshare/internal/web"
)

// startWeb makes the web interface: its sessions are signed with the secret in
// web-session.key in the data directory (one file for every process of a node),
// and its audit page verifies the trail with the public half of the audit key.
func startWeb(cfg config.Config, st store.Store, authn *auth.Authenticator, g *gate.Gate, reports *reportapi.Server, log *slog.Logger) (*web.Server, error) {
	key, err := loadOrCreateKey(filepath.Join(cfg.DataDir, "web-session.key"))
	if err != nil {
		return nil, fmt.Errorf("web session key: %w", err)
	}
	var pub ed25519.PublicKey
	if k, err := LoadAuditKey(cfg.AuditKeyPath()); err == nil {
		pub = k.Public().(ed25519.PublicKey)
	} else if !errors.Is(err, fs.ErrNotExist) {
		log.LogAttrs(context.Background(), slog.LevelWarn, "web: the audit page cannot verify the trail", slog.String("error", err.Error()))
	}
	return web.New(web.Config{SessionKey: key, Secure: !cfg.Insecure, AuditKey: pub}, st, authn, g, reports, log)
}
