package pattern

import "testing"

// Indicator patterns of the shapes partners share most: a single hash, address or
// domain comparison, and a few richer ones.
var benchSimple = []string{
	"[file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a69faa']",
	"[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
	"[ipv4-addr:value = '198.51.100.23']",
	"[ipv4-addr:value ISSUBSET '203.0.113.0/24']",
	"[domain-name:value = 'update.example-cdn.net']",
	"[url:value = 'http://203.0.113.9/gate.php']",
}

var benchComplex = []string{
	"[file:hashes.'SHA-256' = 'bf07a7fbb825fc0aae7bf4a1177b2b31fcf8a3feeaf7092761e18c859ee52a9c' OR file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f'] AND [file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
	"([file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo\\\\bar']) WITHIN 300 SECONDS",
	"[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'example.com'] REPEATS 5 TIMES WITHIN 1800 SECONDS",
	"[email-message:from_ref.value MATCHES '.+\\\\@example\\\\.com$' AND email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\\\.exe$']",
	"[process:name IN ('proccy', 'proximus', 'badproc') AND process:created > t'2014-01-13T07:03:17Z']",
	"[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]",
}

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct {
		name     string
		patterns []string
	}{
		{"simple", benchSimple},
		{"complex", benchComplex},
	} {
		b.Run(bc.name, func(b *testing.B) {
			n := 0
			for _, s := range bc.patterns {
				n += len(s)
				if _, err := Parse(s); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(n / len(bc.patterns)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := Parse(bc.patterns[i%len(bc.patterns)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkString(b *testing.B) {
	p := MustParse(benchComplex[1])
	b.ReportAllocs()
	for b.Loop() {
		_ = p.String()
	}
}
