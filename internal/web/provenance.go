package web

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"quadshare/internal/provenance"
	"quadshare/internal/store"
)

// maxDisclosures bounds the disclosure records an object page lists.
const maxDisclosures = 50

// provenanceView is where an object version came from, as this node can tell.
type provenanceView struct {
	Local    bool   // made or received here without a provenance signature
	Withheld bool   // the version shown lacks it: a marking withholds it from the reader
	Nation   string // the originating node's nation
	Agency   string // its agency's STIX identity
	KeyID    string
	Peer     string // the pinned partner whose key verified it
	Verified bool
	Problem  string // why it does not verify
	Received time.Time
	From     string // who added it here: an organisation's name, else its id
}

// disclosureView is one disclosure record naming the object.
type disclosureView struct {
	Seq                      int64
	Time                     time.Time
	Recipient, Rule, Subject string
	Endpoint                 string
	Versions                 []string // the versions of this object in the record
}

// provenanceOf verifies the stored version raw (before any redaction, which would
// break the signature) against the keys of the pinned partners.
func (s *Server) provenanceOf(ctx context.Context, en store.Entry) (provenanceView, error) {
	v := provenanceView{Received: en.DateAdded}
	if en.Submitter != "" {
		v.From = en.Submitter
		if o, err := s.st.Organisation(ctx, en.Submitter); err == nil {
			v.From = o.Name
		}
	}
	if !bytes.Contains(en.Object.Raw, []byte(provenance.ExtensionID)) {
		v.Local, v.Nation = true, s.gate.Policy().Config().Nation
		return v, nil
	}
	peers, err := s.st.Peers(ctx)
	if err != nil {
		return v, err
	}
	type key struct {
		pub          ed25519.PublicKey
		nation, name string
	}
	keys := make(map[string]key, len(peers))
	for _, p := range peers {
		keys[provenance.KeyID(p.PublicKey)] = key{p.PublicKey, p.Nation, p.Name}
	}
	ext, err := provenance.Verify(en.Object.Raw, func(id string) (ed25519.PublicKey, string, bool) {
		k, ok := keys[id]
		return k.pub, k.nation, ok
	})
	v.Nation, v.Agency, v.KeyID = ext.Node, ext.Agency, ext.KeyID
	switch {
	case err == nil:
		v.Verified, v.Peer = true, keys[ext.KeyID].name
	case errors.Is(err, provenance.ErrUnknownKey):
		v.Problem = "signed with a key of no pinned partner"
	case errors.Is(err, provenance.ErrBadSig):
		v.Problem = "the signature does not verify: the object was altered or the key does not belong to " + ext.Node
	default:
		v.Problem = "the provenance extension is malformed"
	}
	return v, nil
}

// disclosuresOf lists the newest disclosure records naming id.
func (s *Server) disclosuresOf(ctx context.Context, id string) ([]disclosureView, error) {
	recs, err := s.st.AuditDisclosures(ctx, id, maxDisclosures)
	if err != nil {
		return nil, err
	}
	out := make([]disclosureView, 0, len(recs))
	for _, r := range recs {
		d := disclosureView{Seq: r.Seq, Time: r.Time, Recipient: r.Actor, Rule: r.Rule, Subject: strings.TrimPrefix(r.Subject, "collection:")}
		var detail struct {
			Endpoint string `json:"endpoint"`
		}
		if len(r.Detail) > 0 && json.Unmarshal(r.Detail, &detail) == nil {
			d.Endpoint = clip(detail.Endpoint)
		}
		for _, o := range r.Objects {
			if o.ID == id && len(d.Versions) < 10 {
				d.Versions = append(d.Versions, o.Version)
			}
		}
		out = append(out, d)
	}
	return out, nil
}
