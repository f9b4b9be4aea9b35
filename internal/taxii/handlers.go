package taxii

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"quadshare/internal/auth"
	"quadshare/internal/httpx"
	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// getDiscovery serves GET /taxii2/ (§4.1): one API root, also the default.
func (s *Server) getDiscovery(w http.ResponseWriter, r *http.Request) error {
	if _, err := principal(r); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, discoveryResource{
		Title:       s.cfg.Title,
		Description: s.cfg.Description,
		Contact:     s.cfg.Contact,
		Default:     s.cfg.APIRoot,
		APIRoots:    []string{s.cfg.APIRoot},
	})
}

// getAPIRoot serves GET {api-root}/ (§4.2).
func (s *Server) getAPIRoot(w http.ResponseWriter, r *http.Request) error {
	if _, err := principal(r); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiRootResource{
		Title:            s.cfg.Title,
		Description:      s.cfg.Description,
		Versions:         []string{httpx.MediaType},
		MaxContentLength: s.cfg.MaxContentLength,
	})
}

// getCollections serves GET {api-root}/collections/ (§5.1): the collections the principal
// can read or write, sorted by id (§3.3: a consistent order). Others are left out.
func (s *Server) getCollections(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	cs, err := s.store.Collections(r.Context())
	if err != nil {
		return fmt.Errorf("taxii: collections: %w", err)
	}
	slices.SortFunc(cs, func(a, b store.Collection) int { return strings.Compare(a.ID, b.ID) })
	var res collectionsResource
	for _, c := range cs {
		rights, err := s.authz.Rights(r.Context(), p, c)
		if err != nil {
			return fmt.Errorf("taxii: rights on %s: %w", c.ID, err)
		}
		if rights.Read || rights.Write {
			res.Collections = append(res.Collections, collectionOf(c, rights))
		}
	}
	return writeJSON(w, http.StatusOK, res)
}

func collectionOf(c store.Collection, rights auth.Rights) collectionResource {
	mt := c.MediaTypes
	if len(mt) == 0 {
		mt = []string{stixMediaType}
	}
	return collectionResource{ID: c.ID, Title: c.Title, Description: c.Description, Alias: c.Alias,
		CanRead: rights.Read, CanWrite: rights.Write, MediaTypes: mt}
}

