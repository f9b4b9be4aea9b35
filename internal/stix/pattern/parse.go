package pattern

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits on hostile input.
const (
	// MaxLength is the longest pattern Parse reads, in bytes.
	MaxLength = 1 << 20
	// MaxDepth is how deeply parentheses may nest, observation and comparison
	// parentheses counted together.
	MaxDepth = 100
)

// maxInt is the largest STIX integer, 2^53-1 (§2.10).
const maxInt = 1<<53 - 1

// Parse parses a STIX 2.1 pattern (§9). Errors are *Error.
func Parse(s string) (*Pattern, error) {
	if len(s) > MaxLength {
		return nil, newError(s, 0, fmt.Sprintf("pattern is %d bytes long, more than the limit of %d", len(s), MaxLength))
	}
	if !utf8.ValidString(s) {
		i := 0
		for i < len(s) {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			i += size
		}
		return nil, newError(s, i, "pattern is not valid UTF-8 (§9.4: patterns are Unicode strings)")
	}
	p := parser{src: s, pat: new(Pattern)}
	root, err := p.expr(FollowedBy)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(s) {
		return nil, p.errorf(p.pos, "expected AND, OR, FOLLOWEDBY, a qualifier or the end of the pattern, found %s", p.found(p.pos))
	}
	p.pat.Root = root
	return p.pat, nil
}

// MustParse is Parse for patterns written in code; it panics on error.
func MustParse(s string) *Pattern {
	p, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return p
}

type parser struct {
	src   string
	pos   int
	depth int      // open parentheses
	pat   *Pattern // the result, whose first block the first nodes are taken from

	usedObs, usedCmp, usedSteps bool // whether pat.first's parts are taken
}

// newObservation returns a fresh Observation, the pattern's inline one first.
func (p *parser) newObservation() *Observation {
	if !p.usedObs {
		p.usedObs = true
		return &p.pat.first.obs
	}
	return new(Observation)
}

// newComparison returns a fresh Comparison, the pattern's inline one first.
func (p *parser) newComparison() *Comparison {
	if !p.usedCmp {
		p.usedCmp = true
		return &p.pat.first.cmp
	}
	return new(Comparison)
}

// keepSteps copies steps out of the parser's stack buffer: into the pattern's inline
// array the first time they fit, else into a slice of their own.
func (p *parser) keepSteps(steps []Step) []Step {
	if !p.usedSteps && len(steps) <= len(p.pat.first.steps) {
		p.usedSteps = true
		return append(p.pat.first.steps[:0:len(steps)], steps...)
	}
	return slices.Clone(steps)
}

func (p *parser) errorf(pos int, format string, args ...any) error {
	return newError(p.src, pos, fmt.Sprintf(format, args...))
}

// expr parses observation expressions joined by op, whose operands are expressions of
// higher precedence (§9.5.3).
func (p *parser) expr(op Operator) (Expr, error) {
	first, operands, err := joined(p, op, p.exprOperand)
	if err != nil || operands == nil {
		return first, err
	}
	return &Join{Op: op, Operands: operands}, nil
}

// joined parses operands separated by the keyword of op. With one operand it returns
// it alone and no slice, so that the common pattern allocates nothing here.
func joined[T any](p *parser, op Operator, operand func(Operator) (T, error)) (T, []T, error) {
	first, err := operand(op)
	if err != nil {
		return first, nil, err
	}
	var operands []T
	kw := op.String()
	for {
		p.skipSpace()
		if !p.atKeyword(kw) {
			return first, operands, nil
		}
		p.pos += len(kw)
		next, err := operand(op)
		if err != nil {
			return first, nil, err
		}
		if operands == nil {
			operands = make([]T, 1, 4)
			operands[0] = first
		}
		operands = append(operands, next)
	}
}

func (p *parser) exprOperand(op Operator) (Expr, error) {
	if op == And {
		return p.qualified()
	}
	return p.expr(op + 1)
}

