package provenance

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"runtime"
	"sync"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"

	"quadshare/internal/par"
)

// Batch verification of Ed25519 signatures (Bernstein, Duif, Lange, Schwabe, Yang,
// "High-speed high-security signatures", 2011, §5; the equation of RFC 8032 §5.1.7).
// A signature (R, s) of message M by key A verifies when [8][s]B = [8]R + [8][k]A,
// with k = SHA-512(R || A || M) mod L. For n signatures and independent random
// 128-bit coefficients z_i, the batch verifies when
//
//	[8]( [-Σ z_i s_i]B + Σ [z_i]R_i + Σ_A [Σ_{i of A} z_i k_i]A ) = 0
//
// which one multi-scalar multiplication computes: the B terms collapse into one,
// and so do the A terms of each key (the objects of one envelope are mostly signed
// by one node). A batch containing a signature that does not satisfy the equation
// passes with probability at most about 2^-128. When a batch fails, each of its
// signatures is verified singly with crypto/ed25519, which decides.
//
// crypto/ed25519 checks the equation without the factor 8 (it compares the
// encoding of [s]B - [k]A with R). The two agree on every signature but those whose
// R has a component of small order (docs/federation.md, Batch verification); a key
// with such a component, a non-canonical R or s, or anything that does not decode
// is left to crypto/ed25519 here, so that only that one case differs.

// sigCheck is one Ed25519 signature to verify.
type sigCheck struct {
	pub ed25519.PublicKey
	msg []byte
	sig []byte
}

// batchChunk bounds the signatures of one batch equation: a failure costs the
// single verification of a chunk, and chunks are shared among the CPUs.
const batchChunk = 128

// minBatch is the fewest signatures worth a batch: a batch costs about two single
// verifications whatever its size (the check of the key, the doublings of the
// multi-scalar multiplication), then about a quarter of one per signature; fewer
// are verified singly.
const minBatch = 4

// verifyBatch reports, for each check, whether its signature verifies. A true is
// given by the batch equation or by crypto/ed25519.Verify; a false always by
// crypto/ed25519.Verify (or a key of the wrong length).
func verifyBatch(checks []sigCheck) []bool {
	ok := make([]bool, len(checks))
	if len(checks) < minBatch {
		for i, c := range checks {
			ok[i] = verifySingle(c)
		}
		return ok
	}
	keys := decodeKeys(checks)
	var chunks [][2]int
	size := min(batchChunk, max(8, (len(checks)+runtime.GOMAXPROCS(0)-1)/runtime.GOMAXPROCS(0)))
	for i := 0; i < len(checks); i += size {
		chunks = append(chunks, [2]int{i, min(i+size, len(checks))})
	}
	par.Each(len(chunks), 1, func(i int) {
		c := chunks[i]
		verifyChunk(checks[c[0]:c[1]], keys, ok[c[0]:c[1]])
	})
	return ok
}

// batchKey is a public key decoded for the batch; nil when its signatures are
// left to crypto/ed25519 (it does not decode, or it has a component of small
// order).
type batchKey = *edwards25519.Point

// decodeKeys decodes each distinct public key of checks once.
func decodeKeys(checks []sigCheck) map[string]batchKey {
	keys := map[string]batchKey{}
	for _, c := range checks {
		if len(c.pub) != ed25519.PublicKeySize {
			continue
		}
		if _, ok := keys[string(c.pub)]; ok {
			continue
		}
		var p batchKey
		if a, err := new(edwards25519.Point).SetBytes(c.pub); err == nil && torsionFree(a) {
			p = a
		}
		keys[string(c.pub)] = p
	}
	return keys
}

// inverseOf8 is 8^-1 mod L.
var inverseOf8 = sync.OnceValue(func() *edwards25519.Scalar {
	var b [32]byte
	b[0] = 8
	eight, err := new(edwards25519.Scalar).SetCanonicalBytes(b[:])
	if err != nil {
		panic(err)
	}
	return new(edwards25519.Scalar).Invert(eight)
})

