package node

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"quadshare/internal/config"
	"quadshare/internal/store"
	"quadshare/internal/store/sqlite"
)

func TestAuditKeyCreatedOnceAndKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", AuditKeyFile)
	// Several processes starting at once end up with one key.
	var wg sync.WaitGroup
	keys := make([][]byte, 8)
	created := make([]bool, 8)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, c, err := LoadOrCreateAuditKey(path)
			if err != nil {
				t.Error(err)
				return
			}
			keys[i], created[i] = k, c
		}()
	}
	wg.Wait()
	n := 0
	for i := range keys {
		if string(keys[i]) != string(keys[0]) || len(keys[i]) != 64 {
			t.Fatalf("process %d got another key", i)
		}
		if created[i] {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d callers say they created the key, want 1", n)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %04o, want 0600", info.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if block, _ := pem.Decode(b); block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("not a PKCS#8 PEM file:\n%s", b)
	}
	again, c, err := LoadOrCreateAuditKey(path)
	if err != nil || c || string(again) != string(keys[0]) {
		t.Fatalf("second load: created %v, err %v, same key %v", c, err, string(again) == string(keys[0]))
	}
}

func TestAuditKeyRefused(t *testing.T) {
	dir := t.TempDir()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	good := filepath.Join(dir, "good.key")
	if _, _, err := LoadOrCreateAuditKey(good); err != nil {
		t.Fatal(err)
	}
	goodPEM, _ := os.ReadFile(good)
	for _, tc := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{"readable by others", goodPEM, 0o644},
		{"not PEM", []byte("not a key"), 0o600},
		{"another key type", ecPEM, 0o600},
		{"trailing data", append(append([]byte{}, goodPEM...), goodPEM...), 0o600},
		{"empty", nil, 0o600},
	} {
		p := filepath.Join(dir, tc.name)
		if err := os.WriteFile(p, tc.data, tc.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, tc.mode); err != nil {
			t.Fatal(err)
		}
		if _, _, err := LoadOrCreateAuditKey(p); err == nil {
			t.Errorf("%s: key accepted", tc.name)
		}
	}
	if _, err := LoadAuditKey(filepath.Join(dir, "missing")); err == nil {
		t.Error("LoadAuditKey made up a missing key")
	}
}

// Close signs a checkpoint of the last record, so that the end of the trail is
// pinned when the node stops.
func TestCloseSignsAuditCheckpoint(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Listen = "127.0.0.1:0"
	cfg.Insecure = true
	key, _, err := LoadOrCreateAuditKey(filepath.Join(cfg.DataDir, AuditKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "quadshare.db"), sqlite.WithAuditKey(key))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.PutOrganisation(ctx, store.Organisation{ID: "org-au", Name: "ACSC", Nation: "AU", Kind: store.KindAgency}); err != nil {
		t.Fatal(err)
	}
	mustInitPolicy(t, cfg, st)
	n, err := Start(ctx, cfg, st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	stop, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := n.Close(stop); err != nil {
		t.Fatal(err)
	}
	cps, err := st.AuditCheckpoints(ctx, 0, 10)
	if err != nil || len(cps) != 1 || cps[0].Seq != 1 {
		t.Fatalf("checkpoints after close: %+v, %v; want one of record 1", cps, err)
	}
}
