package uuid

import "testing"

func TestV5KnownAnswer(t *testing.T) {
	// RFC 9562 Appendix A.4: www.example.com in the DNS namespace.
	dns := Must("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
	if got, want := V5(dns, []byte("www.example.com")), "2ed6657d-e927-568b-95e1-2665a8aea6a2"; got != want {
		t.Fatalf("V5 = %s, want %s", got, want)
	}
	if got, want := V5(dns, []byte("python.org")), "886313e1-3b8a-5372-9b90-0c9aee199e5d"; got != want {
		t.Fatalf("V5 = %s, want %s", got, want)
	}
}

func TestNew(t *testing.T) {
	a, b := New(), New()
	if a == b || !Canonical(a) || a[14] != '4' || (a[19] != '8' && a[19] != '9' && a[19] != 'a' && a[19] != 'b') {
		t.Fatalf("New: %s %s", a, b)
	}
}

func TestCanonical(t *testing.T) {
	for s, want := range map[string]bool{
		"6ba7b810-9dad-11d1-80b4-00c04fd430c8":  true,
		"6BA7B810-9DAD-11D1-80B4-00C04FD430C8":  false,
		"6ba7b8109dad11d180b400c04fd430c8":      false,
		"6ba7b810-9dad-11d1-80b4-00c04fd430c":   false,
		"6ba7b810-9dad-11d1-80b4-00c04fd430c8x": false,
		"6ba7b810x9dad-11d1-80b4-00c04fd430c8":  false,
	} {
		if Canonical(s) != want {
			t.Errorf("Canonical(%q) = %v", s, !want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Must should panic on a bad constant")
		}
	}()
	Must("nope")
}
