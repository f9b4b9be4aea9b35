package taxii

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"quadshare/internal/auth"
	"quadshare/internal/gate"
	"quadshare/internal/httpx"
	"quadshare/internal/par"
	"quadshare/internal/stix"
	"quadshare/internal/store"
	"quadshare/internal/uuid"
)

// job is an addition processed in the background (§5.5: answered "pending").
type job struct {
	collection string
	submitter  string
	actor      string          // who sent it, for the audit trail (store.WithActor)
	poster     *auth.Principal // who sent it, for what its status may tell; nil: nothing stored
	raws       [][]byte
}

// putBatch is the number of objects written per store transaction in the background, so
// a polling client sees progress (§4.3).
const putBatch = 1000

// postObjects serves POST {api-root}/collections/{id}/objects/ (§5.5). The envelope is
// read whole (up to max_content_length, 413 beyond, §4.2.1) and split into objects.
// Envelopes of up to AsyncThreshold objects are processed before answering (status
// "complete"); larger ones are recorded "pending", queued for a worker, and answered at
// once. Every object gets a success or a failure with its reason; an exact duplicate of
// an object already in the collection is a success (§5.5: the server "MUST not return an
// error for that Object").
func (s *Server) postObjects(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	if !isTAXIIContentType(r.Header.Get("Content-Type")) {
		return httpx.Errorf(http.StatusUnsupportedMediaType, "The Content-Type must be %s.", httpx.MediaType)
	}
	c, rights, err := s.collection(r.Context(), p, r.PathValue("collection"))
	if err != nil {
		return err
	}
	if !rights.Write {
		return httpx.Forbidden("You may read this collection but not add to it.")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err // 413
		}
		return httpx.Errorf(http.StatusBadRequest, "The request body could not be read.")
	}
	raws, err := SplitEnvelope(body, s.cfg.MaxObjects)
	if err != nil {
		return httpx.Errorf(http.StatusUnprocessableEntity, "%v", err)
	}
	st := store.Status{ID: uuid.New(), Collection: c.ID, Owner: p.User.ID,
		RequestTimestamp: s.now().UTC(), Total: len(raws)}

	if len(raws) <= s.cfg.AsyncThreshold {
		j := job{collection: c.ID, submitter: p.Org.ID, poster: p, raws: raws}
		if err := s.process(r.Context(), &st, j, 0, len(raws)); err != nil {
			return err
		}
		s.complete(&st)
		if err := s.store.PutStatus(r.Context(), st); err != nil {
			return fmt.Errorf("taxii: put status: %w", err)
		}
		return writeJSON(w, http.StatusAccepted, statusOf(s.discloseStatus(p, st)))
	}

	if n, err := s.store.PendingJobs(r.Context(), jobAdd); err != nil {
		return fmt.Errorf("taxii: pending additions: %w", err)
	} else if n >= s.cfg.QueueSize || s.closing() {
		e := httpx.Errorf(http.StatusServiceUnavailable, "The server is busy with other additions; send again later.")
		e.Header = http.Header{"Retry-After": {"30"}}
		return e
	}
	st.Pendings = make([]store.StatusDetail, len(raws))
	for i, raw := range raws {
		st.Pendings[i] = peek(raw, i)
	}
	if err := s.store.PutStatus(r.Context(), st); err != nil {
		return fmt.Errorf("taxii: put status: %w", err)
	}
	payload, err := encodeAddJob(addJob{Status: st.ID, Collection: c.ID, Submitter: p.Org.ID, Actor: gate.Actor(p.User, p.Org), User: p.User.ID}, body)
	if err == nil {
		_, err = s.store.EnqueueJob(r.Context(), jobAdd, payload, time.Time{})
	}
	if err != nil {
		s.complete(&st)
		st.Failures, st.Pendings = st.Pendings, nil
		for i := range st.Failures {
			st.Failures[i].Message = "not processed: the server could not queue it; send it again"
		}
		if perr := s.store.PutStatus(context.WithoutCancel(r.Context()), st); perr != nil {
			s.log.Error("taxii: put status", slog.String("status", st.ID), slog.String("error", perr.Error()))
		}
		return fmt.Errorf("taxii: queue addition: %w", err)
	}
	s.wakeWorker()
	s.log.InfoContext(r.Context(), "taxii: addition queued", slog.String("status", st.ID),
		slog.Int("objects", len(raws)), slog.String("request_id", httpx.RequestID(r.Context())))
	return writeJSON(w, http.StatusAccepted, statusOf(s.discloseStatus(p, st)))
}

