package pattern

import (
	"encoding/base64"
	"encoding/hex"
	"iter"
	"slices"
	"time"
)

// Pattern is a parsed STIX pattern (§9.4).
type Pattern struct {
	Root Expr // the pattern expression

	// first holds the first observation, comparison and path steps parsed, so that a
	// pattern of one comparison, the most common indicator, is a single allocation.
	first struct {
		obs   Observation
		cmp   Comparison
		steps [4]Step
	}
}

// Expr is an observation-level expression: *Observation, *Join or *Qualified.
type Expr interface {
	// Pos is the byte offset where the expression starts in the pattern.
	Pos() int
	expr()
}

// Cond is a comparison-level expression inside brackets: *Comparison or *Logic.
type Cond interface {
	// Pos is the byte offset where the expression starts in the pattern.
	Pos() int
	cond()
}

// Operator joins expressions: AND and OR at both levels, FOLLOWEDBY between
// observation expressions only (§9.5.2, §9.6).
type Operator uint8

// The operators, in increasing order of precedence (§9.5.3).
const (
	FollowedBy Operator = iota + 1
	Or
	And
)

func (o Operator) String() string {
	switch o {
	case FollowedBy:
		return "FOLLOWEDBY"
	case Or:
		return "OR"
	case And:
		return "AND"
	}
	return "?"
}

// Observation is one bracketed observation expression (§9.5).
type Observation struct {
	Start int  // offset of '['
	Cond  Cond // the comparison expression inside the brackets
}

// Join is two or more observation expressions joined by one observation operator,
// left to right. Operands that are themselves a Join with the same operator were
// written in parentheses.
type Join struct {
	Op       Operator
	Operands []Expr // at least two
}

// Qualified is an observation expression (or a parenthesized group) followed by its
// qualifiers, at most one of each kind (§9.5.1).
type Qualified struct {
	Expr       Expr
	Qualifiers []Qualifier // in the order written, one to three
}

// QualifierKind says which qualifier a Qualifier is.
type QualifierKind uint8

// The qualifiers of §9.5.1.
const (
	Within QualifierKind = iota + 1
	Repeats
	StartStop
)

func (k QualifierKind) String() string {
	switch k {
	case Within:
		return "WITHIN"
	case Repeats:
		return "REPEATS"
	case StartStop:
		return "START/STOP"
	}
	return "?"
}

// Qualifier is one WITHIN, REPEATS or START/STOP qualifier.
type Qualifier struct {
	Kind        QualifierKind
	At          int      // offset of the keyword
	Seconds     float64  // WITHIN: positive
	Times       int64    // REPEATS: positive
	Start, Stop Constant // START/STOP: timestamps, Start before Stop
}

// Logic is two or more comparison expressions joined by AND or OR, left to right.
// Operands that are a Logic with the same operator were written in parentheses.
type Logic struct {
	Op       Operator // And or Or
	Operands []Cond   // at least two
}

// CompareOp is a comparison operator (§9.6.1).
type CompareOp uint8

// The comparison operators.
const (
	Equal CompareOp = iota + 1
	NotEqual
	Less
	LessEqual
	Greater
	GreaterEqual
	In
	Like
	Matches
	IsSubset
	IsSuperset
	Exists
)

var compareOpNames = [...]string{
	Equal: "=", NotEqual: "!=", Less: "<", LessEqual: "<=", Greater: ">", GreaterEqual: ">=",
	In: "IN", Like: "LIKE", Matches: "MATCHES", IsSubset: "ISSUBSET", IsSuperset: "ISSUPERSET",
	Exists: "EXISTS",
}

func (op CompareOp) String() string {
	if int(op) < len(compareOpNames) && op != 0 {
		return compareOpNames[op]
	}
	return "?"
}

// Comparison is one comparison expression: an object path, an operator that NOT may
// negate, and a constant (Value), a set of constants (Set, for IN) or nothing (EXISTS).
type Comparison struct {
	Start   int // offset of the object path, or of NOT or EXISTS when they come first
	Path    Path
	Op      CompareOp
	Negated bool       // NOT before the operator
	Value   Constant   // every operator but IN and EXISTS
	Set     []Constant // IN: one or more constants of one type
}

