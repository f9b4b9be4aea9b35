package pattern

import (
	"encoding/base64"
	"encoding/hex"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// TestGeneratedRoundTrip builds random syntax trees that are valid by construction,
// renders them, and checks that parsing the text gives a tree that renders the same:
// the parser and the renderer must agree on every construct.
func TestGeneratedRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		g := gen{r: r}
		tree := g.expr(3)
		want := (&Pattern{Root: tree}).String()
		p, err := Parse(want)
		if err != nil {
			t.Fatalf("case %d: %q: %v", i, want, err)
		}
		if got := p.String(); got != want {
			t.Fatalf("case %d:\nrendered %q\nreparsed %q", i, want, got)
		}
		// The text must carry the whole structure, not only render the same.
		clearPositions(p.Root)
		if !reflect.DeepEqual(p.Root, tree) {
			t.Fatalf("case %d: %q parsed to a different tree", i, want)
		}
	}
}

type gen struct{ r *rand.Rand }

func (g gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g gen) expr(depth int) Expr {
	switch n := g.r.IntN(10); {
	case depth == 0 || n < 5:
		return &Observation{Cond: g.cond(depth, g.pick([]string{"file", "process", "x-usb-device", "ipv4-addr", "network-traffic"}))}
	case n < 8:
		j := &Join{Op: Operator(1 + g.r.IntN(3))}
		for range 2 + g.r.IntN(2) {
			j.Operands = append(j.Operands, g.expr(depth-1))
		}
		return j
	default:
		q := &Qualified{Expr: g.expr(depth - 1)}
		for _, k := range g.r.Perm(3)[:1+g.r.IntN(3)] {
			q.Qualifiers = append(q.Qualifiers, g.qualifier(QualifierKind(k+1)))
		}
		return q
	}
}

func (g gen) qualifier(k QualifierKind) Qualifier {
	switch k {
	case Within:
		if g.r.IntN(2) == 0 {
			return Qualifier{Kind: Within, Seconds: float64(1 + g.r.IntN(100000))}
		}
		return Qualifier{Kind: Within, Seconds: g.r.Float64()*1000 + 1e-9}
	case Repeats:
		return Qualifier{Kind: Repeats, Times: 1 + g.r.Int64N(maxInt)}
	}
	a, b := g.timestamp(), g.timestamp()
	for !a.Time.Before(b.Time) {
		a, b = g.timestamp(), g.timestamp()
	}
	return Qualifier{Kind: StartStop, Start: a, Stop: b}
}

// cond returns a comparison expression whose AND operands all share typ.
func (g gen) cond(depth int, typ string) Cond {
	switch n := g.r.IntN(10); {
	case depth == 0 || n < 5:
		return g.comparison(typ)
	case n < 7:
		l := &Logic{Op: And}
		for range 2 + g.r.IntN(2) {
			l.Operands = append(l.Operands, g.cond(depth-1, typ))
		}
		return l
	default:
		// The first operand keeps typ, so an AND above can still be satisfied by it.
		l := &Logic{Op: Or, Operands: []Cond{g.cond(depth-1, typ)}}
		for range 1 + g.r.IntN(2) {
			l.Operands = append(l.Operands, g.cond(depth-1, g.pick([]string{typ, "user-account", "x-other"})))
		}
		return l
	}
}

func (g gen) comparison(typ string) *Comparison {
	c := &Comparison{Path: g.path(typ), Op: CompareOp(1 + g.r.IntN(int(Exists))), Negated: g.r.IntN(3) == 0}
	switch c.Op {
	case In:
		k := g.kind()
		for range 1 + g.r.IntN(4) {
			c.Set = append(c.Set, g.constant(k))
		}
	case Like:
		c.Value = g.constant(String)
	case Matches:
		c.Value = Constant{Kind: String, Str: g.pick([]string{`^a.+b$`, `(?i)x(y|z)*`, `\d{2,4}`, `[^\]']+`, `(?<=a)b`})}
	case IsSubset, IsSuperset:
		c.Value = Constant{Kind: String, Str: g.pick([]string{"10.0.0.0/8", "198.51.100.7", "2001:db8::/32", "::1"})}
	case Exists:
	default:
		k := g.kind()
		for k == Bool && c.Op >= Less && c.Op <= GreaterEqual {
			k = g.kind()
		}
		c.Value = g.constant(k)
	}
	return c
}