// getCollection serves GET {api-root}/collections/{id}/ (§5.2).
func (s *Server) getCollection(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	c, rights, err := s.collection(r.Context(), p, r.PathValue("collection"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, collectionOf(c, rights))
}

// readable resolves the collection of a reading endpoint (§5.3, §5.4, §5.6, §5.8). A
// collection the principal cannot read answers the same 404 as a missing one, also when
// the principal may write to it (the specification allows 403 or 404; we never say more
// than a missing collection would).
func (s *Server) readable(r *http.Request) (*auth.Principal, store.Collection, auth.Rights, error) {
	p, err := principal(r)
	if err != nil {
		return nil, store.Collection{}, auth.Rights{}, err
	}
	c, rights, err := s.collection(r.Context(), p, r.PathValue("collection"))
	if err != nil {
		return nil, c, rights, err
	}
	if !rights.Read {
		return nil, c, rights, httpx.NotFound()
	}
	return p, c, rights, nil
}

// result is one page of a reading endpoint after disclosure.
type result struct {
	entries []store.Entry
	more    bool
	next    string
	lower   time.Time // the exclusive lower bound of the page as the principal knows it
}

// A page examines at most scanPages pages' worth of stored entries (and at least
// scanMin) in search of the entries its principal may receive, so that a principal who
// may receive little of a collection still costs bounded work per request; later
// queries of one page ask the store for at least scanBatch entries.
const (
	scanPages = 10
	scanMin   = 1000
	scanBatch = 100
)

// page runs the query of a reading endpoint (§3.4, §3.5): filters, limit capped by the
// server, the next token checked against the query, ascending date_added (§3.3).
//
// The page, more and next are decided on what the principal may receive, so that none
// of them tells that withheld versions exist (§1.6.9): the page is filled to limit from
// the entries that follow withheld ones, more is true only when a released entry
// follows the page, and the cursor is the last entry returned. When the scan budget
// runs out first, and only then, more is true and the page may be short; an empty
// page then moves the cursor past the entries it examined. One object's versions
// are read without a budget.
//
// The first query asks for one entry beyond the page. The page's entries are
// released at once, and only the entry beyond is previewed: where nothing is
// withheld, one query and one decision per entry serve the page. What is withheld there is made up from the
// entries that follow, decided by preview and released after; a store error on those
// later queries leaves a disclosure recorded that was not sent, erring on the trail's
// side.
//
// A page asked for with a next token starts the store query of the page after it
// (readAhead) before its own disclosure is recorded, which the next request takes
// over when it carries the token given.
func (s *Server) page(ctx context.Context, ep endpoint, p *auth.Principal, c store.Collection, rights auth.Rights, objectID string, f filter) (result, error) {
	limit := s.cfg.DefaultPageSize
	if f.Limit > 0 {
		limit = min(f.Limit, s.cfg.MaxPageSize)
	}
	q := store.Query{
		Collection:   c.ID,
		AddedAfter:   f.AddedAfter,
		IDs:          f.IDs,
		Types:        f.Types,
		SpecVersions: f.SpecVersions,
		Versions:     f.Versions,
		Submitter:    rights.OnlySubmitter,
		Limit:        limit + 1,
	}
	switch ep {
	case epObject:
		q.IDs = []string{objectID}
	case epVersions:
		q.IDs = []string{objectID}
		q.Versions = store.VersionFilter{All: true}
	}
	scope := tokenScope{Endpoint: ep, Collection: c.ID, Object: objectID, Principal: p.User.ID, Filter: f}
	now := s.now()
	res := result{lower: q.AddedAfter}
	if f.Next != "" {
		cur, ok := s.tok.decode(f.Next, scope, now)
		if !ok {
			return result{}, &badParam{msg: "next is not a value this server gave for this query, or it has expired"}
		}
		q.AddedAfter, q.AddedUpTo = cur.After, cur.Snapshot
		res.lower = cur.Shown
	} else {
		bound, err := s.snapshot(ctx, c.ID)
		if err != nil {
			return result{}, err
		}
		q.AddedUpTo = bound
	}
	fetch := s.store.Query
	ends := ep == epObject && !q.Versions.All && (q.Versions.First || q.Versions.Last || len(q.Versions.Exact) == 0)
	if ends {
		fetch = func(ctx context.Context, q store.Query) (store.Page, error) { return s.visibleEnds(ctx, p, rights, q) }
	}
	// A client that followed a next link is walking: its page may have been read
	// ahead, and the one after it is.
	walking, base := f.Next != "" && !ends, q
	var pg store.Page
	var ok bool
	var err error
	if walking {
		pg, ok = s.ahead.take(ctx, s.store, f.Next, q)
	}
	if !ok {
		if pg, err = fetch(ctx, q); err != nil {
			return result{}, fmt.Errorf("taxii: query %s: %w", c.ID, err)
		}
	}
	head := pg.Entries[:min(limit, len(pg.Entries))]
	// The page after this one is read from now on, from this one's last entry, so
	// that its query also overlaps the recording of this page's disclosure. It is
	// kept only if the walk goes on from there (nothing of this page withheld).
	var next *ahead
	if walking && len(pg.Entries) > limit {
		nq := base
		nq.AddedAfter = head[len(head)-1].DateAdded
		next = s.ahead.begin(s.baseCtx, s.store, nq)
	}
	if res.entries, err = s.disclose(ctx, p, c, rights, ep, head); err != nil {
		return result{}, err
	}
	var last time.Time // date_added of the last entry returned, or examined when the budget ran out on an empty page
	if n := len(res.entries); n > 0 {
		last = res.entries[n-1].DateAdded
	}
	// The stored entries that fill the page, then the first one beyond it.
	var fill []store.Entry
	rest, scanned, budget := pg.Entries[len(head):], len(pg.Entries), max(scanPages*limit, scanMin)
	if objectID != "" {
		budget = math.MaxInt // one object's versions: a bound would make a withheld object look present
	}
	for {
		for i := range s.gate.PreviewTo(p, rights, rest) {
			if len(res.entries)+len(fill) == limit {
				res.more = true
				break
			}
			fill = append(fill, rest[i])
			last = rest[i].DateAdded
		}
		if res.more || !pg.More || len(pg.Entries) == 0 {
			break
		}
		q.AddedAfter = pg.Entries[len(pg.Entries)-1].DateAdded
		if scanned >= budget {
			// The page ends at its last entry: a short page that moved past all
			// it examined would tell how many were withheld (the budget less its
			// length). Only a page with none moves on, to the last examined.
			res.more = true
			if len(res.entries)+len(fill) == 0 {
				last = q.AddedAfter
			}
			break
		}
		q.Limit = min(max(limit+1-len(res.entries)-len(fill), scanBatch), budget-scanned)
		if pg, err = fetch(ctx, q); err != nil {
			return result{}, fmt.Errorf("taxii: query %s: %w", c.ID, err)
		}
		rest, scanned = pg.Entries, scanned+len(pg.Entries)
	}
	if len(fill) > 0 {
		filled, err := s.disclose(ctx, p, c, rights, ep, fill)
		if err != nil {
			return result{}, err
		}
		res.entries = append(slices.Clip(res.entries), filled...)
	}
	if res.more && !last.IsZero() {
		shown := res.lower
		if n := len(res.entries); n > 0 {
			shown = res.entries[n-1].DateAdded
		}
		res.next = s.tok.encode(cursor{Snapshot: q.AddedUpTo, After: last, Shown: shown, Expires: now.Add(s.cfg.TokenTTL)}, scope)
		if walking {
			base.AddedAfter = last
			if next != nil && next.q.AddedAfter.Equal(last) {
				s.ahead.keep(res.next, next)
			} else {
				s.ahead.start(s.baseCtx, s.store, res.next, base)
			}
		}
	}
	return res, nil
}

// visibleEnds is the store's Query for one object's first or last version (and any
// exact ones asked for besides), with first and last chosen among the versions the
// principal may receive, as in the store they are chosen among a submitter's own: a
// newer version withheld from it neither hides the one before nor, by an empty
// answer, tells that it exists (§1.6.9). They are chosen among the versions up to
// q.AddedUpTo whatever q.AddedAfter, as in the store, so that the pages of one query
// agree. Nothing is sent, so nothing is recorded.
func (s *Server) visibleEnds(ctx context.Context, p *auth.Principal, rights auth.Rights, q store.Query) (store.Page, error) {
	all := q
	all.AddedAfter, all.Versions, all.Limit = time.Time{}, store.VersionFilter{All: true}, maxVisibleVersions
	var seen []store.Entry
	if err := s.eachVisible(ctx, p, rights, all, func(stored, _ store.Entry) { seen = append(seen, stored) }); err != nil {
		return store.Page{}, err
	}
	v := q.Versions
	last := v.Last || (!v.First && len(v.Exact) == 0)
	var lo, hi string
	for i, en := range seen {
		k := en.Object.Version().Key()
		if i == 0 || k < lo {
			lo = k
		}
		if i == 0 || k > hi {
			hi = k
		}
	}
	var out store.Page
	for _, en := range seen {
		k := en.Object.Version().Key()
		picked := v.First && k == lo || last && k == hi
		for _, ts := range v.Exact {
			// An SCO's version is its date_added, as in the store (§3.4.1).
			picked = picked || k == ts.Key() || k == "" && en.DateAdded.UnixMicro() == ts.Time().UnixMicro()
		}
		if !picked || !en.DateAdded.After(q.AddedAfter) {
			continue
		}
		if len(out.Entries) == q.Limit {
			out.More = true
			break
		}
		out.Entries = append(out.Entries, en)
	}
	return out, nil
}

// eachVisible calls fn with every entry q selects, page after page, that p may
// receive with rights: as stored, and as p would receive it. Nothing is sent, so
// nothing is recorded.
func (s *Server) eachVisible(ctx context.Context, p *auth.Principal, rights auth.Rights, q store.Query, fn func(stored, received store.Entry)) error {
	for {
		pg, err := s.store.Query(ctx, q)
		if err != nil {
			return err
		}
		for i, en := range s.gate.PreviewTo(p, rights, pg.Entries) {
			fn(pg.Entries[i], en)
		}
		if !pg.More || len(pg.Entries) == 0 {
			return nil
		}
		q.AddedAfter = pg.Entries[len(pg.Entries)-1].DateAdded
	}
}

func filterError(err error) error {
	var bp *badParam
	if errors.As(err, &bp) {
		return httpx.Errorf(http.StatusBadRequest, "%s", bp.msg)
	}
	return err
}

// getObjects serves GET {api-root}/collections/{id}/objects/ (§5.4).
func (s *Server) getObjects(w http.ResponseWriter, r *http.Request) error {
	return s.getEnvelope(w, r, epObjects)
}

// getObject serves GET {api-root}/collections/{id}/objects/{object-id}/ (§5.6); see
// read for when it answers 404.
func (s *Server) getObject(w http.ResponseWriter, r *http.Request) error {
	return s.getEnvelope(w, r, epObject)
}

func (s *Server) getEnvelope(w http.ResponseWriter, r *http.Request, ep endpoint) error {
	res, err := s.read(w, r, ep)
	if err != nil {
		return err
	}
	return writeBody(w, http.StatusOK, envelope(res.entries, res.more, res.next))
}

// getManifest serves GET {api-root}/collections/{id}/manifest/ (§5.3).
func (s *Server) getManifest(w http.ResponseWriter, r *http.Request) error {
	res, err := s.read(w, r, epManifest)
	if err != nil {
		return err
	}
	m := manifestResource{More: res.more, Next: res.next}
	for _, e := range res.entries {
		m.Objects = append(m.Objects, manifestRecord{ID: e.Object.ID, DateAdded: taxiiTime(e.DateAdded),
			Version: entryVersion(e).String(), MediaType: entryMediaType(e)})
	}
	return writeJSON(w, http.StatusOK, m)
}

// getVersions serves GET {api-root}/collections/{id}/objects/{object-id}/versions/
// (§5.8): every version, in ascending date_added; 404 when the object has none.
func (s *Server) getVersions(w http.ResponseWriter, r *http.Request) error {
	res, err := s.read(w, r, epVersions)
	if err != nil {
		return err
	}
	v := versionsResource{More: res.more, Next: res.next}
	for _, e := range res.entries {
		v.Versions = append(v.Versions, entryVersion(e).String())
	}
	return writeJSON(w, http.StatusOK, v)
}

// read is what every reading endpoint shares: the collection the principal may read,
// the filters of ep, one page, and the X-TAXII-Date-Added headers (§3.2). An object
// the principal may see no version of is 404 (§5.6, §5.8: "Object ID not found"), and
// so is an object asked for at exact versions it does not have (§5.7), whatever the
// other filters; one whose versions other filters all exclude is an empty envelope
// (§5.6: "If no STIX objects are returned, the response MUST include an empty
// envelope"), as are a page reached with next and one cut short by the scan budget
// (§3.5).
func (s *Server) read(w http.ResponseWriter, r *http.Request, ep endpoint) (result, error) {
	p, c, rights, err := s.readable(r)
	if err != nil {
		return result{}, err
	}
	f, err := parseFilter(r.URL.RawQuery, ep)
	if err != nil {
		return result{}, filterError(err)
	}
	oneObject := ep == epObject || ep == epVersions
	var objectID string
	if oneObject {
		if objectID = r.PathValue("object"); !validID(objectID) {
			return result{}, httpx.NotFound()
		}
	}
	res, err := s.page(r.Context(), ep, p, c, rights, objectID, f)
	if err != nil {
		return result{}, filterError(err)
	}
	if oneObject && len(res.entries) == 0 && !res.more && f.Next == "" {
		versions := store.VersionFilter{All: true}
		if v := f.Versions; ep == epObject && len(v.Exact) > 0 && !v.First && !v.Last && !v.All {
			// Only exact versions asked for: when none of them is there, "that
			// object/version" is not found, as after its delete (§5.7).
			versions = v
		}
		seen, err := s.visible(r.Context(), p, c, rights, objectID, versions)
		if err != nil {
			return result{}, err
		}
		if !seen {
			return result{}, httpx.NotFound()
		}
	}
	setDateAdded(w, res.entries, res.lower)
	return res, nil
}

// visible reports whether the principal may see a version of the object in c among
// those v selects, whatever the other filters: one of the first maxVisibleVersions,
// so that a page of nothing costs one more query. Nothing is sent, so nothing is
// recorded in the trail.
func (s *Server) visible(ctx context.Context, p *auth.Principal, c store.Collection, rights auth.Rights, id string, v store.VersionFilter) (bool, error) {
	pg, err := s.store.Query(ctx, store.Query{Collection: c.ID, IDs: []string{id}, Versions: v,
		Submitter: rights.OnlySubmitter, Limit: maxVisibleVersions})
	if err != nil {
		return false, fmt.Errorf("taxii: query %s: %w", c.ID, err)
	}
	for range s.gate.PreviewTo(p, rights, pg.Entries) {
		return true, nil
	}
	return false, nil
}

// maxVisibleVersions bounds the versions visible examines.
const maxVisibleVersions = 1000

// deleteObject serves DELETE {api-root}/collections/{id}/objects/{object-id}/ (§5.7).
// Rights follow the table of §5.7: neither read nor write 404, one of them 403, both
// proceed. Without match[version] every version is deleted (the endpoint "deletes an
// object"); with it, the versions it selects. An operator (whose reads are limited to
// its own submissions) may not delete: 403. Nothing deleted: 404.
func (s *Server) deleteObject(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	c, rights, err := s.collection(r.Context(), p, r.PathValue("collection"))
	if err != nil {
		return err
	}
	if !rights.Read || !rights.Write {
		return httpx.Forbidden("Deleting needs both read and write access to the collection.")
	}
	if rights.OnlySubmitter != "" {
		return httpx.Forbidden("Your account may not delete objects.")
	}
	f, err := parseFilter(r.URL.RawQuery, epDelete)
	if err != nil {
		return filterError(err)
	}
	objectID := r.PathValue("object")
	if !validID(objectID) {
		return httpx.NotFound()
	}
	vf := f.Versions
	if !vf.First && !vf.Last && !vf.All && len(vf.Exact) == 0 {
		vf.All = true
	}
	checked, err := s.mayDelete(r.Context(), p, c.ID, objectID, vf, f.SpecVersions)
	if err != nil {
		return err
	}
	// Only the versions checked are deleted, named exactly, so that a version added
	// or deleted since the check cannot shift what "all", "first" or "last" select
	// onto one the principal may not see. An object of more versions than one store
	// filter takes is deleted in parts, each a transaction, all of them even when
	// the client goes away meanwhile.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.cfg.RequestTimeout)
	defer cancel()
	n := 0
	for part := range slices.Chunk(checked, store.MaxFilterValues) {
		d, err := s.store.Delete(ctx, c.ID, objectID, store.VersionFilter{Exact: part}, nil)
		n += d
		if err != nil {
			return fmt.Errorf("taxii: delete %s from %s, after %d of its %d versions: %w", objectID, c.ID, n, len(checked), err)
		}
	}
	if n == 0 {
		return httpx.NotFound()
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "taxii: deleted", slog.String("collection", c.ID),
		slog.String("object", objectID), slog.Int("versions", n), slog.String("user", p.User.ID),
		slog.String("request_id", httpx.RequestID(r.Context())))
	return writeBody(w, http.StatusOK, nil)
}

// mayDelete checks that the versions a delete selects exist and that the sharing
// policy lets the principal see every one of them: a delete must neither remove
// nor reveal what its author cannot read. Otherwise it answers 404, as if absent.
// It returns the versions checked, an SCO's being its date_added (§3.4.1).
func (s *Server) mayDelete(ctx context.Context, p *auth.Principal, collection, id string, vf store.VersionFilter, specVersions []string) ([]stix.Timestamp, error) {
	q := store.Query{Collection: collection, IDs: []string{id}, Versions: vf, SpecVersions: specVersions, Limit: 1000}
	r := s.recipient(p)
	var checked []stix.Timestamp
	for {
		pg, err := s.store.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("taxii: versions of %s: %w", id, err)
		}
		if len(s.gate.Visible(r, pg.Entries)) != len(pg.Entries) {
			return nil, httpx.NotFound()
		}
		for _, en := range pg.Entries {
			checked = append(checked, entryVersion(en))
		}
		if !pg.More || len(pg.Entries) == 0 {
			if len(checked) == 0 {
				return nil, httpx.NotFound()
			}
			return checked, nil
		}
		q.AddedAfter = pg.Entries[len(pg.Entries)-1].DateAdded
	}
}

