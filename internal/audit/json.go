package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// MaxRecordJSON bounds the JSON form of one record that ParseRecord reads.
const MaxRecordJSON = 4 << 20

// The JSON form of a record, for stores that keep a record in one column and
// for export. Example:
//
//	{"seq":7,"prev":"…64 hex…","hash":"…64 hex…","kind":"disclosure",
//	 "time":"2026-11-22T04:46:25.123456Z","actor":"peer:jp","subject":"collection:shared",
//	 "rule":"agreement:jp/tlp-green","objects":[{"id":"indicator--…","version":"2026-11-20T10:00:00.000Z"}],
//	 "detail":{"request":"…"}}
type wireRecord struct {
	Seq     int64           `json:"seq"`
	Prev    Hash            `json:"prev"`
	Hash    Hash            `json:"hash"`
	Kind    Kind            `json:"kind"`
	Time    string          `json:"time"`
	Actor   string          `json:"actor,omitempty"`
	Subject string          `json:"subject,omitempty"`
	Rule    string          `json:"rule,omitempty"`
	Objects []wireRef       `json:"objects,omitempty"`
	Detail  json.RawMessage `json:"detail,omitempty"`
}

type wireRef struct {
	ID      string `json:"id"`
	Version string `json:"version,omitempty"`
}

// MarshalRecord returns the JSON form of r. It fails on a record that breaks
// the limits of the format.
func MarshalRecord(r Record) ([]byte, error) {
	if err := checkRecord(&r); err != nil {
		return nil, fmt.Errorf("audit: marshal record %d: %w", r.Seq, err)
	}
	d, err := canonicalDetail(r.Detail)
	if err != nil {
		return nil, fmt.Errorf("audit: marshal record %d: %w", r.Seq, err)
	}
	w := wireRecord{
		Seq: r.Seq, Prev: r.PrevHash, Hash: r.Hash, Kind: r.Kind,
		Time:  r.Time.UTC().Format(timeLayout),
		Actor: r.Actor, Subject: r.Subject, Rule: r.Rule, Detail: d,
	}
	if len(r.Objects) > 0 {
		w.Objects = make([]wireRef, len(r.Objects))
		for i, o := range r.Objects {
			w.Objects[i] = wireRef(o)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, fmt.Errorf("audit: marshal record %d: %w", r.Seq, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ParseRecord reads the JSON form of one record. Unknown members, trailing
// data, values beyond the limits and a detail that is not an I-JSON object are
// errors. The Detail of the result is canonical. ParseRecord does not check
// the hash: that is Verify's work.
func ParseRecord(data []byte) (Record, error) {
	if len(data) > MaxRecordJSON {
		return Record{}, fmt.Errorf("%w: record: %d bytes, at most %d", ErrInvalid, len(data), MaxRecordJSON)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var w wireRecord
	if err := dec.Decode(&w); err != nil {
		return Record{}, fmt.Errorf("%w: record: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Record{}, fmt.Errorf("%w: record: data after the record", ErrInvalid)
	}
	t, err := time.Parse(time.RFC3339Nano, w.Time)
	if err != nil {
		return Record{}, fmt.Errorf("%w: record %d: time: %v", ErrInvalid, w.Seq, err)
	}
	r := Record{Seq: w.Seq, PrevHash: w.Prev, Hash: w.Hash, Entry: Entry{
		Kind: w.Kind, Time: t.UTC(), Actor: w.Actor, Subject: w.Subject, Rule: w.Rule,
	}}
	if len(w.Objects) > MaxObjects {
		return Record{}, fmt.Errorf("%w: record %d: %d objects, at most %d", ErrInvalid, w.Seq, len(w.Objects), MaxObjects)
	}
	if len(w.Objects) > 0 {
		r.Objects = make([]ObjectRef, len(w.Objects))
		for i, o := range w.Objects {
			r.Objects[i] = ObjectRef(o)
		}
	}
	if err := checkRecord(&r); err != nil {
		return Record{}, fmt.Errorf("audit: record %d: %w", w.Seq, err)
	}
	if r.Detail, err = canonicalDetail(w.Detail); err != nil {
		return Record{}, fmt.Errorf("audit: record %d: %w", w.Seq, err)
	}
	return r, nil
}
