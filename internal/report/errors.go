package report

import (
	"errors"
	"strings"
)

// Errors a handler tells apart. ErrTooLarge and ErrSyntax come alone; ErrInvalid is
// matched by Errors, which lists every broken field.
var (
	ErrTooLarge = errors.New("report: too large")
	ErrSyntax   = errors.New("report: malformed JSON")
	ErrInvalid  = errors.New("report: invalid")
)

// FieldError is one broken rule of one field. Pointer is the field's JSON Pointer
// (RFC 6901) in the submitted document: "/indicators/3/value"; "" is the whole
// document.
type FieldError struct {
	Pointer string `json:"pointer"`
	Message string `json:"message"`
}

func (e FieldError) Error() string {
	if e.Pointer == "" {
		return e.Message
	}
	return e.Pointer + ": " + e.Message
}

// Errors is every broken field of a report, in the order of the format's fields, at most
// maxFieldErrors of them. It matches ErrInvalid with errors.Is.
type Errors []FieldError

func (es Errors) Error() string {
	var b strings.Builder
	b.WriteString("report: invalid: ")
	for i, e := range es {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInvalid) true.
func (es Errors) Is(target error) bool { return target == ErrInvalid }

// maxFieldErrors bounds the errors reported for one document.
const maxFieldErrors = 100

// escapePointer escapes one reference token of a JSON Pointer (RFC 6901 §3).
func escapePointer(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}
