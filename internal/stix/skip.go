package stix

import (
	"encoding/binary"
	"math/bits"
)

// DecoderDepth is the deepest nesting that SkipValue accepts: that of
// encoding/json, whose scanner fails beyond it.
const DecoderDepth = 10000

// SkipValue returns the index just past the JSON value that begins at in[i], after
// any whitespace. It accepts exactly the values that encoding/json accepts (json.Valid,
// or a json.Decoder decoding into json.RawMessage): RFC 8259's grammar, nesting at most
// DecoderDepth deep, but neither UTF-8 nor surrogate escapes checked, and duplicate
// member names allowed. It is for splitting a container of objects that Parse checks
// strictly one by one, where the container must keep accepting what encoding/json
// did, without encoding/json's cost: it scans each value twice and copies it.
//
// The scan is iterative, so no input can make it recurse; its errors wrap ErrJSON.
func SkipValue(in []byte, i int) (int, error) {
	// Bit d%64 of objs[d/64] is set when the container at depth d+1 is an object.
	// Most values need one word; deeper ones grow the slice.
	var word [1]uint64
	objs := word[:]
	depth := 0
	var err error
	for {
		i = SkipSpace(in, i)
		if i >= len(in) {
			return i, &jsonError{off: i, msg: "unexpected end of input"}
		}
		switch c := in[i]; c {
		case '{', '[':
			if depth == DecoderDepth {
				return i, &jsonError{off: i, msg: "nesting too deep"}
			}
			w, b := depth/64, uint64(1)<<(depth%64)
			if w == len(objs) {
				objs = append(objs, 0)
			}
			if c == '{' {
				objs[w] |= b
			} else {
				objs[w] &^= b
			}
			depth++
			i = SkipSpace(in, i+1)
			if i < len(in) && in[i] == c+2 { // '}' or ']'
				i++
				depth--
				break
			}
			if c == '{' {
				if i, err = memberName(in, i); err != nil {
					return i, err
				}
			}
			continue
		case '"':
			if i, err = skipString(in, i); err != nil {
				return i, err
			}
		case 't':
			if i, err = skipLiteral(in, i, "true"); err != nil {
				return i, err
			}
		case 'f':
			if i, err = skipLiteral(in, i, "false"); err != nil {
				return i, err
			}
		case 'n':
			if i, err = skipLiteral(in, i, "null"); err != nil {
				return i, err
			}
		default:
			if c != '-' && (c < '0' || c > '9') {
				return i, &jsonError{off: i, msg: "unexpected character"}
			}
			var msg string
			if i, msg = numberEnd(in, i); msg != "" {
				return i, &jsonError{off: i, msg: msg}
			}
		}
		// A value ended: close the containers it ends and move to the next value.
		for {
			if depth == 0 {
				return i, nil
			}
			i = SkipSpace(in, i)
			if i >= len(in) {
				return i, &jsonError{off: i, msg: "unexpected end of input"}
			}
			d := depth - 1
			obj := objs[d/64]>>(d%64)&1 == 1
			c := in[i]
			i++
			if c == ',' {
				if obj {
					if i, err = memberName(in, i); err != nil {
						return i, err
					}
				}
				break
			}
			if obj && c == '}' || !obj && c == ']' {
				depth--
				continue
			}
			return i - 1, &jsonError{off: i - 1, msg: "expected ',' or the end of the container"}
		}
	}
}

// memberName skips whitespace, a member name, whitespace and the colon.
func memberName(in []byte, i int) (int, error) {
	i = SkipSpace(in, i)
	if i >= len(in) || in[i] != '"' {
		return i, &jsonError{off: i, msg: "expected a member name"}
	}
	i, err := skipString(in, i)
	if err != nil {
		return i, err
	}
	i = SkipSpace(in, i)
	if i >= len(in) || in[i] != ':' {
		return i, &jsonError{off: i, msg: "expected ':' after member name"}
	}
	return i + 1, nil
}

// SkipSpace returns the index of the first byte from i on that is not JSON
// whitespace (RFC 8259 §2).
func SkipSpace(in []byte, i int) int {
	for i < len(in) {
		switch in[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func skipLiteral(in []byte, i int, lit string) (int, error) {
	if len(in)-i < len(lit) || string(in[i:i+len(lit)]) != lit {
		return i, &jsonError{off: i, msg: "invalid literal"}
	}
	return i + len(lit), nil
}

// Eight bytes at a time, for skipString.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special has the high bit of its first byte that is a quote, a backslash or a
// control character set, and nothing below it (higher bits may be set wrongly, as
// a borrow only runs upwards from a byte that matched).
func special(x uint64) uint64 {
	q := x ^ (ones * '"')
	b := x ^ (ones * '\\')
	return ((q-ones)&^q | (b-ones)&^b | (x-ones*0x20)&^x) & highs
}

// skipString skips the string that begins at in[i]. Strings are most of the bytes
// of an object, so it looks at eight at a time for the end or an escape.
func skipString(in []byte, i int) (int, error) {
	i++
	for {
		for i+8 <= len(in) {
			if m := special(binary.LittleEndian.Uint64(in[i:])); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		for i < len(in) && in[i] >= 0x20 && in[i] != '"' && in[i] != '\\' {
			i++
		}
		if i >= len(in) {
			return i, &jsonError{off: i, msg: "unterminated string"}
		}
		switch c := in[i]; {
		case c == '"':
			return i + 1, nil
		case c < 0x20:
			return i, &jsonError{off: i, msg: "control character in string"}
		}
		// A backslash.
		if i+1 >= len(in) {
			return i, &jsonError{off: i, msg: "unterminated escape"}
		}
		switch in[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			if _, ok := hex4(in, i+2); !ok {
				return i, &jsonError{off: i, msg: "invalid \\u escape"}
			}
			i += 6
		default:
			return i, &jsonError{off: i, msg: "invalid escape"}
		}
	}
}
