package report

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestReceipt(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := richReport(t) // detected 12:30:00.123Z, significant, ransom paid 13:00Z
	received := time.Date(2026, 11, 22, 6, 0, 0, 123456789, time.FixedZone("AEST", 10*3600))
	rc, err := NewReceipt(rep, 1, received, "AU", DefaultDeadlines().Judge("AU", []Version{{rep, received}}), priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Verify(pub); err != nil {
		t.Fatalf("a fresh receipt does not verify: %v", err)
	}
	if !rc.Matches(rep) || rc.ReportID != rep.ID || rc.Received.Location() != time.UTC || rc.Received.Nanosecond() != 123e6 {
		t.Errorf("receipt %+v", rc)
	}
	// Received 20:00:00.123Z, due 12:30:00.123Z + 12h: on time under the significant rule.
	if rc.Rule != "soci-significant" || rc.OnTime == nil || !*rc.OnTime || !rc.Due.Equal(rep.DetectedAt.Add(12*time.Hour)) {
		t.Errorf("deadline in receipt: %v %v %v", rc.Rule, rc.Due, rc.OnTime)
	}

	// The receipt survives a round trip through JSON, as the operator keeps it.
	raw, err := json.Marshal(rc)
	if err != nil {
		t.Fatal(err)
	}
	var back Receipt
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Verify(pub); err != nil {
		t.Fatalf("after a JSON round trip: %v", err)
	}

	tamper := map[string]func(r *Receipt){
		"report id":    func(r *Receipt) { r.ReportID = NewID() },
		"received":     func(r *Receipt) { r.Received = r.Received.Add(-time.Hour) },
		"content hash": func(r *Receipt) { r.ContentHash = "sha256:" + r.ContentHash[8:70] + "0" },
		"on time":      func(r *Receipt) { f := false; r.OnTime = &f },
		"version":      func(r *Receipt) { r.Version = 2 },
		"node":         func(r *Receipt) { r.Node = "US" },
		"signature": func(r *Receipt) {
			c := byte('A')
			if r.Signature[10] == 'A' {
				c = 'B'
			}
			r.Signature = r.Signature[:10] + string(c) + r.Signature[11:]
		},
		"no signature": func(r *Receipt) { r.Signature = "" },
	}
	for name, edit := range tamper {
		c := back
		edit(&c)
		if err := c.Verify(pub); !errors.Is(err, ErrReceipt) {
			t.Errorf("tampered %s: Verify = %v", name, err)
		}
	}
	otherPub, _, _ := ed25519.GenerateKey(nil)
	if err := back.Verify(otherPub); !errors.Is(err, ErrReceipt) {
		t.Errorf("another node's key: %v", err)
	}
	if err := back.Verify(pub[:5]); !errors.Is(err, ErrReceipt) {
		t.Errorf("short key: %v", err)
	}

	changed := *rep
	changed.Impact = ImpactMinor
	if rc.Matches(&changed) {
		t.Error("the receipt matches changed content")
	}

	// A late first submission stays late in the receipt of a later version.
	late := rep.DetectedAt.Add(13 * time.Hour)
	rc2, err := NewReceipt(rep, 2, late.Add(time.Hour), "AU", DefaultDeadlines().Judge("AU", []Version{{rep, late}, {rep, late.Add(time.Hour)}}), priv)
	if err != nil || rc2.OnTime == nil || *rc2.OnTime {
		t.Errorf("late receipt: %+v %v", rc2, err)
	}
	// No deadline in Japan: no deadline fields.
	rc3, err := NewReceipt(rep, 1, received, "JP", DefaultDeadlines().Judge("JP", []Version{{rep, received}}), priv)
	if err != nil || rc3.Due != nil || rc3.OnTime != nil || rc3.Rule != "" {
		t.Errorf("JP receipt: %+v %v", rc3, err)
	}
	if _, err := NewReceipt(&Report{}, 1, received, "AU", nil, priv); err == nil {
		t.Error("a receipt for a report without id")
	}
	if _, err := NewReceipt(rep, 0, received, "AU", nil, priv); err == nil {
		t.Error("a receipt for version 0")
	}
	if _, err := NewReceipt(rep, 1, received, "AU", nil, priv[:10]); err == nil {
		t.Error("a receipt with a bad key")
	}
}

func TestIsRetry(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	doc := validDoc()
	delete(doc, "id") // a first submission: the node assigns the id
	first, err := decodeString(encode(t, doc))
	if err != nil {
		t.Fatal(err)
	}
	first.ID = NewID()
	rc, err := NewReceipt(first, 1, received1, "AU", nil, priv)
	if err != nil {
		t.Fatal(err)
	}
	retry, _ := decodeString(encode(t, doc))
	if !IsRetry(rc, retry) {
		t.Error("the same submission again is not a retry")
	}
	doc["impact"] = "severe"
	other, _ := decodeString(encode(t, doc))
	if IsRetry(rc, other) {
		t.Error("other content under the same key is a retry")
	}
	doc["impact"] = "significant"
	doc["idempotency_key"] = "another"
	otherKey, _ := decodeString(encode(t, doc))
	if IsRetry(rc, otherKey) {
		t.Error("another key is a retry")
	}
}
