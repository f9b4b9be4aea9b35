package pattern

import (
	"fmt"
	"unicode/utf8"
)

// Error is a syntax or semantic error in a pattern, with where it was found.
type Error struct {
	Pos    int    // byte offset in the pattern, 0-based
	Line   int    // line of Pos, 1-based
	Column int    // column of Pos in characters, 1-based
	Msg    string // what is wrong, and where the rule comes from when it is the spec's
}

func (e *Error) Error() string {
	if e.Line > 1 {
		return fmt.Sprintf("pattern: at line %d, column %d: %s", e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("pattern: at column %d: %s", e.Column, e.Msg)
}

// newError places msg at byte offset pos of src.
func newError(src string, pos int, msg string) *Error {
	pos = max(0, min(pos, len(src)))
	line, col := 1, 1
	for i := 0; i < pos; {
		r, size := utf8.DecodeRuneInString(src[i:])
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
		i += size
	}
	return &Error{Pos: pos, Line: line, Column: col, Msg: msg}
}