// qualified parses a primary observation expression and the qualifiers after it.
func (p *parser) qualified() (Expr, error) {
	e, err := p.primary()
	if err != nil {
		return nil, err
	}
	var q *Qualified
	for {
		p.skipSpace()
		var qual Qualifier
		switch p.word() {
		case "WITHIN":
			qual, err = p.within()
		case "REPEATS":
			qual, err = p.repeats()
		case "START":
			qual, err = p.startStop()
		default:
			if q == nil {
				return e, nil
			}
			return q, nil
		}
		if err != nil {
			return nil, err
		}
		if q == nil {
			q = &Qualified{Expr: e}
		}
		for _, prev := range q.Qualifiers {
			if prev.Kind == qual.Kind {
				return nil, p.errorf(qual.At, "a second %s qualifier on the same observation expression; put the expression in parentheses to qualify it again (§9.5.1)", qual.Kind)
			}
		}
		q.Qualifiers = append(q.Qualifiers, qual)
	}
}

func (p *parser) within() (Qualifier, error) {
	at := p.pos
	p.pos += len("WITHIN")
	p.skipSpace()
	if !p.atNumber() {
		return Qualifier{}, p.errorf(p.pos, "WITHIN needs a positive number of seconds, found %s", p.found(p.pos))
	}
	n, err := p.number()
	if err != nil {
		return Qualifier{}, err
	}
	text := p.src[n.At:p.pos]
	secs := n.Float
	if n.Kind == Int {
		secs = float64(n.Int)
	}
	if !(secs > 0) {
		return Qualifier{}, p.errorf(n.At, "WITHIN needs a positive number of seconds, not %s (§9.5.1)", text)
	}
	p.skipSpace()
	if !p.atKeyword("SECONDS") {
		return Qualifier{}, p.errorf(p.pos, "expected SECONDS after WITHIN %s, found %s", text, p.found(p.pos))
	}
	p.pos += len("SECONDS")
	return Qualifier{Kind: Within, At: at, Seconds: secs}, nil
}

func (p *parser) repeats() (Qualifier, error) {
	at := p.pos
	p.pos += len("REPEATS")
	p.skipSpace()
	if !p.atNumber() {
		return Qualifier{}, p.errorf(p.pos, "REPEATS needs a positive integer count, found %s", p.found(p.pos))
	}
	n, err := p.number()
	if err != nil {
		return Qualifier{}, err
	}
	if n.Kind != Int || n.Int <= 0 {
		return Qualifier{}, p.errorf(n.At, "REPEATS needs a positive integer count, not %s (§9.5.1)", p.src[n.At:p.pos])
	}
	p.skipSpace()
	if !p.atKeyword("TIMES") {
		return Qualifier{}, p.errorf(p.pos, "expected TIMES after REPEATS %d, found %s", n.Int, p.found(p.pos))
	}
	p.pos += len("TIMES")
	return Qualifier{Kind: Repeats, At: at, Times: n.Int}, nil
}

func (p *parser) startStop() (Qualifier, error) {
	at := p.pos
	p.pos += len("START")
	start, err := p.timestampArg("START")
	if err != nil {
		return Qualifier{}, err
	}
	p.skipSpace()
	if !p.atKeyword("STOP") {
		return Qualifier{}, p.errorf(p.pos, "expected STOP after START t'%s', found %s", start.Str, p.found(p.pos))
	}
	p.pos += len("STOP")
	stop, err := p.timestampArg("STOP")
	if err != nil {
		return Qualifier{}, err
	}
	if !start.Time.Before(stop.Time) {
		return Qualifier{}, p.errorf(at, "START t'%s' is not before STOP t'%s': no observation could fall in the window (§9.5.1)", start.Str, stop.Str)
	}
	return Qualifier{Kind: StartStop, At: at, Start: start, Stop: stop}, nil
}

func (p *parser) timestampArg(kw string) (Constant, error) {
	p.skipSpace()
	if !p.atPrefixed('t') {
		return Constant{}, p.errorf(p.pos, "%s needs a timestamp constant such as t'2016-06-01T00:00:00Z', found %s", kw, p.found(p.pos))
	}
	return p.prefixed()
}

