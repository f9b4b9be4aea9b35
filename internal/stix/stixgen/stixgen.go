// Package stixgen generates realistic, valid STIX 2.1 objects for benchmarks and
// tests: indicators with varied patterns, identities, malware, attack patterns,
// relationships between generated objects, reports that reference earlier objects,
// TLP markings and new versions of earlier objects. The output is deterministic for
// a seed, and memory stays constant however many objects are generated: only a
// bounded window of recent ids is remembered.
package stixgen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	"quadshare/internal/stix"
)

// window is how many recent ids of each kind are remembered for references.
const window = 512

// Gen generates objects. It is not safe for concurrent use.
type Gen struct {
	rng     *rand.Rand
	n       int64
	clock   time.Time
	creator string

	// rings of recent ids, by role
	indicators, malware, attacks, identities, scos, all ring
	// recent SDOs that may get a new version: their JSON and modified time
	versions [64]versioned
	nver     int
}

type versioned struct {
	raw      []byte
	modified string
}

type ring struct {
	ids [window]string
	n   int
}

func (r *ring) add(id string) { r.ids[r.n%window] = id; r.n++ }
func (r *ring) len() int      { return min(r.n, window) }
func (r *ring) pick(g *Gen) string {
	if r.n == 0 {
		return ""
	}
	return r.ids[g.rng.IntN(r.len())]
}