// getStatus serves GET {api-root}/status/{status-id}/ (§4.3). A status is shown only to
// the user who made the request; to anyone else it does not exist (404, §4.3).
func (s *Server) getStatus(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	id := r.PathValue("status")
	if !validUUID(id) {
		return httpx.NotFound()
	}
	st, err := s.store.Status(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return httpx.NotFound()
	}
	if err != nil {
		return fmt.Errorf("taxii: status %s: %w", id, err)
	}
	if st.Owner != p.User.ID {
		return httpx.NotFound()
	}
	if _, _, err := s.collection(r.Context(), p, st.Collection); err != nil {
		return err // the collection is gone or no longer visible: so is the status
	}
	st = s.discloseStatus(p, st)
	return writeJSON(w, http.StatusOK, statusOf(st))
}

// discloseStatus shows the details of a status only to the user who made the
// request: they echo the ids and versions that user sent and carry no object
// content, so the sharing policy has nothing to withhold from the sender. Anyone
// else (getStatus already answers them 404) gets no detail.
func (s *Server) discloseStatus(p *auth.Principal, st store.Status) store.Status {
	if st.Owner != p.User.ID {
		st.Successes, st.Failures, st.Pendings = nil, nil, nil
	}
	return st
}

// validUUID reports whether s has the 8-4-4-4-12 hex form of a UUID.
func validUUID(s string) bool { return validID("x-x--" + s) }
