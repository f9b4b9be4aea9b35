package stix

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// The decoder is our own: a strict RFC 8259 parser into a small tree, written for
// STIX objects. It rejects what encoding/json silently accepts (duplicate member
// names, invalid UTF-8, lone surrogate escapes), bounds depth and size, and produces
// the compact form of the input while it scans, in one pass and with few allocations.

// Limits on one object.
const (
	// MaxObjectSize is the largest JSON text Decode accepts for one object, and the
	// largest object a Reader returns from a stream (10 MiB).
	MaxObjectSize = 10 << 20
	// MaxDepth is the deepest nesting of objects and arrays accepted (the object
	// itself is depth 1).
	MaxDepth = 64
)

// ErrJSON is wrapped by every error about malformed JSON.
var ErrJSON = errors.New("json")

type kind uint8

const (
	kNull kind = iota
	kFalse
	kTrue
	kNumber
	kString
	kArray
	kObject
)

func (k kind) String() string {
	return [...]string{"null", "boolean", "boolean", "number", "string", "array", "object"}[k]
}

// node is one JSON value. For a string, str is the decoded text; for a number, the
// literal as written. Members of an object keep their written order in kids, each
// with its name in key.
type node struct {
	kind kind
	key  string
	str  string
	kids []node
}

// get returns the member called name of an object node, or nil.
func (n *node) get(name string) *node {
	if n == nil || n.kind != kObject {
		return nil
	}
	for i := range n.kids {
		if n.kids[i].key == name {
			return &n.kids[i]
		}
	}
	return nil
}

// stringOf returns the member's string value and whether it is a string.
func (n *node) stringOf(name string) (string, bool) {
	m := n.get(name)
	if m == nil || m.kind != kString {
		return "", false
	}
	return m.str, true
}

type jsonError struct {
	off int
	msg string
}

func (e *jsonError) Error() string { return fmt.Sprintf("invalid JSON at byte %d: %s", e.off, e.msg) }
func (e *jsonError) Unwrap() error { return ErrJSON }

// parser holds scratch space reused across objects (see parserPool).
type parser struct {
	in    []byte
	src   string // the input as a string: strings without escapes are substrings of it
	pos   int
	ws    bool // whitespace was skipped between tokens
	start int  // the value is in[start:end]
	end   int
	stack []node // scratch for members of containers being parsed
	depth int
	// borrow is set when the tree does not outlive the call (withTree): children
	// are then kept in arena, reused from object to object, and src aliases the
	// input instead of copying it, so whatever keeps a string of the tree beyond
	// the call (fill, checker.add) must clone it. Otherwise each container gets
	// its own slice and src is a copy.
	arena  []node
	borrow bool
	root   node
}

var parserPool = sync.Pool{New: func() any { return new(parser) }}

// parseJSON parses exactly one JSON object, returning a tree the caller owns and
// the compact text.
func parseJSON(in []byte) (*node, []byte, error) { return parseValue(in, true) }

// parseValue parses exactly one JSON value, which must be an object when
// wantObject is set. The tree is the caller's.
func parseValue(in []byte, wantObject bool) (*node, []byte, error) {
	var p parser
	root, err := p.parse(in, wantObject)
	if err != nil {
		return nil, nil, err
	}
	return root, p.compact(), nil
}

// withTree parses one JSON object with a pooled parser and calls fn with the tree
// and the compact text; the tree is only valid during fn.
func withTree(in []byte, fn func(root *node, compact []byte) error) error {
	p := parserPool.Get().(*parser)
	p.borrow = true
	root, err := p.parse(in, true)
	if err == nil {
		err = fn(root, p.compact())
	}
	p.release()
	parserPool.Put(p)
	return err
}

// release readies a pooled parser for the next object. The stack and arena are
// not cleared: their stale nodes are overwritten by the next parse, and until
// then they hold at most the previous object's strings.
func (p *parser) release() {
	p.in, p.src = nil, ""
	p.stack = p.stack[:0]
	p.arena = p.arena[:0]
	if cap(p.arena) > 1<<16 {
		p.arena = nil
	}

}

// compact returns the input without whitespace between tokens. The scan notes
// whether it skipped any; most objects on the wire have none and are copied as
// they are.
func (p *parser) compact() []byte {
	in := p.in[p.start:p.end]
	if !p.ws {
		c := make([]byte, len(in))
		copy(c, in)
		return c
	}
	c := make([]byte, len(in))
	n := 0
	for i := 0; i < len(in); {
		switch ch := in[i]; ch {
		case ' ', '\t', '\n', '\r':
			i++
		case '"':
			// The input is valid JSON: find the closing quote, one that is not
			// preceded by an odd number of backslashes, and copy the string whole.
			j := i + 1
			for {
				j += bytes.IndexByte(in[j:], '"')
				k := j - 1
				for in[k] == '\\' {
					k--
				}
				if (j-1-k)%2 == 0 {
					break
				}
				j++
			}
			n += copy(c[n:], in[i:j+1])
			i = j + 1
		default:
			c[n] = ch
			n++
			i++
		}
	}
	return c[:n]
}

