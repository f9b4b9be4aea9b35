package stix

// View is a read-only look at one JSON value parsed by the strict decoder of
// this package (json.go): valid UTF-8, no duplicate member names at any depth,
// nesting at most MaxDepth. It lets a reader that needs only a few members of an
// object (the sharing policy's facts) take them without decoding into maps.
//
// A View is valid only during the call of WithView that made it, and the strings
// it returns may share memory with the input: clone what you keep.
type View struct{ n *node }

// ValueKind is the JSON type of a View.
type ValueKind uint8

// The JSON types. The zero value is KindNull.
const (
	KindNull ValueKind = iota
	KindBool
	KindNumber
	KindString
	KindArray
	KindObject
)

// WithView parses raw, which must be exactly one JSON object, and calls fn with a
// view of it. Errors about the JSON wrap ErrJSON; fn's error is returned as is.
// Unlike Decode it makes no compact copy and checks nothing of STIX.
func WithView(raw []byte, fn func(root View) error) error {
	p := parserPool.Get().(*parser)
	p.borrow = true
	root, err := p.parse(raw, true)
	if err == nil {
		err = fn(View{root})
	}
	p.release()
	parserPool.Put(p)
	return err
}

// Kind returns the JSON type of v; the zero View is null.
func (v View) Kind() ValueKind {
	if v.n == nil {
		return KindNull
	}
	switch v.n.kind {
	case kFalse, kTrue:
		return KindBool
	case kNumber:
		return KindNumber
	case kString:
		return KindString
	case kArray:
		return KindArray
	case kObject:
		return KindObject
	}
	return KindNull
}

// Member returns the member called name of an object, and false when v is not
// an object or has no such member.
func (v View) Member(name string) (View, bool) {
	m := v.n.get(name)
	return View{m}, m != nil
}

// Str returns the decoded text of a string, and false for any other type.
func (v View) Str() (string, bool) {
	if v.n == nil || v.n.kind != kString {
		return "", false
	}
	return v.n.str, true
}

// Len returns the number of elements of an array or members of an object; 0 for
// other types and the zero View.
func (v View) Len() int {
	if v.n == nil {
		return 0
	}
	return len(v.n.kids)
}

// Index returns element i of an array (or member i of an object, in written
// order), 0 ≤ i < Len().
func (v View) Index(i int) View { return View{&v.n.kids[i]} }