// primary parses a bracketed observation expression or a parenthesized group.
func (p *parser) primary() (Expr, error) {
	p.skipSpace()
	if p.pos < len(p.src) {
		switch p.src[p.pos] {
		case '[':
			start := p.pos
			p.pos++
			c, err := p.cond(Or)
			if err != nil {
				return nil, err
			}
			p.skipSpace()
			if !p.atByte(']') {
				return nil, p.errorf(p.pos, "expected ']' to close the observation expression, found %s", p.found(p.pos))
			}
			p.pos++
			if err := p.checkOneObject(c); err != nil {
				return nil, err
			}
			o := p.newObservation()
			*o = Observation{Start: start, Cond: c}
			return o, nil
		case '(':
			open := p.pos
			if err := p.enter(); err != nil {
				return nil, err
			}
			e, err := p.expr(FollowedBy)
			if err != nil {
				return nil, err
			}
			if err := p.leave(open); err != nil {
				return nil, err
			}
			return e, nil
		}
	}
	return nil, p.errorf(p.pos, "expected '[' or '(' to start an observation expression, found %s", p.found(p.pos))
}

// enter consumes '(' and counts it against MaxDepth.
func (p *parser) enter() error {
	if p.depth >= MaxDepth {
		return p.errorf(p.pos, "parentheses nested more than %d deep", MaxDepth)
	}
	p.depth++
	p.pos++
	return nil
}

// leave consumes the ')' that closes the '(' at open.
func (p *parser) leave(open int) error {
	p.skipSpace()
	if !p.atByte(')') {
		return p.errorf(p.pos, "expected ')' to close the '(' at column %d, found %s", newError(p.src, open, "").Column, p.found(p.pos))
	}
	p.pos++
	p.depth--
	return nil
}

// cond parses comparison expressions joined by op (AND binds tighter than OR, §9.6).
func (p *parser) cond(op Operator) (Cond, error) {
	first, operands, err := joined(p, op, p.condOperand)
	if err != nil || operands == nil {
		return first, err
	}
	return &Logic{Op: op, Operands: operands}, nil
}

func (p *parser) condOperand(op Operator) (Cond, error) {
	if op == And {
		return p.term()
	}
	return p.cond(And)
}

// term parses one comparison or a parenthesized comparison expression.
func (p *parser) term() (Cond, error) {
	p.skipSpace()
	start := p.pos
	if p.atByte('(') {
		if err := p.enter(); err != nil {
			return nil, err
		}
		c, err := p.cond(Or)
		if err != nil {
			return nil, err
		}
		if err := p.leave(start); err != nil {
			return nil, err
		}
		return c, nil
	}
	switch p.word() {
	case "EXISTS":
		p.pos += len("EXISTS")
		return p.exists(start, false)
	case "NOT":
		p.pos += len("NOT")
		p.skipSpace()
		if p.atKeyword("EXISTS") {
			p.pos += len("EXISTS")
			return p.exists(start, true)
		}
		return nil, p.errorf(start, "NOT goes between the object path and the operator, as in file:name NOT = 'x'; only EXISTS may follow it (§9.6.1)")
	}
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	c := p.newComparison()
	*c = Comparison{Start: start, Path: path}
	p.skipSpace()
	if p.atKeyword("NOT") {
		c.Negated = true
		p.pos += len("NOT")
		p.skipSpace()
	}
	opAt := p.pos
	if c.Op, err = p.compareOp(); err != nil {
		return nil, err
	}
	p.skipSpace()
	if c.Op == In {
		c.Set, err = p.set()
		return c, err
	}
	if !p.atConstant() {
		return nil, p.errorf(p.pos, "expected a constant after %s, found %s", c.Op, p.found(p.pos))
	}
	if c.Value, err = p.constant(); err != nil {
		return nil, err
	}
	return c, p.checkOperand(c, opAt)
}

func (p *parser) exists(start int, negated bool) (Cond, error) {
	p.skipSpace()
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	c := p.newComparison()
	*c = Comparison{Start: start, Path: path, Op: Exists, Negated: negated}
	return c, nil
}