// New returns a generator seeded with seed.
func New(seed int64) *Gen {
	g := &Gen{
		rng:   rand.New(rand.NewPCG(uint64(seed), 0x5eed5eed)),
		clock: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	return g
}

// Next returns the next object, compact JSON. The slice is the caller's.
func (g *Gen) Next() []byte {
	g.n++
	g.clock = g.clock.Add(time.Duration(1+g.rng.IntN(90_000)) * time.Millisecond)
	switch {
	case g.n == 1:
		return g.identity(true)
	case g.n == 2:
		return stix.TLPDefinition(tlp[1])
	case g.n == 3:
		return stix.TLPDefinition(tlp[2])
	}
	r := g.rng.IntN(100)
	switch {
	case r < 34:
		return g.indicator()
	case r < 42:
		return g.identity(false)
	case r < 50:
		return g.malwareObj()
	case r < 57:
		return g.attackPattern()
	case r < 80:
		if out := g.relationship(); out != nil {
			return out
		}
		return g.indicator()
	case r < 85:
		if out := g.report(); out != nil {
			return out
		}
		return g.malwareObj()
	case r < 91:
		if out := g.newVersion(); out != nil {
			return out
		}
		return g.indicator()
	default:
		return g.sco()
	}
}

// WriteBundle writes a bundle of n generated objects to w, streaming.
func (g *Gen) WriteBundle(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := fmt.Fprintf(bw, `{"type":"bundle","id":"bundle--%s","objects":[`, g.uuid4()); err != nil {
		return fmt.Errorf("stixgen: write bundle: %w", err)
	}
	for i := 0; i < n; i++ {
		if i > 0 {
			if err := bw.WriteByte(','); err != nil {
				return fmt.Errorf("stixgen: write bundle: %w", err)
			}
		}
		if _, err := bw.Write(g.Next()); err != nil {
			return fmt.Errorf("stixgen: write bundle: %w", err)
		}
	}
	if _, err := bw.WriteString("]}\n"); err != nil {
		return fmt.Errorf("stixgen: write bundle: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("stixgen: write bundle: %w", err)
	}
	return nil
}

// tlp: TLP 2.0 CLEAR, GREEN, AMBER, AMBER+STRICT, RED.
var tlp = stix.TLPMarkings(2)

func (g *Gen) uuid4() string {
	var u [16]byte
	a, b := g.rng.Uint64(), g.rng.Uint64()
	for i := 0; i < 8; i++ {
		u[i] = byte(a >> (8 * i))
		u[8+i] = byte(b >> (8 * i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexd[c>>4], hexd[c&0xf])
	}
	return string(out)
}

func (g *Gen) now() string { return g.clock.Format("2006-01-02T15:04:05.000Z") }

// obj builds one JSON object; values are appended already encoded.
type obj struct{ b []byte }

func (o *obj) raw(k, v string) {
	if len(o.b) == 0 {
		o.b = append(o.b, '{')
	} else {
		o.b = append(o.b, ',')
	}
	o.b = appendString(o.b, k)
	o.b = append(o.b, ':')
	o.b = append(o.b, v...)
}
func (o *obj) str(k, v string) { o.raw(k, string(appendString(nil, v))) }
func (o *obj) strs(k string, vs ...string) {
	b := []byte{'['}
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, v)
	}
	o.raw(k, string(append(b, ']')))
}
func (o *obj) done() []byte { return append(o.b, '}') }

func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, fmt.Sprintf(`\u%04x`, c)...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// common starts an SDO or SRO with its common properties.
func (g *Gen) common(typ string) (*obj, string) {
	id := typ + "--" + g.uuid4()
	o := &obj{b: make([]byte, 0, 512)}
	o.str("type", typ)
	o.str("spec_version", "2.1")
	o.str("id", id)
	if g.creator != "" {
		o.str("created_by_ref", g.creator)
	}
	ts := g.now()
	o.str("created", ts)
	o.str("modified", ts)
	return o, id
}

// mark adds TLP markings to about a third of the objects.
func (g *Gen) mark(o *obj) {
	if g.rng.IntN(3) == 0 && len(tlp) == 5 {
		o.strs("object_marking_refs", tlp[g.rng.IntN(4)])
	}
}

func (g *Gen) remember(raw []byte, modified string) {
	g.versions[g.nver%len(g.versions)] = versioned{raw: raw, modified: modified}
	g.nver++
}

var (
	sectors  = []string{"energy", "telecommunications", "healthcare", "financial-services", "transportation", "water", "government-national"}
	words    = []string{"amber", "basalt", "cinder", "delta", "ember", "falcon", "granite", "harbor", "ion", "jade", "kestrel", "lumen", "meridian", "nimbus", "onyx", "pylon"}
	tlds     = []string{"example", "example.com", "example.net", "example.org", "test"}
	phases   = []string{"reconnaissance", "initial-access", "execution", "persistence", "lateral-movement", "command-and-control", "exfiltration", "impact"}
	malTypes = []string{"backdoor", "ransomware", "remote-access-trojan", "dropper", "wiper", "bot", "keylogger"}
	indTypes = []string{"malicious-activity", "anomalous-activity", "compromised", "attribution"}
)

func (g *Gen) word() string { return words[g.rng.IntN(len(words))] }

func (g *Gen) identity(self bool) []byte {
	o, id := g.common("identity")
	if self {
		o.str("name", "Synthetic national CERT")
		o.str("identity_class", "organization")
		g.creator = id
	} else {
		o.str("name", fmt.Sprintf("%s %s operator %d", g.word(), sectors[g.rng.IntN(len(sectors))], g.rng.IntN(1000)))
		o.str("identity_class", "organization")
		o.strs("sectors", sectors[g.rng.IntN(len(sectors))])
		o.str("contact_information", "soc@"+g.word()+"."+tlds[g.rng.IntN(len(tlds))])
	}
	g.mark(o)
	g.identities.add(id)
	g.all.add(id)
	out := o.done()
	return out
}

func (g *Gen) ipv4() string {
	// documentation ranges (RFC 5737)
	nets := []string{"192.0.2.", "198.51.100.", "203.0.113."}
	return nets[g.rng.IntN(3)] + strconv.Itoa(1+g.rng.IntN(254))
}

func (g *Gen) domain() string {
	return g.word() + "-" + strconv.Itoa(g.rng.IntN(10000)) + "." + tlds[g.rng.IntN(len(tlds))]
}

func (g *Gen) hexN(n int) string {
	const hexd = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hexd[g.rng.IntN(16)]
	}
	return string(b)
}

