package stix

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Reader reads STIX objects one at a time from a stream without holding more than
// one object in memory. The input may be
//
//   - a STIX bundle, {"type":"bundle","id":"bundle--…","objects":[…]} (§8),
//   - a TAXII envelope, {"objects":[…],"more":…,"next":…} (TAXII 2.1 §3.7); one
//     without objects ({"more":false}) yields none,
//   - a single STIX object, or
//   - a JSON array of STIX objects.
//
// Next returns the raw JSON of each object, as it appears in the input, for Decode
// or Parse. The reader only finds where objects begin and end; it checks the JSON of
// the container but leaves each object's own syntax to Decode. An object larger than
// MaxObjectSize, malformed container JSON and a bundle whose type or id is wrong
// (§8.1) are errors; after an error, Next keeps returning it.
type Reader struct {
	br   *bufio.Reader
	off  int64 // input offset of the next byte
	line int   // line of the next byte, 1-based

	capture   bool
	buf       []byte // the bytes captured since capture began
	state     readerState
	objOff    int64
	objLine   int
	err       error
	typ, id   string // of a top-level bundle or envelope
	sawType   bool
	sawID     bool
	container bool
	// otherKeys is set when the top-level object has a member other than those of
	// a TAXII envelope (more, next, objects).
	otherKeys bool
}

type readerState uint8

const (
	stStart       readerState = iota
	stArray                   // inside a top-level array, before an element or ']'
	stArrayNext               // after an element of a top-level array
	stObjects                 // inside "objects":[ … ] of a bundle or envelope
	stObjectsNext             // after an element of objects
	stTopMembers              // reading the other members of a bundle or envelope
	stDone
)

// NewReader returns a Reader reading from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), line: 1}
}

// Offset returns the input byte offset at which the object last returned by Next
// begins.
func (r *Reader) Offset() int64 { return r.objOff }

// Line returns the 1-based input line on which the object last returned by Next
// begins.
func (r *Reader) Line() int { return r.objLine }

// ErrStream is wrapped by the errors of Reader about the container.
var ErrStream = errors.New("stix: stream")

func (r *Reader) failf(format string, a ...any) error {
	r.err = fmt.Errorf("%w: at byte %d (line %d): %s", ErrStream, r.off, r.line, fmt.Sprintf(format, a...))
	r.state = stDone
	return r.err
}

func (r *Reader) readByte() (byte, error) {
	c, err := r.br.ReadByte()
	if err != nil {
		return 0, err
	}
	r.off++
	if c == '\n' {
		r.line++
	}
	if r.capture {
		if len(r.buf) >= MaxObjectSize {
			return 0, syntaxErrorf("object at byte %d is larger than %d bytes", r.objOff, MaxObjectSize)
		}
		r.buf = append(r.buf, c)
	}
	return c, nil
}

func (r *Reader) unreadByte() {
	_ = r.br.UnreadByte()
	r.off--
	if r.capture && len(r.buf) > 0 {
		c := r.buf[len(r.buf)-1]
		r.buf = r.buf[:len(r.buf)-1]
		if c == '\n' {
			r.line--
		}
		return
	}
	if b, err := r.br.Peek(1); err == nil && b[0] == '\n' {
		r.line--
	}
}

// skipWS returns the next byte that is not JSON whitespace.
func (r *Reader) skipWS() (byte, error) {
	for {
		c, err := r.readByte()
		if err != nil {
			return 0, err
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c, nil
	}
}

// Next returns the raw JSON of the next object, or io.EOF after the last one. The
// returned slice is valid until the following call of Next.
func (r *Reader) Next() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	for {
		switch r.state {
		case stStart:
			c, err := r.skipWS()
			if err == io.EOF {
				return nil, r.failf("empty input")
			}
			if err != nil {
				return nil, r.ioErr(err)
			}
			switch c {
			case '[':
				r.state = stArray
			case '{':
				return r.top()
			default:
				return nil, r.failf("want a STIX object, bundle, TAXII envelope or array of objects, found %q", c)
			}
		case stArray, stObjects:
			c, err := r.skipWS()
			if err != nil {
				return nil, r.ioErr(err)
			}
			if c == ']' {
				if r.state == stArray {
					return nil, r.finish()
				}
				r.state = stTopMembers
				continue
			}
			r.unreadByte()
			return r.element()
		case stArrayNext, stObjectsNext:
			c, err := r.skipWS()
			if err != nil {
				return nil, r.ioErr(err)
			}
			inObjects := r.state == stObjectsNext
			switch c {
			case ',':
				if inObjects {
					r.state = stObjects
				} else {
					r.state = stArray
				}
				c2, err := r.skipWS()
				if err != nil {
					return nil, r.ioErr(err)
				}
				if c2 == ']' {
					return nil, r.failf("trailing comma in list")
				}
				r.unreadByte()
			case ']':
				if !inObjects {
					return nil, r.finish()
				}
				r.state = stTopMembers
			default:
				return nil, r.failf("expected ',' or ']' after an object, found %q", c)
			}
		case stTopMembers:
			if err := r.members(false); err != nil {
				return nil, err
			}
			return nil, r.finish()
		case stDone:
			if r.err != nil {
				return nil, r.err
			}
			return nil, io.EOF
		}
	}
}

