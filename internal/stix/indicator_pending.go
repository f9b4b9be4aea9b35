package stix

// checkIndicatorPattern is replaced by the pattern check (§9) once the pattern
// package builds; until then indicator patterns are not parsed.
func (c *checker) checkIndicatorPattern() {}
