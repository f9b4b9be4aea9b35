package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"quadshare/internal/stix"
)

// Limits of a report. A submission beyond them is refused whole.
const (
	MaxBytes          = 1 << 20 // the JSON document
	MaxTitle          = 200     // bytes
	MaxText           = 32 << 10
	MaxShort          = 200 // an affected service, an indicator's note
	MaxServices       = 50
	MaxSectors        = 16
	MaxIndicators     = 500
	MaxTechniques     = 100
	MaxAttachments    = 100
	MaxURL            = 2048
	MaxIdempotencyKey = 128
	// MaxVersions bounds the versions of one report: an update reads every
	// version before it (deadlines are judged on the history).
	MaxVersions = 100
	// ClockSkew is how far in the future of the receiving clock a time may lie.
	ClockSkew = 5 * time.Minute
)

// Decode reads one report with the shipped sector list and the current time.
func Decode(r io.Reader) (*Report, error) {
	return DecodeWith(r, DefaultSectors(), time.Now())
}

// DecodeWith reads one report from r and checks it strictly: at most MaxBytes, one
// I-JSON object (RFC 7493: no duplicate names, valid UTF-8), no unknown fields,
// every field of the right type and within its bounds, times no later than now
// plus ClockSkew. It returns the report or, wrapping ErrTooLarge or ErrSyntax, or as
// Errors, why not; never a partial report. Times are kept in UTC to the millisecond
// and indicator values in a normal form (lower-case domains and hashes, canonical IP
// addresses).
func DecodeWith(r io.Reader, sectors *Sectors, now time.Time) (*Report, error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("report: read: %w", err)
	}
	if len(raw) > MaxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxBytes)
	}
	// The STIX JSON reader refuses duplicate names, invalid UTF-8, lone surrogates
	// and deep nesting, which encoding/json would let through.
	if _, err := stix.Canonical(raw); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrSyntax, strings.TrimPrefix(err.Error(), "canonical: "))
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("%w: the document must be a JSON object", ErrSyntax)
	}
	if sectors == nil {
		sectors = DefaultSectors()
	}
	d := decoder{sectors: sectors, now: now}
	rep := d.report(raw)
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	return rep, nil
}

type decoder struct {
	sectors *Sectors
	now     time.Time
	errs    Errors
}

func (d *decoder) add(ptr, format string, a ...any) {
	if len(d.errs) < maxFieldErrors {
		d.errs = append(d.errs, FieldError{Pointer: ptr, Message: fmt.Sprintf(format, a...)})
	}
}

// object splits a JSON object into its members, reporting those not in allowed.
// The keys are returned in document order so that errors come in that order.
func (d *decoder) object(raw json.RawMessage, ptr string, allowed ...string) (map[string]json.RawMessage, bool) {
	if kindOf(raw) != "object" {
		d.add(ptr, "must be an object, not %s", kindOf(raw))
		return nil, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		d.add(ptr, "must be an object: %v", err)
		return nil, false
	}
	var unknown []string
	for k := range m {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		d.add(ptr+"/"+escapePointer(clip(k)), "unknown field")
	}
	return m, true
}

