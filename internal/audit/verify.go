package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
)

// Source is what Verify reads: a store's audit records and checkpoints, in
// pages. A store holds at most one checkpoint per seq.
type Source interface {
	// Records returns at most limit records with Seq > afterSeq in ascending
	// Seq order; fewer than limit only at the end.
	Records(ctx context.Context, afterSeq int64, limit int) ([]Record, error)
	// Checkpoints returns at most limit checkpoints with Seq > afterSeq in
	// ascending Seq order; fewer than limit only at the end.
	Checkpoints(ctx context.Context, afterSeq int64, limit int) ([]Checkpoint, error)
}

// PageSize is how many records or checkpoints Verify asks for at a time.
const PageSize = 1000

// MaxReported is how many problems a Report lists; it counts them all.
const MaxReported = 100

// ProblemKind names a way the trail can be found wrong.
type ProblemKind string

// The problems Verify finds.
const (
	// Edited: the record's content does not hash to its stored hash.
	Edited ProblemKind = "edited"
	// Missing: records are absent from the sequence (a gap in seq).
	Missing ProblemKind = "missing"
	// BrokenLink: the record does not name the stored hash of the record
	// before it: its predecessor is missing or was changed.
	BrokenLink ProblemKind = "broken-link"
	// Reordered: two neighbouring records exchanged places, or the source
	// returned records out of seq order.
	Reordered ProblemKind = "reordered"
	// Truncated: a signed checkpoint names a record after the last one.
	Truncated ProblemKind = "truncated"
	// BadSignature: a checkpoint whose signature does not verify.
	BadSignature ProblemKind = "bad-signature"
	// CheckpointMismatch: a correctly signed checkpoint disagrees with the
	// chain (different hash, or it names a missing record).
	CheckpointMismatch ProblemKind = "checkpoint-mismatch"
	// Malformed: a record that breaks the format (limits, time, kind syntax)
	// and so cannot be hashed.
	Malformed ProblemKind = "malformed"
)

// Problem is one finding, located by seq.
type Problem struct {
	Seq     int64
	Kind    ProblemKind
	Message string
}

func (p Problem) String() string { return fmt.Sprintf("seq %d: %s: %s", p.Seq, p.Kind, p.Message) }

// Report is the outcome of Verify.
type Report struct {
	Records     int64 // records read
	Checkpoints int64 // checkpoints read
	// Verified counts checkpoints with a good signature that agree with the chain.
	Verified int64
	// LastSeq and LastHash are those of the last record read.
	LastSeq  int64
	LastHash Hash
	// LastCheckpoint is the seq of the last checkpoint that verified and agreed.
	LastCheckpoint int64
	// Total counts every problem; Counts by kind; Problems lists the first
	// MaxReported in the order found.
	Total    int64
	Counts   map[ProblemKind]int64
	Problems []Problem
}

// OK reports whether no problem was found.
func (r *Report) OK() bool { return r.Total == 0 }

// First returns the first problem found, if any.
func (r *Report) First() (Problem, bool) {
	if len(r.Problems) == 0 {
		return Problem{}, false
	}
	return r.Problems[0], true
}

func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d records (last seq %d, hash %s), %d checkpoints (%d verified, last at seq %d): ",
		r.Records, r.LastSeq, r.LastHash, r.Checkpoints, r.Verified, r.LastCheckpoint)
	if r.OK() {
		b.WriteString("intact")
		return b.String()
	}
	fmt.Fprintf(&b, "%d problems; first: %s", r.Total, r.Problems[0])
	return b.String()
}

func (r *Report) add(p Problem) {
	r.Total++
	if r.Counts == nil {
		r.Counts = make(map[ProblemKind]int64)
	}
	r.Counts[p.Kind]++
	if len(r.Problems) < MaxReported {
		r.Problems = append(r.Problems, p)
	}
}

// Verify reads the whole trail from src in pages, recomputes every hash and
// link, checks every checkpoint's signature under pub and against the chain,
// and reports what it finds. Memory does not grow with the length of the
// trail. The error is for a failing source, a cancelled context or a bad key;
// findings about the trail are in the Report.
func Verify(ctx context.Context, src Source, pub ed25519.PublicKey) (*Report, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("audit: verify: public key has %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	v := &verifier{rep: &Report{}, cps: cpCursor{src: src, pub: pub}}
	var after int64
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("audit: verify: %w", err)
		}
		page, err := src.Records(ctx, after, PageSize)
		if err != nil {
			return nil, fmt.Errorf("audit: verify: records after %d: %w", after, err)
		}
		if len(page) > PageSize {
			return nil, fmt.Errorf("audit: verify: records after %d: source returned %d, asked for %d", after, len(page), PageSize)
		}
		progress := false
		for i := range page {
			r := &page[i]
			v.rep.Records++
			if r.Seq <= after {
				v.outOfOrder(Problem{r.Seq, Reordered, fmt.Sprintf("record %d returned after record %d", r.Seq, after)})
				continue
			}
			if err := v.record(ctx, r); err != nil {
				return nil, err
			}
			after, progress = r.Seq, true
		}
		if len(page) < PageSize {
			break
		}
		if !progress {
			return nil, fmt.Errorf("audit: verify: records after %d: source returned no later record", after)
		}
	}
	if err := v.finish(ctx); err != nil {
		return nil, err
	}
	return v.rep, nil
}