// Background additions are jobs in the store (store.Jobs): they survive a
// restart, and on a database shared by several processes each runs once, in
// whichever process leases it; a job whose process dies is taken over when its
// lease expires and processed again from the start (a duplicate is a success, so
// the outcome is the same).
const (
	jobAdd   = "taxii.add"
	jobLease = 2 * time.Minute
	jobPoll  = time.Second // how often idle workers look for jobs queued by other processes
)

// addJob is the header of a job's payload; the envelope as received follows it.
type addJob struct {
	Status     string `json:"status"`
	Collection string `json:"collection"`
	Submitter  string `json:"submitter"`
	Actor      string `json:"actor"`
	User       string `json:"user,omitempty"` // the poster's id (absent in jobs queued before it was kept)
}

// encodeAddJob frames a job: its header as one line of JSON, then the envelope.
func encodeAddJob(h addJob, envelope []byte) ([]byte, error) {
	head, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(head)+1+len(envelope))
	return append(append(append(out, head...), '\n'), envelope...), nil
}

func decodeAddJob(payload []byte) (addJob, []byte, error) {
	var h addJob
	head, envelope, ok := bytes.Cut(payload, []byte{'\n'})
	if !ok {
		return h, nil, errors.New("no header")
	}
	if err := json.Unmarshal(head, &h); err != nil {
		return h, nil, err
	}
	return h, envelope, nil
}

// wakeWorker tells an idle worker that a job was queued here.
func (s *Server) wakeWorker() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// worker leases and runs additions until Close.
func (s *Server) worker(name string) {
	defer s.workers.Done()
	for {
		j, err := s.store.LeaseJob(s.baseCtx, name, []string{jobAdd}, jobLease)
		if err == nil {
			s.runJob(name, j)
			continue
		}
		if !errors.Is(err, store.ErrNotFound) && s.baseCtx.Err() == nil {
			s.log.Error("taxii: lease addition", slog.String("error", err.Error()))
		}
		select {
		case <-s.stop:
			return
		case <-s.wake:
		case <-time.After(jobPoll):
		}
	}
}