// syntaxError is a problem of the input found while scanning, as opposed to an
// error of the underlying reader.
type syntaxError struct{ msg string }

func (e *syntaxError) Error() string { return e.msg }

func syntaxErrorf(format string, a ...any) error {
	return &syntaxError{msg: fmt.Sprintf(format, a...)}
}

// ioErr turns an error met while scanning into the Reader's sticky error: the end
// of input in the middle of a value and syntax errors wrap ErrStream, errors of
// the underlying reader are wrapped as they are.
func (r *Reader) ioErr(err error) error {
	var se *syntaxError
	switch {
	case errors.Is(err, io.EOF):
		return r.failf("unexpected end of input")
	case errors.As(err, &se):
		return r.failf("%s", se.msg)
	}
	r.err = fmt.Errorf("stix: stream: at byte %d: %w", r.off, err)
	r.state = stDone
	return r.err
}

// element captures one object of a list.
func (r *Reader) element() ([]byte, error) {
	r.objOff, r.objLine = r.off, r.line
	r.buf = r.buf[:0]
	r.capture = true
	c, err := r.readByte()
	if err != nil {
		return nil, r.ioErr(err)
	}
	if c != '{' {
		r.capture = false
		return nil, r.failf("list element is not a JSON object")
	}
	if err := r.skipContainer('{'); err != nil {
		return nil, r.ioErr(err)
	}
	r.capture = false
	if r.state == stObjects {
		r.state = stObjectsNext
	} else {
		r.state = stArrayNext
	}
	return r.buf, nil
}

// top handles a top-level object: a bundle or envelope is recognised by an
// "objects" member whose value is a list; anything else is a single object.
func (r *Reader) top() ([]byte, error) {
	r.objOff, r.objLine = r.off-1, r.line
	r.buf = append(r.buf[:0], '{')
	r.capture = true
	if err := r.members(true); err != nil {
		return nil, err
	}
	if r.container {
		// members returned at "objects":[ — stream them.
		r.capture = false
		if err := r.checkBundleHead(); err != nil {
			return nil, err
		}
		r.state = stObjects
		return r.Next()
	}
	r.capture = false
	r.state = stDone
	if c, err := r.skipWS(); err != io.EOF {
		if err != nil {
			return nil, r.ioErr(err)
		}
		return nil, r.failf("data after the object: %q", c)
	}
	if !r.otherKeys {
		// A TAXII envelope with nothing in it omits objects (TAXII 2.1 §3.7).
		return nil, io.EOF
	}
	return r.buf, nil
}

// members reads the members of the top-level object until its end or, when
// first is set, until "objects":[ (setting container). When first is not set,
// reading resumes after the objects list.
func (r *Reader) members(first bool) error {
	afterValue := !first || len(r.buf) > 1
	for {
		c, err := r.skipWS()
		if err != nil {
			return r.ioErr(err)
		}
		if c == '}' {
			return nil
		}
		if afterValue {
			if c != ',' {
				return r.failf("expected ',' or '}' in object, found %q", c)
			}
			if c, err = r.skipWS(); err != nil {
				return r.ioErr(err)
			}
		}
		if c != '"' {
			return r.failf("expected a member name, found %q", c)
		}
		afterValue = true
		key, err := r.stringToken()
		if err != nil {
			return r.ioErr(err)
		}
		switch key {
		case "more", "next", "objects":
		default:
			r.otherKeys = true
		}
		c, err = r.skipWS()
		if err != nil {
			return r.ioErr(err)
		}
		if c != ':' {
			return r.failf("expected ':' after member name")
		}
		c, err = r.skipWS()
		if err != nil {
			return r.ioErr(err)
		}
		if key == "objects" && c == '[' && (!r.sawType || r.typ == "bundle") {
			if r.container {
				return r.failf("duplicate member name \"objects\"")
			}
			if first {
				r.container = true
				return nil
			}
		}
		switch key {
		case "type", "id":
			if c != '"' {
				return r.failf("%s of the top-level object is not a string", key)
			}
			v, err := r.stringToken()
			if err != nil {
				return r.ioErr(err)
			}
			if key == "type" {
				if r.sawType {
					return r.failf("duplicate member name \"type\"")
				}
				r.typ, r.sawType = v, true
			} else {
				if r.sawID {
					return r.failf("duplicate member name \"id\"")
				}
				r.id, r.sawID = v, true
			}
		default:
			if err := r.skipValue(c); err != nil {
				return r.ioErr(err)
			}
		}
	}
}

// checkBundleHead checks what is known of a bundle or envelope when its objects
// begin.
func (r *Reader) checkBundleHead() error {
	if r.sawType && r.typ != "bundle" {
		return r.failf("a top-level object with an objects list must be a bundle or a TAXII envelope, not type %q", r.typ)
	}
	if r.sawID {
		if msg := identifierProblem(r.id, "bundle"); msg != "" {
			return r.failf("bundle id (§8.1): %s", msg)
		}
	}
	return nil
}