// kindOf names the JSON type of a value.
func kindOf(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// text modes of a string field.
const (
	singleLine = iota
	multiLine
)

// str reads a string field. A missing optional field gives "" and false.
func (d *decoder) str(m map[string]json.RawMessage, key, ptr string, required bool, maxLen, mode int) (string, bool) {
	v, ok := m[key]
	if !ok {
		if required {
			d.add(ptr, "required")
		}
		return "", false
	}
	return d.strValue(v, ptr, maxLen, mode)
}

func (d *decoder) strValue(v json.RawMessage, ptr string, maxLen, mode int) (string, bool) {
	if k := kindOf(v); k != "string" {
		d.add(ptr, "must be a string, not %s", k)
		return "", false
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		d.add(ptr, "must be a string: %v", err)
		return "", false
	}
	switch {
	case s == "":
		d.add(ptr, "must not be empty")
		return "", false
	case len(s) > maxLen:
		d.add(ptr, "longer than %d bytes", maxLen)
		return "", false
	case strings.TrimSpace(s) != s && mode == singleLine:
		d.add(ptr, "must not begin or end with white space")
		return "", false
	}
	if msg := textProblem(s, mode); msg != "" {
		d.add(ptr, "%s", msg)
		return "", false
	}
	return s, true
}

// textProblem refuses characters that have no business in a report and are used to
// hide content from a reader: control characters (line breaks and tabs only in
// multi-line text), bidirectional overrides and isolates, and the Unicode line and
// paragraph separators.
func textProblem(s string, mode int) string {
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			return fmt.Sprintf("invalid UTF-8 at byte %d", i)
		case mode == multiLine && (r == '\n' || r == '\t' || r == '\r'):
		case unicode.IsControl(r):
			return fmt.Sprintf("control character U+%04X at byte %d", r, i)
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
			return fmt.Sprintf("bidirectional control character U+%04X at byte %d", r, i)
		case r == 0x2028 || r == 0x2029:
			return fmt.Sprintf("line or paragraph separator U+%04X at byte %d", r, i)
		}
	}
	return ""
}

func (d *decoder) boolean(m map[string]json.RawMessage, key, ptr string, required bool) bool {
	v, ok := m[key]
	if !ok {
		if required {
			d.add(ptr, "required")
		}
		return false
	}
	if k := kindOf(v); k != "boolean" {
		d.add(ptr, "must be true or false, not %s", k)
		return false
	}
	return bytes.Equal(bytes.TrimSpace(v), []byte("true"))
}

// timeField reads an RFC 3339 time with an explicit offset, between 1970 and
// now+ClockSkew, returned in UTC truncated to the millisecond.
func (d *decoder) timeField(m map[string]json.RawMessage, key, ptr string, required bool) *time.Time {
	s, ok := d.str(m, key, ptr, required, 64, singleLine)
	if !ok {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.add(ptr, "must be an RFC 3339 time with a time zone offset, such as 2026-11-22T04:30:00Z")
		return nil
	}
	t = t.UTC().Truncate(time.Millisecond)
	switch {
	case t.Year() < 1970:
		d.add(ptr, "before 1970")
		return nil
	case t.After(d.now.Add(ClockSkew)):
		d.add(ptr, "in the future")
		return nil
	}
	return &t
}

// array reads a JSON array of at most maxLen elements.
func (d *decoder) array(m map[string]json.RawMessage, key, ptr string, maxLen int) []json.RawMessage {
	v, ok := m[key]
	if !ok {
		return nil
	}
	if k := kindOf(v); k != "array" {
		d.add(ptr, "must be an array, not %s", k)
		return nil
	}
	var a []json.RawMessage
	if err := json.Unmarshal(v, &a); err != nil {
		d.add(ptr, "must be an array: %v", err)
		return nil
	}
	if len(a) > maxLen {
		d.add(ptr, "more than %d elements", maxLen)
		return nil
	}
	return a
}

// strings reads an array of unique single-line strings, each checked by check
// (which returns the normal form, or a problem).
func (d *decoder) strings(m map[string]json.RawMessage, key string, maxLen, maxEach int, check func(string) (string, string)) []string {
	ptr := "/" + key
	a := d.array(m, key, ptr, maxLen)
	var out []string
	for i, v := range a {
		p := ptr + "/" + strconv.Itoa(i)
		s, ok := d.strValue(v, p, maxEach, singleLine)
		if !ok {
			continue
		}
		if check != nil {
			var msg string
			if s, msg = check(s); msg != "" {
				d.add(p, "%s", msg)
				continue
			}
		}
		if j := slices.Index(out, s); j >= 0 {
			d.add(p, "repeats an earlier element")
			continue
		}
		out = append(out, s)
	}
	return out
}

