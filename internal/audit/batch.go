package audit

import (
	"encoding/json"
	"time"
)

// Batch gathers the disclosures of one response (a TAXII page, a push to a
// peer) so that they cost one record per policy rule instead of one per
// object: a page of 100 objects all allowed by one rule is one record listing
// 100 object versions. A rule with more than MaxObjects objects takes several
// records. The zero Batch is not usable; fill in Time, Actor and Subject.
type Batch struct {
	Time    time.Time
	Actor   string          // the recipient
	Subject string          // the collection, usually
	Detail  json.RawMessage // copied into every entry
	Cap     int             // the number of objects expected, if known: sizes the first list

	groups []batchGroup
}

type batchGroup struct {
	rule string
	refs []ObjectRef
}

// Add records that the object versions refs were disclosed under rule.
func (b *Batch) Add(rule string, refs ...ObjectRef) {
	for i := range b.groups {
		if b.groups[i].rule == rule {
			b.groups[i].refs = append(b.groups[i].refs, refs...)
			return
		}
	}
	list := make([]ObjectRef, 0, max(len(refs), b.Cap))
	b.Cap = 0 // later rules are rarer: let their lists grow
	b.groups = append(b.groups, batchGroup{rule: rule, refs: append(list, refs...)})
}

// Len returns the number of object versions added.
func (b *Batch) Len() int {
	n := 0
	for _, g := range b.groups {
		n += len(g.refs)
	}
	return n
}

// Entries returns the disclosure entries of the batch: rules in the order they
// were first added, object versions in the order they were added, at most
// MaxObjects in each entry. An empty batch has no entries.
func (b *Batch) Entries() []Entry {
	var out []Entry
	for _, g := range b.groups {
		for start := 0; start < len(g.refs); start += MaxObjects {
			end := min(start+MaxObjects, len(g.refs))
			out = append(out, Entry{
				Kind: Disclosure, Time: b.Time, Actor: b.Actor, Subject: b.Subject,
				Rule: g.rule, Objects: g.refs[start:end:end], Detail: b.Detail,
			})
		}
	}
	return out
}
