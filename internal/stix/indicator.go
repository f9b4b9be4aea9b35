package stix

import (
	"errors"
	"fmt"

	"quadshare/internal/stix/pattern"
)

// checkIndicatorPattern parses the pattern of an indicator whose pattern_type is
// "stix" (§4.7.1, §9); a pattern that does not parse makes the indicator invalid,
// and the error gives the position in the pattern.
func (c *checker) checkIndicatorPattern() {
	pt, _ := c.root.stringOf("pattern_type")
	p, ok := c.root.stringOf("pattern")
	if pt != "stix" || !ok {
		return
	}
	if _, err := pattern.Parse(p); err != nil {
		var pe *pattern.Error
		if errors.As(err, &pe) {
			c.add("pattern", RulePattern, "at byte %d (line %d, column %d): %s", pe.Pos, pe.Line, pe.Column, pe.Msg)
			return
		}
		c.add("pattern", RulePattern, "%s", fmt.Sprint(err))
	}
}