// Path is an object path (§9.7): an object type and one or more steps, the first of
// which is always a property name.
type Path struct {
	ObjectType string
	Steps      []Step
}

// StepKind says what a path step is.
type StepKind uint8

// The kinds of path step (§9.7.1 to §9.7.4).
const (
	Property StepKind = iota + 1 // a property or dictionary key: Name
	Index                        // a list index [n]: Index
	AnyIndex                     // every list item: [*]
)

// Step is one step of an object path.
type Step struct {
	Kind  StepKind
	Name  string // Property: the name, unquoted
	Index int    // Index: zero or more
}

// Kind is the type of a constant (§9.2).
type Kind uint8

// The constant types of §9.2.
const (
	String Kind = iota + 1
	Int
	Float
	Bool
	Binary
	Hex
	Timestamp
)

var kindNames = [...]string{
	String: "string", Int: "integer", Float: "float", Bool: "boolean", Binary: "binary",
	Hex: "hex", Timestamp: "timestamp",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "?"
}

// Constant is a constant operand (§9.2). Which fields hold the value depends on Kind:
// String: Str (escapes resolved); Int: Int; Float: Float; Bool: Bool; Binary: Str, the
// canonical base64 text; Hex: Str, the hex digits; Timestamp: Str as written and Time.
type Constant struct {
	Kind  Kind
	At    int // offset in the pattern
	Str   string
	Int   int64
	Float float64
	Bool  bool
	Time  time.Time
}

// Bytes returns the octets of a binary or hex constant, and nil for other kinds.
func (c Constant) Bytes() []byte {
	switch c.Kind {
	case Binary:
		b, err := base64.StdEncoding.DecodeString(c.Str)
		if err != nil { // cannot happen: Str was checked when parsed
			return nil
		}
		return b
	case Hex:
		b, err := hex.DecodeString(c.Str)
		if err != nil {
			return nil
		}
		return b
	}
	return nil
}

// Pos returns the offset of '['.
func (o *Observation) Pos() int { return o.Start }

// Pos returns the offset of the first operand.
func (j *Join) Pos() int { return j.Operands[0].Pos() }

// Pos returns the offset of the qualified expression.
func (q *Qualified) Pos() int { return q.Expr.Pos() }

// Pos returns the offset of the first operand.
func (l *Logic) Pos() int { return l.Operands[0].Pos() }

// Pos returns the offset where the comparison starts.
func (c *Comparison) Pos() int { return c.Start }

func (*Observation) expr() {}
func (*Join) expr()        {}
func (*Qualified) expr()   {}
func (*Logic) cond()       {}
func (*Comparison) cond()  {}

// Observations yields every bracketed observation expression, in the order written.
func (p *Pattern) Observations() iter.Seq[*Observation] {
	return func(yield func(*Observation) bool) {
		walkExpr(p.Root, yield)
	}
}

func walkExpr(e Expr, yield func(*Observation) bool) bool {
	switch e := e.(type) {
	case *Observation:
		return yield(e)
	case *Join:
		for _, o := range e.Operands {
			if !walkExpr(o, yield) {
				return false
			}
		}
	case *Qualified:
		return walkExpr(e.Expr, yield)
	}
	return true
}

// Comparisons yields every comparison expression, in the order written.
func (p *Pattern) Comparisons() iter.Seq[*Comparison] {
	return func(yield func(*Comparison) bool) {
		for o := range p.Observations() {
			if !walkCond(o.Cond, yield) {
				return
			}
		}
	}
}

func walkCond(c Cond, yield func(*Comparison) bool) bool {
	switch c := c.(type) {
	case *Comparison:
		return yield(c)
	case *Logic:
		for _, o := range c.Operands {
			if !walkCond(o, yield) {
				return false
			}
		}
	}
	return true
}

// ObjectTypes returns the object types the pattern's object paths start from, sorted
// and without repeats: the SCO types an indicator with this pattern looks at.
func (p *Pattern) ObjectTypes() []string {
	var types []string
	for c := range p.Comparisons() {
		types = append(types, c.Path.ObjectType)
	}
	slices.Sort(types)
	return slices.Compact(types)
}