// checkOperand applies the operator's rules on its constant (§9.6.1).
func (p *parser) checkOperand(c *Comparison, opAt int) error {
	v := c.Value
	switch c.Op {
	case Less, LessEqual, Greater, GreaterEqual:
		if v.Kind == Bool {
			return p.errorf(v.At, "%s cannot order booleans; use = or != (§9.6.1)", c.Op)
		}
	case Like, Matches, IsSubset, IsSuperset:
		if v.Kind != String {
			return p.errorf(v.At, "%s needs a string constant, found %s constant (§9.6.1)", c.Op, withArticle(v.Kind))
		}
		switch c.Op {
		case Matches:
			if off, msg := checkRegex(v.Str); msg != "" {
				return p.errorf(v.At, "MATCHES needs a PCRE regular expression: %s at offset %d of the expression (§9.6.1)", msg, off)
			}
		case IsSubset, IsSuperset:
			if !isIPOrCIDR(v.Str) {
				return p.errorf(v.At, "%s needs an IPv4 or IPv6 address or CIDR block, not %s (§9.6.1)", c.Op, quoteShort(v.Str))
			}
		}
	}
	return nil
}

// set parses the parenthesized constants after IN (§9.6.1).
func (p *parser) set() ([]Constant, error) {
	if !p.atByte('(') {
		return nil, p.errorf(p.pos, "IN needs a set of constants in parentheses, as in ('a', 'b'), found %s", p.found(p.pos))
	}
	open := p.pos
	p.pos++
	var set []Constant
	for {
		p.skipSpace()
		if len(set) == 0 && p.atByte(')') {
			return nil, p.errorf(open, "IN needs at least one constant in its set (§9.6.1)")
		}
		if !p.atConstant() {
			return nil, p.errorf(p.pos, "expected a constant in the IN set, found %s", p.found(p.pos))
		}
		v, err := p.constant()
		if err != nil {
			return nil, err
		}
		if len(set) > 0 && !sameKind(set[0].Kind, v.Kind) {
			return nil, p.errorf(v.At, "the IN set mixes %s and %s constants; its constants must be of one type (§9.6.1)", set[0].Kind, v.Kind)
		}
		set = append(set, v)
		p.skipSpace()
		if p.atByte(',') {
			p.pos++
			continue
		}
		if p.atByte(')') {
			p.pos++
			return set, nil
		}
		return nil, p.errorf(p.pos, "expected ',' or ')' in the IN set, found %s", p.found(p.pos))
	}
}

// withArticle names k with "a" or "an" before it.
func withArticle(k Kind) string {
	if k == Int {
		return "an " + k.String()
	}
	return "a " + k.String()
}

// sameKind reports whether two constants may share a set: integers and floats are one
// type for this purpose, since both compare with integer and float properties (§9.2).
func sameKind(a, b Kind) bool {
	num := func(k Kind) bool { return k == Int || k == Float }
	return a == b || num(a) && num(b)
}

func (p *parser) compareOp() (CompareOp, error) {
	if p.pos < len(p.src) {
		next := byte(0)
		if p.pos+1 < len(p.src) {
			next = p.src[p.pos+1]
		}
		switch p.src[p.pos] {
		case '=':
			if next == '=' {
				return 0, p.errorf(p.pos, `"==" is not a STIX operator; write "=" (§9.6.1)`)
			}
			p.pos++
			return Equal, nil
		case '!':
			if next == '=' {
				p.pos += 2
				return NotEqual, nil
			}
		case '<':
			switch next {
			case '=':
				p.pos += 2
				return LessEqual, nil
			case '>':
				return 0, p.errorf(p.pos, `"<>" is not a STIX operator; write "!=" (§9.6.1)`)
			}
			p.pos++
			return Less, nil
		case '>':
			if next == '=' {
				p.pos += 2
				return GreaterEqual, nil
			}
			p.pos++
			return Greater, nil
		}
	}
	w := p.word()
	for _, op := range [...]CompareOp{In, Like, Matches, IsSubset, IsSuperset} {
		if w == op.String() {
			p.pos += len(w)
			return op, nil
		}
	}
	if w == "EXISTS" {
		return 0, p.errorf(p.pos, "EXISTS goes before the object path, as in EXISTS file:name (§9.6.1)")
	}
	return 0, p.errorf(p.pos, "expected a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET), found %s", p.found(p.pos))
}

