package report

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)

// validDoc returns a full valid report document as a generic map, so that a test
// can break one field at a time.
func validDoc() map[string]any {
	return map[string]any{
		"id":                "0b6c7e4a-5d1f-4c2e-9a8b-3f2d1e0c9b8a",
		"idempotency_key":   "client-42:attempt.1",
		"title":             "Ransomware on billing servers",
		"description":       "Files on the billing cluster were encrypted.\nA note demanded payment.",
		"started_at":        "2026-11-21T10:15:00Z",
		"detected_at":       "2026-11-21T22:30:00.123456+10:00",
		"impact":            "significant",
		"ongoing":           true,
		"affected_services": []any{"billing", "customer portal"},
		"sectors":           []any{"energy", "utilities"},
		"ransom":            map[string]any{"demanded": true, "extortion": true, "paid": true, "paid_at": "2026-11-21T13:00:00Z"},
		"indicators": []any{
			map[string]any{"kind": "ip", "value": "203.0.113.7", "note": "C2 server"},
			map[string]any{"kind": "ip", "value": "2001:DB8::1"},
			map[string]any{"kind": "domain", "value": "Evil.Example.COM."},
			map[string]any{"kind": "url", "value": "https://evil.example.com/pay?id=1&x='y'"},
			map[string]any{"kind": "email", "value": "Boss@Evil.Example.com"},
			map[string]any{"kind": "hash", "algorithm": "SHA-256", "value": strings.Repeat("AB", 32)},
			map[string]any{"kind": "hash", "algorithm": "MD5", "value": strings.Repeat("0f", 16)},
		},
		"techniques":  []any{"T1486", "T1566.001"},
		"notes":       "Backups intact.\tRestoring.",
		"attachments": []any{map[string]any{"name": "ransom-note.txt", "sha256": strings.Repeat("c", 64), "size": 1234, "media_type": "text/plain"}},
		"tlp":         "amber",
	}
}

