package federation

import (
	"crypto/sha256"
	"sync"

	"quadshare/internal/provenance"
)

// signatures keeps the signed form of the objects signed last, so that an object
// released alike to several peers is signed once: the fills of a node's peers
// walk the same collections at about the same pace, and Ed25519 is most of the
// cost of queuing. Two generations, each of at most signaturesKept objects and
// signaturesBytes bytes, bound it.
type signatures struct {
	mu        sync.Mutex
	cur, prev map[[sha256.Size]byte][]byte
	curBytes  int
}

const (
	signaturesKept  = 8192
	signaturesBytes = 32 << 20
)

// sign returns raw signed by s, from the cache when s signed the same bytes lately
// (an Ed25519 signature is deterministic: signing again gives the same bytes).
func (c *signatures) sign(s *provenance.Signer, raw []byte) ([]byte, error) {
	h := sha256.New()
	h.Write([]byte(s.Nation + "\x00" + s.Agency + "\x00" + s.KeyID() + "\x00"))
	h.Write(raw)
	var k [sha256.Size]byte
	h.Sum(k[:0])
	c.mu.Lock()
	out, ok := c.cur[k]
	if !ok {
		out, ok = c.prev[k]
	}
	c.mu.Unlock()
	if ok {
		return out, nil
	}
	out, err := s.Sign(raw)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.cur) >= signaturesKept || c.curBytes+len(out) > signaturesBytes || c.cur == nil {
		c.prev, c.cur, c.curBytes = c.cur, make(map[[sha256.Size]byte][]byte), 0
	}
	c.cur[k] = out
	c.curBytes += len(out)
	c.mu.Unlock()
	return out, nil
}
