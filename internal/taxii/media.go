package taxii

import (
	"strconv"
	"strings"
)

// mediaRange is one element of an Accept header, or a Content-Type (RFC 7231 §3.1.1.1,
// §5.3.2): type/subtype, parameters (names lower-cased), and the weight q.
type mediaRange struct {
	typ, sub string
	params   map[string]string
	q        float64
}

// maxAcceptRanges bounds the work spent on one Accept header.
const maxAcceptRanges = 64

// parseAccept parses an Accept header into its media ranges. Elements that do not parse
// are skipped (RFC 7231 lets a server ignore what it cannot read); ok is false when
// nothing parsed at all.
func parseAccept(header string) (ranges []mediaRange, ok bool) {
	for _, part := range splitOutsideQuotes(header, ',') {
		if len(ranges) == maxAcceptRanges {
			break
		}
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		mr, err := parseMediaRange(part, true)
		if err != nil {
			continue
		}
		ranges = append(ranges, mr)
	}
	return ranges, len(ranges) > 0
}

type mediaError string

func (e mediaError) Error() string { return string(e) }

// parseMediaRange parses `type/subtype *( OWS ";" OWS name=value )`, with quoted values.
// In an Accept header (accept), q ends the media type's parameters: what follows are
// accept-extensions (RFC 7231 §5.3.2), which may lack a value, and are ignored. In a
// Content-Type, q is a parameter like any other.
func parseMediaRange(s string, accept bool) (mediaRange, error) {
	parts := splitOutsideQuotes(s, ';')
	ts, ss, found := strings.Cut(strings.TrimSpace(parts[0]), "/")
	if !found || !isToken(ts) || !isToken(ss) {
		return mediaRange{}, mediaError("not a media type")
	}
	mr := mediaRange{typ: strings.ToLower(ts), sub: strings.ToLower(ss), q: 1}
	if mr.typ == "*" && mr.sub != "*" {
		return mediaRange{}, mediaError("*/subtype is not a media range")
	}
	for _, p := range parts[1:] {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		name, value, found := strings.Cut(p, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		if !found || !isToken(name) {
			return mediaRange{}, mediaError("bad parameter")
		}
		if strings.HasPrefix(value, `"`) {
			v, err := unquote(value)
			if err != nil {
				return mediaRange{}, err
			}
			value = v
		} else if !isToken(value) {
			return mediaRange{}, mediaError("bad parameter value")
		}
		if accept && name == "q" {
			// RFC 7231 §5.3.1: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
			q, err := strconv.ParseFloat(value, 64)
			if err != nil || q < 0 || q > 1 || len(value) > 5 {
				return mediaRange{}, mediaError("bad weight")
			}
			mr.q = q
			break
		}
		if mr.params == nil {
			mr.params = map[string]string{}
		}
		if _, dup := mr.params[name]; dup {
			return mediaRange{}, mediaError("repeated parameter")
		}
		mr.params[name] = value
	}
	return mr, nil
}

// acceptsTAXII21 reports whether the Accept header lets us answer with
// application/taxii+json;version=2.1 (TAXII 2.1 §1.6.8, §3.1). A range matches when it is
// application/taxii+json without a version (the latest we support, which is 2.1) or
// with version=2.1, or a wildcard (*/*, application/*), and its weight is not zero. A
// more specific range with q=0 refuses what a wildcard allowed (RFC 7231 §5.3.2).
// A missing header is refused: TAXII requests MUST carry a TAXII media range (§3.1).
func acceptsTAXII21(header string) bool {
	ranges, ok := parseAccept(header)
	if !ok {
		return false
	}
	best, bestSpec := -1.0, -1
	for _, mr := range ranges {
		spec := -1
		switch {
		case mr.typ == "application" && mr.sub == "taxii+json":
			v, has := mr.params["version"]
			if has && v != "2.1" {
				continue
			}
			spec = 2
			if has {
				spec = 3
			}
		case mr.typ == "application" && mr.sub == "*":
			spec = 1
		case mr.typ == "*" && mr.sub == "*":
			spec = 0
		default:
			continue
		}
		if spec > bestSpec {
			best, bestSpec = mr.q, spec
		}
	}
	return bestSpec >= 0 && best > 0
}

// isTAXIIContentType reports whether a request Content-Type is the TAXII 2.1 media type:
// application/taxii+json with no version or version=2.1, and at most a UTF-8 charset
// (§1.6.8, §3.1, §5.5).
func isTAXIIContentType(header string) bool {
	if strings.Contains(header, ",") {
		return false
	}
	mr, err := parseMediaRange(header, false)
	if err != nil || mr.typ != "application" || mr.sub != "taxii+json" {
		return false
	}
	for name, value := range mr.params {
		switch name {
		case "version":
			if value != "2.1" {
				return false
			}
		case "charset":
			if !strings.EqualFold(value, "utf-8") {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// splitOutsideQuotes splits s at sep, except inside double-quoted strings.
func splitOutsideQuotes(s string, sep byte) []string {
	var out []string
	start, inQuote := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func unquote(s string) (string, error) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", mediaError("unterminated quoted string")
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		c := s[i]
		if c == '\\' {
			i++
			if i == len(s)-1 {
				return "", mediaError("bad escape")
			}
			c = s[i]
		} else if c == '"' {
			return "", mediaError("stray quote")
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// isToken reports whether s is an RFC 7230 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
