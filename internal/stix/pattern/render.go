package pattern

import (
	"math"
	"strconv"
	"strings"
)

// String renders the pattern in canonical form: single spaces around operators and
// keywords, none inside brackets, parentheses only where precedence needs them,
// property names quoted only when they are not plain identifiers, numbers in their
// shortest form, binary constants in canonical base64. Parsing the result gives a
// pattern that renders the same.
func (p *Pattern) String() string {
	var b strings.Builder
	writeExpr(&b, p.Root)
	return b.String()
}

func (o *Observation) String() string { return render(func(b *strings.Builder) { writeExpr(b, o) }) }
func (j *Join) String() string        { return render(func(b *strings.Builder) { writeExpr(b, j) }) }
func (q *Qualified) String() string   { return render(func(b *strings.Builder) { writeExpr(b, q) }) }
func (l *Logic) String() string       { return render(func(b *strings.Builder) { writeCond(b, l) }) }
func (c *Comparison) String() string  { return render(func(b *strings.Builder) { writeCond(b, c) }) }
func (p Path) String() string         { return render(func(b *strings.Builder) { writePath(b, p) }) }
func (c Constant) String() string     { return render(func(b *strings.Builder) { writeConstant(b, c) }) }

func render(f func(*strings.Builder)) string {
	var b strings.Builder
	f(&b)
	return b.String()
}

func writeExpr(b *strings.Builder, e Expr) {
	switch e := e.(type) {
	case *Observation:
		b.WriteByte('[')
		writeCond(b, e.Cond)
		b.WriteByte(']')
	case *Join:
		for i, o := range e.Operands {
			if i > 0 {
				b.WriteByte(' ')
				b.WriteString(e.Op.String())
				b.WriteByte(' ')
			}
			if j, ok := o.(*Join); ok && j.Op <= e.Op {
				b.WriteByte('(')
				writeExpr(b, o)
				b.WriteByte(')')
			} else {
				writeExpr(b, o)
			}
		}
	case *Qualified:
		if _, ok := e.Expr.(*Observation); ok {
			writeExpr(b, e.Expr)
		} else {
			b.WriteByte('(')
			writeExpr(b, e.Expr)
			b.WriteByte(')')
		}
		for _, q := range e.Qualifiers {
			b.WriteByte(' ')
			writeQualifier(b, q)
		}
	}
}

func writeQualifier(b *strings.Builder, q Qualifier) {
	switch q.Kind {
	case Within:
		b.WriteString("WITHIN ")
		if q.Seconds == math.Trunc(q.Seconds) && q.Seconds <= maxInt {
			b.WriteString(strconv.FormatInt(int64(q.Seconds), 10))
		} else {
			writeFloat(b, q.Seconds)
		}
		b.WriteString(" SECONDS")
	case Repeats:
		b.WriteString("REPEATS ")
		b.WriteString(strconv.FormatInt(q.Times, 10))
		b.WriteString(" TIMES")
	case StartStop:
		b.WriteString("START ")
		writeConstant(b, q.Start)
		b.WriteString(" STOP ")
		writeConstant(b, q.Stop)
	}
}

func writeCond(b *strings.Builder, c Cond) {
	switch c := c.(type) {
	case *Comparison:
		writeComparison(b, c)
	case *Logic:
		for i, o := range c.Operands {
			if i > 0 {
				b.WriteByte(' ')
				b.WriteString(c.Op.String())
				b.WriteByte(' ')
			}
			if l, ok := o.(*Logic); ok && l.Op <= c.Op {
				b.WriteByte('(')
				writeCond(b, o)
				b.WriteByte(')')
			} else {
				writeCond(b, o)
			}
		}
	}
}

func writeComparison(b *strings.Builder, c *Comparison) {
	if c.Op == Exists {
		if c.Negated {
			b.WriteString("NOT ")
		}
		b.WriteString("EXISTS ")
		writePath(b, c.Path)
		return
	}
	writePath(b, c.Path)
	b.WriteByte(' ')
	if c.Negated {
		b.WriteString("NOT ")
	}
	b.WriteString(c.Op.String())
	b.WriteByte(' ')
	if c.Op == In {
		b.WriteByte('(')
		for i, v := range c.Set {
			if i > 0 {
				b.WriteString(", ")
			}
			writeConstant(b, v)
		}
		b.WriteByte(')')
		return
	}
	writeConstant(b, c.Value)
}

func writePath(b *strings.Builder, p Path) {
	b.WriteString(p.ObjectType)
	b.WriteByte(':')
	for i, s := range p.Steps {
		switch s.Kind {
		case Property:
			if i > 0 {
				b.WriteByte('.')
			}
			if isIdentifier(s.Name) {
				b.WriteString(s.Name)
			} else {
				writeQuoted(b, s.Name)
			}
		case Index:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.Index))
			b.WriteByte(']')
		case AnyIndex:
			b.WriteString("[*]")
		}
	}
}

func writeConstant(b *strings.Builder, c Constant) {
	switch c.Kind {
	case String:
		writeQuoted(b, c.Str)
	case Int:
		b.WriteString(strconv.FormatInt(c.Int, 10))
	case Float:
		writeFloat(b, c.Float)
	case Bool:
		b.WriteString(strconv.FormatBool(c.Bool))
	case Binary:
		b.WriteString("b'")
		b.WriteString(c.Str)
		b.WriteByte('\'')
	case Hex:
		b.WriteString("h'")
		b.WriteString(c.Str)
		b.WriteByte('\'')
	case Timestamp:
		b.WriteString("t'")
		b.WriteString(c.Str)
		b.WriteByte('\'')
	}
}

// writeFloat writes f in plain decimal notation with a decimal point, so it reads back
// as a float (§9.2 has no exponent notation).
func writeFloat(b *strings.Builder, f float64) {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	b.WriteString(s)
	if !strings.ContainsRune(s, '.') {
		b.WriteString(".0")
	}
}

// writeQuoted writes s as a string constant, escaping apostrophe and backslash (§9.2).
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('\'')
	for {
		i := strings.IndexAny(s, `'\`)
		if i < 0 {
			break
		}
		b.WriteString(s[:i])
		b.WriteByte('\\')
		b.WriteByte(s[i])
		s = s[i+1:]
	}
	b.WriteString(s)
	b.WriteByte('\'')
}

// isIdentifier reports whether s can be written as a bare property name.
func isIdentifier(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentChar(s[i]) {
			return false
		}
	}
	return true
}
