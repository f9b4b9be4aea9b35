package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"quadshare/internal/stix"
)

// Redacted records one change made to an object before it left: where (a
// selector, §7.2.3 syntax, on the object as it was) and why.
type Redacted struct {
	Path string `json:"path"`
	Kind string `json:"kind"`
}

// Kinds of redaction.
const (
	KindGranular        = "granular-marking" // content under a granular marking the recipient may not see
	KindReporter        = "reporter"         // the reporting operator, replaced by our agency
	KindEmail           = "email"
	KindPhone           = "phone"
	KindInternalAddress = "internal-address"
	KindInternalHost    = "internal-host"
)

// ErrDenied is returned by Apply for a Deny decision.
var ErrDenied = errors.New("policy: denied")

// Apply carries out a decision on the object's JSON: for Allow it returns raw as
// is; for Redact the object re-encoded after every redaction the decision asks
// for, with a record of each; for Deny ErrDenied. f must be the Facts of raw.
func (e *Engine) Apply(raw []byte, f *Facts, d Decision) ([]byte, []Redacted, error) {
	return e.apply(raw, f, d, false)
}

// ApplyWholeItems is Apply, except that granular content inside an item of a list
// removes that item whole. Where Apply leaves an item that is no longer valid STIX
// (an external reference with only its source_name left), this keeps the rest of
// the object valid.
func (e *Engine) ApplyWholeItems(raw []byte, f *Facts, d Decision) ([]byte, []Redacted, error) {
	return e.apply(raw, f, d, true)
}

func (e *Engine) apply(raw []byte, f *Facts, d Decision, wholeItems bool) ([]byte, []Redacted, error) {
	switch d.Verdict {
	case Allow:
		return raw, nil, nil
	case Redact:
	default:
		return nil, nil, fmt.Errorf("%w: %s by rule %s", ErrDenied, f.ID, d.Rule)
	}
	if d.Redact == 0 && !d.Anonymise && d.Scrub && !e.scrubFinds(raw) {
		return raw, nil, nil // scrubbing alone, and nothing to scrub: sent as it is
	}
	obj, err := decodeObject(raw)
	if err != nil {
		return nil, nil, err
	}
	var recs []Redacted
	if d.Redact != 0 {
		recs = append(recs, redactSelectors(obj, d.Selectors(f), wholeItems)...)
	}
	if d.Anonymise {
		recs = append(recs, anonymise(obj, f.Reporter, e.cfg.Agency)...)
	}
	if d.Scrub {
		recs = append(recs, e.scrubTree(obj)...)
	}
	out, err := encodeObject(obj)
	return out, recs, err
}

// RedactSelectors removes the content the selectors name (§7.2.3) from an object:
// properties are deleted, list items removed, and the object's granular markings
// are brought in line (markings of removed content dropped, list indices of the
// others renumbered). A selector naming absent content is ignored.
func RedactSelectors(raw []byte, selectors []string) ([]byte, []Redacted, error) {
	obj, err := decodeObject(raw)
	if err != nil {
		return nil, nil, err
	}
	recs := redactSelectors(obj, selectors, false)
	out, err := encodeObject(obj)
	return out, recs, err
}

// Anonymise replaces the reporter's identity id by the agency's wherever it occurs
// in the object, and keeps only the sector and size band of the reporter in our
// sharing extension.
func Anonymise(raw []byte, reporter, agency string) ([]byte, []Redacted, error) {
	obj, err := decodeObject(raw)
	if err != nil {
		return nil, nil, err
	}
	recs := anonymise(obj, reporter, agency)
	out, err := encodeObject(obj)
	return out, recs, err
}

// Scrub removes e-mail addresses, phone numbers, internal addresses and internal
// host names from the configured properties of an object.
func (e *Engine) Scrub(raw []byte) ([]byte, []Redacted, error) {
	obj, err := decodeObject(raw)
	if err != nil {
		return nil, nil, err
	}
	recs := e.scrubTree(obj)
	out, err := encodeObject(obj)
	return out, recs, err
}

func decodeObject(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("policy: redact: %w", err)
	}
	if obj == nil {
		return nil, errors.New("policy: redact: not a JSON object")
	}
	if dec.More() {
		return nil, errors.New("policy: redact: trailing data after the object")
	}
	return obj, nil
}