var reportFields = []string{
	"id", "idempotency_key", "title", "description", "started_at", "detected_at", "impact", "ongoing",
	"affected_services", "sectors", "ransom", "indicators", "techniques", "notes", "attachments", "tlp",
}

func (d *decoder) report(raw json.RawMessage) *Report {
	m, ok := d.object(raw, "", reportFields...)
	if !ok {
		return nil
	}
	r := &Report{}
	if s, ok := d.str(m, "id", "/id", false, 36, singleLine); ok {
		if !isUUID(s) {
			d.add("/id", "must be a report id (a lower-case UUID)")
		}
		r.ID = s
	}
	if s, ok := d.str(m, "idempotency_key", "/idempotency_key", false, MaxIdempotencyKey, singleLine); ok {
		if !isKey(s) {
			d.add("/idempotency_key", "may hold only letters A-Z and a-z, digits, '.', '_', ':' and '-'")
		}
		r.IdempotencyKey = s
	}
	r.Title, _ = d.str(m, "title", "/title", true, MaxTitle, singleLine)
	r.Description, _ = d.str(m, "description", "/description", true, MaxText, multiLine)
	r.StartedAt = d.timeField(m, "started_at", "/started_at", false)
	if t := d.timeField(m, "detected_at", "/detected_at", true); t != nil {
		r.DetectedAt = *t
		if r.StartedAt != nil && r.StartedAt.After(*t) {
			d.add("/started_at", "after detected_at")
		}
	}
	if s, ok := d.str(m, "impact", "/impact", true, 32, singleLine); ok {
		r.Impact = Impact(s)
		if r.Impact.Rank() < 0 {
			d.add("/impact", "must be one of none, minor, significant, severe")
		}
	}
	r.Ongoing = d.boolean(m, "ongoing", "/ongoing", true)
	r.AffectedServices = d.strings(m, "affected_services", MaxServices, MaxShort, nil)
	r.Sectors = d.strings(m, "sectors", MaxSectors, 64, func(s string) (string, string) {
		if !d.sectors.Known(s) {
			return s, "not a sector of the common list"
		}
		return s, ""
	})
	if v, ok := m["ransom"]; ok {
		r.Ransom = d.ransom(v, r)
	}
	if a := d.array(m, "indicators", "/indicators", MaxIndicators); a != nil {
		seen := map[string]int{}
		for i, v := range a {
			p := "/indicators/" + strconv.Itoa(i)
			ind, ok := d.indicator(v, p)
			if !ok {
				continue
			}
			k := ind.key()
			if j, dup := seen[k]; dup {
				d.add(p, "the same indicator as /indicators/%d", j)
				continue
			}
			seen[k] = i
			r.Indicators = append(r.Indicators, ind)
		}
	}
	r.Techniques = d.strings(m, "techniques", MaxTechniques, 16, func(s string) (string, string) {
		if !isTechnique(s) {
			return s, "must be an ATT&CK technique id such as T1486 or T1566.001"
		}
		return s, ""
	})
	r.Notes, _ = d.str(m, "notes", "/notes", false, MaxText, multiLine)
	if a := d.array(m, "attachments", "/attachments", MaxAttachments); a != nil {
		seen := map[string]int{}
		for i, v := range a {
			p := "/attachments/" + strconv.Itoa(i)
			at, ok := d.attachment(v, p)
			if !ok {
				continue
			}
			if j, dup := seen[at.SHA256]; dup {
				d.add(p+"/sha256", "the same file as /attachments/%d", j)
				continue
			}
			seen[at.SHA256] = i
			r.Attachments = append(r.Attachments, at)
		}
	}
	if s, ok := d.str(m, "tlp", "/tlp", true, 32, singleLine); ok {
		r.TLP = TLP(s)
		if _, known := r.TLP.Marking(); !known {
			d.add("/tlp", "must be one of clear, green, amber, amber+strict, red (TLP 2.0)")
		}
	}
	return r
}

