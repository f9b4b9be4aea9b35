package report

import "strings"

// CheckText returns why s cannot be text of a report ("" when it can), by the rules
// Decode applies to its fields: valid UTF-8, no control characters (line breaks and
// tabs only when lines is set), no bidirectional controls, no line or paragraph
// separators, and, for one line, no white space at either end. The callers that take
// other text from operators and analysts (notes of triage) hold it to the same rules.
func CheckText(s string, lines bool) string {
	mode := singleLine
	if lines {
		mode = multiLine
	}
	if mode == singleLine && strings.TrimSpace(s) != s {
		return "must not begin or end with white space"
	}
	return textProblem(s, mode)
}