// runJob processes one leased addition and completes it. On shutdown it gives the
// job back for another process or the next start; the status stays pending.
func (s *Server) runJob(worker string, lj store.Job) {
	ctx := s.baseCtx
	done := func() {
		if err := s.store.CompleteJob(context.WithoutCancel(ctx), lj.ID, worker); err != nil {
			s.log.Error("taxii: complete addition", slog.String("job", lj.ID), slog.String("error", err.Error()))
		}
	}
	h, envelope, err := decodeAddJob(lj.Payload)
	if err != nil {
		s.log.Error("taxii: unreadable addition dropped", slog.String("job", lj.ID), slog.String("error", err.Error()))
		done()
		return
	}
	st, err := s.store.Status(ctx, h.Status)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Deleted while pending (a retention counted from the request, before
		// statuses expired from completion): the objects are stored all the same,
		// under a status made anew.
		s.log.Warn("taxii: addition without its status; its status is made anew", slog.String("job", lj.ID), slog.String("status", h.Status))
		st = store.Status{ID: h.Status, Collection: h.Collection, Owner: h.User, RequestTimestamp: s.now().UTC()}
	case err != nil:
		// Not dropped: the job runs again once the store answers.
		if ferr := s.store.FailJob(context.WithoutCancel(ctx), lj.ID, worker, "status unreadable: "+err.Error(), time.Now().Add(jobPoll)); ferr != nil {
			s.log.Error("taxii: give back addition", slog.String("job", lj.ID), slog.String("error", ferr.Error()))
		}
		return
	case st.Done:
		done() // an earlier attempt finished it
		return
	}
	raws, err := SplitEnvelope(envelope, s.cfg.MaxObjects)
	if err != nil { // it was split when it came: the payload is damaged
		s.complete(&st)
		st.Failures, st.Pendings = append(st.Failures, st.Pendings...), nil
		for i := range st.Failures {
			st.Failures[i].Message = "not processed: the queued envelope was damaged; send it again"
		}
		if err := s.store.PutStatus(context.WithoutCancel(ctx), st); err == nil {
			done()
		}
		return
	}
	st.Total = len(raws) // as when it came, for a status made anew
	j := job{collection: h.Collection, submitter: h.Submitter, actor: h.Actor, poster: s.poster(ctx, h.User), raws: raws}
	pending := make([]store.StatusDetail, len(raws))
	for i, raw := range raws {
		pending[i] = peek(raw, i)
	}
	st.Successes, st.Failures = nil, nil // a job taken over starts again
	lastUpdate, leased := time.Now(), time.Now()
	err = s.processBatches(ctx, &st, j, pending, func(done int) error {
		if time.Since(leased) > jobLease/4 {
			if err := s.store.ExtendJob(ctx, lj.ID, worker, jobLease); err != nil {
				return err
			}
			leased = time.Now()
		}
		// The status shows progress at most every statusEvery: rewriting a large status
		// after every batch would cost time quadratic in its size.
		if done == len(raws) || time.Since(lastUpdate) < statusEvery {
			return nil
		}
		lastUpdate = time.Now()
		st.Pendings = pending[done:]
		if err := s.store.PutStatus(ctx, st); err != nil {
			s.log.Error("taxii: update status", slog.String("status", st.ID), slog.String("error", err.Error()))
		}
		return nil
	})
	switch {
	case errors.Is(err, store.ErrLeaseLost):
		s.log.Warn("taxii: addition taken over by another worker", slog.String("job", lj.ID))
		return
	case errors.Is(err, context.Canceled):
		if ferr := s.store.FailJob(context.WithoutCancel(ctx), lj.ID, worker, "interrupted by shutdown", time.Now()); ferr != nil {
			s.log.Error("taxii: give back addition", slog.String("job", lj.ID), slog.String("error", ferr.Error()))
		}
		return // shutting down: the status stays pending
	case err != nil:
		s.log.Error("taxii: background addition failed", slog.String("status", st.ID), slog.String("error", err.Error()))
	}
	st.Pendings = nil
	s.complete(&st)
	if err := s.store.PutStatus(context.WithoutCancel(ctx), st); err != nil {
		s.log.Error("taxii: complete status", slog.String("status", st.ID), slog.String("error", err.Error()))
		return // the job stays leased and is taken over: the status will be written
	}
	done()
}

// complete marks st complete, now: it expires a retention from here (§4.3).
func (s *Server) complete(st *store.Status) { st.Done, st.Completed = true, s.now().UTC() }

// statusEvery is how often a background addition writes its progress.
const statusEvery = time.Second

// processBatches processes a job in batches of putBatch objects, calling progress after
// each; an error of progress stops it. A store failure marks the rest of the job
// failed and is returned.
func (s *Server) processBatches(ctx context.Context, st *store.Status, j job, pending []store.StatusDetail, progress func(done int) error) error {
	st.Pendings = pending
	ctx = store.WithActor(ctx, j.actor)
	for start := 0; start < len(j.raws); start += putBatch {
		end := min(start+putBatch, len(j.raws))
		if err := s.process(ctx, st, j, start, end); err != nil {
			if errors.Is(err, context.Canceled) {
				return err
			}
			for _, d := range pending[end:] {
				d.Message = notStored
				st.Failures = append(st.Failures, d)
			}
			return err
		}
		if err := progress(end); err != nil {
			return err
		}
	}
	return nil
}

