package provenance

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"fmt"
	"strings"
	"testing"

	"filippo.io/edwards25519"

	"quadshare/internal/stix"
)

// rawSigner signs with the scalar and nonce chosen by the test, so that it can write
// what crypto/ed25519 never does (a key or an R with a component of small order).
type rawSigner struct {
	a   *edwards25519.Scalar // secret scalar
	pub []byte               // encoding of [a]B + torsion
}

func newRawSigner(t *testing.T, torsion *edwards25519.Point) rawSigner {
	t.Helper()
	seed := make([]byte, 32)
	rand.Read(seed)
	h := sha512.Sum512(seed)
	a, err := new(edwards25519.Scalar).SetBytesWithClamping(h[:32])
	if err != nil {
		t.Fatal(err)
	}
	p := new(edwards25519.Point).ScalarBaseMult(a)
	if torsion != nil {
		p.Add(p, torsion)
	}
	return rawSigner{a: a, pub: p.Bytes()}
}

// sign returns (R, s) with R = [r]B + torsion and s = r + k a.
func (rs rawSigner) sign(msg []byte, torsion *edwards25519.Point) []byte {
	var rb [64]byte
	rand.Read(rb[:])
	r, _ := new(edwards25519.Scalar).SetUniformBytes(rb[:])
	R := new(edwards25519.Point).ScalarBaseMult(r)
	if torsion != nil {
		R.Add(R, torsion)
	}
	h := sha512.New()
	h.Write(R.Bytes())
	h.Write(rs.pub)
	h.Write(msg)
	k, _ := new(edwards25519.Scalar).SetUniformBytes(h.Sum(nil))
	s := new(edwards25519.Scalar).MultiplyAdd(k, rs.a, r)
	return append(R.Bytes(), s.Bytes()...)
}

// signIdentity returns a signature with r = 0: R is the identity, written as enc
// (one of its non-canonical encodings), and s = k a. The equation holds; only the
// encoding of R is wrong.
func (rs rawSigner) signIdentity(msg, enc []byte) []byte {
	h := sha512.New()
	h.Write(enc)
	h.Write(rs.pub)
	h.Write(msg)
	k, _ := new(edwards25519.Scalar).SetUniformBytes(h.Sum(nil))
	s := new(edwards25519.Scalar).Multiply(k, rs.a)
	return append(bytes.Clone(enc), s.Bytes()...)
}

// smallOrder returns the point of order 2 (0, -1) and one of order 4 (√-1, 0).
func smallOrder(t *testing.T) (two, four *edwards25519.Point) {
	t.Helper()
	enc := bytes.Repeat([]byte{0xff}, 32)
	enc[0], enc[31] = 0xec, 0x7f // y = p-1
	two, err := new(edwards25519.Point).SetBytes(enc)
	if err != nil {
		t.Fatal(err)
	}
	four, err = new(edwards25519.Point).SetBytes(make([]byte, 32)) // y = 0
	if err != nil {
		t.Fatal(err)
	}
	id := edwards25519.NewIdentityPoint()
	if new(edwards25519.Point).Add(two, two).Equal(id) != 1 || new(edwards25519.Point).MultByCofactor(four).Equal(id) != 1 ||
		new(edwards25519.Point).Add(four, four).Equal(id) == 1 {
		t.Fatal("small-order points are not of order 2 and 4")
	}
	return two, four
}

// addL returns the 32-byte little-endian s + L (non-canonical: crypto/ed25519
// refuses it).
func addL(s []byte) []byte {
	l := [32]byte{0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 31: 0x10}
	out := make([]byte, 32)
	carry := 0
	for i := range 32 {
		v := int(s[i]) + int(l[i]) + carry
		out[i], carry = byte(v), v>>8
	}
	return out
}

// undecodable returns a canonical y that is the y of no point.
func undecodable(t *testing.T) []byte {
	for y := byte(2); y < 255; y++ {
		enc := make([]byte, 32)
		enc[0] = y
		if _, err := new(edwards25519.Point).SetBytes(enc); err != nil {
			return enc
		}
	}
	t.Fatal("every small y decodes")
	return nil
}

type sigCase struct {
	name  string
	check sigCheck
	// batchOnly: the one documented difference: crypto/ed25519 refuses it, the
	// cofactored batch equation accepts it.
	batchOnly bool
}