func encodeObject(obj map[string]any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(obj); err != nil {
		return nil, fmt.Errorf("policy: redact: encode: %w", err)
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// removed marks content to delete; a compaction pass deletes it, so that list
// indices of the selectors stay those of the original object while they are
// applied.
type removedMark struct{}

var removed any = &removedMark{}

func isRemoved(v any) bool { _, ok := v.(*removedMark); return ok }

// redactSelectors applies granular redaction to a decoded object.
func redactSelectors(obj map[string]any, selectors []string, wholeItems bool) []Redacted {
	var recs []Redacted
	var done []string // selectors applied, as component lists joined by "."
	for _, sel := range selectors {
		comps := strings.Split(sel, ".")
		if wholeItems {
			comps = itemOf(comps)
		}
		if markSelected(obj, comps) {
			sel = strings.Join(comps, ".")
			recs = append(recs, Redacted{Path: sel, Kind: KindGranular})
			done = append(done, sel)
		}
	}
	if len(done) == 0 {
		return nil
	}
	// Removed list items, per list: the list's path -> removed indices.
	removedItems := map[string][]int{}
	for _, sel := range done {
		comps := strings.Split(sel, ".")
		if n, ok := listIndex(comps[len(comps)-1]); ok {
			p := strings.Join(comps[:len(comps)-1], ".")
			removedItems[p] = append(removedItems[p], n)
		}
	}
	fixGranular(obj, done, removedItems)
	compact(obj)
	return recs
}

// itemOf is the selector of the innermost list item that holds the content comps
// selects, or comps when no list item holds it.
func itemOf(comps []string) []string {
	for k := len(comps) - 2; k > 0; k-- {
		if _, ok := listIndex(comps[k]); ok {
			return comps[:k+1]
		}
	}
	return comps
}

// markSelected replaces the selected content by the removed mark. It reports
// whether the selector named present content.
func markSelected(v any, comps []string) bool {
	for i, c := range comps {
		last := i == len(comps)-1
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[c]
			if !ok || isRemoved(next) {
				return false
			}
			if last {
				x[c] = removed
				return true
			}
			v = next
		case []any:
			n, ok := listIndex(c)
			if !ok || n >= len(x) || isRemoved(x[n]) {
				return false
			}
			if last {
				x[n] = removed
				return true
			}
			v = x[n]
		default:
			return false
		}
	}
	return false
}

// fixGranular drops the selectors of granular markings that point into removed
// content, renumbers list indices after removed items, and drops markings left
// without selectors.
func fixGranular(obj map[string]any, done []string, removedItems map[string][]int) {
	gms, ok := obj["granular_markings"].([]any)
	if !ok {
		return
	}
	for i, g := range gms {
		gm, ok := g.(map[string]any)
		if !ok {
			continue
		}
		sels, ok := gm["selectors"].([]any)
		if !ok {
			continue
		}
		var keep []any
		for _, s := range sels {
			str, ok := s.(string)
			if !ok {
				keep = append(keep, s)
				continue
			}
			if under(str, done) {
				continue
			}
			keep = append(keep, renumber(str, removedItems))
		}
		if len(keep) == 0 {
			gms[i] = removed
		} else {
			gm["selectors"] = keep
		}
	}
}

// under reports whether sel is one of roots or inside one of them.
func under(sel string, roots []string) bool {
	for _, r := range roots {
		if sel == r || strings.HasPrefix(sel, r+".") {
			return true
		}
	}
	return false
}

// renumber shifts the list indices of sel past removed items.
func renumber(sel string, removedItems map[string][]int) string {
	comps := strings.Split(sel, ".")
	changed := false
	for i := 1; i < len(comps); i++ {
		n, ok := listIndex(comps[i])
		if !ok {
			continue
		}
		gone := removedItems[strings.Join(comps[:i], ".")]
		shift := 0
		for _, g := range gone {
			if g < n {
				shift++
			}
		}
		if shift > 0 {
			comps[i] = "[" + strconv.Itoa(n-shift) + "]"
			changed = true
		}
	}
	if !changed {
		return sel
	}
	return strings.Join(comps, ".")
}

// compact deletes removed content, and with it a list or an object that removal
// left empty (STIX 2.1 §2.12 forbids empty lists, and an empty extensions or
// dictionary is invalid too: what the recipient receives must stay valid STIX); an
// emptied granular_markings goes too.
func compact(v any) any {
	v, _ = compacted(v)
	return v
}

// compacted is compact that also reports whether removal emptied v.
func compacted(v any) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		lost := false
		for k, c := range x {
			c, emptied := compacted(c)
			if isRemoved(c) || emptied {
				delete(x, k)
				lost = true
				continue
			}
			x[k] = c
		}
		if gm, ok := x["granular_markings"].([]any); ok && len(gm) == 0 {
			delete(x, "granular_markings")
		}
		return x, lost && len(x) == 0
	case []any:
		// An item that removal emptied stays: dropping it would shift the items
		// after it under the granular markings' selectors. It leaves the object
		// invalid, so the object is withheld.
		out := x[:0]
		for _, c := range x {
			if !isRemoved(c) {
				c, _ = compacted(c)
				out = append(out, c)
			}
		}
		return out, len(out) == 0 && len(x) > 0
	}
	return v, false
}

