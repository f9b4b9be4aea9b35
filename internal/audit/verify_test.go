package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestVerifyIntact(t *testing.T) {
	pub, priv := testKey(t, 1)
	for _, n := range []int{0, 1, 2, 999, 1000, 1001, 2500} {
		m := buildTrail(t, rand.New(rand.NewPCG(uint64(n), 1)), priv, n, 100, false)
		rep, err := Verify(context.Background(), m, pub)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			t.Fatalf("n=%d: intact trail reported: %s", n, rep)
		}
		if rep.Records != int64(n) || rep.LastSeq != int64(n) {
			t.Errorf("n=%d: read %d records, last seq %d", n, rep.Records, rep.LastSeq)
		}
		if want := int64(n / 100); rep.Verified != want || rep.Checkpoints != want {
			t.Errorf("n=%d: %d checkpoints read, %d verified, want %d", n, rep.Checkpoints, rep.Verified, want)
		}
		if n > 0 && rep.LastHash != m.recs[n-1].Hash {
			t.Errorf("n=%d: last hash %s, want %s", n, rep.LastHash, m.recs[n-1].Hash)
		}
	}
}

func TestVerifyTampering(t *testing.T) {
	pub, priv := testKey(t, 1)
	_, otherPriv := testKey(t, 2)
	const n, every = 50, 10
	tests := []struct {
		name   string
		tamper func(t *testing.T, m *memTrail)
		seq    int64
		kind   ProblemKind
		total  int64 // 0: do not check
	}{
		{"edit actor", func(t *testing.T, m *memTrail) { m.at(t, 17).Actor = "user:mallory" }, 17, Edited, 1},
		{"edit subject", func(t *testing.T, m *memTrail) { m.at(t, 17).Subject += "x" }, 17, Edited, 1},
		{"edit rule", func(t *testing.T, m *memTrail) { m.at(t, 17).Rule = "agreement:none" }, 17, Edited, 1},
		{"edit kind", func(t *testing.T, m *memTrail) { m.at(t, 17).Kind = "receipt-x" }, 17, Edited, 1},
		{"edit time by 1µs", func(t *testing.T, m *memTrail) { r := m.at(t, 17); r.Time = r.Time.Add(time.Microsecond) }, 17, Edited, 1},
		{"edit detail", func(t *testing.T, m *memTrail) { m.at(t, 17).Detail = []byte(`{"n":1}`) }, 17, Edited, 1},
		{"drop detail", func(t *testing.T, m *memTrail) {
			r := m.at(t, 17)
			if r.Detail == nil {
				r.Detail = []byte(`{"x":true}`)
			} else {
				r.Detail = nil
			}
		}, 17, Edited, 1},
		{"add object", func(t *testing.T, m *memTrail) {
			r := m.at(t, 17)
			r.Objects = append(append([]ObjectRef(nil), r.Objects...), ObjectRef{ID: "malware--x"})
		}, 17, Edited, 1},
		{"edit seq field only", func(t *testing.T, m *memTrail) { m.at(t, 17).Seq = 170; m.sortRecs() }, 17, Missing, 3},
		{"edit prev hash", func(t *testing.T, m *memTrail) { m.at(t, 17).PrevHash[0] ^= 1 }, 17, BrokenLink, 2},
		{"edit stored hash", func(t *testing.T, m *memTrail) { m.at(t, 17).Hash[31] ^= 1 }, 17, Edited, 2},
		{"edit and rehash", func(t *testing.T, m *memTrail) {
			r := m.at(t, 17)
			r.Actor = "user:mallory"
			rehash(t, r)
		}, 18, BrokenLink, 1},
		{"edit and rehash a checkpointed record", func(t *testing.T, m *memTrail) {
			r := m.at(t, 20)
			r.Actor = "user:mallory"
			rehash(t, r)
		}, 20, CheckpointMismatch, 0},
		{"rewrite the tail without the key", func(t *testing.T, m *memTrail) {
			m.at(t, 17).Actor = "user:mallory"
			for s := int64(17); s <= n; s++ {
				r := m.at(t, s)
				if s > 17 {
					r.PrevHash = m.at(t, s-1).Hash
				}
				rehash(t, r)
			}
		}, 20, CheckpointMismatch, 4},
		{"delete one", func(t *testing.T, m *memTrail) { m.deleteSeq(t, 17) }, 17, Missing, 1},
		{"delete four", func(t *testing.T, m *memTrail) {
			for s := int64(17); s <= 20; s++ {
				m.deleteSeq(t, s)
			}
		}, 17, Missing, 2},
		{"delete the first", func(t *testing.T, m *memTrail) { m.deleteSeq(t, 1) }, 1, Missing, 1},
		{"delete a checkpointed record", func(t *testing.T, m *memTrail) { m.deleteSeq(t, 30) }, 30, Missing, 2},
		{"delete and renumber", func(t *testing.T, m *memTrail) {
			m.deleteSeq(t, 17)
			for i := range m.recs {
				if m.recs[i].Seq > 17 {
					m.recs[i].Seq--
				}
			}
		}, 17, BrokenLink, 0},
		{"swap rows 17 and 18", func(t *testing.T, m *memTrail) {
			m.at(t, 17).Seq, m.at(t, 18).Seq = 18, 17
			m.sortRecs()
		}, 17, Reordered, 1},
		{"swap rows 19 and 20 across a checkpoint", func(t *testing.T, m *memTrail) {
			m.at(t, 19).Seq, m.at(t, 20).Seq = 20, 19
			m.sortRecs()
		}, 19, Reordered, 1},
		{"swap rows 19 and 20 and forge checkpoint 20", func(t *testing.T, m *memTrail) {
			m.at(t, 19).Seq, m.at(t, 20).Seq = 20, 19
			m.sortRecs()
			m.cpAt(t, 20).Signature[5] ^= 1
		}, 19, Reordered, 2},
		{"swap rows 1 and 2", func(t *testing.T, m *memTrail) {
			m.at(t, 1).Seq, m.at(t, 2).Seq = 2, 1
			m.sortRecs()
		}, 1, Reordered, 1},
		{"swap contents of 17 and 18, seq and hashes kept", func(t *testing.T, m *memTrail) {
			a, b := m.at(t, 17), m.at(t, 18)
			a.Entry, b.Entry = b.Entry, a.Entry
		}, 17, Edited, 2},
		{"swap rows 17 and 19", func(t *testing.T, m *memTrail) {
			m.at(t, 17).Seq, m.at(t, 19).Seq = 19, 17
			m.sortRecs()
		}, 17, BrokenLink, 0},
		{"source out of order", func(t *testing.T, m *memTrail) {
			m.unordered = true
			m.recs[16], m.recs[17] = m.recs[17], m.recs[16]
		}, 17, Missing, 0},
		{"duplicate row", func(t *testing.T, m *memTrail) {
			m.unordered = true
			m.recs = append(m.recs[:18:18], m.recs[17:]...)
		}, 18, Reordered, 1},
		{"truncate the tail", func(t *testing.T, m *memTrail) { m.recs = m.recs[:45] }, 46, Truncated, 1},
		{"truncate everything", func(t *testing.T, m *memTrail) { m.recs = nil }, 1, Truncated, 1},
		{"truncate to a checkpoint and drop the later ones", func(t *testing.T, m *memTrail) {
			m.recs = m.recs[:30]
			m.cps = m.cps[:2] // 10, 20: 30 stays... drop it too
		}, 0, "", -1},
		{"forge checkpoint hash", func(t *testing.T, m *memTrail) { m.cpAt(t, 30).Hash[0] ^= 1 }, 30, BadSignature, 1},
		{"forge checkpoint seq", func(t *testing.T, m *memTrail) {
			c := m.cpAt(t, 30)
			c.Seq, c.Hash = 31, m.at(t, 31).Hash
		}, 31, BadSignature, 1},
		{"forge checkpoint time", func(t *testing.T, m *memTrail) {
			c := m.cpAt(t, 30)
			c.Time = c.Time.Add(time.Hour)
		}, 30, BadSignature, 1},
		{"checkpoint signed by another key", func(t *testing.T, m *memTrail) {
			c, err := Sign(otherPriv, *m.at(t, 30), t0)
			if err != nil {
				t.Fatal(err)
			}
			*m.cpAt(t, 30) = c
		}, 30, BadSignature, 1},
		{"short signature", func(t *testing.T, m *memTrail) { m.cpAt(t, 30).Signature = m.cpAt(t, 30).Signature[:63] }, 30, BadSignature, 1},
		{"replay a checkpoint from another chain", func(t *testing.T, m *memTrail) {
			other := buildTrail(t, rand.New(rand.NewPCG(99, 99)), priv, n, every, false)
			*m.cpAt(t, 30) = *other.cpAt(t, 30)
		}, 30, CheckpointMismatch, 1},
		{"replay a later checkpoint from another chain", func(t *testing.T, m *memTrail) {
			other := buildTrail(t, rand.New(rand.NewPCG(99, 99)), priv, n+20, every, false)
			m.cps = append(m.cps, *other.cpAt(t, 60))
		}, 51, Truncated, 1},
		{"malformed time", func(t *testing.T, m *memTrail) { m.at(t, 17).Time = m.at(t, 17).Time.Add(1) }, 17, Malformed, 1},
		{"malformed actor", func(t *testing.T, m *memTrail) { m.at(t, 17).Actor = "a\x00b" }, 17, Malformed, 1},
		{"malformed detail", func(t *testing.T, m *memTrail) { m.at(t, 17).Detail = []byte(`[1]`) }, 17, Malformed, 1},
		{"detail beyond the limit", func(t *testing.T, m *memTrail) {
			m.at(t, 17).Detail = []byte(`{"a":"` + strings.Repeat("x", MaxDetail) + `"}`)
		}, 17, Malformed, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := buildTrail(t, rand.New(rand.NewPCG(7, 7)), priv, n, every, false)
			tt.tamper(t, m)
			rep, err := Verify(context.Background(), m, pub)
			if err != nil {
				t.Fatal(err)
			}
			if tt.total < 0 {
				if !rep.OK() {
					t.Fatalf("known limit: expected no finding, got %s", rep)
				}
				return
			}
			first, ok := rep.First()
			if !ok {
				t.Fatalf("tampering not detected: %s", rep)
			}
			if first.Seq != tt.seq || first.Kind != tt.kind {
				t.Errorf("first problem %s, want seq %d %s; all: %v", first, tt.seq, tt.kind, rep.Problems)
			}
			if tt.total > 0 && rep.Total != tt.total {
				t.Errorf("%d problems, want %d: %v", rep.Total, tt.total, rep.Problems)
			}
			var sum int64
			for _, c := range rep.Counts {
				sum += c
			}
			if sum != rep.Total {
				t.Errorf("counts sum to %d, total %d", sum, rep.Total)
			}
			if !strings.Contains(rep.String(), string(first.Kind)) {
				t.Errorf("report text %q lacks the first problem", rep.String())
			}
		})
	}
}