// finish checks the end of input and the bundle as a whole.
func (r *Reader) finish() error {
	if r.container {
		if err := r.checkBundleHead(); err != nil {
			return err
		}
		if r.sawType && !r.sawID {
			return r.failf("bundle (§8.1): id is required")
		}
		if r.sawID && !r.sawType {
			return r.failf("bundle (§8.1): a top-level object with an id must have type \"bundle\"")
		}
	}
	if c, err := r.skipWS(); err != io.EOF {
		if err != nil {
			return r.ioErr(err)
		}
		return r.failf("data after the end: %q", c)
	}
	r.state = stDone
	return io.EOF
}

// stringToken reads a JSON string whose opening quote was just read and returns
// its decoded value.
func (r *Reader) stringToken() (string, error) {
	raw := []byte{'"'}
	for {
		c, err := r.readByte()
		if err != nil {
			return "", err
		}
		raw = append(raw, c)
		if len(raw) > MaxObjectSize {
			return "", syntaxErrorf("string longer than %d bytes", MaxObjectSize)
		}
		switch c {
		case '\\':
			c2, err := r.readByte()
			if err != nil {
				return "", err
			}
			raw = append(raw, c2)
		case '"':
			n, _, err := parseValue(raw, false)
			if err != nil {
				return "", syntaxErrorf("%v", err)
			}
			return n.str, nil
		}
	}
}

// skipValue skips one JSON value whose first byte c was just read.
func (r *Reader) skipValue(c byte) error {
	switch c {
	case '{', '[':
		return r.skipContainer(c)
	case '"':
		return r.skipString()
	}
	// number or literal: read up to a delimiter
	for {
		c, err := r.readByte()
		if err != nil {
			return err
		}
		switch c {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			r.unreadByte()
			return nil
		}
	}
}

func (r *Reader) skipString() error {
	for {
		c, err := r.readByte()
		if err != nil {
			return err
		}
		switch c {
		case '\\':
			if _, err := r.readByte(); err != nil {
				return err
			}
		case '"':
			return nil
		}
	}
}

// skipContainer skips to the bracket closing open, checking nesting. It scans the
// buffered input in place, a window at a time, rather than byte by byte through
// readByte: objects are most of the input, and per-byte calls made the reader the
// slowest stage of a validating stream.
func (r *Reader) skipContainer(open byte) error {
	var stack [MaxDepth + 1]byte
	depth := 0
	stack[0] = open
	inString, escaped := false, false
	for {
		win, err := r.window()
		if err != nil {
			return err
		}
		i, done := 0, false
	scan:
		for i < len(win) {
			if inString {
				if escaped {
					escaped = false
					i++
					continue
				}
				// Jump to the next quote; a backslash before it is handled byte by byte.
				q := bytes.IndexByte(win[i:], '"')
				if q < 0 {
					q = len(win) - i
				}
				if b := bytes.IndexByte(win[i:i+q], '\\'); b >= 0 {
					i += b + 1
					escaped = true
					continue
				}
				i += q
				if i < len(win) {
					inString = false
					i++
				}
				continue
			}
			c := win[i]
			i++
			switch c {
			case '"':
				inString = true
			case '{', '[':
				depth++
				if depth >= len(stack) {
					return r.failAt(win[:i], syntaxErrorf("nesting deeper than %d", MaxDepth))
				}
				stack[depth] = c
			case '}', ']':
				want := byte('}')
				if stack[depth] == '[' {
					want = ']'
				}
				if c != want {
					return r.failAt(win[:i], syntaxErrorf("mismatched %q", c))
				}
				if depth == 0 {
					done = true
					break scan
				}
				depth--
			}
		}
		if err := r.consume(win[:i]); err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// window returns the input buffered and not yet consumed, reading more when there
// is none. It is valid until the next read; consume moves past a prefix of it.
func (r *Reader) window() ([]byte, error) {
	if r.br.Buffered() == 0 {
		if _, err := r.br.Peek(1); err != nil {
			return nil, err
		}
	}
	return r.br.Peek(r.br.Buffered())
}

// failAt consumes b, the input up to and including the byte at fault, so that the
// error names the offset and line that byte-wise reading would, and returns err.
func (r *Reader) failAt(b []byte, err error) error {
	if cerr := r.consume(b); cerr != nil {
		return cerr
	}
	return err
}

// consume moves past b, a prefix of window(), as readByte would one byte at a time.
func (r *Reader) consume(b []byte) error {
	if r.capture {
		if len(r.buf)+len(b) > MaxObjectSize {
			return syntaxErrorf("object at byte %d is larger than %d bytes", r.objOff, MaxObjectSize)
		}
		r.buf = append(r.buf, b...)
	}
	r.off += int64(len(b))
	r.line += bytes.Count(b, []byte{'\n'})
	_, err := r.br.Discard(len(b))
	return err
}