// path parses an object path (§9.7).
func (p *parser) path() (Path, error) {
	start := p.pos
	i := start
	for i < len(p.src) && (isIdentChar(p.src[i]) || p.src[i] == '-') {
		i++
	}
	if i == start {
		return Path{}, p.errorf(start, "expected a comparison: an object path such as file:name, EXISTS or '(', found %s", p.found(start))
	}
	typ := p.src[start:i]
	if msg := checkTypeName(typ); msg != "" {
		return Path{}, p.errorf(start, "object type %s %s (§3.1)", quoteShort(typ), msg)
	}
	p.pos = i
	if !p.atByte(':') {
		return Path{}, p.errorf(p.pos, "expected ':' after the object type %q, found %s", typ, p.found(p.pos))
	}
	p.pos++
	name, err := p.pathName()
	if err != nil {
		return Path{}, err
	}
	// Steps gather in a buffer on the stack; the path gets a copy of exactly its size.
	var buf [8]Step
	steps := append(buf[:0], Step{Kind: Property, Name: name})
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case '.':
			p.pos++
			name, err := p.pathName()
			if err != nil {
				return Path{}, err
			}
			steps = append(steps, Step{Kind: Property, Name: name})
		case '[':
			s, err := p.index()
			if err != nil {
				return Path{}, err
			}
			steps = append(steps, s)
		default:
			return Path{ObjectType: typ, Steps: p.keepSteps(steps)}, nil
		}
	}
	return Path{ObjectType: typ, Steps: p.keepSteps(steps)}, nil
}

// pathName parses a property name or dictionary key: an identifier, or a string
// constant when it holds other characters (§9.7).
func (p *parser) pathName() (string, error) {
	start := p.pos
	if p.atByte('\'') {
		s, err := p.stringLit()
		if err != nil {
			return "", err
		}
		if s == "" {
			return "", p.errorf(start, "a property name cannot be empty")
		}
		return s, nil
	}
	if p.pos >= len(p.src) || !isIdentStart(p.src[p.pos]) {
		return "", p.errorf(start, "expected a property name, found %s (names holding characters other than letters, digits and '_' are quoted, as in hashes.'SHA-256')", p.found(start))
	}
	i := start + 1
	for i < len(p.src) && isIdentChar(p.src[i]) {
		i++
	}
	if i < len(p.src) && p.src[i] == '-' {
		j := i
		for j < len(p.src) && (isIdentChar(p.src[j]) || p.src[j] == '-') {
			j++
		}
		return "", p.errorf(start, "property name %s holds '-': quote it, as in '%s' (§9.7)", quoteShort(p.src[start:j]), p.src[start:j])
	}
	p.pos = i
	return p.src[start:i], nil
}

// index parses a list index step, [n] or [*] (§9.7.2).
func (p *parser) index() (Step, error) {
	p.pos++ // '['
	var s Step
	switch {
	case p.atByte('*'):
		p.pos++
		s = Step{Kind: AnyIndex}
	case p.pos < len(p.src) && isDigit(p.src[p.pos]):
		start := p.pos
		n := 0
		for p.pos < len(p.src) && isDigit(p.src[p.pos]) {
			if p.pos-start >= 9 {
				return Step{}, p.errorf(start, "list index is too large")
			}
			n = n*10 + int(p.src[p.pos]-'0')
			p.pos++
		}
		s = Step{Kind: Index, Index: n}
	case p.atByte('-'):
		return Step{}, p.errorf(p.pos, "a list index cannot be negative; indices run from 0 (§9.7.2)")
	default:
		return Step{}, p.errorf(p.pos, "expected a list index, a number or '*', found %s", p.found(p.pos))
	}
	if !p.atByte(']') {
		return Step{}, p.errorf(p.pos, "expected ']' to close the list index, found %s", p.found(p.pos))
	}
	p.pos++
	return s, nil
}

