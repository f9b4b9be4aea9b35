package audit

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

// TestPropertySingleTampering chains random trails of random length, applies
// one random tampering, and checks that Verify finds it where it was done. A
// checkpoint of the last record is always signed, so nothing is beyond reach.
func TestPropertySingleTampering(t *testing.T) {
	pub, priv := testKey(t, 1)
	iters := 300
	if testing.Short() {
		iters = 50
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 42))
	seed := rng.Uint64()
	t.Logf("seed %d", seed)
	rng = rand.New(rand.NewPCG(seed, 1))
	kinds := []string{"edit", "delete", "swap", "rehash", "prev", "hash", "forge", "cpswap"}
	for it := range iters {
		n := 1 + rng.IntN(600)
		every := int64(1 + rng.IntN(200))
		m := buildTrail(t, rng, priv, n, every, true)
		last := int64(n)
		s := 1 + rng.Int64N(last)
		what := kinds[rng.IntN(len(kinds))]
		var wantSeq int64
		var wantKind ProblemKind
		switch what {
		case "edit":
			r := m.at(t, s)
			switch rng.IntN(6) {
			case 0:
				r.Actor += "x"
			case 1:
				r.Time = r.Time.Add(time.Duration(1+rng.IntN(1000)) * time.Microsecond)
			case 2:
				r.Kind = r.Kind + "s"
			case 3:
				r.Rule += "!"
			case 4:
				r.Objects = append(append([]ObjectRef(nil), r.Objects...), ObjectRef{ID: "tool--1"})
			case 5:
				r.Detail = []byte(`{"forged":true}`)
			}
			wantSeq, wantKind = s, Edited
		case "delete":
			m.deleteSeq(t, s)
			wantSeq, wantKind = s, Missing
			if s == last {
				wantKind = Truncated
			}
		case "swap":
			if last < 2 {
				continue
			}
			s = min(s, last-1)
			m.at(t, s).Seq, m.at(t, s+1).Seq = s+1, s
			m.sortRecs()
			wantSeq, wantKind = s, Reordered
		case "rehash":
			r := m.at(t, s)
			r.Subject += "y"
			rehash(t, r)
			// The next record's link breaks; the last one is caught by its checkpoint.
			wantSeq, wantKind = s+1, BrokenLink
			if s == last || Due(s, every) {
				wantSeq, wantKind = s, CheckpointMismatch
			}
		case "prev":
			m.at(t, s).PrevHash[rng.IntN(HashSize)] ^= 1 << rng.IntN(8)
			wantSeq, wantKind = s, BrokenLink
		case "hash":
			m.at(t, s).Hash[rng.IntN(HashSize)] ^= 1 << rng.IntN(8)
			wantSeq, wantKind = s, Edited
		case "forge":
			c := &m.cps[rng.IntN(len(m.cps))]
			c.Signature[rng.IntN(len(c.Signature))] ^= 1 << rng.IntN(8)
			wantSeq, wantKind = c.Seq, BadSignature
		case "cpswap":
			if len(m.cps) < 2 {
				continue
			}
			i := rng.IntN(len(m.cps) - 1)
			m.cps[i].Hash, m.cps[i+1].Hash = m.cps[i+1].Hash, m.cps[i].Hash
			wantSeq, wantKind = m.cps[i].Seq, BadSignature
		}
		rep, err := Verify(context.Background(), m, pub)
		if err != nil {
			t.Fatal(err)
		}
		first, ok := rep.First()
		if !ok {
			t.Fatalf("iteration %d (n=%d every=%d): %s at %d not detected", it, n, every, what, s)
		}
		if first.Seq != wantSeq || first.Kind != wantKind {
			t.Fatalf("iteration %d (n=%d every=%d): %s at %d: first problem %s, want seq %d %s",
				it, n, every, what, s, first, wantSeq, wantKind)
		}
	}
}