// anonymise replaces the reporter by the agency in a decoded object.
func anonymise(obj map[string]any, reporter, agency string) []Redacted {
	var recs []Redacted
	if reporter == "" {
		return nil
	}
	var walk func(v any, path string) any
	walk = func(v any, path string) any {
		switch x := v.(type) {
		case string:
			if x == reporter {
				recs = append(recs, Redacted{Path: path, Kind: KindReporter})
				return agency
			}
		case map[string]any:
			for _, k := range sortedKeys(x) {
				x[k] = walk(x[k], joinPath(path, k))
			}
		case []any:
			for i := range x {
				x[i] = walk(x[i], joinPath(path, "["+strconv.Itoa(i)+"]"))
			}
		}
		return v
	}
	walk(obj, "")
	if exts, ok := obj["extensions"].(map[string]any); ok {
		if sh, ok := exts[SharingExtension].(map[string]any); ok {
			if rep, ok := sh["reporter"].(map[string]any); ok {
				base := "extensions." + SharingExtension + ".reporter"
				for _, k := range sortedKeys(rep) {
					if k == "sector" || k == "size_band" {
						continue
					}
					if k != "ref" { // ref was recorded by the walk
						recs = append(recs, Redacted{Path: base + "." + k, Kind: KindReporter})
					}
					delete(rep, k)
				}
			}
		}
	}
	return recs
}

func joinPath(path, c string) string {
	if path == "" {
		return c
	}
	return path + "." + c
}

