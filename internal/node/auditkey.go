package node

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// AuditKeyFile is the name of the node's audit signing key in the data directory.
const AuditKeyFile = "audit.key"

// maxKeyFile bounds what is read as a key file.
const maxKeyFile = 64 << 10

// LoadOrCreateAuditKey returns the Ed25519 key in path (PKCS#8 PEM), creating it
// with mode 0600 on first use. It signs the checkpoints of the audit trail:
// several processes sharing one PostgreSQL database must all be given the same
// file, or a checkpoint signed by one fails verification under the others' key.
// created reports that this call made the key.
func LoadOrCreateAuditKey(path string) (key ed25519.PrivateKey, created bool, err error) {
	key, err = LoadAuditKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	_, key, err = ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, fmt.Errorf("audit key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, false, fmt.Errorf("audit key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("audit key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process made it meanwhile: use that one
		key, err = LoadAuditKey(path)
		return key, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("audit key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		_ = os.Remove(path)
		return nil, false, fmt.Errorf("audit key %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("audit key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("audit key %s: %w", path, err)
	}
	return key, true, nil
}

// LoadAuditKey reads the Ed25519 key in path (PKCS#8 PEM). It refuses a file
// that others than its owner may read, as ssh does.
func LoadAuditKey(path string) (ed25519.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	if !info.Mode().IsRegular() || info.Size() > maxKeyFile {
		return nil, fmt.Errorf("audit key %s: not a key file (a regular file of at most %d bytes)", path, maxKeyFile)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("audit key %s: mode %04o lets others read it; chmod 600 it", path, perm)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile))
	if err != nil {
		return nil, fmt.Errorf("audit key %s: %w", path, err)
	}
	block, rest := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" || len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("audit key %s: want one PEM block \"PRIVATE KEY\" (PKCS#8)", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit key %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("audit key %s: a %T, want an Ed25519 key", path, k)
	}
	return key, nil
}
