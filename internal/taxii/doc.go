// Package taxii is the TAXII 2.1 server of a node: discovery, one API root, status,
// collections, objects, manifest and versions (TAXII 2.1 §4, §5), with content
// negotiation, filters, pagination tokens and asynchronous additions. Section numbers
// in comments refer to the TAXII 2.1 specification.
//
// Authentication happens before these handlers (httpx puts the principal in the
// context); authorisation is asked of an Authorizer per collection.
//
// Decisions where the specification leaves a choice:
//
//   - One API root, at Config.APIRoot (default /api/), advertised as a relative URL and
//     as the default in discovery (§4.1.1).
//   - Visibility (Appendix B). A collection the principal cannot read is, on every
//     reading endpoint (objects, object, manifest, versions), indistinguishable from a
//     missing one: the same 404 body and headers. A collection it can neither read nor
//     write is also left out of the collections list and answers 404 on every endpoint.
//     A write-only principal sees the collection resource (can_read false, §5.2.1) and
//     may POST: it needs both to write, and they tell it nothing a 202 would not. POST
//     by a principal that can read but not write is 403. DELETE follows the table of
//     §5.7 (404 with neither right, 403 with exactly one). Unauthenticated requests get
//     401 before any lookup.
//   - Statuses are shown only to the user who made the request; to anyone else they do
//     not exist (404).
//   - Content negotiation (§1.6.8, §3.1): a request is served when its Accept header
//     admits application/taxii+json with no version or version=2.1, or a wildcard, with
//     q > 0; a more specific range decides over a wildcard. A request without Accept is
//     406 (TAXII requests MUST carry a TAXII media range). POST needs Content-Type
//     application/taxii+json (no version or 2.1, charset utf-8 at most), else 415.
//   - Filters (§3.4): a malformed value, a parameter given twice, or a match field the
//     endpoint does not take (match[type] on the object endpoint, match[version] on
//     versions) is 400; unknown parameters and unknown match fields are ignored.
//     match[version] values are STIX timestamps; two values naming the same instant are
//     a repetition.
//   - Pagination (§3.5): next is a cursor (the date_added of the last entry seen, the
//     snapshot bound, an expiry) sealed with AES-256-GCM, whose additional data binds
//     it to the endpoint, collection, object, principal and every filter but limit. It
//     cannot be read, edited or replayed on another query. The snapshot bound is the newest committed date_added at the first
//     page (snapshot.go), so a walk returns each entry that existed then exactly once,
//     at the version that was first/last then, and ends while others write. Manifest and
//     versions resources carry next like the envelope does. Pages, more and next are
//     decided on what the principal may receive (handlers.go, page): a page is filled
//     past withheld versions, more is true only when a released one follows (or when
//     a page has examined its bound of stored versions: it may then be short, and
//     an empty one says that at least that many were withheld), and neither next
//     nor the headers carry the date_added of a withheld version.
//   - X-TAXII-Date-Added-First/-Last (§3.2) are on every 200 of objects, object,
//     manifest and versions; with no entries both are the lower bound of the query
//     (added_after, or the last date_added the walk has shown; the epoch when none),
//     the value to poll from.
//   - GET object and versions answer 404 when no version matches (§5.7) on a first
//     page; DELETE without match[version] deletes every version, with it the versions it
//     selects; deleting nothing is 404. Operators (reads limited to their organisation's
//     submissions) may not delete.
//   - POST (§5.5): the body is read whole up to max_content_length (413 beyond, nothing
//     at or below refused); a body that is not an envelope with at least one object, or
//     that is a STIX bundle, is 422; more than Config.MaxObjects objects is 422.
//     Envelopes of up to AsyncThreshold objects are processed before answering
//     ("complete"); larger ones are recorded "pending" in the store first, then
//     processed by a bounded in-process worker pool in transactions of 1000 objects, the
//     status updated after each. A full queue answers 503 with Retry-After. An exact
//     duplicate is a success with the message "already in the collection"; other content
//     under a stored (id, version) is a failure. A pending status whose process stops
//     stays pending: leasing pending work across processes comes with the PostgreSQL
//     deployment.
//   - Statuses are deleted hourly once their addition completed longer than
//     StatusRetention ago (default 48h, at least 24h, §4.3); pending ones stay.
package taxii
