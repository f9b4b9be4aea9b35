package taxii

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// endpoint says which URL parameters an endpoint takes (TAXII 2.1 §5.3, §5.4, §5.6,
// §5.7, §5.8).
type endpoint int

const (
	epObjects  endpoint = iota // GET objects: every filter (§5.4)
	epManifest                 // GET manifest: every filter (§5.3)
	epObject                   // GET object: added_after, limit, next, version, spec_version (§5.6)
	epVersions                 // GET versions: added_after, limit, next, spec_version (§5.8)
	epDelete                   // DELETE object: version, spec_version (§5.7)
)

func (e endpoint) String() string {
	return [...]string{"objects", "manifest", "object", "versions", "delete"}[e]
}

func (e endpoint) paged() bool { return e != epDelete }

func (e endpoint) allows(field string) bool {
	switch field {
	case "id", "type":
		return e == epObjects || e == epManifest
	case "version":
		return e != epVersions
	case "spec_version":
		return true
	}
	return false
}

// filter is a parsed, validated set of URL parameters (§3.4).
type filter struct {
	AddedAfter   time.Time
	Limit        int // 0: none given
	Next         string
	IDs          []string
	Types        []string
	SpecVersions []string
	Versions     store.VersionFilter
}

// Bounds on what one request may ask, so a query string cannot make the server work
// without end.
const (
	maxQueryLen    = 16 << 10
	maxMatchValues = 256
)

// badParam is a malformed URL parameter: 400 (§3.4).
type badParam struct{ msg string }

func (e *badParam) Error() string { return e.msg }

func badf(format string, args ...any) error { return &badParam{msg: fmt.Sprintf(format, args...)} }

// parseFilter reads the URL parameters of an endpoint. Malformed parameters, a
// parameter given twice, and match fields the endpoint does not take are errors
// (§3.4: "If any of the URL query parameters are malformed, the TAXII Server MUST return
// an HTTP 400"); unknown parameters and unknown match fields are ignored (§3.4: "servers
// MAY ignore fields they do not understand").
func parseFilter(rawQuery string, ep endpoint) (filter, error) {
	var f filter
	if len(rawQuery) > maxQueryLen {
		return f, badf("the query string is longer than %d bytes", maxQueryLen)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return f, badf("the query string is not valid URL encoding")
	}
	for name, values := range q {
		if len(values) > 1 {
			return f, badf("the parameter %q is given more than once", clip(name))
		}
		v := values[0]
		switch {
		case name == "added_after" && ep.paged():
			ts, err := stix.ParseTimestamp(v)
			if err != nil {
				return f, badf("added_after: %v", err)
			}
			f.AddedAfter = ts.Time()
		case name == "limit" && ep.paged():
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return f, badf("limit must be a positive integer")
			}
			f.Limit = n
		case name == "next" && ep.paged():
			if v == "" || len(v) > 1024 {
				return f, badf("next is not a value this server gave")
			}
			f.Next = v
		case strings.HasPrefix(name, "match[") && strings.HasSuffix(name, "]"):
			field := name[len("match[") : len(name)-1]
			switch field {
			case "id", "type", "version", "spec_version":
			default:
				continue // §3.4: unknown fields MAY be ignored
			}
			if !ep.allows(field) {
				return f, badf("match[%s] is not a filter of the %s endpoint", field, ep)
			}
			vals, err := splitValues(field, v)
			if err != nil {
				return f, err
			}
			switch field {
			case "id":
				f.IDs = vals
			case "type":
				f.Types = vals
			case "spec_version":
				f.SpecVersions = vals
			case "version":
				f.Versions, err = parseVersions(vals)
				if err != nil {
					return f, err
				}
			}
		}
	}
	return f, nil
}

// splitValues splits a comma-separated match value (§3.4: "Multiple values are separated
// by a comma ... without any spaces") and checks each value's form.
func splitValues(field, v string) ([]string, error) {
	if v == "" {
		return nil, badf("match[%s] is empty", field)
	}
	vals := strings.Split(v, ",")
	if len(vals) > maxMatchValues {
		return nil, badf("match[%s] has more than %d values", field, maxMatchValues)
	}
	for _, s := range vals {
		var ok bool
		switch field {
		case "id":
			ok = validID(s)
		case "type":
			ok = validType(s)
		case "spec_version":
			ok = validSpecVersion(s)
		default:
			ok = s != ""
		}
		if !ok {
			return nil, badf("match[%s]: %q is not a valid value", field, clip(s))
		}
	}
	return vals, nil
}

// parseVersions reads match[version] (§3.4.1): first, last, all, or exact STIX
// timestamps; none may repeat and all stands alone.
func parseVersions(vals []string) (store.VersionFilter, error) {
	var vf store.VersionFilter
	seen := map[string]bool{}
	for _, s := range vals {
		key := s
		switch s {
		case "first":
			vf.First = true
		case "last":
			vf.Last = true
		case "all":
			vf.All = true
		default:
			ts, err := stix.ParseTimestamp(s)
			if err != nil {
				return vf, badf("match[version]: %v", err)
			}
			key = ts.Key()
			vf.Exact = append(vf.Exact, ts)
		}
		if seen[key] {
			return vf, badf("match[version]: %q is given more than once", clip(s))
		}
		seen[key] = true
	}
	if vf.All && len(vals) > 1 {
		return vf, badf("match[version]: all must not be combined with other versions")
	}
	return vf, nil
}

// validType reports whether s can be a STIX type: 3 to 250 characters of a-z, 0-9 and
// hyphen (STIX 2.1 §3.1).
func validType(s string) bool {
	if len(s) < 3 || len(s) > 250 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validID reports whether s has the form of a STIX identifier: type--UUID (STIX 2.1 §2.9).
func validID(s string) bool {
	typ, u, ok := strings.Cut(s, "--")
	if !ok || !validType(typ) || len(u) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := u[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// validSpecVersion reports whether s is "n.m" with unsigned integers (§1.6.8.2 form).
func validSpecVersion(s string) bool {
	maj, min, ok := strings.Cut(s, ".")
	return ok && isDigits(maj) && isDigits(min) && len(s) <= 16
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// clip shortens what a client sent before it is echoed in an error.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