// torsionFree reports whether p is in the subgroup of prime order L: p = P + T with
// T of order dividing 8, and [8]([8^-1 mod L]p) = P, which is p when T is 0.
func torsionFree(p *edwards25519.Point) bool {
	q := new(edwards25519.Point).ScalarMult(inverseOf8(), p)
	return q.MultByCofactor(q).Equal(p) == 1
}

// verifyChunk verifies checks with one batch equation, and singly those the batch
// leaves out or when it fails; ok receives the results.
func verifyChunk(checks []sigCheck, keys map[string]batchKey, ok []bool) {
	n := len(checks)
	random := make([]byte, 16*n)
	rand.Read(random) // never fails (crypto/rand)
	var (
		bsum    = edwards25519.NewScalar() // Σ z_i s_i
		points  = make([]*edwards25519.Point, 0, n+2)
		scalars = make([]*edwards25519.Scalar, 0, n+2)
		perKey  = map[batchKey]*edwards25519.Scalar{} // Σ z_i k_i for each key
		inBatch = make([]int, 0, n)
		single  []int
	)
	points, scalars = append(points, edwards25519.NewGeneratorPoint()), append(scalars, bsum)
	var buf [64]byte
	for i, c := range checks {
		a := keys[string(c.pub)]
		if a == nil || len(c.sig) != ed25519.SignatureSize {
			single = append(single, i)
			continue
		}
		s, err := new(edwards25519.Scalar).SetCanonicalBytes(c.sig[32:])
		if err != nil {
			single = append(single, i)
			continue
		}
		r, canon := canonicalPoint(c.sig[:32])
		if !canon {
			single = append(single, i)
			continue
		}
		h := sha512.New()
		h.Write(c.sig[:32])
		h.Write(c.pub)
		h.Write(c.msg)
		k, _ := new(edwards25519.Scalar).SetUniformBytes(h.Sum(buf[:0]))
		clear(buf[:])
		copy(buf[:16], random[16*i:16*i+16])
		z, _ := new(edwards25519.Scalar).SetCanonicalBytes(buf[:32]) // < 2^128 < L
		bsum.MultiplyAdd(z, s, bsum)
		sum := perKey[a]
		if sum == nil {
			sum = edwards25519.NewScalar()
			perKey[a] = sum
			points, scalars = append(points, a), append(scalars, sum)
		}
		sum.MultiplyAdd(z, k, sum)
		points, scalars = append(points, r), append(scalars, z)
		inBatch = append(inBatch, i)
	}
	bsum.Negate(bsum)
	if len(inBatch) > 0 {
		v := new(edwards25519.Point).VarTimeMultiScalarMult(scalars, points)
		if v.MultByCofactor(v).Equal(edwards25519.NewIdentityPoint()) == 1 {
			for _, i := range inBatch {
				ok[i] = true
			}
		} else {
			single = append(single, inBatch...)
		}
	}
	for _, i := range single {
		ok[i] = verifySingle(checks[i])
	}
}

// verifySingle verifies one signature with crypto/ed25519.
func verifySingle(c sigCheck) bool {
	return len(c.pub) == ed25519.PublicKeySize && ed25519.Verify(c.pub, c.msg, c.sig)
}

// canonicalPoint decodes the point b when it is the canonical encoding of one (its
// y below 2^255-19, and no sign for an x of 0): crypto/ed25519 compares R with the
// canonical encoding it computes, so it rejects any other.
func canonicalPoint(b []byte) (*edwards25519.Point, bool) {
	y, err := new(field.Element).SetBytes(b) // reads the low 255 bits, reduced
	if err != nil {
		return nil, false
	}
	yb := y.Bytes()
	for i := range 31 {
		if yb[i] != b[i] {
			return nil, false
		}
	}
	if yb[31] != b[31]&0x7f {
		return nil, false
	}
	p, err := new(edwards25519.Point).SetBytes(b)
	if err != nil {
		return nil, false
	}
	if x, _, _, _ := p.ExtendedCoordinates(); b[31]>>7 == 1 && x.Equal(new(field.Element)) == 1 {
		return nil, false
	}
	return p, true
}
