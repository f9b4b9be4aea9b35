package provenance

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// KeyFile is the node signing key's file name in the data directory.
const KeyFile = "node.key"

const maxKeyFile = 16 << 10

// LoadOrCreateKey returns the Ed25519 key in path (PKCS#8 PEM), creating it 0600 on
// first use. The key is the node's identity to its partners: a key file that others
// can read is refused rather than used.
func LoadOrCreateKey(path string) (ed25519.PrivateKey, bool, error) {
	k, err := loadKey(path)
	if err == nil {
		return k, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	_, k, err = ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, err
	}
	// Written whole to a temporary file, then linked into place: a process starting at
	// the same moment sees no key or the whole key, never half of one, and the first
	// link wins.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".node-key-*")
	if err != nil {
		return nil, false, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, false, err
	}
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return nil, false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, false, err
	}
	if err := tmp.Close(); err != nil {
		return nil, false, err
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, os.ErrExist) { // another process made it first: use that one
		k, err := loadKey(path)
		return k, false, err
	} else if err != nil {
		return nil, false, err
	}
	return k, true, nil
}

func loadKey(path string) (ed25519.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("provenance: %s is readable by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("provenance: %s: too large for a key", path)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("provenance: %s: want a PEM PRIVATE KEY (PKCS#8)", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("provenance: %s: %w", path, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("provenance: %s: not an Ed25519 key", path)
	}
	return ek, nil
}

// EncodePublic writes a public key as peers exchange it: base64url, no padding.
func EncodePublic(pub ed25519.PublicKey) string { return base64.RawURLEncoding.EncodeToString(pub) }

// ParsePublic reads a public key written by EncodePublic (standard base64 and
// padding are accepted too).
func ParsePublic(s string) (ed25519.PublicKey, error) {
	if len(s) > 100 {
		return nil, errors.New("provenance: public key: too long")
	}
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == ed25519.PublicKeySize {
			return ed25519.PublicKey(b), nil
		}
	}
	return nil, errors.New("provenance: public key: want 32 bytes of base64")
}