// slot is one position of the chain whose problems are held back until the
// next record is seen, so that two exchanged records can be reported as one
// reordering.
type slot struct {
	seq      int64
	hash     Hash // the hash checkpoints at seq must sign
	problems []Problem
	cps      []Checkpoint
}

type verifier struct {
	rep *Report
	cps cpCursor

	last       Record // the last record read, as stored
	lastOK     bool   // last passed the format checks
	link       Hash   // the hash the next record must name
	beforeLink Hash   // the hash the last record should have named
	pending    *slot
	spare      *slot // the slot flushed last, reused so a record costs no allocation
}

func (v *verifier) record(ctx context.Context, r *Record) error {
	cur := v.spare
	if cur == nil {
		cur = &slot{}
	}
	v.spare = nil
	*cur = slot{seq: r.Seq, hash: r.Hash, problems: cur.problems[:0], cps: cur.cps[:0]}
	expect := v.last.Seq + 1
	gap := r.Seq > expect
	if gap {
		msg := fmt.Sprintf("record %d is missing", expect)
		if r.Seq-1 > expect {
			msg = fmt.Sprintf("records %d to %d are missing", expect, r.Seq-1)
		}
		cur.problems = append(cur.problems, Problem{expect, Missing, msg})
	}
	// Checkpoints before this record name records that were never read.
	for {
		cp, bad, ok, err := v.cps.peek(ctx)
		if err != nil {
			return err
		}
		if !ok || cp.Seq > r.Seq {
			break
		}
		v.cps.next(v.rep)
		switch {
		case bad != nil:
			cur.problems = append(cur.problems, *bad)
		case cp.Seq < r.Seq:
			cur.problems = append(cur.problems, Problem{cp.Seq, CheckpointMismatch,
				fmt.Sprintf("checkpoint signed at %s names record %d, which is missing", cp.Time.Format(timeLayout), cp.Seq)})
		default:
			cur.cps = append(cur.cps, cp)
		}
	}
	okFormat := true
	if err := checkRecord(r); err != nil {
		okFormat = false
		cur.problems = append(cur.problems, Problem{r.Seq, Malformed, err.Error()})
	} else {
		if !gap && r.PrevHash != v.link {
			cur.problems = append(cur.problems, Problem{r.Seq, BrokenLink,
				fmt.Sprintf("record %d's predecessor is missing or was changed: it names %s, record %d has %s",
					r.Seq, short(r.PrevHash), r.Seq-1, short(v.link))})
		}
		switch ok, err := hashMatches(r, r.Seq, r.PrevHash, r.Hash); {
		case err != nil:
			okFormat = false
			cur.problems = append(cur.problems, Problem{r.Seq, Malformed, err.Error()})
		case !ok:
			cur.problems = append(cur.problems, Problem{r.Seq, Edited,
				fmt.Sprintf("record %d does not hash to its stored hash %s: its content was changed", r.Seq, short(r.Hash))})
		}
	}
	nextLink, nextBefore := r.Hash, v.link
	if p := v.pending; p != nil && !gap && okFormat && v.lastOK && len(p.problems) > 0 &&
		v.swapped(r) {
		// The stored records at p.seq and r.Seq are each other's: record
		// p.seq in the original order is r, record r.Seq is v.last.
		p.problems = append([]Problem{{p.seq, Reordered, fmt.Sprintf("records %d and %d exchanged places", p.seq, r.Seq)}},
			withoutChainProblems(p.problems)...)
		p.hash = r.Hash
		cur.problems = withoutChainProblems(cur.problems)
		cur.hash = v.last.Hash
		nextLink, nextBefore = v.last.Hash, r.Hash
	}
	v.flush()
	v.pending = cur
	v.last, v.lastOK = *r, okFormat
	v.link, v.beforeLink = nextLink, nextBefore
	v.rep.LastSeq, v.rep.LastHash = r.Seq, r.Hash
	return nil
}

// withoutChainProblems drops the findings about links and hashes, which a
// reordering explains, and keeps those about checkpoints.
func withoutChainProblems(ps []Problem) []Problem {
	out := ps[:0]
	for _, p := range ps {
		if p.Kind != BrokenLink && p.Kind != Edited {
			out = append(out, p)
		}
	}
	return out
}

// swapped reports whether the last record and r, exchanged, form a correct
// chain after the record before the last.
func (v *verifier) swapped(r *Record) bool {
	p := &v.last
	if r.PrevHash != v.beforeLink || p.PrevHash != r.Hash {
		return false
	}
	ok1, err1 := hashMatches(r, p.Seq, v.beforeLink, r.Hash)
	ok2, err2 := hashMatches(p, r.Seq, r.Hash, p.Hash)
	return ok1 && ok2 && err1 == nil && err2 == nil
}