// notStored is the failure of an object that the store failed to store.
const notStored = "not stored: the server failed while storing it; send it again"

// process validates objects first..end of j's envelope and stores the valid ones in one
// transaction, appending a success or a failure per object to st; when the store
// fails, the valid ones are failures too (notStored), and the error is returned.
func (s *Server) process(ctx context.Context, st *store.Status, j job, first, end int) error {
	raws, collection := j.raws[first:end], j.collection
	parsed := parseAll(raws)
	objs := make([]stix.Object, 0, len(raws))
	for i, pr := range parsed {
		if pr.err != nil {
			d := peek(raws[i], first+i)
			d.Message = clipMessage(pr.err.Error())
			st.Failures = append(st.Failures, d)
			continue
		}
		objs = append(objs, pr.obj)
	}
	if len(objs) == 0 {
		return nil
	}
	results, err := s.store.Put(ctx, collection, j.submitter, objs)
	if err == nil && len(results) != len(objs) {
		err = fmt.Errorf("%d results for %d objects", len(results), len(objs))
	}
	if err != nil {
		for i, pr := range parsed {
			if pr.err == nil {
				d := peek(raws[i], first+i)
				d.Message = notStored
				st.Failures = append(st.Failures, d)
			}
		}
		return fmt.Errorf("taxii: put %d objects in %s: %w", len(objs), collection, err)
	}
	unseen, err := s.unseen(ctx, j.poster, collection, objs, results)
	if err != nil {
		// The objects are stored: the status must say so, telling nothing more.
		s.log.ErrorContext(ctx, "taxii: what the poster may read is unknown; every outcome reads as added", slog.String("status", st.ID),
			slog.String("error", err.Error()))
		unseen = map[int]bool{}
		for i, res := range results {
			unseen[i] = res.Outcome != store.Added
		}
	}
	// What reads as added without being so gets an SCO's version as an addition
	// would, each its own after the batch's (additions are a microsecond apart):
	// the stored copy's date_added would tell when it came.
	added := s.now()
	for _, res := range results {
		if res.Outcome == store.Added {
			added = res.DateAdded
		}
	}
	for i, res := range results {
		o := &objs[i]
		d := store.StatusDetail{ID: o.ID, Version: o.Version().String()}
		if d.Version == "" { // an SCO: its version is its date_added (§3.4.1), none for a conflict
			switch {
			case unseen[i]:
				added = added.Add(time.Microsecond)
				d.Version = taxiiTime(added)
			case !res.DateAdded.IsZero():
				d.Version = taxiiTime(res.DateAdded)
			}
		}
		switch {
		case res.Outcome == store.Added:
			st.Successes = append(st.Successes, d)
		case unseen[i]:
			// What the collection holds that the poster may not read is not for its
			// status to tell (Appendix B): the object reads as added. A conflict is
			// worth an operator's look.
			if res.Outcome == store.Conflict {
				s.log.WarnContext(ctx, "taxii: an object conflicts with a stored version its poster may not read",
					slog.String("status", st.ID), slog.String("collection", collection), slog.String("object", o.ID),
					slog.String("version", d.Version))
			}
			st.Successes = append(st.Successes, d)
		case res.Outcome == store.Duplicate:
			d.Message = "already in the collection"
			st.Successes = append(st.Successes, d)
		default:
			d.Message = "a different object with this id and version is already in the collection"
			st.Failures = append(st.Failures, d)
		}
	}
	return nil
}