// sigCases returns valid and invalid signatures of every kind, from several keys.
func sigCases(t *testing.T) []sigCase {
	two, four := smallOrder(t)
	var cases []sigCase
	add := func(name string, pub ed25519.PublicKey, msg, sig []byte) {
		cases = append(cases, sigCase{name: name, check: sigCheck{pub: pub, msg: msg, sig: sig}})
	}
	var keys []ed25519.PrivateKey
	for range 3 {
		_, k, _ := ed25519.GenerateKey(rand.Reader)
		keys = append(keys, k)
	}
	for i := range 60 {
		k := keys[i%len(keys)]
		pub := k.Public().(ed25519.PublicKey)
		msg := fmt.Appendf(nil, "message %d of the batch test", i)
		sig := ed25519.Sign(k, msg)
		mut := func(f func(b []byte)) []byte { b := bytes.Clone(sig); f(b); return b }
		add("valid", pub, msg, sig)
		switch i % 10 {
		case 0:
			add("tampered message", pub, append(bytes.Clone(msg), '!'), sig)
		case 1:
			add("tampered R", pub, msg, mut(func(b []byte) { b[3] ^= 0x10 }))
		case 2:
			add("tampered s", pub, msg, mut(func(b []byte) { b[40] ^= 0x01 }))
		case 3:
			add("s >= L", pub, msg, append(bytes.Clone(sig[:32]), addL(sig[32:])...))
		case 4:
			add("wrong key", keys[(i+1)%len(keys)].Public().(ed25519.PublicKey), msg, sig)
		case 5:
			add("R that does not decode", pub, msg, append(undecodable(t), sig[32:]...))
		case 6:
			enc := make([]byte, 32)
			enc[0] = 0xee // y = 1 + p: the identity, written non-canonically
			for j := 1; j < 31; j++ {
				enc[j] = 0xff
			}
			enc[31] = 0x7f
			add("R non-canonical", pub, msg, append(enc, sig[32:]...))
		case 7:
			add("R of small order", pub, msg, append(two.Bytes(), sig[32:]...))
		case 8:
			add("short signature", pub, msg, sig[:63])
		case 9:
			add("s zero", pub, msg, append(bytes.Clone(sig[:32]), make([]byte, 32)...))
		}
	}
	// A key with a component of small order: left to crypto/ed25519, which accepts
	// those whose k is even (kT = 0) and refuses the rest.
	tk := newRawSigner(t, two)
	for i := range 16 {
		msg := fmt.Appendf(nil, "torsion key %d", i)
		add("key with a component of order 2", tk.pub, msg, tk.sign(msg, nil))
	}
	// R with a component of small order, key clean: the cofactored equation accepts,
	// crypto/ed25519 refuses.
	clean := newRawSigner(t, nil)
	for i, tp := range []*edwards25519.Point{two, four} {
		msg := fmt.Appendf(nil, "torsion R %d", i)
		cases = append(cases, sigCase{name: "R with a component of small order",
			check: sigCheck{pub: clean.pub, msg: msg, sig: clean.sign(msg, tp)}, batchOnly: true})
		msg2 := fmt.Appendf(nil, "clean R %d", i)
		add("valid, written by hand", clean.pub, msg2, clean.sign(msg2, nil))
	}
	// R the identity, encoded as y = 1 + p, or with the sign of an x of 0.
	onePlusP := bytes.Repeat([]byte{0xff}, 32)
	onePlusP[0], onePlusP[31] = 0xee, 0x7f
	negZero := make([]byte, 32)
	negZero[0], negZero[31] = 1, 0x80
	for _, enc := range [][]byte{onePlusP, negZero} {
		if _, err := new(edwards25519.Point).SetBytes(enc); err != nil {
			t.Fatal(err)
		}
		msg := fmt.Appendf(nil, "identity R %x", enc)
		add("R non-canonical, equation holds", clean.pub, msg, clean.signIdentity(msg, enc))
	}
	return cases
}

func want(c sigCase) bool {
	if c.batchOnly {
		return true
	}
	return len(c.check.pub) == ed25519.PublicKeySize && ed25519.Verify(c.check.pub, c.check.msg, c.check.sig)
}