func encode(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func decodeString(s string) (*Report, error) {
	return DecodeWith(strings.NewReader(s), DefaultSectors(), testNow)
}

func TestDecodeValid(t *testing.T) {
	rep, err := decodeString(encode(t, validDoc()))
	if err != nil {
		t.Fatal(err)
	}
	det := time.Date(2026, 11, 21, 12, 30, 0, 123e6, time.UTC)
	if !rep.DetectedAt.Equal(det) || rep.DetectedAt.Location() != time.UTC {
		t.Errorf("detected_at = %v, want %v in UTC truncated to ms", rep.DetectedAt, det)
	}
	want := []Indicator{
		{Kind: KindIP, Value: "203.0.113.7", Note: "C2 server"},
		{Kind: KindIP, Value: "2001:db8::1"},
		{Kind: KindDomain, Value: "evil.example.com"},
		{Kind: KindURL, Value: "https://evil.example.com/pay?id=1&x='y'"},
		{Kind: KindEmail, Value: "Boss@evil.example.com"},
		{Kind: KindHash, Algorithm: "SHA-256", Value: strings.Repeat("ab", 32)},
		{Kind: KindHash, Algorithm: "MD5", Value: strings.Repeat("0f", 16)},
	}
	if len(rep.Indicators) != len(want) {
		t.Fatalf("%d indicators, want %d", len(rep.Indicators), len(want))
	}
	for i := range want {
		if rep.Indicators[i] != want[i] {
			t.Errorf("indicator %d = %+v, want %+v", i, rep.Indicators[i], want[i])
		}
	}
	if rep.Ransom == nil || !rep.Ransom.Paid || rep.Ransom.PaidAt == nil || rep.Impact != ImpactSignificant || !rep.Ongoing || rep.TLP != TLPAmber {
		t.Errorf("report = %+v", rep)
	}
	if len(rep.Attachments) != 1 || rep.Attachments[0].Size != 1234 || len(rep.Techniques) != 2 || len(rep.Sectors) != 2 {
		t.Errorf("lists = %+v %+v %+v", rep.Attachments, rep.Techniques, rep.Sectors)
	}
}

func TestDecodeMinimal(t *testing.T) {
	rep, err := decodeString(`{"title":"t","description":"d","detected_at":"2026-11-22T03:00:00Z","impact":"none","ongoing":false,"tlp":"clear"}`)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ID != "" || rep.Ransom != nil || rep.StartedAt != nil || len(rep.Indicators) != 0 {
		t.Errorf("minimal report = %+v", rep)
	}
	// A replacement character written as such is text, not broken UTF-8; a nil
	// sector list means the shipped one.
	rep, err = DecodeWith(strings.NewReader(`{"title":"caf\ufffd","description":"d","detected_at":"2026-11-22T03:00:00Z","impact":"none","ongoing":false,"tlp":"clear","sectors":["water"]}`), nil, testNow)
	if err != nil || rep.Title != "caf\ufffd" {
		t.Errorf("U+FFFD: %v %v", rep, err)
	}
}

type fieldErrorCase struct {
	name    string
	edit    func(m map[string]any)
	pointer string
	msg     string
}

// fieldErrorCases breaks one field of validDoc at a time: the pointer and message
// the decoder must report.
func fieldErrorCases() []fieldErrorCase {
	type edit = func(m map[string]any)
	set := func(path string, v any) edit {
		return func(m map[string]any) {
			parts := strings.Split(path, "/")
			cur := m
			for _, p := range parts[:len(parts)-1] {
				cur = cur[p].(map[string]any)
			}
			if v == nil {
				delete(cur, parts[len(parts)-1])
				return
			}
			cur[parts[len(parts)-1]] = v
		}
	}
	del := func(path string) edit { return set(path, nil) }
	ind := func(v map[string]any) edit {
		return func(m map[string]any) { m["indicators"] = []any{v} }
	}
	att := func(v map[string]any) edit {
		return func(m map[string]any) { m["attachments"] = []any{v} }
	}
	return []fieldErrorCase{
		{"unknown field", set("severity", "high"), "/severity", "unknown field"},
		{"unknown field escaped", func(m map[string]any) { m["a/b~c"] = 1 }, "/a~1b~0c", "unknown field"},
		{"id not uuid", set("id", "42"), "/id", "lower-case UUID"},
		{"id upper case", set("id", "0B6C7E4A-5D1F-4C2E-9A8B-3F2D1E0C9B8A"), "/id", "lower-case UUID"},
		{"id wrong type", set("id", 42), "/id", "must be a string, not number"},
		{"idempotency key chars", set("idempotency_key", "a b"), "/idempotency_key", "may hold only"},
		{"idempotency key long", set("idempotency_key", strings.Repeat("k", 129)), "/idempotency_key", "longer than 128"},
		{"title missing", del("title"), "/title", "required"},
		{"title empty", set("title", ""), "/title", "must not be empty"},
		{"title long", set("title", strings.Repeat("x", MaxTitle+1)), "/title", "longer than"},
		{"title newline", set("title", "a\nb"), "/title", "control character U+000A"},
		{"title padded", set("title", " a"), "/title", "white space"},
		{"title bidi", set("title", "invoice\u202Etxt.exe"), "/title", "bidirectional"},
		{"title null", set("title", json.RawMessage("null")), "/title", "not null"},
		{"description missing", del("description"), "/description", "required"},
		{"description NUL", set("description", "a\x00b"), "/description", "control character U+0000"},
		{"description escape", set("description", "a\x1b[31mred"), "/description", "control character U+001B"},
		{"description separator", set("description", "a\u2028b"), "/description", "separator"},
		{"description long", set("description", strings.Repeat("d", MaxText+1)), "/description", "longer than"},
		{"started_at format", set("started_at", "2026-11-21 20:15"), "/started_at", "RFC 3339"},
		{"started_at no zone", set("started_at", "2026-11-21T20:15:00"), "/started_at", "RFC 3339"},
		{"started_at after detected", set("started_at", "2026-11-21T13:00:00Z"), "/started_at", "after detected_at"},
		{"detected_at missing", del("detected_at"), "/detected_at", "required"},
		{"detected_at future", set("detected_at", "2026-11-22T04:06:00Z"), "/detected_at", "in the future"},
		{"detected_at ancient", set("detected_at", "1969-12-31T23:59:59Z"), "/detected_at", "before 1970"},
		{"detected_at number", set("detected_at", 1700000000), "/detected_at", "not number"},
		{"impact missing", del("impact"), "/impact", "required"},
		{"impact unknown", set("impact", "catastrophic"), "/impact", "none, minor, significant, severe"},
		{"ongoing missing", del("ongoing"), "/ongoing", "required"},
		{"ongoing string", set("ongoing", "yes"), "/ongoing", "true or false, not string"},
		{"services not array", set("affected_services", "billing"), "/affected_services", "must be an array, not string"},
		{"services too many", set("affected_services", make([]any, MaxServices+1)), "/affected_services", "more than 50"},
		{"service empty", set("affected_services", []any{"a", ""}), "/affected_services/1", "must not be empty"},
		{"service repeated", set("affected_services", []any{"a", "a"}), "/affected_services/1", "repeats"},
		{"service number", set("affected_services", []any{7}), "/affected_services/0", "not number"},
		{"sector unknown", set("sectors", []any{"energy", "spaceships"}), "/sectors/1", "common list"},
		{"sector national id", set("sectors", []any{"water-sewerage"}), "/sectors/0", "common list"},
		{"ransom not object", set("ransom", true), "/ransom", "must be an object, not boolean"},
		{"ransom unknown", set("ransom/amount", 5), "/ransom/amount", "unknown field"},
		{"ransom paid no time", del("ransom/paid_at"), "/ransom/paid_at", "required when paid"},
		{"ransom time not paid", set("ransom/paid", false), "/ransom/paid_at", "only allowed when paid"},
		{"ransom paid before start", set("ransom/paid_at", "2026-11-21T10:00:00Z"), "/ransom/paid_at", "before started_at"},
		{"ransom demanded type", set("ransom/demanded", 1), "/ransom/demanded", "true or false"},
		{"indicators not array", set("indicators", map[string]any{}), "/indicators", "not object"},
		{"indicators too many", set("indicators", make([]any, MaxIndicators+1)), "/indicators", "more than 500"},
		{"indicator not object", set("indicators", []any{"1.2.3.4"}), "/indicators/0", "must be an object, not string"},
		{"indicator kind missing", ind(map[string]any{"value": "1.2.3.4"}), "/indicators/0/kind", "required"},
		{"indicator kind unknown", ind(map[string]any{"kind": "ipv4", "value": "1.2.3.4"}), "/indicators/0/kind", "ip, domain, url, email, hash"},
		{"indicator value missing", ind(map[string]any{"kind": "ip"}), "/indicators/0/value", "required"},
		{"indicator unknown field", ind(map[string]any{"kind": "ip", "value": "1.2.3.4", "port": 80}), "/indicators/0/port", "unknown field"},
		{"ip bad", ind(map[string]any{"kind": "ip", "value": "1.2.3.256"}), "/indicators/0/value", "IPv4 or IPv6"},
		{"ip zone", ind(map[string]any{"kind": "ip", "value": "fe80::1%eth0"}), "/indicators/0/value", "without zone"},
		{"ip cidr", ind(map[string]any{"kind": "ip", "value": "10.0.0.0/8"}), "/indicators/0/value", "IPv4 or IPv6"},
		{"ip with algorithm", ind(map[string]any{"kind": "ip", "value": "1.2.3.4", "algorithm": "MD5"}), "/indicators/0/algorithm", "only allowed for kind hash"},
		{"domain single label", ind(map[string]any{"kind": "domain", "value": "localhost"}), "/indicators/0/value", "fully qualified"},
		{"domain unicode", ind(map[string]any{"kind": "domain", "value": "bücher.example"}), "/indicators/0/value", "xn--"},
		{"domain injection", ind(map[string]any{"kind": "domain", "value": "a.com'] OR [x:y = 'z"}), "/indicators/0/value", "may hold only"},
		{"domain hyphen", ind(map[string]any{"kind": "domain", "value": "-a.example"}), "/indicators/0/value", "not beginning or ending"},
		{"domain numeric tld", ind(map[string]any{"kind": "domain", "value": "1.2.3.4"}), "/indicators/0/value", "all digits"},
		{"url relative", ind(map[string]any{"kind": "url", "value": "/pay"}), "/indicators/0/value", "absolute URL"},
		{"url space", ind(map[string]any{"kind": "url", "value": "http://a.example/x y"}), "/indicators/0/value", "white space"},
		{"url control", ind(map[string]any{"kind": "url", "value": "http://a.example/\x7f"}), "/indicators/0/value", "control character"},
		{"url long", ind(map[string]any{"kind": "url", "value": "http://a.example/" + strings.Repeat("a", MaxURL)}), "/indicators/0/value", "longer than"},
		{"email no at", ind(map[string]any{"kind": "email", "value": "boss.example.com"}), "/indicators/0/value", "local@domain"},
		{"email quote", ind(map[string]any{"kind": "email", "value": "a\"b@example.com"}), "/indicators/0/value", "local part"},
		{"email bad domain", ind(map[string]any{"kind": "email", "value": "a@example"}), "/indicators/0/value", "domain:"},
		{"hash no algorithm", ind(map[string]any{"kind": "hash", "value": strings.Repeat("a", 64)}), "/indicators/0/algorithm", "required for kind hash"},
		{"hash bad algorithm", ind(map[string]any{"kind": "hash", "algorithm": "sha256", "value": strings.Repeat("a", 64)}), "/indicators/0/algorithm", "MD5, SHA-1"},
		{"hash length", ind(map[string]any{"kind": "hash", "algorithm": "SHA-1", "value": strings.Repeat("a", 64)}), "/indicators/0/value", "40 hexadecimal"},
		{"hash not hex", ind(map[string]any{"kind": "hash", "algorithm": "MD5", "value": strings.Repeat("g", 32)}), "/indicators/0/value", "32 hexadecimal"},
		{"indicator note newline", ind(map[string]any{"kind": "ip", "value": "1.2.3.4", "note": "a\nb"}), "/indicators/0/note", "control character"},
		{"indicator duplicate after normalising", set("indicators", []any{
			map[string]any{"kind": "domain", "value": "a.example"},
			map[string]any{"kind": "domain", "value": "A.EXAMPLE."},
		}), "/indicators/1", "same indicator as /indicators/0"},
		{"technique bad", set("techniques", []any{"T1486", "TA0001"}), "/techniques/1", "ATT&CK technique"},
		{"technique subtechnique bad", set("techniques", []any{"T1566.1"}), "/techniques/0", "ATT&CK technique"},
		{"technique repeated", set("techniques", []any{"T1486", "T1486"}), "/techniques/1", "repeats"},
		{"notes wrong type", set("notes", []any{"a"}), "/notes", "not array"},
		{"attachment name missing", att(map[string]any{"sha256": strings.Repeat("c", 64)}), "/attachments/0/name", "required"},
		{"attachment name path", att(map[string]any{"name": "../../etc/passwd", "sha256": strings.Repeat("c", 64)}), "/attachments/0/name", "without '/'"},
		{"attachment sha256 short", att(map[string]any{"name": "a", "sha256": "abc"}), "/attachments/0/sha256", "64 hexadecimal"},
		{"attachment size negative", att(map[string]any{"name": "a", "sha256": strings.Repeat("c", 64), "size": -1}), "/attachments/0/size", "whole number"},
		{"attachment size fraction", att(map[string]any{"name": "a", "sha256": strings.Repeat("c", 64), "size": 1.5}), "/attachments/0/size", "whole number"},
		{"attachment size string", att(map[string]any{"name": "a", "sha256": strings.Repeat("c", 64), "size": "1"}), "/attachments/0/size", "not string"},
		{"attachment media type", att(map[string]any{"name": "a", "sha256": strings.Repeat("c", 64), "media_type": "text/plain; charset=utf-8"}), "/attachments/0/media_type", "without parameters"},
		{"attachment unknown", att(map[string]any{"name": "a", "sha256": strings.Repeat("c", 64), "url": "x"}), "/attachments/0/url", "unknown field"},
		{"attachment duplicate", set("attachments", []any{
			map[string]any{"name": "a", "sha256": strings.Repeat("c", 64)},
			map[string]any{"name": "b", "sha256": strings.Repeat("C", 64)},
		}), "/attachments/1/sha256", "same file as /attachments/0"},
		{"tlp missing", del("tlp"), "/tlp", "required"},
		{"tlp 1.0 white", set("tlp", "white"), "/tlp", "TLP 2.0"},
		{"tlp upper", set("tlp", "AMBER"), "/tlp", "TLP 2.0"},
	}
}

func TestDecodeFieldErrors(t *testing.T) {
	for _, tt := range fieldErrorCases() {
		t.Run(tt.name, func(t *testing.T) {
			m := validDoc()
			tt.edit(m)
			rep, err := decodeString(encode(t, m))
			if err == nil {
				t.Fatalf("accepted: %+v", rep)
			}
			if rep != nil {
				t.Errorf("a partial report came back with the error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("err %T is not Errors", err)
			}
			for _, e := range es {
				if e.Pointer == tt.pointer && strings.Contains(e.Message, tt.msg) {
					return
				}
			}
			t.Errorf("errors %v lack %s: %q", es, tt.pointer, tt.msg)
		})
	}
}

func TestDecodeDocumentErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want error
	}{
		{"empty", "", ErrSyntax},
		{"array", "[]", ErrSyntax},
		{"string", `"report"`, ErrSyntax},
		{"truncated", `{"title":"a"`, ErrSyntax},
		{"trailing", `{"title":"a"} {}`, ErrSyntax},
		{"duplicate member", `{"title":"a","title":"b"}`, ErrSyntax},
		{"invalid utf-8", "{\"title\":\"\xff\"}", ErrSyntax},
		{"lone surrogate", `{"title":"\ud800"}`, ErrSyntax},
		{"deep", strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100), ErrSyntax},
		{"too large", `{"notes":"` + strings.Repeat("a", MaxBytes) + `"}`, ErrTooLarge},
		{"empty object", `{}`, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := decodeString(tt.doc)
			if !errors.Is(err, tt.want) || rep != nil {
				t.Errorf("Decode = %v, %v; want %v", rep, err, tt.want)
			}
		})
	}
}