// pattern returns a valid STIX pattern (§9) and a short description of it.
func (g *Gen) pattern() (string, string) {
	switch g.rng.IntN(9) {
	case 0:
		ip := g.ipv4()
		return "[ipv4-addr:value = '" + ip + "']", "Command and control server " + ip
	case 1:
		d := g.domain()
		return "[domain-name:value = '" + d + "']", "Phishing domain " + d
	case 2:
		u := "https://" + g.domain() + "/" + g.word() + "/" + g.hexN(8) + ".php"
		return "[url:value = '" + u + "']", "Malware download URL"
	case 3:
		return "[file:hashes.'SHA-256' = '" + g.hexN(64) + "']", "Dropper sample"
	case 4:
		return "[file:hashes.MD5 = '" + g.hexN(32) + "' OR file:hashes.'SHA-1' = '" + g.hexN(40) + "']", "Loader sample, two hashes"
	case 5:
		return "[email-addr:value = '" + g.word() + "." + g.word() + "@" + g.domain() + "']", "Spear-phishing sender"
	case 6:
		return "[email-message:subject = 'Invoice " + strconv.Itoa(g.rng.IntN(99999)) + "' AND email-message:from_ref.value = 'billing@" + g.domain() + "']", "Phishing e-mail"
	case 7:
		return "[network-traffic:dst_ref.value = '" + g.ipv4() + "' AND network-traffic:dst_port = " + strconv.Itoa(1+g.rng.IntN(65534)) + "]", "Beacon traffic"
	default:
		return "[ipv4-addr:value = '" + g.ipv4() + "'] FOLLOWEDBY [domain-name:value = '" + g.domain() + "'] WITHIN 600 SECONDS", "Staged connection"
	}
}

func (g *Gen) indicator() []byte {
	o, id := g.common("indicator")
	p, desc := g.pattern()
	o.str("name", desc)
	o.str("description", desc+", seen by a critical infrastructure operator during incident response; block and hunt for earlier connections.")
	o.strs("indicator_types", indTypes[g.rng.IntN(len(indTypes))])
	o.str("pattern", p)
	o.str("pattern_type", "stix")
	o.str("pattern_version", "2.1")
	from := g.clock.Add(-time.Duration(g.rng.IntN(72)) * time.Hour)
	o.str("valid_from", from.Format("2006-01-02T15:04:05Z"))
	if g.rng.IntN(2) == 0 {
		o.str("valid_until", from.Add(time.Duration(1+g.rng.IntN(180))*24*time.Hour).Format("2006-01-02T15:04:05Z"))
	}
	o.raw("kill_chain_phases", `[{"kill_chain_name":"lockheed-martin-cyber-kill-chain","phase_name":"`+[]string{"delivery", "installation", "command-and-control"}[g.rng.IntN(3)]+`"}]`)
	o.raw("confidence", strconv.Itoa(g.rng.IntN(101)))
	g.mark(o)
	g.indicators.add(id)
	g.all.add(id)
	out := o.done()
	g.remember(out, g.now())
	return out
}

func (g *Gen) malwareObj() []byte {
	o, id := g.common("malware")
	name := g.word() + g.word()
	o.str("name", name)
	o.str("description", "Malware family "+name+" observed against "+sectors[g.rng.IntN(len(sectors))]+" operators.")
	o.strs("malware_types", malTypes[g.rng.IntN(len(malTypes))])
	o.raw("is_family", "true")
	o.strs("aliases", name+"-"+strconv.Itoa(g.rng.IntN(100)))
	g.mark(o)
	g.malware.add(id)
	g.all.add(id)
	out := o.done()
	g.remember(out, g.now())
	return out
}