// The batch gives crypto/ed25519's answer for every signature, alone, all together
// and one bad among good ones, but for the one documented difference.
func TestVerifyBatchAgreesWithStdlib(t *testing.T) {
	cases := sigCases(t)
	var nValid, nInvalid, nTorsionKeyValid int
	for _, c := range cases {
		if want(c) {
			nValid++
		} else {
			nInvalid++
		}
		if strings.HasPrefix(c.name, "key with") && want(c) {
			nTorsionKeyValid++
		}
		if c.batchOnly && ed25519.Verify(c.check.pub, c.check.msg, c.check.sig) {
			t.Fatalf("%s: crypto/ed25519 accepts it: the case does not test the difference", c.name)
		}
	}
	if nValid < 60 || nInvalid < 30 || nTorsionKeyValid == 0 || nTorsionKeyValid == 16 {
		t.Fatalf("cases: %d valid, %d invalid, %d of 16 valid with a torsion key", nValid, nInvalid, nTorsionKeyValid)
	}
	// In a batch that fails, the documented difference is decided by crypto/ed25519
	// (refused); alone, or among good signatures, by the batch (accepted).
	checkAll := func(t *testing.T, cs []sigCase, batchFails bool) {
		t.Helper()
		checks := make([]sigCheck, len(cs))
		for i, c := range cs {
			checks[i] = c.check
		}
		got := verifyBatch(checks)
		for i, c := range cs {
			if c.batchOnly && batchFails {
				if got[i] {
					t.Errorf("%d %s: accepted though its batch failed", i, c.name)
				}
				continue
			}
			if got[i] != want(c) {
				t.Errorf("%d %s: batch says %t, want %t", i, c.name, got[i], want(c))
			}
		}
	}
	var good, torsionR []sigCase
	for _, c := range cases {
		switch {
		case c.batchOnly:
			torsionR = append(torsionR, c)
		case want(c) && !strings.HasPrefix(c.name, "key with"):
			good = append(good, c)
		}
	}
	t.Run("all together", func(t *testing.T) { checkAll(t, cases, true) })
	t.Run("one by one", func(t *testing.T) { // too few for a batch: crypto/ed25519 decides
		for _, c := range cases {
			checkAll(t, []sigCase{c}, true)
		}
	})
	t.Run("each among good ones", func(t *testing.T) {
		for _, c := range cases {
			checkAll(t, append([]sigCase{c}, good[:minBatch]...), !want(c))
		}
	})
	t.Run("one bad in the middle", func(t *testing.T) {
		for _, c := range cases {
			if want(c) {
				continue
			}
			mid := len(good) / 2
			checkAll(t, append(append(append([]sigCase{}, good[:mid]...), c), good[mid:]...), true)
		}
	})
	t.Run("small-order R among good ones", func(t *testing.T) {
		checkAll(t, append(append([]sigCase{}, good...), torsionR...), false)
	})
}

// A batch fails as a whole when one signature is bad, and the fallback finds it.
func TestVerifyBatchFallback(t *testing.T) {
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	pub := k.Public().(ed25519.PublicKey)
	checks := make([]sigCheck, 300) // several chunks
	for i := range checks {
		msg := fmt.Appendf(nil, "object %d", i)
		checks[i] = sigCheck{pub: pub, msg: msg, sig: ed25519.Sign(k, msg)}
	}
	checks[150].msg = []byte("altered in transit")
	got := verifyBatch(checks)
	for i, ok := range got {
		if ok != (i != 150) {
			t.Errorf("%d: %t", i, ok)
		}
	}
}

// VerifyAll gives each object Verify's answer.
func TestVerifyAllAgreesWithVerify(t *testing.T) {
	jp, us := newSigner(t, "JP"), newSigner(t, "US")
	var raws [][]byte
	for i := range 200 {
		s := []*Signer{jp, us}[i%2]
		obj := strings.Replace(indicator, "bad domain", fmt.Sprintf("bad domain %d", i), 1)
		signed, err := s.Sign([]byte(obj))
		if err != nil {
			t.Fatal(err)
		}
		switch i {
		case 17:
			signed = bytes.Replace(signed, []byte("evil.example"), []byte("evil.example.org"), 1)
		case 100:
			signed = bytes.Replace(signed, []byte(`"node":"JP"`), []byte(`"node":"US"`), 1)
		case 101:
			signed = []byte(indicator)
		}
		raws = append(raws, signed)
	}
	keys := keysOf(jp, us)
	exts, errs := VerifyAll(raws, nil, keys)
	// and with the canonical forms from the parse of the caller
	canons := make([][]byte, len(raws))
	for i, raw := range raws {
		if _, c, err := stix.ParseCanonical(raw); err == nil {
			canons[i] = c
		}
	}
	cexts, cerrs := VerifyAll(raws, canons, keys)
	for i, raw := range raws {
		ext, err := Verify(raw, keys)
		if fmt.Sprint(errs[i]) != fmt.Sprint(err) || exts[i].KeyID != ext.KeyID {
			t.Errorf("%d: VerifyAll %v, Verify %v", i, errs[i], err)
		}
		if fmt.Sprint(cerrs[i]) != fmt.Sprint(err) || cexts[i].KeyID != ext.KeyID {
			t.Errorf("%d: VerifyAll with canonical forms %v, Verify %v", i, cerrs[i], err)
		}
		if bad := i == 17 || i == 100 || i == 101; bad == (err == nil) {
			t.Errorf("%d: Verify says %v", i, err)
		}
	}
}