// TestVerifyDetailReformatted: a store that keeps the detail in another JSON
// form (indented, members reordered as jsonb does) still verifies; a change of
// value does not.
func TestVerifyDetailReformatted(t *testing.T) {
	pub, priv := testKey(t, 1)
	m := buildTrail(t, rand.New(rand.NewPCG(6, 6)), priv, 40, 10, false)
	n := 0
	for i := range m.recs {
		r := &m.recs[i]
		if r.Detail == nil {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal(r.Detail, &v); err != nil {
			t.Fatal(err)
		}
		b, err := json.MarshalIndent(v, "", "   ")
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.Replace(b, []byte(`{`), []byte("{\n  \"zz\": 1,"), 1)
		if n%2 == 0 {
			b = bytes.Replace(b, []byte(`"zz": 1,`), nil, 1) // same value, other form
		}
		r.Detail = b
		n++
	}
	rep, err := Verify(context.Background(), m, pub)
	if err != nil {
		t.Fatal(err)
	}
	if n < 4 {
		t.Fatalf("only %d records with a detail", n)
	}
	want := int64(n / 2)
	if rep.Counts[Edited] != want || rep.Total != want {
		t.Fatalf("%d details reformatted, %d with a member added: report %v", n, want, rep.Counts)
	}
}

// TestVerifyTailAfterLastCheckpoint documents the limit: records after the
// last checkpoint can be removed unseen.
func TestVerifyTailAfterLastCheckpoint(t *testing.T) {
	pub, priv := testKey(t, 1)
	m := buildTrail(t, rand.New(rand.NewPCG(3, 3)), priv, 55, 10, false)
	m.recs = m.recs[:50]
	rep, err := Verify(context.Background(), m, pub)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.LastSeq != 50 || rep.LastCheckpoint != 50 {
		t.Fatalf("want an intact-looking trail ending at the checkpoint 50, got %s", rep)
	}
}

func TestVerifyManyProblemsBounded(t *testing.T) {
	pub, priv := testKey(t, 1)
	m := buildTrail(t, rand.New(rand.NewPCG(4, 4)), priv, 3000, 100, false)
	for i := range m.recs {
		m.recs[i].Actor = "user:mallory"
	}
	rep, err := Verify(context.Background(), m, pub)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts[Edited] != 3000 || rep.Counts[CheckpointMismatch] != 0 || len(rep.Problems) != MaxReported {
		t.Fatalf("want 3000 edits listed up to %d, got %v (%d listed)", MaxReported, rep.Counts, len(rep.Problems))
	}
	if p := rep.Problems[0]; p.Seq != 1 {
		t.Errorf("first problem %s, want seq 1", p)
	}
}

type failingSource struct {
	memTrail
	failAfter int64
}

var errDisk = errors.New("disk on fire")

func (f *failingSource) Records(ctx context.Context, after int64, limit int) ([]Record, error) {
	if after >= f.failAfter {
		return nil, errDisk
	}
	return f.memTrail.Records(ctx, after, limit)
}

type stuckSource struct{ memTrail }

// Records always returns the first page, whatever is asked.
func (s *stuckSource) Records(ctx context.Context, after int64, limit int) ([]Record, error) {
	return s.memTrail.Records(ctx, 0, limit)
}

func TestVerifyErrors(t *testing.T) {
	pub, priv := testKey(t, 1)
	m := buildTrail(t, rand.New(rand.NewPCG(5, 5)), priv, 2500, 100, false)

	if _, err := Verify(context.Background(), m, pub[:31]); err == nil {
		t.Error("short public key accepted")
	}
	_, err := Verify(context.Background(), &failingSource{memTrail: *m, failAfter: 1000}, pub)
	if !errors.Is(err, errDisk) {
		t.Errorf("source failure: got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Verify(ctx, m, pub); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v", err)
	}
	done := make(chan error, 1)
	go func() { _, err := Verify(context.Background(), &stuckSource{*m}, pub); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a source that never advances must be an error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("verify loops on a source that never advances")
	}
}

// TestVerifyConstantMemory: Verify allocates the same for a trail ten times
// longer (the source here hands out its own slices, so this is the verifier's
// own memory).
func TestVerifyConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 22,000 records")
	}
	pub, priv := testKey(t, 1)
	allocs := func(n int) float64 {
		m := buildTrail(t, rand.New(rand.NewPCG(uint64(n), 0)), priv, n, 100, false)
		return testing.AllocsPerRun(2, func() {
			if rep, err := Verify(context.Background(), m, pub); err != nil || !rep.OK() {
				t.Fatalf("%v %v", rep, err)
			}
		})
	}
	small, large := allocs(2000), allocs(20000)
	if large > small {
		t.Fatalf("allocations grow with the trail: %v for 2,000 records, %v for 20,000", small, large)
	}
}