func (p *parser) parse(in []byte, wantObject bool) (*node, error) {
	if len(in) > MaxObjectSize {
		return nil, &jsonError{off: MaxObjectSize, msg: fmt.Sprintf("object larger than %d bytes", MaxObjectSize)}
	}
	p.in, p.pos, p.depth = in, 0, 0
	if p.borrow && len(in) > 0 {
		p.src = unsafe.String(unsafe.SliceData(in), len(in))
	} else {
		p.src = string(in)
	}
	p.ws = false
	p.skipWS()
	p.start = p.pos
	p.ws = false // leading whitespace is outside the value
	if p.pos >= len(p.in) {
		return nil, p.fail("empty input")
	}
	if wantObject && p.in[p.pos] != '{' {
		return nil, p.fail("not a JSON object")
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	var root *node
	if p.borrow {
		p.root = v // the pooled parser holds the root: no allocation
		root = &p.root
	} else {
		root = new(node)
		*root = v
	}
	p.end = p.pos
	ws := p.ws
	p.skipWS()
	p.ws = ws // trailing whitespace is outside the value
	if p.pos != len(p.in) {
		return nil, p.fail("data after the object")
	}
	return root, nil
}

// children moves the members parsed since base off the stack.
func (p *parser) children(base int) []node {
	kids := p.stack[base:]
	var out []node
	if p.borrow {
		start := len(p.arena)
		p.arena = append(p.arena, kids...)
		out = p.arena[start:len(p.arena):len(p.arena)]
	} else {
		out = make([]node, len(kids))
		copy(out, kids)
	}
	p.stack = p.stack[:base]
	return out
}

func (p *parser) fail(msg string) error { return &jsonError{off: p.pos, msg: msg} }

func (p *parser) skipWS() {
	for p.pos < len(p.in) {
		switch p.in[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
			p.ws = true
		default:
			return
		}
	}
}

// value parses one value; the node is returned by value so that it does not
// escape to the heap.
func (p *parser) value() (node, error) {
	var n node
	if p.pos >= len(p.in) {
		return n, p.fail("unexpected end of input")
	}
	var err error
	switch c := p.in[p.pos]; {
	case c == '{':
		err = p.object(&n)
	case c == '[':
		err = p.array(&n)
	case c == '"':
		n.str, err = p.string()
		n.kind = kString
	case c == '-' || (c >= '0' && c <= '9'):
		err = p.number(&n)
	case c == 't':
		err = p.literal(&n, "true", kTrue)
	case c == 'f':
		err = p.literal(&n, "false", kFalse)
	case c == 'n':
		err = p.literal(&n, "null", kNull)
	default:
		err = p.fail(fmt.Sprintf("unexpected character %q", c))
	}
	return n, err
}

func (p *parser) literal(n *node, lit string, k kind) error {
	if len(p.in)-p.pos < len(lit) || string(p.in[p.pos:p.pos+len(lit)]) != lit {
		return p.fail("invalid literal")
	}
	p.pos += len(lit)
	n.kind = k
	return nil
}

func (p *parser) number(n *node) error {
	start := p.pos
	end, msg := numberEnd(p.in, p.pos)
	p.pos = end
	if msg != "" {
		return p.fail(msg)
	}
	n.kind = kNumber
	n.str = p.src[start:end]
	return nil
}

// numberEnd returns the end of the number that begins at in[i] (RFC 8259 §6), or
// the offset of the fault and what it is.
func numberEnd(in []byte, i int) (int, string) {
	if in[i] == '-' {
		i++
	}
	if i >= len(in) {
		return i, "incomplete number"
	}
	switch {
	case in[i] == '0':
		i++
	case in[i] >= '1' && in[i] <= '9':
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
	default:
		return i, "invalid number"
	}
	if i < len(in) && in[i] == '.' {
		i++
		d := i
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
		if i == d {
			return i, "invalid number: no digits after the decimal point"
		}
	}
	if i < len(in) && (in[i] == 'e' || in[i] == 'E') {
		i++
		if i < len(in) && (in[i] == '+' || in[i] == '-') {
			i++
		}
		d := i
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
		if i == d {
			return i, "invalid number: no digits in the exponent"
		}
	}
	return i, ""
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return p.fail(fmt.Sprintf("nesting deeper than %d", MaxDepth))
	}
	return nil
}

