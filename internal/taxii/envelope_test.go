package taxii

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestSplitEnvelope(t *testing.T) {
	tests := []struct {
		body string
		n    int // objects; -1: an error
	}{
		{`{"objects":[{"a":1},{"b":[1,2]}]}`, 2},
		{` { "more" : false, "objects" : [ {"a":"]"} ] , "x_custom": {"objects": 5} } `, 1},
		{`{"objects":[1,"two",null]}`, 3}, // values that are not objects fail one by one later
		{`{"objects":[]}`, -1},
		{`{}`, -1},
		{`{"objects":{}}`, -1},
		{`{"objects":[{}],"objects":[{}]}`, -1},
		{`{"type":"bundle","objects":[{}]}`, -1},
		{`[{"objects":[]}]`, -1},
		{`{"objects":[{}]} {}`, -1},
		{`{"objects":[{}`, -1},
		{`{"objects":[{}]`, -1},
		{``, -1},
	}
	for _, tt := range tests {
		raws, err := splitEnvelope([]byte(tt.body), 10)
		if tt.n < 0 {
			if err == nil {
				t.Errorf("%q: no error", tt.body)
			}
			continue
		}
		if err != nil || len(raws) != tt.n {
			t.Errorf("%q: %d objects, %v; want %d", tt.body, len(raws), err, tt.n)
		}
	}
	if _, err := splitEnvelope([]byte(`{"objects":[1,2,3]}`), 2); err == nil {
		t.Error("more objects than the maximum accepted")
	}
}

func FuzzSplitEnvelope(f *testing.F) {
	f.Add([]byte(`{"objects":[{"type":"tool","id":"tool--1"}],"more":true}`))
	f.Add([]byte(`{"objects":[1,[2],{"3":4}]}`))
	f.Add([]byte(`{"objects":[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		raws, err := splitEnvelope(body, 100)
		if err != nil {
			return
		}
		if len(raws) == 0 || len(raws) > 100 {
			t.Fatalf("%d objects", len(raws))
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		for _, r := range raws {
			if !json.Valid(r) || !bytes.Contains(body, bytes.TrimSpace(r)) {
				t.Fatalf("object %q is not a value of the body", r)
			}
		}
	})
}