// unseen reports which objects of a Put were a duplicate or a conflict of a stored
// version the poster may not read: without the read right, another organisation's
// submission in an operator's inbox, or one the sharing policy withholds from it.
// Nothing is sent, so nothing is recorded. A nil poster may read nothing.
func (s *Server) unseen(ctx context.Context, poster *auth.Principal, collection string, objs []stix.Object, results []store.PutResult) (map[int]bool, error) {
	var ids []string
	for i, res := range results {
		if res.Outcome != store.Added {
			ids = append(ids, objs[i].ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	seen := map[versionKey]bool{}
	if poster != nil {
		c, err := s.store.Collection(ctx, collection)
		if err != nil {
			return nil, fmt.Errorf("taxii: collection %s: %w", collection, err)
		}
		rights, err := s.authz.Rights(ctx, poster, c)
		if err != nil {
			return nil, fmt.Errorf("taxii: rights on %s: %w", collection, err)
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		for chunk := range slices.Chunk(ids, unseenIDs) {
			if !rights.Read {
				break
			}
			q := store.Query{Collection: collection, IDs: chunk, Versions: store.VersionFilter{All: true},
				Submitter: rights.OnlySubmitter, Limit: unseenIDs}
			err := s.eachVisible(ctx, poster, rights, q, func(stored, received store.Entry) {
				// Only a version it receives as stored: the outcome compares the
				// stored copy, so for a redacted one it would confirm a guess at
				// what was redacted.
				if bytes.Equal(received.Object.Raw, stored.Object.Raw) {
					seen[keyOf(&stored.Object)] = true
				}
			})
			if err != nil {
				return nil, fmt.Errorf("taxii: query %s: %w", collection, err)
			}
		}
	}
	out := map[int]bool{}
	for i, res := range results {
		if res.Outcome != store.Added && !seen[keyOf(&objs[i])] {
			out[i] = true
		}
	}
	return out, nil
}

// unseenIDs is how many ids unseen asks for at once, and its page size.
const unseenIDs = 500

// versionKey names a version as Put tells versions apart: an SCO has one.
type versionKey struct{ id, version string }

func keyOf(o *stix.Object) versionKey { return versionKey{o.ID, o.Version().Key()} }

// poster is the principal of user id, for a background addition's status; nil when
// the user is gone or the job predates the id being kept.
func (s *Server) poster(ctx context.Context, id string) *auth.Principal {
	if id == "" {
		return nil
	}
	u, err := s.store.User(ctx, id)
	if err != nil {
		return nil
	}
	o, err := s.store.Organisation(ctx, u.Org)
	if err != nil {
		return nil
	}
	return &auth.Principal{User: u, Org: o}
}

type parseResult struct {
	obj stix.Object
	err error
}

// parseAll validates objects on every core, keeping their order.
func parseAll(raws [][]byte) []parseResult {
	out := make([]parseResult, len(raws))
	par.Each(len(raws), 64, func(i int) { out[i].obj, out[i].err = stix.Parse(raws[i]) })
	return out
}

// peek reads the id and version of an object that may be invalid, for a status detail
// (§4.3.1: version is modified, else created). An object without a usable id is named
// by its place in the envelope.
func peek(raw []byte, index int) store.StatusDetail {
	var v struct {
		ID       any `json:"id"`
		Created  any `json:"created"`
		Modified any `json:"modified"`
	}
	_ = json.Unmarshal(raw, &v) // best effort: the failure message says what is wrong
	d := store.StatusDetail{ID: fmt.Sprintf("objects[%d]", index)}
	if id, ok := v.ID.(string); ok && id != "" && len(id) <= 300 {
		d.ID = store.Textual(id)
	}
	if m, ok := v.Modified.(string); ok && len(m) <= 64 {
		d.Version = store.Textual(m)
	} else if c, ok := v.Created.(string); ok && len(c) <= 64 {
		d.Version = store.Textual(c)
	}
	return d
}

// clipMessage is a failure's message, which may quote the object refused.
func clipMessage(s string) string {
	if len(s) > 1000 {
		s = s[:1000] + "…"
	}
	return store.Textual(s)
}

// newUUID returns a random (version 4) UUID (§2 identifier, RFC 4122 §4.4).
