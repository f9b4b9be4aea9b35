// Package pattern parses STIX 2.1 patterns (§9) into a syntax tree, checks the rules
// the specification states as MUST, and renders the tree back in a canonical form.
//
// The parser is hand-written recursive descent over the pattern string: it reads tokens
// in place (no token slice, no regular expressions) and keeps the substrings of the
// input for names and strings without escapes. The first observation, comparison and
// path live inside the Pattern value, so a one-comparison pattern is one allocation.
// Inputs are bounded: MaxLength bytes, MaxDepth nested parentheses.
//
// Precedence follows §9.5.3 and §9.6: inside brackets AND binds tighter than OR;
// between observation expressions AND binds tighter than OR, which binds tighter than
// FOLLOWEDBY; qualifiers bind to the observation expression (or parenthesized group)
// right before them, so "[a] FOLLOWEDBY [b] REPEATS 5 TIMES" repeats only [b] (§9.5.2).
//
// Where the OASIS reference grammar accepts more than the specification's text allows
// or defines, the text wins, and the error says what to write instead: a plus sign on a number
// (§9.2), upper-case hex digits (§2.8), "==" and "<>", comments, negative list indices
// (§9.7.2), an empty IN set, upper-case or mixed-case keywords, whitespace inside an
// object path, and object types that break the naming rules of §3.1 are all refused.
// A timestamp follows the same rules as the stix package (§2.16: upper-case "Z", at
// most nine fractional digits, no leap second); this package cannot import stix, which
// imports it, so the check is written here again.
//
// MATCHES takes a PCRE expression (§9.6.1). Go's regexp package implements RE2, which
// lacks back-references, look-around and possessive quantifiers that PCRE accepts, so
// compiling with it would refuse valid patterns from partners. Parse instead checks the
// structure PCRE itself requires (balanced groups, closed character classes, a
// quantifier after something it can repeat, {n,m} with n <= m, no trailing backslash);
// whoever evaluates a pattern decides what to do with features RE2 cannot run.
//
// ISSUBSET and ISSUPERSET need an IPv4 or IPv6 address or CIDR block (§9.6.1); the
// object path is not checked against the SCO definitions, since the specification's own
// examples apply them to network-traffic:dst_ref.value.
//
// NOT may also precede EXISTS ("NOT EXISTS file:hashes.MD5"): §9.6.1 lets NOT modify any
// comparison operator, although the reference grammar only allows it before the others.
//
// Within one observation expression, the operands of every AND must be satisfiable by
// one object (§9.5): each side's possible object types are computed (OR takes the union,
// AND the intersection) and an AND whose sides share no type is refused.
package pattern