// TestDecodeAllErrors checks that one document with many faults reports each, in a
// bounded list.
func TestDecodeAllErrors(t *testing.T) {
	_, err := decodeString(`{"title":1,"description":2,"detected_at":3,"impact":4,"ongoing":5,"tlp":6}`)
	var es Errors
	if !errors.As(err, &es) || len(es) != 6 {
		t.Fatalf("err = %v, want 6 field errors", err)
	}
	m := map[string]any{}
	for i := range 300 {
		m["x"+strings.Repeat("y", i%7)+string(rune('a'+i%26))+strings.Repeat("z", i/26)] = 1
	}
	_, err = decodeString(encode(t, m))
	if !errors.As(err, &es) || len(es) != maxFieldErrors {
		t.Fatalf("got %d errors, want the bound %d", len(es), maxFieldErrors)
	}
}

func TestHashIgnoresEncoding(t *testing.T) {
	a, err := decodeString(encode(t, validDoc()))
	if err != nil {
		t.Fatal(err)
	}
	// The same content written differently: other member order, other spacing, an
	// equivalent time zone and upper-case hash.
	b, err := decodeString(strings.Replace(encode(t, validDoc()), `"tlp":"amber"`, `"tlp" : "amber"`, 1))
	if err != nil {
		t.Fatal(err)
	}
	ha, _ := a.Hash()
	hb, _ := b.Hash()
	if ha != hb || !strings.HasPrefix(ha, "sha256:") || len(ha) != 71 {
		t.Errorf("hashes %s %s", ha, hb)
	}
	b.Title += "!"
	if hc, _ := b.Hash(); hc == ha {
		t.Error("a changed title keeps the hash")
	}
}