func (d *decoder) ransom(v json.RawMessage, r *Report) *Ransom {
	m, ok := d.object(v, "/ransom", "demanded", "extortion", "paid", "paid_at")
	if !ok {
		return nil
	}
	rs := &Ransom{
		Demanded:  d.boolean(m, "demanded", "/ransom/demanded", false),
		Extortion: d.boolean(m, "extortion", "/ransom/extortion", false),
		Paid:      d.boolean(m, "paid", "/ransom/paid", false),
	}
	rs.PaidAt = d.timeField(m, "paid_at", "/ransom/paid_at", false)
	_, hasPaidAt := m["paid_at"]
	switch {
	case rs.Paid && !hasPaidAt:
		d.add("/ransom/paid_at", "required when paid is true")
	case !rs.Paid && hasPaidAt:
		d.add("/ransom/paid_at", "only allowed when paid is true")
	case rs.PaidAt != nil && r.StartedAt != nil && rs.PaidAt.Before(*r.StartedAt):
		d.add("/ransom/paid_at", "before started_at")
	}
	return rs
}

// hashLengths are the hash algorithms an indicator or attachment may carry (the
// names of the STIX hash-algorithm-ov vocabulary, §10.7) and their hex lengths.
var hashLengths = map[string]int{"MD5": 32, "SHA-1": 40, "SHA-256": 64, "SHA-512": 128}

func (d *decoder) indicator(v json.RawMessage, ptr string) (Indicator, bool) {
	m, ok := d.object(v, ptr, "kind", "value", "algorithm", "note")
	if !ok {
		return Indicator{}, false
	}
	n := len(d.errs)
	var ind Indicator
	kind, kok := d.str(m, "kind", ptr+"/kind", true, 16, singleLine)
	ind.Kind = IndicatorKind(kind)
	value, vok := d.str(m, "value", ptr+"/value", true, MaxURL, singleLine)
	alg, aok := d.str(m, "algorithm", ptr+"/algorithm", false, 16, singleLine)
	ind.Note, _ = d.str(m, "note", ptr+"/note", false, MaxShort, singleLine)
	if kok {
		switch ind.Kind {
		case KindIP, KindDomain, KindURL, KindEmail:
			if aok {
				d.add(ptr+"/algorithm", "only allowed for kind hash")
			}
		case KindHash:
			if _, known := hashLengths[alg]; aok && !known {
				d.add(ptr+"/algorithm", "must be one of MD5, SHA-1, SHA-256, SHA-512")
				aok = false
			} else if !aok {
				if _, present := m["algorithm"]; !present {
					d.add(ptr+"/algorithm", "required for kind hash")
				}
			}
		default:
			d.add(ptr+"/kind", "must be one of ip, domain, url, email, hash")
			kok = false
		}
	}
	if kok && vok && (ind.Kind != KindHash || aok) {
		norm, msg := normalise(ind.Kind, alg, value)
		if msg != "" {
			d.add(ptr+"/value", "%s", msg)
		}
		value = norm
	}
	ind.Value, ind.Algorithm = value, alg
	return ind, len(d.errs) == n
}

// key identifies an indicator for duplicate detection and id derivation.
func (ind Indicator) key() string {
	return string(ind.Kind) + "/" + ind.Algorithm + "/" + ind.Value
}

