package taxii

import "testing"

func TestAcceptsTAXII21(t *testing.T) {
	tests := []struct {
		accept string
		want   bool
	}{
		{"application/taxii+json;version=2.1", true},
		{"application/taxii+json", true},
		{"Application/TAXII+JSON; Version=2.1", true},
		{`application/taxii+json; version="2.1"`, true},
		{"application/taxii+json;version=2.0", false},
		{"application/taxii+json;version=2.0, application/taxii+json;version=2.1", true},
		{"application/stix+json;version=2.1", false},
		{"application/taxii+json;version=2.1,application/stix+json;version=2.1", true}, // §5.3 example
		{"application/json", false},
		{"text/html, application/xhtml+xml", false},
		{"", false},
		{"*/*", true},
		{"application/*", true},
		{"*/*;q=0", false},
		{"application/taxii+json;version=2.1;q=0", false},
		{"application/taxii+json;q=0, */*", false},              // the specific refusal wins
		{"application/taxii+json;version=2.1;q=0.5, */*", true}, // q>0
		{"application/taxii+json;q=0.001", true},
		{"application/taxii+json;q=2", false},
		{"application/taxii+json;q=abc", false},
		{"garbage, application/taxii+json", true},
		{"application/taxii+json;version=2.1;version=2.0", false}, // repeated parameter: unparsable
		{`application/taxii+json;x="a,b";version=2.1`, true},
		{"*/taxii+json", false},
		{"application/taxii+json;version", false},
		// After q come accept-extensions (RFC 7231 §5.3.2): not media type parameters,
		// and they may have no value.
		{"application/taxii+json;q=1;version=2.0", true},
		{"application/taxii+json;version=2.1;q=0.5;ext", true},
		{"application/taxii+json;version=2.0;q=0.5;ext", false},
	}
	for _, tt := range tests {
		if got := acceptsTAXII21(tt.accept); got != tt.want {
			t.Errorf("acceptsTAXII21(%q) = %v, want %v", tt.accept, got, tt.want)
		}
	}
}

func TestIsTAXIIContentType(t *testing.T) {
	tests := []struct {
		ct   string
		want bool
	}{
		{"application/taxii+json;version=2.1", true},
		{"application/taxii+json", true},
		{"application/taxii+json; charset=utf-8; version=2.1", true},
		{"application/taxii+json;charset=latin1", false},
		{"application/taxii+json;version=2.0", false},
		{"application/stix+json;version=2.1", false},
		{"application/json", false},
		{"", false},
		{"application/taxii+json;version=2.1, application/json", false},
		{"application/taxii+json;foo=bar", false},
		{"application/taxii+json;q=1;version=2.0", false}, // no weights in a Content-Type
	}
	for _, tt := range tests {
		if got := isTAXIIContentType(tt.ct); got != tt.want {
			t.Errorf("isTAXIIContentType(%q) = %v, want %v", tt.ct, got, tt.want)
		}
	}
}

func FuzzAccept(f *testing.F) {
	for _, s := range []string{"application/taxii+json;version=2.1", `a/b;x="\"";q=0.5, */*`, `"`, ";;,,", "a/b;q="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := acceptsTAXII21(s)
		// Appending a refusal of everything TAXII must not turn a refusal into acceptance.
		if !got && acceptsTAXII21(s+", application/taxii+json;q=0") {
			t.Fatalf("%q: a q=0 range made the header acceptable", s)
		}
		_ = isTAXIIContentType(s)
	})
}