func (g gen) path(typ string) Path {
	p := Path{ObjectType: typ, Steps: []Step{{Kind: Property, Name: g.name()}}}
	for range g.r.IntN(4) {
		switch g.r.IntN(3) {
		case 0:
			p.Steps = append(p.Steps, Step{Kind: Index, Index: g.r.IntN(1000)})
		case 1:
			p.Steps = append(p.Steps, Step{Kind: AnyIndex})
		default:
			p.Steps = append(p.Steps, Step{Kind: Property, Name: g.name()})
		}
	}
	return p
}

func (g gen) name() string {
	return g.pick([]string{"name", "hashes", "MD5", "SHA-256", "a.b", "x_y2", "it's", `back\slash`, "AND", "ünï", "_u", "1st"})
}

func (g gen) kind() Kind { return Kind(1 + g.r.IntN(int(Timestamp))) }

func (g gen) constant(k Kind) Constant {
	switch k {
	case String:
		return Constant{Kind: String, Str: g.pick([]string{"", "plain", "it's", `C:\Windows\`, "two\nlines", "☃ snow", "\x00nul"})}
	case Int:
		return Constant{Kind: Int, Int: g.r.Int64N(2*maxInt+1) - maxInt}
	case Float:
		f := []float64{0, 0.5, -2.25, 1e-300, 1.7976931348623157e308, g.r.NormFloat64() * 1e6}[g.r.IntN(6)]
		return Constant{Kind: Float, Float: f}
	case Bool:
		return Constant{Kind: Bool, Bool: g.r.IntN(2) == 0}
	case Binary:
		b := make([]byte, g.r.IntN(10))
		for i := range b {
			b[i] = byte(g.r.IntN(256))
		}
		return Constant{Kind: Binary, Str: base64.StdEncoding.EncodeToString(b)}
	case Hex:
		b := make([]byte, g.r.IntN(10))
		for i := range b {
			b[i] = byte(g.r.IntN(256))
		}
		return Constant{Kind: Hex, Str: hex.EncodeToString(b)}
	}
	return g.timestamp()
}

func (g gen) timestamp() Constant {
	t := time.Unix(g.r.Int64N(4e9), g.r.Int64N(1e9)).UTC()
	digits := g.r.IntN(10)
	s := t.Format("2006-01-02T15:04:05")
	if digits > 0 {
		s += "." + strconv.Itoa(1e9 + t.Nanosecond())[1:1+digits]
	}
	s += "Z"
	parsed, msg := parseTimestamp(s)
	if msg != "" {
		panic(s + ": " + msg)
	}
	return Constant{Kind: Timestamp, Str: s, Time: parsed}
}

// clearPositions zeroes the offsets in a parsed tree, which generated trees lack.
func clearPositions(e Expr) {
	switch e := e.(type) {
	case *Observation:
		e.Start = 0
		clearCondPositions(e.Cond)
	case *Join:
		for _, o := range e.Operands {
			clearPositions(o)
		}
	case *Qualified:
		clearPositions(e.Expr)
		for i := range e.Qualifiers {
			q := &e.Qualifiers[i]
			q.At, q.Start.At, q.Stop.At = 0, 0, 0
		}
	}
}

func clearCondPositions(c Cond) {
	switch c := c.(type) {
	case *Comparison:
		c.Start, c.Value.At = 0, 0
		for i := range c.Set {
			c.Set[i].At = 0
		}
	case *Logic:
		for _, o := range c.Operands {
			clearCondPositions(o)
		}
	}
}
