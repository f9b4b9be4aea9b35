package taxii

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFilter(t *testing.T) {
	id1 := "indicator--3600ad1b-fff1-4c98-bcc9-4de3bc2e2ffb"
	id2 := "sighting--4600ad1b-fff1-4c58-bcc9-4de3bc5e2ffd"
	tests := []struct {
		name  string
		query string
		ep    endpoint
		ok    bool
		check func(t *testing.T, f filter)
	}{
		{"empty", "", epObjects, true, func(t *testing.T, f filter) {
			if f.Limit != 0 || !f.AddedAfter.IsZero() || f.IDs != nil || f.Versions.All {
				t.Errorf("got %+v", f)
			}
		}},
		{"added_after", "added_after=2016-01-01T01:01:01.123456Z", epObjects, true, func(t *testing.T, f filter) {
			want := time.Date(2016, 1, 1, 1, 1, 1, 123456000, time.UTC)
			if !f.AddedAfter.Equal(want) {
				t.Errorf("added_after %v, want %v", f.AddedAfter, want)
			}
		}},
		{"added_after not a timestamp", "added_after=yesterday", epObjects, false, nil},
		{"added_after with offset", "added_after=2016-01-01T01:01:01%2B01:00", epObjects, false, nil},
		{"added_after twice", "added_after=2016-01-01T01:01:01Z&added_after=2017-01-01T01:01:01Z", epObjects, false, nil},
		{"limit", "limit=10", epObjects, true, func(t *testing.T, f filter) {
			if f.Limit != 10 {
				t.Errorf("limit %d", f.Limit)
			}
		}},
		{"limit zero", "limit=0", epObjects, false, nil},
		{"limit negative", "limit=-1", epObjects, false, nil},
		{"limit not a number", "limit=ten", epObjects, false, nil},
		{"limit overflow", "limit=99999999999999999999999", epObjects, false, nil},
		{"ids", "match[id]=" + id1 + "," + id2, epObjects, true, func(t *testing.T, f filter) {
			if !slices.Equal(f.IDs, []string{id1, id2}) {
				t.Errorf("ids %v", f.IDs)
			}
		}},
		{"id malformed", "match[id]=indicator--nope", epObjects, false, nil},
		{"id empty value in list", "match[id]=" + id1 + ",", epObjects, false, nil},
		{"types", "match[type]=incident,malware,x-mitre-tactic", epManifest, true, func(t *testing.T, f filter) {
			if !slices.Equal(f.Types, []string{"incident", "malware", "x-mitre-tactic"}) {
				t.Errorf("types %v", f.Types)
			}
		}},
		{"type with space", "match[type]=incident,%20malware", epObjects, false, nil},
		{"type twice", "match[type]=malware&match[type]=tool", epObjects, false, nil},
		{"type on object endpoint", "match[type]=malware", epObject, false, nil},
		{"spec_version", "match[spec_version]=2.0,2.1", epObjects, true, func(t *testing.T, f filter) {
			if !slices.Equal(f.SpecVersions, []string{"2.0", "2.1"}) {
				t.Errorf("spec versions %v", f.SpecVersions)
			}
		}},
		{"spec_version bad", "match[spec_version]=two", epObjects, false, nil},
		{"version all", "match[version]=all", epObjects, true, func(t *testing.T, f filter) {
			if !f.Versions.All || f.Versions.First || f.Versions.Last {
				t.Errorf("versions %+v", f.Versions)
			}
		}},
		{"version first,last and exact", "match[version]=first,2018-03-02T01:01:01.123Z,last", epObject, true, func(t *testing.T, f filter) {
			v := f.Versions
			if !v.First || !v.Last || v.All || len(v.Exact) != 1 || v.Exact[0].String() != "2018-03-02T01:01:01.123Z" {
				t.Errorf("versions %+v", v)
			}
		}},
		{"version two exact", "match[version]=2016-03-23T01:01:01.000Z,2018-03-02T01:01:01.123Z", epDelete, true, func(t *testing.T, f filter) {
			if len(f.Versions.Exact) != 2 {
				t.Errorf("versions %+v", f.Versions)
			}
		}},
		{"version all with other", "match[version]=all,first", epObjects, false, nil},
		{"version repeated keyword", "match[version]=last,last", epObjects, false, nil},
		{"version same instant twice", "match[version]=2016-03-23T01:01:01.1Z,2016-03-23T01:01:01.100Z", epObjects, false, nil},
		{"version bad", "match[version]=latest", epObjects, false, nil},
		{"version on versions endpoint", "match[version]=all", epVersions, false, nil},
		{"unknown match field ignored", "match[color]=blue", epObjects, true, nil},
		{"unknown parameter ignored", "foo=bar", epObjects, true, nil},
		{"bad escape", "limit=%zz", epObjects, false, nil},
		{"next", "next=abc", epObjects, true, func(t *testing.T, f filter) {
			if f.Next != "abc" {
				t.Errorf("next %q", f.Next)
			}
		}},
		{"next empty", "next=", epObjects, false, nil},
		{"limit ignored on delete", "limit=abc", epDelete, true, nil},
		{"too many values", "match[type]=" + strings.Repeat("abc,", maxMatchValues) + "abc", epObjects, false, nil},
		{"too long", "foo=" + strings.Repeat("a", maxQueryLen), epObjects, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseFilter(tt.query, tt.ep)
			if (err == nil) != tt.ok {
				t.Fatalf("parseFilter(%q): err %v, want ok=%v", tt.query, err, tt.ok)
			}
			if err != nil {
				var bp *badParam
				if !errors.As(err, &bp) {
					t.Fatalf("error %T is not a badParam", err)
				}
				return
			}
			if tt.check != nil {
				tt.check(t, f)
			}
		})
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "limit=5", "match[version]=first,2018-03-02T01:01:01.123Z",
		"match[id]=a--b&added_after=2016-01-01T00:00:00Z", "next=%", "match[type]=a,,b"} {
		f.Add(s, 0)
	}
	f.Fuzz(func(t *testing.T, q string, ep int) {
		e := endpoint(uint(ep) % 5)
		flt, err := parseFilter(q, e)
		if err != nil {
			var bp *badParam
			if !errors.As(err, &bp) {
				t.Fatalf("error %T is not a badParam", err)
			}
			return
		}
		if flt.Limit < 0 || len(flt.IDs) > maxMatchValues || (flt.Versions.All && (flt.Versions.First || flt.Versions.Last || len(flt.Versions.Exact) > 0)) {
			t.Fatalf("invalid filter accepted from %q: %+v", q, flt)
		}
	})
}