// hashMatches reports whether r's entry at seq after prev hashes to want.
// The error is for a detail that is not an I-JSON object within the limit.
func hashMatches(r *Record, seq int64, prev Hash, want Hash) (bool, error) {
	c := Record{Seq: seq, PrevHash: prev, Entry: r.Entry}
	// Fast path: the detail is stored as it was hashed (canonical).
	if hashRecord(&c, r.Detail) == want {
		return true, nil
	}
	// The store may hold the detail in another JSON form.
	d, err := canonicalDetail(r.Detail)
	if err != nil {
		return false, err
	}
	if string(d) == string(r.Detail) {
		return false, nil
	}
	return hashRecord(&c, d) == want, nil
}

// outOfOrder notes a record that came after a later one, in the order found.
func (v *verifier) outOfOrder(p Problem) {
	if v.pending == nil {
		v.rep.add(p)
		return
	}
	v.pending.problems = append(v.pending.problems, p)
}

func (v *verifier) flush() {
	p := v.pending
	if p == nil {
		return
	}
	for _, pr := range p.problems {
		v.rep.add(pr)
	}
	for _, cp := range p.cps {
		if cp.Hash != p.hash {
			last := "none"
			if v.rep.LastCheckpoint > 0 {
				last = fmt.Sprintf("seq %d", v.rep.LastCheckpoint)
			}
			v.rep.add(Problem{cp.Seq, CheckpointMismatch, fmt.Sprintf(
				"checkpoint signed at %s says record %d has hash %s, the chain has %s: records up to %d were changed since (last agreeing checkpoint: %s)",
				cp.Time.Format(timeLayout), cp.Seq, short(cp.Hash), short(p.hash), cp.Seq, last)})
			continue
		}
		v.rep.Verified++
		v.rep.LastCheckpoint = cp.Seq
	}
	v.pending, v.spare = nil, p
}

func (v *verifier) finish(ctx context.Context) error {
	v.flush()
	var lastGood Checkpoint
	for {
		cp, bad, ok, err := v.cps.peek(ctx)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		v.cps.next(v.rep)
		if bad != nil {
			v.rep.add(*bad)
			continue
		}
		lastGood = cp
	}
	if lastGood.Seq > 0 {
		v.rep.add(Problem{v.last.Seq + 1, Truncated, fmt.Sprintf(
			"the chain ends at record %d but a checkpoint signed at %s names record %d: records %d to %d were removed",
			v.last.Seq, lastGood.Time.Format(timeLayout), lastGood.Seq, v.last.Seq+1, lastGood.Seq)})
	}
	return nil
}

// cpCursor pages through the checkpoints, checking signatures and order.
type cpCursor struct {
	src   Source
	pub   ed25519.PublicKey
	after int64
	buf   []Checkpoint
	i     int
	done  bool
	// checked is i+1 once buf[i] was checked, with the finding in bad.
	checked int
	bad     *Problem
}

// peek returns the next checkpoint and, if it must not be trusted, why.
func (c *cpCursor) peek(ctx context.Context) (cp Checkpoint, bad *Problem, ok bool, err error) {
	for c.i >= len(c.buf) {
		if c.done {
			return Checkpoint{}, nil, false, nil
		}
		page, err := c.src.Checkpoints(ctx, c.after, PageSize)
		if err != nil {
			return Checkpoint{}, nil, false, fmt.Errorf("audit: verify: checkpoints after %d: %w", c.after, err)
		}
		if len(page) > PageSize {
			return Checkpoint{}, nil, false, fmt.Errorf("audit: verify: checkpoints after %d: source returned %d, asked for %d", c.after, len(page), PageSize)
		}
		c.buf, c.i, c.checked = page, 0, 0
		c.done = len(page) < PageSize
		if !c.done && page[len(page)-1].Seq <= c.after {
			return Checkpoint{}, nil, false, fmt.Errorf("audit: verify: checkpoints after %d: source returned no later checkpoint", c.after)
		}
	}
	cp = c.buf[c.i]
	if c.checked == c.i+1 {
		return cp, c.bad, true, nil
	}
	c.checked, c.bad = c.i+1, nil
	if cp.Seq <= c.after {
		c.bad = &Problem{cp.Seq, CheckpointMismatch, fmt.Sprintf("checkpoint %d returned after checkpoint %d (out of order or duplicate)", cp.Seq, c.after)}
		return cp, c.bad, true, nil
	}
	if err := cp.Verify(c.pub); err != nil {
		if errors.Is(err, ErrBadSignature) {
			c.bad = &Problem{cp.Seq, BadSignature, fmt.Sprintf("checkpoint for record %d: %v", cp.Seq, err)}
			return cp, c.bad, true, nil
		}
		return Checkpoint{}, nil, false, fmt.Errorf("audit: verify: %w", err)
	}
	return cp, nil, true, nil
}

func (c *cpCursor) next(rep *Report) {
	rep.Checkpoints++
	if c.buf[c.i].Seq > c.after {
		c.after = c.buf[c.i].Seq
	}
	c.i++
}

func short(h Hash) string { return h.String()[:16] }