func (p *parser) object(n *node) error {
	if err := p.enter(); err != nil {
		return err
	}
	p.pos++ // '{'
	base := len(p.stack)
	var seen map[string]struct{} // names of this object's members, once it has many
	p.skipWS()
	if p.pos < len(p.in) && p.in[p.pos] == '}' {
		p.pos++
		p.depth--
		n.kind = kObject
		return nil
	}
	for {
		p.skipWS()
		if p.pos >= len(p.in) || p.in[p.pos] != '"' {
			return p.fail("expected a member name")
		}
		keyAt := p.pos
		key, err := p.string()
		if err != nil {
			return err
		}
		// §3.1 and RFC 8259 §4: names SHOULD be unique; we require it, because
		// parsers disagree on which duplicate wins and that difference can be used
		// to show one thing to a validator and another to a consumer.
		// Small objects are scanned; a large one gets a set of its names, so that a
		// hostile object of a million members costs linear, not quadratic, time.
		members := p.stack[base:]
		dup := false
		if seen == nil && len(members) >= 16 {
			seen = make(map[string]struct{}, 2*len(members))
			for i := range members {
				seen[members[i].key] = struct{}{}
			}
		}
		if seen != nil {
			_, dup = seen[key]
			seen[key] = struct{}{}
		} else {
			for i := range members {
				dup = dup || members[i].key == key
			}
		}
		if dup {
			p.pos = keyAt
			return p.fail("duplicate member name " + strconv.Quote(key))
		}
		p.skipWS()
		if p.pos >= len(p.in) || p.in[p.pos] != ':' {
			return p.fail("expected ':' after member name")
		}
		p.pos++
		p.skipWS()
		// Nested containers push and pop above this point, so the member is
		// appended after its value is parsed.
		v, err := p.value()
		if err != nil {
			return err
		}
		v.key = key
		p.stack = append(p.stack, v)
		p.skipWS()
		if p.pos >= len(p.in) {
			return p.fail("unexpected end of input in object")
		}
		c := p.in[p.pos]
		p.pos++
		if c == ',' {
			continue
		}
		if c == '}' {
			break
		}
		p.pos--
		return p.fail("expected ',' or '}' in object")
	}
	n.kind = kObject
	n.kids = p.children(base)
	p.depth--
	return nil
}

func (p *parser) array(n *node) error {
	if err := p.enter(); err != nil {
		return err
	}
	p.pos++ // '['
	base := len(p.stack)
	p.skipWS()
	if p.pos < len(p.in) && p.in[p.pos] == ']' {
		p.pos++
		p.depth--
		n.kind = kArray
		return nil
	}
	for {
		p.skipWS()
		v, err := p.value()
		if err != nil {
			return err
		}
		p.stack = append(p.stack, v)
		p.skipWS()
		if p.pos >= len(p.in) {
			return p.fail("unexpected end of input in array")
		}
		c := p.in[p.pos]
		p.pos++
		if c == ',' {
			continue
		}
		if c == ']' {
			break
		}
		p.pos--
		return p.fail("expected ',' or ']' in array")
	}
	n.kind = kArray
	n.kids = p.children(base)
	p.depth--
	return nil
}

// string reads a JSON string at p.pos, appends it as written to out, and returns
// its decoded value. Invalid UTF-8, control characters and lone surrogates are
// errors (RFC 8259 §7, §8.1; I-JSON RFC 7493 §2.1).
func (p *parser) string() (string, error) {
	in := p.in
	start := p.pos
	i := p.pos + 1
	// Fast path: ASCII without escapes.
	for i < len(in) && plain[in[i]] {
		i++
	}
	if i < len(in) && in[i] == '"' {
		p.pos = i + 1
		return p.src[start+1 : i], nil
	}
	var buf []byte
	buf = append(buf, in[start+1:i]...)
	for {
		if i >= len(in) {
			p.pos = i
			return "", p.fail("unterminated string")
		}
		c := in[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return string(buf), nil
		case c < 0x20:
			p.pos = i
			return "", p.fail("control character in string")
		case c == '\\':
			if i+1 >= len(in) {
				p.pos = i
				return "", p.fail("unterminated escape")
			}
			e := in[i+1]
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
				i += 2
			case 'b':
				buf = append(buf, '\b')
				i += 2
			case 'f':
				buf = append(buf, '\f')
				i += 2
			case 'n':
				buf = append(buf, '\n')
				i += 2
			case 'r':
				buf = append(buf, '\r')
				i += 2
			case 't':
				buf = append(buf, '\t')
				i += 2
			case 'u':
				r, ok := hex4(in, i+2)
				if !ok {
					p.pos = i
					return "", p.fail("invalid \\u escape")
				}
				i += 6
				if utf16.IsSurrogate(r) {
					var r2 rune = -1
					if r < 0xdc00 && i+1 < len(in) && in[i] == '\\' && in[i+1] == 'u' {
						r2, ok = hex4(in, i+2)
						if !ok {
							r2 = -1
						}
					}
					d := utf16.DecodeRune(r, r2)
					if d == utf8.RuneError {
						p.pos = i - 6
						return "", p.fail("lone surrogate in \\u escape")
					}
					i += 6
					r = d
				}
				buf = utf8.AppendRune(buf, r)
			default:
				p.pos = i
				return "", p.fail(fmt.Sprintf("invalid escape \\%c", e))
			}
		case c < 0x80:
			buf = append(buf, c)
			i++
		default:
			r, size := utf8.DecodeRune(in[i:])
			if r == utf8.RuneError && size <= 1 {
				p.pos = i
				return "", p.fail("invalid UTF-8 in string")
			}
			buf = append(buf, in[i:i+size]...)
			i += size
		}
	}
}

// plain marks the bytes a string can hold as they are: printable ASCII other
// than the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func hex4(in []byte, at int) (rune, bool) {
	if at+4 > len(in) {
		return 0, false
	}
	var r rune
	for _, c := range in[at : at+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}
