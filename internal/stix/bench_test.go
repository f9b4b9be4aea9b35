package stix

import (
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"quadshare/internal/cputime"
	"quadshare/internal/realdata"
)

// benchIndicator is a realistic indicator of about 600 bytes with a STIX pattern.
const benchIndicator = `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created_by_ref":"identity--f431f809-377b-45e0-aa1c-6a4751cae5ff","created":"2024-03-29T14:09:00.000Z","modified":"2024-03-29T14:09:00.000Z","name":"Loader sample and staging server","description":"Loader seen at a water utility during incident response.","indicator_types":["malicious-activity"],"pattern":"[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e' OR file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f'] FOLLOWEDBY [ipv4-addr:value = '198.51.100.7'] WITHIN 600 SECONDS","pattern_type":"stix","valid_from":"2024-03-29T14:09:00Z","object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}`

const benchReport = `{"type":"report","spec_version":"2.1","id":"report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3","created_by_ref":"identity--a463ffb3-1bd9-4d94-b02d-74e4f1658283","created":"2015-12-21T19:59:11.000Z","modified":"2015-12-21T19:59:11.000Z","name":"The Black Vine Cyberespionage Group","description":"A simple report with an indicator and campaign","published":"2016-01-20T17:00:00.000Z","report_types":["campaign"],"object_refs":["indicator--26ffb872-1dd9-446e-b6f5-d58527e5b5d2","campaign--83422c77-904c-4dc1-aff5-5c38f3a2c55c","relationship--f82356ae-fe6c-437c-9c24-6b64314ae68a"],"external_references":[{"source_name":"symantec","description":"Report on the Black Vine group","url":"https://www.symantec.com/content/en/us/enterprise/media/security_response/whitepapers/the-black-vine-cyberespionage-group.pdf"}]}`

func benchObjects(b *testing.B, raws [][]byte) {
	b.Helper()
	for _, raw := range raws {
		if _, err := Parse(raw); err != nil {
			b.Fatalf("benchmark object invalid: %v", err)
		}
	}
	size := 0
	for _, r := range raws {
		size += len(r)
	}
	b.Run("single", func(b *testing.B) {
		b.SetBytes(int64(size / len(raws)))
		b.ReportAllocs()
		i := 0
		cpu0 := cputime.Process()
		for b.Loop() {
			if _, err := Parse(raws[i%len(raws)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
		reportRates(b, cputime.Process()-cpu0)
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetBytes(int64(size / len(raws)))
		b.ReportAllocs()
		cpu0 := cputime.Process()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := Parse(raws[i%len(raws)]); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
		reportRates(b, cputime.Process()-cpu0)
	})
}

// reportRates reports objects per second of wall clock and per CPU-second.
func reportRates(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	if cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "objects/cpu-s")
	}
}

// BenchmarkValidate measures Parse (Decode and Validate) on realistic objects.
func BenchmarkValidate(b *testing.B) {
	b.Run("indicator", func(b *testing.B) { benchObjects(b, [][]byte{[]byte(benchIndicator)}) })
	b.Run("relationship", func(b *testing.B) { benchObjects(b, [][]byte{[]byte(validRelationship)}) })
	b.Run("report", func(b *testing.B) { benchObjects(b, [][]byte{[]byte(benchReport)}) })
	b.Run("ics-attack", func(b *testing.B) {
		f, err := os.Open(realdata.Path(b, "stix/ics-attack-18.1.json"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		var raws [][]byte
		r := NewReader(f)
		for {
			raw, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			raws = append(raws, append([]byte(nil), raw...))
		}
		b.Run("as-in-file", func(b *testing.B) { benchObjects(b, raws) })
		// TAXII and our own store carry compact JSON.
		compact := make([][]byte, len(raws))
		for i, raw := range raws {
			o, err := Decode(raw)
			if err != nil {
				b.Fatal(err)
			}
			compact[i] = o.Raw
		}
		b.Run("compact", func(b *testing.B) { benchObjects(b, compact) })
	})
}

// BenchmarkReader measures streaming a bundle into objects, without validation.
func BenchmarkReader(b *testing.B) {
	f, err := os.ReadFile(realdata.Path(b, "stix/ics-attack-18.1.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(f)))
	for b.Loop() {
		r := NewReader(bytesReader(f))
		for {
			if _, err := r.Next(); err != nil {
				if !errors.Is(err, io.EOF) {
					b.Fatal(err)
				}
				break
			}
		}
	}
}

type bytesReaderT struct {
	b []byte
	i int
}

func bytesReader(b []byte) *bytesReaderT { return &bytesReaderT{b: b} }

func (r *bytesReaderT) Read(p []byte) (int, error) {
	if r.i >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.i:])
	r.i += n
	return n, nil
}