// checkOneObject enforces §9.5: comparisons with object paths that start from
// different object types must be joined by OR; every operand of an AND must be
// satisfiable by the same object.
func (p *parser) checkOneObject(c Cond) error {
	if _, ok := c.(*Logic); !ok {
		return nil
	}
	first, mixed := "", false
	walkCond(c, func(cmp *Comparison) bool {
		if first == "" {
			first = cmp.Path.ObjectType
		} else if cmp.Path.ObjectType != first {
			mixed = true
			return false
		}
		return true
	})
	if !mixed {
		return nil
	}
	_, err := p.typeSet(c)
	return err
}

// typeSet returns the object types c can be satisfied by, sorted and distinct.
func (p *parser) typeSet(c Cond) ([]string, error) {
	switch c := c.(type) {
	case *Comparison:
		return []string{c.Path.ObjectType}, nil
	case *Logic:
		set, err := p.typeSet(c.Operands[0])
		if err != nil {
			return nil, err
		}
		if c.Op == Or {
			for _, o := range c.Operands[1:] {
				s, err := p.typeSet(o)
				if err != nil {
					return nil, err
				}
				set = append(set, s...)
			}
			return sortedSet(set), nil
		}
		for _, o := range c.Operands[1:] {
			s, err := p.typeSet(o)
			if err != nil {
				return nil, err
			}
			both := intersect(set, s)
			if len(both) == 0 {
				return nil, p.errorf(o.Pos(), "comparisons joined by AND must be satisfiable by one object, but %s and %s are different object types; join them with OR (§9.5)", describeTypes(set), describeTypes(s))
			}
			set = both
		}
		return set, nil
	}
	return nil, nil
}

// constant parses a constant of any kind (§9.2); the caller checked atConstant.
func (p *parser) constant() (Constant, error) {
	c := p.src[p.pos]
	switch {
	case c == '\'':
		at := p.pos
		s, err := p.stringLit()
		return Constant{Kind: String, At: at, Str: s}, err
	case p.atPrefixed('b'), p.atPrefixed('h'), p.atPrefixed('t'):
		return p.prefixed()
	case p.atNumber():
		return p.number()
	}
	at := p.pos
	switch w := p.word(); w {
	case "true", "false":
		p.pos += len(w)
		return Constant{Kind: Bool, At: at, Bool: w == "true"}, nil
	}
	return Constant{}, p.errorf(at, "expected a constant, found %s", p.found(at))
}

// atConstant reports whether a constant could start here.
func (p *parser) atConstant() bool {
	if p.pos >= len(p.src) {
		return false
	}
	c := p.src[p.pos]
	return c == '\'' || p.atNumber() || p.atPrefixed('b') || p.atPrefixed('h') || p.atPrefixed('t') ||
		p.atKeyword("true") || p.atKeyword("false")
}

func (p *parser) atNumber() bool {
	if p.pos >= len(p.src) {
		return false
	}
	c := p.src[p.pos]
	return isDigit(c) || c == '-' || c == '.' || c == '+'
}

// atPrefixed reports whether a constant with the one-letter prefix starts here.
func (p *parser) atPrefixed(prefix byte) bool {
	return p.pos+1 < len(p.src) && p.src[p.pos] == prefix && p.src[p.pos+1] == '\''
}

func (p *parser) atByte(c byte) bool { return p.pos < len(p.src) && p.src[p.pos] == c }

// atKeyword reports whether the word kw starts here and is not the start of a longer
// identifier. Keywords are upper case only, as are the reference grammar's.
func (p *parser) atKeyword(kw string) bool {
	return strings.HasPrefix(p.src[p.pos:], kw) &&
		(p.pos+len(kw) == len(p.src) || !isIdentChar(p.src[p.pos+len(kw)]))
}

// word returns the identifier characters starting here, without consuming them.
func (p *parser) word() string {
	i := p.pos
	for i < len(p.src) && isIdentChar(p.src[i]) {
		i++
	}
	return p.src[p.pos:i]
}
