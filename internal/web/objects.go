package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"quadshare/internal/auth"
	"quadshare/internal/federation"
	"quadshare/internal/policy"
	"quadshare/internal/provenance"
	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// PageSize is the number of objects a list shows at once.
const PageSize = 50

// searchScan bounds the matches one search examines.
const searchScan = 800

// maxSearch bounds the search text.
const maxSearch = 200

var typeName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,249}$`)

// readable is a collection the user may read, with the rights it has there.
type readable struct {
	store.Collection
	Rights auth.Rights
}

// readableCollections returns the collections p may read, in the store's order.
func (s *Server) readableCollections(ctx context.Context, p *auth.Principal) ([]readable, error) {
	cs, err := s.st.Collections(ctx)
	if err != nil {
		return nil, err
	}
	var out []readable
	for _, c := range cs {
		rt, err := s.authn.Rights(ctx, p, c)
		if err != nil {
			return nil, err
		}
		if rt.Read {
			out = append(out, readable{c, rt})
		}
	}
	return out, nil
}

// objectRow is one object of a list.
type objectRow struct {
	ID, Type, Name, Version, Collection, Href string
	Added                                     time.Time
	Revoked                                   bool
}

type objectsData struct {
	Collections []readable
	Collection  string
	Type, Q     string
	From, To    string // dates, yyyy-mm-dd
	Rows        []objectRow
	Next        template.URL // the next page, "" when none: built here from escaped parts
	Searched    bool
	Message     string
	Shown       string // title of the collection listed
	Filter      objectFilter
	Choices     filterChoices
	Scanned     bool // a filtered page stopped at filterScan versions: Next continues
}

// objects is the object browser: the latest versions in a collection, filtered by
// type and by the date they were added, or a full-text search over the collections
// the user reads. Only what the gate releases is listed.
func (s *Server) objects(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx := r.Context()
	q := r.URL.Query()
	data := objectsData{Collection: q.Get("collection"), Type: strings.TrimSpace(q.Get("type")), Q: strings.TrimSpace(q.Get("q")),
		From: q.Get("from"), To: q.Get("to")}
	var err error
	if data.Filter, err = parseFilter(q, s.gate.Policy()); err != nil {
		return err
	}
	cols, err := s.readableCollections(ctx, p)
	if err != nil {
		return err
	}
	data.Collections = cols
	if len(cols) == 0 {
		data.Message = "You may read no collection."
		s.render(w, r, http.StatusOK, "objects", p, "Objects", data)
		return nil
	}
	if data.Choices, err = s.filterChoices(ctx, p, data.Filter.ownNode); err != nil {
		return err
	}
	var types []string
	if data.Type != "" {
		if !typeName.MatchString(data.Type) {
			return badRequest("The type %q is not a STIX type name.", clip(data.Type))
		}
		types = []string{data.Type}
	}
	if len(data.Q) > maxSearch || !utf8.ValidString(data.Q) {
		return badRequest("The search text is longer than %d bytes or not text.", maxSearch)
	}
	var chosen []readable
	for _, c := range cols {
		if data.Collection == "" || c.ID == data.Collection {
			chosen = append(chosen, c)
		}
	}
	if len(chosen) == 0 {
		return notFound()
	}
	if data.Q != "" {
		data.Searched = true
		if err := s.search(ctx, p, &data, chosen, types); err != nil {
			return err
		}
		s.render(w, r, http.StatusOK, "objects", p, "Objects", data)
		return nil
	}
	// Without a choice the first collection is listed, while the form stays on
	// "all collections" so that a search covers them all.
	c := chosen[0]
	data.Shown = c.Title
	if data.Shown == "" {
		data.Shown = c.ID
	}
	sq := store.Query{Collection: c.ID, Types: types, Submitter: c.Rights.OnlySubmitter, Limit: PageSize}
	if data.From != "" {
		t, err := time.Parse(time.DateOnly, data.From)
		if err != nil {
			return badRequest("The date “from” is not a date (yyyy-mm-dd).")
		}
		sq.AddedAfter = t.Add(-time.Nanosecond)
	}
	if data.To != "" {
		t, err := time.Parse(time.DateOnly, data.To)
		if err != nil {
			return badRequest("The date “to” is not a date (yyyy-mm-dd).")
		}
		sq.AddedUpTo = t.Add(24*time.Hour - time.Nanosecond)
	}
	if after := q.Get("after"); after != "" {
		t, err := time.Parse(time.RFC3339Nano, after)
		if err != nil {
			return badRequest("The page cursor is not a time.")
		}
		if t.After(sq.AddedAfter) {
			sq.AddedAfter = t
		}
	}
	entries, last, more, err := s.listPage(ctx, p, c, sq, data.Filter)
	if err != nil {
		return err
	}
	shown, err := s.gate.ReleaseTo(ctx, p, c.Rights, c.ID, "web-objects", entries)
	if err != nil {
		return err
	}
	data.Rows = rows(c.ID, shown)
	if more {
		next := url.Values{"collection": {c.ID}, "after": {last.UTC().Format(time.RFC3339Nano)}}
		for k, v := range map[string]string{"type": data.Type, "from": data.From, "to": data.To} {
			if v != "" {
				next.Set(k, v)
			}
		}
		data.Filter.set(next)
		// html/template would escape a bare query string as one value.
		data.Next = template.URL(Prefix + "objects?" + next.Encode())
		data.Scanned = data.Filter.active() && len(entries) < PageSize
	}
	s.render(w, r, http.StatusOK, "objects", p, "Objects", data)
	return nil
}

// search finds the best matches of data.Q in the chosen collections with one
// query of the store (one per collection would walk the matches of a word that
// is common elsewhere once for each), keeps those the gate would release to
// the user that pass the filters as released, and releases at most PageSize of
// them through the gate, collection by collection, in the order of the store.
// When what the user may not receive, or the filters, leave fewer than a page,
// it asks the store for more matches, up to searchScan: what is withheld must
// not crowd out what the user may see.
func (s *Server) search(ctx context.Context, p *auth.Principal, data *objectsData, chosen []readable, types []string) error {
	ids := make([]string, len(chosen))
	byID := make(map[string]readable, len(chosen))
	for i, c := range chosen {
		ids[i], byID[c.ID] = c.ID, c
	}
	limit := PageSize
	if data.Filter.active() {
		limit = 4 * PageSize // the filters then keep some of them
	}
	var found []store.Entry
	var groups map[string][]store.Entry
	var order []string
	var n int
	var err error
	for {
		if found, err = s.st.Search(ctx, store.SearchQuery{Text: data.Q, Collections: ids, Types: types, Limit: limit}); err != nil {
			return err
		}
		groups, order, n = s.shown(p, found, byID, data.Filter)
		if n == PageSize || len(found) < limit || limit == searchScan {
			break
		}
		limit = min(4*limit, searchScan)
	}
	shownBy := map[string][]store.Entry{}
	for _, id := range order {
		if shownBy[id], err = s.gate.ReleaseTo(ctx, p, byID[id].Rights, id, "web-search", groups[id]); err != nil {
			return err
		}
	}
	// Back in the store's order, each as released (redacted where the policy
	// says): a collection's released entries keep their order, and an object
	// has one latest version per collection.
	next := map[string]int{}
	for i := range found {
		id := found[i].Collection
		if k, sh := next[id], shownBy[id]; k < len(sh) && sh[k].Object.ID == found[i].Object.ID {
			data.Rows = append(data.Rows, rows(id, sh[k:k+1])...)
			next[id] = k + 1
		}
	}
	return nil
}

// shown picks of found the first PageSize that the gate would release to p and
// that pass f as released, by collection, with the order of the collections:
// what a search shows, and records as shown.
func (s *Server) shown(p *auth.Principal, found []store.Entry, byID map[string]readable, f objectFilter) (groups map[string][]store.Entry, order []string, n int) {
	groups = map[string][]store.Entry{}
	for i := range found {
		c, ok := byID[found[i].Collection]
		if !ok || !s.mayMatch(p, c, &found[i], f) {
			continue
		}
		if groups[c.ID] == nil {
			order = append(order, c.ID)
		}
		groups[c.ID] = append(groups[c.ID], found[i])
		if n++; n == PageSize {
			break
		}
	}
	return groups, order, n
}

// listPage reads the versions of c after sq's cursor and returns, of those
// the gate would release to p, the first PageSize that pass f, as stored (the
// caller releases them), with the date_added of the last one to continue from
// and whether more follow. Whatever p may not receive is passed over unseen: it
// neither fills the page nor moves the cursor nor tells that more follow. With
// filters at most filterScan versions are examined; when the page stops there,
// it continues after the last version examined that p may receive, or has no
// next page when it examined none. Without filters the same bound holds: a
// collection where p may receive little costs no more than a filtered page.
func (s *Server) listPage(ctx context.Context, p *auth.Principal, c readable, sq store.Query, f objectFilter) (entries []store.Entry, last time.Time, more bool, err error) {
	inbound := c.Alias == federation.InboundAlias
	start, seen := sq.AddedAfter, time.Time{}
	batch := PageSize + 1 // one more than a page tells whether more follow
	if f.active() {
		batch = scanBatch
	}
	for scanned := 0; ; {
		if scanned >= filterScan {
			return entries, seen, seen.After(start), nil
		}
		sq.Limit = min(batch, filterScan-scanned)
		page, err := s.st.Query(ctx, sq)
		if err != nil {
			return nil, last, false, err
		}
		scanned += len(page.Entries)
		for i, en := range s.gate.PreviewTo(p, c.Rights, page.Entries) {
			seen = en.DateAdded
			if !f.match(s.gate, &en, inbound) {
				continue
			}
			if len(entries) == PageSize {
				return entries, entries[PageSize-1].DateAdded, true, nil
			}
			entries = append(entries, page.Entries[i])
		}
		if !page.More || len(page.Entries) == 0 {
			if len(entries) > 0 {
				last = entries[len(entries)-1].DateAdded
			}
			return entries, last, false, nil
		}
		sq.AddedAfter = page.Entries[len(page.Entries)-1].DateAdded
	}
}

// mayMatch says whether the gate would release en in c to p and, as released,
// it passes f: a search keeps only those, so that neither its rows nor their
// number depend on what p may not receive.
func (s *Server) mayMatch(p *auth.Principal, c readable, en *store.Entry, f objectFilter) bool {
	for _, rel := range s.gate.PreviewTo(p, c.Rights, []store.Entry{*en}) {
		return f.match(s.gate, &rel, c.Alias == federation.InboundAlias)
	}
	return false
}

// filterChoices are the TLP levels, the sectors of the common list and, for
// our agency's staff only, the nations of this node, of its partner
// organisations and of its agreements (not read from the peers, whose listing
// counts their queues): with whom we share is not for operators and readers.
func (s *Server) filterChoices(ctx context.Context, p *auth.Principal, own string) (filterChoices, error) {
	choices := filterChoices{TLPs: tlps, Sectors: policy.SectorNames()}
	if !s.ourAgency(p) {
		return choices, nil
	}
	orgs, err := s.st.Organisations(ctx)
	if err != nil {
		return filterChoices{}, err
	}
	nations := []string{own}
	for _, o := range orgs {
		if o.Kind == store.KindPartner {
			nations = append(nations, o.Nation)
		}
	}
	for _, a := range s.gate.Policy().Config().Agreements {
		nations = append(nations, a.Partner)
	}
	slices.Sort(nations)
	choices.Nations = slices.Compact(nations)
	return choices, nil
}

func rows(collection string, es []store.Entry) []objectRow {
	out := make([]objectRow, 0, len(es))
	for _, e := range es {
		name := e.Object.Name
		if name == "" {
			name = e.Object.ID
		}
		out = append(out, objectRow{ID: e.Object.ID, Type: e.Object.Type, Name: clip(name), Version: e.Object.Version().String(),
			Collection: collection, Added: e.DateAdded, Revoked: e.Object.Revoked,
			Href: Prefix + "collections/" + url.PathEscape(collection) + "/objects/" + url.PathEscape(e.Object.ID)})
	}
	return out
}

func clip(s string) string {
	if len(s) <= 200 {
		return s
	}
	cut := 200
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// maxVersions bounds the versions an object page reads.
const maxVersions = 200

type marking struct {
	ID, Label string
	Selectors []string // granular: the properties it marks
}

type versionView struct {
	Version string
	Added   time.Time
	JSON    string
	Current bool
}

type objectData struct {
	Collection         store.Collection
	ID, Type, Name     string
	Markings, Granular []marking
	Versions           []versionView
	Latest             versionView
	CreatedBy          string
	More               bool
	Audit              bool // provenance and disclosures are shown
	Provenance         provenanceView
	Disclosures        []disclosureView
}

// object shows one object of a collection: its latest version as released to the
// user (redacted where the policy says so), its markings and its versions.
func (s *Server) object(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx := r.Context()
	c, err := s.st.Collection(ctx, r.PathValue("collection"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound()
	}
	if err != nil {
		return err
	}
	rt, err := s.authn.Rights(ctx, p, c)
	if err != nil {
		return err
	}
	if !rt.Read {
		return notFound()
	}
	id := r.PathValue("id")
	if len(id) > 300 || !strings.Contains(id, "--") {
		return notFound()
	}
	page, err := s.st.Query(ctx, store.Query{Collection: c.ID, IDs: []string{id}, Versions: store.VersionFilter{All: true},
		Submitter: rt.OnlySubmitter, Limit: maxVersions})
	if err != nil {
		return err
	}
	shown, err := s.gate.ReleaseTo(ctx, p, rt, c.ID, "web-object", page.Entries)
	if err != nil {
		return err
	}
	if len(shown) == 0 {
		return notFound()
	}
	data := objectData{Collection: c, ID: id, More: page.More}
	latest := 0
	for i := range shown {
		if shown[i].Object.Version().Compare(shown[latest].Object.Version()) > 0 {
			latest = i
		}
	}
	for i := len(shown) - 1; i >= 0; i-- {
		data.Versions = append(data.Versions, versionView{Version: shown[i].Object.Version().String(), Added: shown[i].DateAdded,
			JSON: pretty(shown[i].Object.Raw), Current: i == latest})
	}
	e := shown[latest]
	data.Type, data.Name = e.Object.Type, e.Object.Name
	data.Latest = versionView{Version: e.Object.Version().String(), Added: e.DateAdded, JSON: pretty(e.Object.Raw), Current: true}
	data.Markings, data.Granular, data.CreatedBy = markingsOf(e.Object.Raw)
	// Operators, readers, partners and other agencies do not learn where it came
	// from or who else received it.
	if s.ourAgency(p) {
		// The provenance of the version shown, verified on its stored form: the
		// released one may be redacted, which breaks the signature.
		stored := e
		for _, en := range page.Entries {
			if en.DateAdded.Equal(e.DateAdded) && en.Object.Version().Compare(e.Object.Version()) == 0 {
				stored = en
				break
			}
		}
		data.Audit = true
		if data.Provenance, err = s.provenanceOf(ctx, stored); err != nil {
			return err
		}
		if !data.Provenance.Local && !bytes.Contains(e.Object.Raw, []byte(provenance.ExtensionID)) {
			// A marking withholds the provenance from this reader: say no more of it.
			data.Provenance = provenanceView{Withheld: true, Received: data.Provenance.Received}
		}
		if data.Disclosures, err = s.disclosuresOf(ctx, id); err != nil {
			return err
		}
	}
	title := data.Name
	if title == "" {
		title = id
	}
	s.render(w, r, http.StatusOK, "object", p, title, data)
	return nil
}

func pretty(raw []byte) string {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}

// markingsOf reads the markings and author of an object for display.
func markingsOf(raw []byte) (object, granular []marking, createdBy string) {
	var o struct {
		Refs      []string `json:"object_marking_refs"`
		CreatedBy string   `json:"created_by_ref"`
		Granular  []struct {
			Ref       string   `json:"marking_ref"`
			Lang      string   `json:"lang"`
			Selectors []string `json:"selectors"`
		} `json:"granular_markings"`
	}
	if json.Unmarshal(raw, &o) != nil {
		return nil, nil, ""
	}
	for _, ref := range o.Refs {
		object = append(object, marking{ID: ref, Label: markingLabel(ref)})
	}
	for _, g := range o.Granular {
		m := marking{ID: g.Ref, Label: markingLabel(g.Ref), Selectors: g.Selectors}
		if g.Ref == "" {
			m.Label = "language " + g.Lang
		}
		granular = append(granular, m)
	}
	return object, granular, o.CreatedBy
}

func markingLabel(id string) string {
	if t, ok := stix.TLPOf(id); ok {
		return t.Name
	}
	return "marking"
}