// normalise checks an indicator value and returns its normal form.
func normalise(kind IndicatorKind, alg, v string) (string, string) {
	switch kind {
	case KindIP:
		a, err := netip.ParseAddr(v)
		if err != nil || a.Zone() != "" {
			return v, "must be an IPv4 or IPv6 address without zone"
		}
		return a.Unmap().String(), ""
	case KindDomain:
		s := strings.TrimSuffix(strings.ToLower(v), ".")
		if msg := domainProblem(s); msg != "" {
			return v, msg
		}
		return s, ""
	case KindURL:
		u, err := url.Parse(v)
		switch {
		case err != nil:
			return v, "must be a URL"
		case !u.IsAbs() || u.Host == "":
			return v, "must be an absolute URL with a host"
		case strings.ContainsAny(v, " \t"):
			return v, "must not contain white space (percent-encode it)"
		}
		return v, ""
	case KindEmail:
		local, domain, ok := strings.Cut(v, "@")
		switch {
		case !ok || local == "" || len(local) > 64 || len(v) > 254:
			return v, "must be an e-mail address local@domain"
		case strings.ContainsAny(local, " \t\"<>()[],;:\\@"):
			return v, "the local part may not hold white space or any of \"<>()[],;:\\@"
		}
		domain = strings.TrimSuffix(strings.ToLower(domain), ".")
		if msg := domainProblem(domain); msg != "" {
			return v, "domain: " + msg
		}
		return local + "@" + domain, ""
	case KindHash:
		s := strings.ToLower(v)
		if len(s) != hashLengths[alg] || !isHex(s) {
			return v, fmt.Sprintf("must be %d hexadecimal digits for %s", hashLengths[alg], alg)
		}
		return s, ""
	}
	return v, "unknown kind"
}

// domainProblem checks a lower-case domain name in ASCII (A-label) form.
func domainProblem(s string) string {
	if len(s) > 253 {
		return "longer than 253 characters"
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return "must be a fully qualified domain name such as example.com"
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "each label must be 1 to 63 characters, not beginning or ending with '-'"
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
				return "may hold only a-z, 0-9, '-' and '_' (write internationalised names as xn-- A-labels)"
			}
		}
	}
	if isDigits(labels[len(labels)-1]) {
		return "the top-level label must not be all digits"
	}
	return ""
}

func (d *decoder) attachment(v json.RawMessage, ptr string) (Attachment, bool) {
	m, ok := d.object(v, ptr, "name", "sha256", "size", "media_type")
	if !ok {
		return Attachment{}, false
	}
	n := len(d.errs)
	var at Attachment
	at.Name, _ = d.str(m, "name", ptr+"/name", true, 255, singleLine)
	if strings.ContainsAny(at.Name, "/\\") {
		d.add(ptr+"/name", "a file name, without '/' or '\\'")
	}
	if s, ok := d.str(m, "sha256", ptr+"/sha256", true, 64, singleLine); ok {
		at.SHA256 = strings.ToLower(s)
		if len(s) != 64 || !isHex(at.SHA256) {
			d.add(ptr+"/sha256", "must be 64 hexadecimal digits")
		}
	}
	if v, ok := m["size"]; ok {
		n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
		switch {
		case kindOf(v) != "number":
			d.add(ptr+"/size", "must be a number, not %s", kindOf(v))
		case err != nil || n < 0 || n > 1<<50:
			d.add(ptr+"/size", "must be a whole number of bytes from 0 to 2^50")
		default:
			at.Size = n
		}
	}
	if s, ok := d.str(m, "media_type", ptr+"/media_type", false, 127, singleLine); ok {
		mt, params, err := mime.ParseMediaType(s)
		if err != nil || len(params) > 0 || !strings.Contains(mt, "/") {
			d.add(ptr+"/media_type", "must be a media type such as text/plain, without parameters")
		}
		at.MediaType = mt
	}
	return at, len(d.errs) == n
}

func isTechnique(s string) bool {
	switch {
	case len(s) == 5:
		return s[0] == 'T' && isDigits(s[1:])
	case len(s) == 9:
		return s[0] == 'T' && isDigits(s[1:5]) && s[5] == '.' && isDigits(s[6:])
	}
	return false
}

func isKey(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && !strings.ContainsRune("._:-", rune(c)) {
			return false
		}
	}
	return s != ""
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return s != ""
}

// clip shortens a hostile name for an error message.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	i := 64
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