// Patterns of personal and internal data. Phone numbers are matched in the forms
// that do not collide with dates, versions and addresses: international (+ or 00
// and a country code), a parenthesised area code, or a national trunk 0 with
// separated groups.
var (
	emailRE = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+`)
	phoneRE = regexp.MustCompile(`(?:\+|\b00)[1-9]\d{0,2}[ .\-]?(?:\(\d{1,4}\)[ .\-]?)?\d{1,4}(?:[ .\-]?\d{2,4}){2,4}\b` +
		`|\(\d{2,4}\)[ ]?\d{3,4}[ .\-]?\d{3,4}\b` +
		`|\b0\d{1,4}[ \-]\d{3,4}[ \-]\d{3,4}\b`)
	ipv4RE = regexp.MustCompile(`\b\d{1,3}(?:\.\d{1,3}){3}\b`)
	ipv6RE = regexp.MustCompile(`(?i)\b[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}\b|::[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*\b`)
	hostRE = regexp.MustCompile(`(?i)\b[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?)+\b`)
)

// builtinInternalDomains are always internal.
var builtinInternalDomains = []string{"local", "lan", "internal", "intranet", "corp", "home.arpa"}

func (e *Engine) compileRedaction() error {
	rc := e.cfg.Redaction
	for _, p := range rc.Properties {
		e.scrubPaths = append(e.scrubPaths, strings.Split(p, "."))
	}
	e.scrub = len(e.scrubPaths) > 0
	for _, n := range rc.InternalNetworks {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return fmt.Errorf("policy: redaction.internal_networks %q: %w", n, err)
		}
		e.internalNet = append(e.internalNet, p.Masked())
	}
	e.internalDNS = append(e.internalDNS, builtinInternalDomains...)
	for _, d := range rc.InternalDomains {
		e.internalDNS = append(e.internalDNS, strings.ToLower(strings.Trim(d, ".")))
	}
	return nil
}

// scrubTree scrubs the configured properties of a decoded object.
func (e *Engine) scrubTree(obj map[string]any) []Redacted {
	var recs []Redacted
	seen := map[string]bool{}
	for _, pat := range e.scrubPaths {
		visit(obj, pat, "", func(path string, s string) string {
			if seen[path] {
				return s
			}
			seen[path] = true
			out, kinds := e.scrubString(s)
			for _, k := range kinds {
				recs = append(recs, Redacted{Path: path, Kind: k})
			}
			return out
		})
	}
	return recs
}

// scrubFinds reports whether scrubbing raw would change it, reading the strings
// that scrubTree would visit through the strict parser's tree instead of
// decoding the object into maps. It answers true whenever the strict parser
// refuses raw (a duplicate member, invalid UTF-8), which encoding/json reads
// differently: the caller then scrubs the decoded object as before.
func (e *Engine) scrubFinds(raw []byte) bool {
	found := false
	err := stix.WithView(raw, func(root stix.View) error {
		for _, pat := range e.scrubPaths {
			if found {
				break
			}
			visitView(root, pat, func(s string) bool {
				_, kinds := e.scrubString(s)
				found = len(kinds) > 0
				return !found
			})
		}
		return nil
	})
	return found || err != nil
}

// visitView calls fn on every string the pattern selects, as visit does, until
// fn returns false; it reports whether it went through all of them.
func visitView(v stix.View, pat []string, fn func(s string) bool) bool {
	if len(pat) == 0 {
		return visitAllView(v, fn)
	}
	c, rest := pat[0], pat[1:]
	switch v.Kind() {
	case stix.KindObject:
		if c == "*" {
			for i := range v.Len() {
				if !visitView(v.Index(i), rest, fn) {
					return false
				}
			}
		} else if next, ok := v.Member(c); ok {
			return visitView(next, rest, fn)
		}
	case stix.KindArray:
		if c == "*" {
			for i := range v.Len() {
				if !visitView(v.Index(i), rest, fn) {
					return false
				}
			}
		} else if n, ok := listIndex(c); ok && n < v.Len() {
			return visitView(v.Index(n), rest, fn)
		}
	}
	return true
}

func visitAllView(v stix.View, fn func(s string) bool) bool {
	switch v.Kind() {
	case stix.KindString:
		s, _ := v.Str()
		return fn(s)
	case stix.KindObject, stix.KindArray:
		for i := range v.Len() {
			if !visitAllView(v.Index(i), fn) {
				return false
			}
		}
	}
	return true
}

// visit calls fn on every string the pattern selects ("*" = any key or index),
// replacing it by fn's result. A selected list or dictionary is visited whole, as
// a selector selects everything under it (§7.2.3).
func visit(v any, pat []string, path string, fn func(path, s string) string) any {
	if len(pat) == 0 {
		return visitAll(v, path, fn)
	}
	c, rest := pat[0], pat[1:]
	switch x := v.(type) {
	case map[string]any:
		if c == "*" {
			for _, k := range sortedKeys(x) {
				x[k] = visit(x[k], rest, joinPath(path, k), fn)
			}
		} else if next, ok := x[c]; ok {
			x[c] = visit(next, rest, joinPath(path, c), fn)
		}
	case []any:
		if c == "*" {
			for i := range x {
				x[i] = visit(x[i], rest, joinPath(path, "["+strconv.Itoa(i)+"]"), fn)
			}
		} else if n, ok := listIndex(c); ok && n < len(x) {
			x[n] = visit(x[n], rest, joinPath(path, c), fn)
		}
	}
	return v
}

func visitAll(v any, path string, fn func(path, s string) string) any {
	switch x := v.(type) {
	case string:
		return fn(path, x)
	case map[string]any:
		for _, k := range sortedKeys(x) {
			x[k] = visitAll(x[k], joinPath(path, k), fn)
		}
	case []any:
		for i := range x {
			x[i] = visitAll(x[i], joinPath(path, "["+strconv.Itoa(i)+"]"), fn)
		}
	}
	return v
}

// scrubString replaces personal and internal data in s, returning the kinds found
// (each kind once per string, in a fixed order).
func (e *Engine) scrubString(s string) (string, []string) {
	var kinds []string
	// need holds characters one of which every match contains: most strings
	// lack them, and a search for them costs far less than the expression.
	replace := func(re *regexp.Regexp, kind, need string, keep func(m string) bool) {
		if !strings.ContainsAny(s, need) {
			return
		}
		found := false
		s = re.ReplaceAllStringFunc(s, func(m string) string {
			if keep != nil && keep(m) {
				return m
			}
			found = true
			return "[redacted:" + kind + "]"
		})
		if found {
			kinds = append(kinds, kind)
		}
	}
	replace(emailRE, KindEmail, "@", nil)
	replace(ipv4RE, KindInternalAddress, ".", func(m string) bool { return !e.internalAddr(m) })
	replace(ipv6RE, KindInternalAddress, ":", func(m string) bool { return !e.internalAddr(m) })
	replace(hostRE, KindInternalHost, ".", func(m string) bool { return !e.internalHost(m) })
	replace(phoneRE, KindPhone, "0123456789", nil)
	return s, kinds
}

func (e *Engine) internalAddr(m string) bool {
	a, err := netip.ParseAddr(m)
	if err != nil {
		return false
	}
	a = a.Unmap()
	if a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() {
		return true
	}
	return slices.ContainsFunc(e.internalNet, func(p netip.Prefix) bool { return p.Contains(a) })
}

func (e *Engine) internalHost(m string) bool {
	m = strings.ToLower(m)
	for _, d := range e.internalDNS {
		if m == d || strings.HasSuffix(m, "."+d) {
			return true
		}
	}
	return false
}