func (g *Gen) attackPattern() []byte {
	o, id := g.common("attack-pattern")
	capec := strconv.Itoa(1 + g.rng.IntN(700))
	o.str("name", "Technique "+g.word()+" "+capec)
	o.str("description", "Adversary behaviour observed in operational technology networks.")
	o.raw("external_references", `[{"source_name":"capec","external_id":"CAPEC-`+capec+`","url":"https://capec.mitre.org/data/definitions/`+capec+`.html"}]`)
	o.raw("kill_chain_phases", `[{"kill_chain_name":"mitre-attack","phase_name":"`+phases[g.rng.IntN(len(phases))]+`"}]`)
	g.attacks.add(id)
	g.all.add(id)
	out := o.done()
	g.remember(out, g.now())
	return out
}

func (g *Gen) relationship() []byte {
	var src, dst, rel string
	switch g.rng.IntN(4) {
	case 0:
		src, dst, rel = g.indicators.pick(g), g.malware.pick(g), "indicates"
	case 1:
		src, dst, rel = g.malware.pick(g), g.attacks.pick(g), "uses"
	case 2:
		src, dst, rel = g.indicators.pick(g), g.scos.pick(g), "related-to"
	default:
		src, dst, rel = g.malware.pick(g), g.identities.pick(g), "targets"
	}
	if src == "" || dst == "" {
		return nil
	}
	o, id := g.common("relationship")
	o.str("relationship_type", rel)
	o.str("source_ref", src)
	o.str("target_ref", dst)
	g.mark(o)
	g.all.add(id)
	return o.done()
}

func (g *Gen) report() []byte {
	if g.all.len() < 5 {
		return nil
	}
	o, id := g.common("report")
	o.str("name", "Situation report "+strconv.FormatInt(g.n, 10))
	o.str("description", "Weekly summary of activity against critical infrastructure.")
	o.strs("report_types", "threat-report")
	o.str("published", g.now())
	n := 2 + g.rng.IntN(9)
	refs := make([]string, 0, n)
	seen := map[string]bool{}
	for len(refs) < n && len(seen) < g.all.len() {
		r := g.all.pick(g)
		if !seen[r] {
			seen[r] = true
			refs = append(refs, r)
		}
	}
	o.strs("object_refs", refs...)
	g.mark(o)
	g.all.add(id)
	return o.done()
}

// newVersion re-issues a remembered SDO with a later modified (§3.6).
func (g *Gen) newVersion() []byte {
	if g.nver == 0 {
		return nil
	}
	i := g.rng.IntN(min(g.nver, len(g.versions)))
	v := &g.versions[i]
	now := g.now()
	if now <= v.modified {
		return nil
	}
	old := []byte(`"modified":"` + v.modified + `"`)
	at := indexOf(v.raw, old)
	if at < 0 {
		return nil
	}
	out := make([]byte, 0, len(v.raw))
	out = append(out, v.raw[:at]...)
	out = append(out, `"modified":"`+now+`"`...)
	out = append(out, v.raw[at+len(old):]...)
	v.raw, v.modified = out, now
	return out
}

func indexOf(b, sub []byte) int {
	for i := 0; i+len(sub) <= len(b); i++ {
		if string(b[i:i+len(sub)]) == string(sub) {
			return i
		}
	}
	return -1
}

// sco returns an ipv4-addr, domain-name or url with its deterministic id (§2.9).
func (g *Gen) sco() []byte {
	var typ, val string
	switch g.rng.IntN(3) {
	case 0:
		typ, val = "ipv4-addr", g.ipv4()
	case 1:
		typ, val = "domain-name", g.domain()
	default:
		typ, val = "url", "http://"+g.domain()+"/"+g.hexN(6)
	}
	props := appendString([]byte(`{"value":`), val)
	props = append(props, '}')
	id, err := stix.SCOID(typ, props)
	if err != nil {
		// cannot happen: value is present and the type is an SCO
		panic("stixgen: " + err.Error())
	}
	o := &obj{b: make([]byte, 0, 160)}
	o.str("type", typ)
	o.str("spec_version", "2.1")
	o.str("id", id)
	o.str("value", val)
	g.scos.add(id)
	g.all.add(id)
	return o.done()
}
