package taxii

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"quadshare/internal/stix"
)

// errEnvelope describes why a body is not an envelope (§3.7).
type errEnvelope string

func (e errEnvelope) Error() string { return string(e) }

// ErrEmptyEnvelope is SplitEnvelope's error for an envelope without objects.
var ErrEmptyEnvelope error = errEnvelope("the envelope holds no objects")

// TooManyObjects is SplitEnvelope's error for an envelope of more objects than
// its maximum, the value.
type TooManyObjects int

func (e TooManyObjects) Error() string {
	return fmt.Sprintf("the envelope holds more than %d objects; split it", int(e))
}

// SplitEnvelope returns the members of the objects list of an envelope (§3.7), each
// the raw JSON of one value, as it is in body (not a copy). Other members (more, next,
// custom properties) are skipped. An envelope must hold at least one object (§2 list:
// empty lists are prohibited), and at most max.
//
// It accepts and rejects what a json.Decoder reading tokens did, with the same
// messages, and leaves each value's own strictness to stix.Parse; stix.SkipValue
// checks the values as encoding/json would, at a fraction of its cost.
func SplitEnvelope(body []byte, max int) ([][]byte, error) {
	raws, err := splitEnvelope(body, max, false, nil)
	if err == nil && len(raws) == 0 {
		return nil, ErrEmptyEnvelope
	}
	return raws, err
}

// Page is a page of objects as a client reads it (§3.7, §5.4).
type Page struct {
	More    bool
	Next    string
	Objects [][]byte // the raw JSON of each, as it is in the body read
}

// ReadPage reads the envelope a server answered to a GET of objects: more a
// boolean, next a string, and at most max objects, which may be none ({} is the
// empty page, and objects null, which a careless server may write for an empty
// list, is read as one). Other members are skipped, but not one that differs from
// more, next or objects only in case, which encoding/json would have taken for it:
// objects a page holds are never dropped unseen. Each object's own strictness is
// left to its reader, as with SplitEnvelope.
func ReadPage(body []byte, max int) (Page, error) {
	var p Page
	var err error
	p.Objects, err = splitEnvelope(body, max, true, func(key string, value []byte) error {
		switch key {
		case "more":
			switch string(value) {
			case "true", "false", "null":
				p.More = string(value) == "true"
			default:
				return errEnvelope("more must be a boolean")
			}
		case "next":
			if value[0] != '"' && string(value) != "null" {
				return errEnvelope("next must be a string")
			}
			p.Next = ""
			if err := json.Unmarshal(value, &p.Next); err != nil {
				return errEnvelope("next must be a string")
			}
		default:
			for _, name := range [...]string{"more", "next", "objects"} {
				if strings.EqualFold(key, name) {
					return errEnvelope(fmt.Sprintf("the envelope has a member %q: TAXII names it %q (§3.7)", key, name))
				}
			}
		}
		return nil
	})
	if err != nil {
		return Page{}, err
	}
	return p, nil
}

// splitEnvelope is SplitEnvelope without its floor of one object, passing the
// value of every member other than objects to onMember, when not nil. With
// nullObjects, objects may be null, for none.
func splitEnvelope(body []byte, max int, nullObjects bool, onMember func(key string, value []byte) error) ([][]byte, error) {
	notJSON := errEnvelope("the body is not valid JSON")
	i := stix.SkipSpace(body, 0)
	if i == len(body) || body[i] != '{' {
		return nil, errEnvelope("the body is not a TAXII envelope: a JSON object with an objects list")
	}
	i++
	var raws [][]byte
	seen := false
	for member := 0; ; member++ {
		i = stix.SkipSpace(body, i)
		if i == len(body) {
			return nil, notJSON
		}
		if body[i] == '}' {
			i++
			break
		}
		if member > 0 {
			if body[i] != ',' {
				return nil, notJSON
			}
			if i = stix.SkipSpace(body, i+1); i == len(body) {
				return nil, notJSON
			}
		}
		if body[i] != '"' {
			return nil, notJSON
		}
		end, err := stix.SkipValue(body, i)
		if err != nil {
			return nil, notJSON
		}
		key := memberName(body[i:end])
		i = end
		if key == "type" {
			return nil, errEnvelope("the body is a STIX bundle; TAXII 2.1 takes an envelope: {\"objects\":[...]} (§3.7)")
		}
		if key != "objects" {
			if i = stix.SkipSpace(body, i); i == len(body) || body[i] != ':' {
				return nil, notJSON
			}
			start := stix.SkipSpace(body, i+1)
			if i, err = stix.SkipValue(body, i+1); err != nil {
				return nil, notJSON
			}
			if onMember != nil {
				if err := onMember(key, body[start:i]); err != nil {
					return nil, err
				}
			}
			continue
		}
		if seen {
			return nil, errEnvelope("the envelope has more than one objects member")
		}
		seen = true
		if i = stix.SkipSpace(body, i); i == len(body) || body[i] != ':' {
			return nil, errEnvelope("objects must be a list")
		}
		if i = stix.SkipSpace(body, i+1); nullObjects && bytes.HasPrefix(body[i:], []byte("null")) {
			i += len("null")
			continue
		}
		if i == len(body) || body[i] != '[' {
			return nil, errEnvelope("objects must be a list")
		}
		i++
		for elem := 0; ; elem++ {
			i = stix.SkipSpace(body, i)
			if i == len(body) || body[i] == '}' {
				return nil, notJSON
			}
			if body[i] == ']' {
				i++
				break
			}
			// The limit comes before the comma, as with json.Decoder.More.
			if len(raws) == max {
				return nil, TooManyObjects(max)
			}
			if elem > 0 {
				if body[i] != ',' {
					return nil, notJSON
				}
				i = stix.SkipSpace(body, i+1)
			}
			end, err := stix.SkipValue(body, i)
			if err != nil {
				return nil, notJSON
			}
			raws = append(raws, body[i:end:end])
			i = end
		}
	}
	if stix.SkipSpace(body, i) != len(body) {
		return nil, errEnvelope("the body has data after the envelope")
	}
	return raws, nil
}

// memberName returns the name of a member, given the JSON string, valid, that
// holds it. Names that only escapes make "objects" or "type" are rare: they are
// decoded as encoding/json does, invalid UTF-8 and all.
func memberName(quoted []byte) string {
	if bytes.IndexByte(quoted, '\\') < 0 {
		return string(quoted[1 : len(quoted)-1])
	}
	var name string
	_ = json.Unmarshal(quoted, &name) // SkipValue found it valid
	return name
}
