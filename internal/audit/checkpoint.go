package audit

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// CheckpointEvery is how many records a store appends between two signed
// checkpoints unless configured otherwise: a tail cut after the last
// checkpoint goes unseen, so this bounds what truncation can hide.
const CheckpointEvery = 1000

const checkpointDomain = "quadshare-audit-checkpoint-v1"

// Checkpoint is the node's signed statement that record Seq has hash Hash.
type Checkpoint struct {
	Seq       int64
	Hash      Hash
	Time      time.Time // when it was signed, microsecond precision, UTC
	Signature []byte    // Ed25519, 64 bytes
}

// Due reports whether a checkpoint should be signed after appending record
// seq when one is signed every `every` records.
func Due(seq int64, every int64) bool {
	return every > 0 && seq > 0 && seq%every == 0
}

// CheckpointMessage returns the bytes a checkpoint signs:
// "quadshare-audit-checkpoint-v1" || u64(seq) || hash || i64(unix microseconds).
func CheckpointMessage(seq int64, h Hash, t time.Time) []byte {
	b := make([]byte, 0, len(checkpointDomain)+8+HashSize+8)
	b = append(b, checkpointDomain...)
	b = binary.BigEndian.AppendUint64(b, uint64(seq))
	b = append(b, h[:]...)
	return binary.BigEndian.AppendUint64(b, uint64(t.UnixMicro()))
}

// Sign returns a checkpoint of record r signed at time t with key.
func Sign(key ed25519.PrivateKey, r Record, t time.Time) (Checkpoint, error) {
	if len(key) != ed25519.PrivateKeySize {
		return Checkpoint{}, fmt.Errorf("audit: checkpoint: private key has %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	if r.Seq < 1 {
		return Checkpoint{}, fmt.Errorf("audit: checkpoint: seq %d: nothing to sign", r.Seq)
	}
	if t.IsZero() {
		return Checkpoint{}, errors.New("audit: checkpoint: time is missing")
	}
	t = t.UTC().Truncate(time.Microsecond)
	if us := t.UnixMicro(); us < minUnixMicros || us > maxUnixMicros {
		return Checkpoint{}, fmt.Errorf("audit: checkpoint: time %s outside 1970..9999", t.Format(time.RFC3339))
	}
	return Checkpoint{
		Seq:       r.Seq,
		Hash:      r.Hash,
		Time:      t,
		Signature: ed25519.Sign(key, CheckpointMessage(r.Seq, r.Hash, t)),
	}, nil
}

// ErrBadSignature is returned by Checkpoint.Verify for a signature that does
// not verify under the key.
var ErrBadSignature = errors.New("audit: checkpoint signature does not verify")

// Verify checks the signature of c under pub.
func (c Checkpoint) Verify(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("audit: checkpoint: public key has %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	if c.Seq < 1 {
		return fmt.Errorf("%w: seq %d", ErrBadSignature, c.Seq)
	}
	if len(c.Signature) != ed25519.SignatureSize {
		return fmt.Errorf("%w: %d bytes, want %d", ErrBadSignature, len(c.Signature), ed25519.SignatureSize)
	}
	if c.Time.Nanosecond()%1000 != 0 {
		return fmt.Errorf("%w: time has more than microsecond precision", ErrBadSignature)
	}
	if !ed25519.Verify(pub, CheckpointMessage(c.Seq, c.Hash, c.Time), c.Signature) {
		return fmt.Errorf("%w: seq %d", ErrBadSignature, c.Seq)
	}
	return nil
}
