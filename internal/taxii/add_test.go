package taxii

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"quadshare/internal/gate"
	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// Point 4: adding objects (§5.5) and status resources (§4.3).
func TestAddObjects(t *testing.T) {
	e := newEnv(t, Config{AsyncThreshold: 10, MaxContentLength: 64 << 10})
	objects := e.root + "collections/" + collA + "/objects/"

	t.Run("successes, failures with reasons, duplicates", func(t *testing.T) {
		e := e.with(t)
		good := sdo("tool", 1, "2020-01-01T00:00:00.000Z")
		conflict := bytes.Replace(good, []byte(`"obj 1"`), []byte(`"changed"`), 1)
		noName := []byte(`{"type":"tool","spec_version":"2.1","id":"tool--00000002-0000-4000-8000-000000000002","created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:00.000Z"}`)
		badTime := []byte(`{"type":"tool","spec_version":"2.1","id":"tool--00000003-0000-4000-8000-000000000003","created":"yesterday","modified":"2020-01-01T00:00:00.000Z","name":"x"}`)
		notObject := []byte(`42`)
		st := e.post("admin", collA, good, good, noName, badTime, notObject)
		if st["status"] != "complete" || st["total_count"] != float64(5) || st["success_count"] != float64(2) ||
			st["failure_count"] != float64(3) || st["pending_count"] != float64(0) {
			t.Fatalf("status %v", st)
		}
		fails := st["failures"].([]any)
		ids := map[string]string{}
		for _, f := range fails {
			m := f.(map[string]any)
			if m["message"] == "" || m["message"] == nil {
				t.Fatalf("failure without a reason: %v", m)
			}
			ids[m["id"].(string)] = m["message"].(string)
		}
		if !strings.Contains(ids["tool--00000002-0000-4000-8000-000000000002"], "name") {
			t.Errorf("missing name: %q", ids["tool--00000002-0000-4000-8000-000000000002"])
		}
		if !strings.Contains(ids["tool--00000003-0000-4000-8000-000000000003"], "created") {
			t.Errorf("bad created: %q", ids["tool--00000003-0000-4000-8000-000000000003"])
		}
		if _, ok := ids["objects[4]"]; !ok {
			t.Errorf("a value without an id is not named by its place: %v", ids)
		}
		// Every detail has its required version (§4.3.1): for what has none, the
		// time of the request.
		for _, f := range fails {
			m := f.(map[string]any)
			if v, _ := m["version"].(string); v == "" || m["id"] == "objects[4]" && v != st["request_timestamp"] {
				t.Errorf("failure %v: version %q, want one (the request's time when the value has none)", m["id"], v)
			}
		}
		// Sending the same object again is a success (§5.5); other content under the
		// same id and version is a failure.
		st = e.post("admin", collA, good, conflict)
		if st["success_count"] != float64(1) || st["failure_count"] != float64(1) {
			t.Fatalf("duplicate and conflict: %v", st)
		}
		succ := st["successes"].([]any)[0].(map[string]any)
		if succ["id"] != sdoID("tool", 1) || succ["version"] != "2020-01-01T00:00:00.000Z" {
			t.Fatalf("success detail %v", succ)
		}
		// And the collection holds it once.
		r := e.get("admin", objects+"?match[version]=all&match[type]=tool")
		if n := len(objectsOf(t, r)); n != 1 {
			t.Fatalf("%d tools stored, want 1", n)
		}
	})
	t.Run("bodies that are not envelopes give 422", func(t *testing.T) {
		e := e.with(t)
		for _, body := range []string{`not json`, `[]`, `{"objects":[]}`, `{}`, `{"objects":{}}`,
			`{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000000","objects":[]}`,
			`{"objects":[{"type":"tool"}]} trailing`, `{"objects":[1],"objects":[2]}`} {
			r := e.req(http.MethodPost, "admin", objects, []byte(body))
			if r.status != http.StatusUnprocessableEntity {
				t.Errorf("body %q: status %d, want 422", body, r.status)
				continue
			}
			mustStatus(t, r, http.StatusUnprocessableEntity)
		}
	})
	t.Run("asynchronous: pending, then complete", func(t *testing.T) {
		e := e.with(t)
		var objs [][]byte
		for i := range 40 {
			objs = append(objs, sdo("campaign", 100+i, "2020-01-01T00:00:00.000Z"))
		}
		objs = append(objs, []byte(`{"type":"campaign","id":"campaign--bad"}`))
		st := e.post("admin", collA, objs...)
		if st["status"] != "pending" || st["total_count"] != float64(41) {
			t.Fatalf("large envelope: %v", st)
		}
		if pc := st["pending_count"].(float64); pc+st["success_count"].(float64)+st["failure_count"].(float64) != 41 {
			t.Fatalf("counts do not add up: %v", st)
		}
		done := e.waitStatus("admin", st["id"].(string))
		if done["success_count"] != float64(40) || done["failure_count"] != float64(1) || done["pending_count"] != float64(0) {
			t.Fatalf("completed status %v", done)
		}
		if _, ok := done["pendings"]; ok {
			t.Fatal("pendings listed when complete")
		}
		// Another user cannot see the status (§4.3: not found).
		mustStatus(t, e.get("analyst", e.root+"status/"+st["id"].(string)+"/"), http.StatusNotFound)
		mustStatus(t, e.get("admin", e.root+"status/00000000-0000-4000-8000-000000000000/"), http.StatusNotFound)
		mustStatus(t, e.get("admin", e.root+"status/not-a-uuid/"), http.StatusNotFound)
	})
	t.Run("asynchronous, several store transactions", func(t *testing.T) {
		e := e.with(t)
		var objs [][]byte
		for i := range 2*putBatch + 17 {
			objs = append(objs, sdo("identity", 5000+i, "2020-01-01T00:00:00.000Z"))
		}
		body := envelopeOf(objs...)
		if len(body) > 64<<10 {
			// Above this env's max_content_length: use a node with a larger one.
			e = newEnv(t, Config{AsyncThreshold: 10})
		}
		st := e.post("admin", collA, objs...)
		done := e.waitStatus("admin", st["id"].(string))
		if done["success_count"] != float64(len(objs)) || done["failure_count"] != float64(0) {
			t.Fatalf("status %v", done["success_count"])
		}
		r := e.get("admin", e.root+"collections/"+collA+"/manifest/?match[type]=identity&limit=1")
		if recs, more, _ := manifestOf(t, r); len(recs) != 1 || !more {
			t.Fatalf("manifest after the addition: %s", r.body)
		}
	})
	t.Run("max_content_length: 413 above, nothing at or below refused", func(t *testing.T) {
		e := e.with(t)
		max := 64 << 10
		pad := func(n int) []byte { // an envelope of exactly n bytes
			head := []byte(`{"x_pad":"`)
			tail := []byte(`","objects":[` + string(sdo("identity", 7, "2020-01-01T00:00:00.000Z")) + `]}`)
			return append(append(head, bytes.Repeat([]byte("a"), n-len(head)-len(tail))...), tail...)
		}
		mustStatus(t, e.req(http.MethodPost, "admin", objects, pad(max)), http.StatusAccepted)
		mustStatus(t, e.req(http.MethodPost, "admin", objects, pad(max-1)), http.StatusAccepted)
		mustStatus(t, e.req(http.MethodPost, "admin", objects, pad(max+1)), http.StatusRequestEntityTooLarge)
		// Without a Content-Length (chunked), the limit holds too.
		r, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, objects, struct{ *bytes.Reader }{bytes.NewReader(pad(max + 1))})
		r.Header.Set("Accept", "application/taxii+json;version=2.1")
		r.Header.Set("Content-Type", "application/taxii+json;version=2.1")
		r.Header.Set("Authorization", e.creds["admin"])
		res, err := e.client.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("chunked body above the limit: %d", res.StatusCode)
		}
	})
	// A status tells a poster nothing of what the collection holds that it may not
	// read (Appendix B): a copy or a conflicting version of a stored object it cannot
	// see reads as an addition, whether processed at once or in the background.
	t.Run("a poster's status tells nothing it may not read", func(t *testing.T) {
		e := e.with(t)
		stored := sdo("tool", 60, "2020-01-01T00:00:00.000Z")
		other := bytes.Replace(stored, []byte(`"obj 60"`), []byte(`"changed"`), 1)
		fresh := sdo("tool", 61, "2020-01-01T00:00:00.000Z")
		quiet := func(st map[string]any, n int) {
			t.Helper()
			if st["success_count"] != float64(n) || st["failure_count"] != float64(0) {
				t.Fatalf("status %v; want %d successes and no failure", st, n)
			}
			for _, d := range st["successes"].([]any) {
				if m := d.(map[string]any)["message"]; m != nil {
					t.Fatalf("a success says %q of a version its poster cannot read", m)
				}
			}
		}
		e.post("admin", collB, stored)
		quiet(e.post("peer", collB, stored, fresh), 2) // write-only: a copy reads as new
		quiet(e.post("peer", collB, other), 1)         // and so does a conflict
		var many [][]byte
		for i := range 11 {
			many = append(many, sdo("tool", 70+i, "2020-01-01T00:00:00.000Z"))
		}
		st := e.post("peer", collB, append(many, other)...)
		quiet(e.waitStatus("peer", st["id"].(string)), 12)

		// An SCO's version is its date_added: the stored copy's would tell when it
		// came, so what reads as added gets a version as an addition would.
		sco := []byte(`{"type":"ipv4-addr","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"198.51.100.3"}`)
		first := e.post("admin", collB, sco)["successes"].([]any)[0].(map[string]any)["version"]
		time.Sleep(2 * time.Millisecond)
		newSCO := []byte(`{"type":"ipv4-addr","id":"ipv4-addr--1fa3f2a0-8d52-5bbf-9a4b-0a0a8f3f1d2b","value":"198.51.100.77"}`)
		again := e.post("peer", collB, newSCO, sco)
		quiet(again, 2)
		details := again["successes"].([]any)
		v0, v1 := details[0].(map[string]any)["version"], details[1].(map[string]any)["version"]
		if v1 == first || v1 == "" || v1 == v0 {
			t.Fatalf("a copy of a stored SCO reads as version %v beside a new one's %v, the stored copy's being %v", v1, v0, first)
		}

		// An operator reads only its organisation's submissions in its inbox.
		inbox := collInbox
		e.post("admin", inbox, stored)
		quiet(e.post("operator", inbox, stored), 1)
		quiet(e.post("operator", inbox, fresh), 1)
		st = e.post("operator", inbox, fresh) // its own: that may be told
		if d := st["successes"].([]any)[0].(map[string]any); d["message"] != "already in the collection" {
			t.Fatalf("an operator's own copy: %v", d)
		}
	})
	t.Run("rights", func(t *testing.T) {
		e := e.with(t)
		body := envelopeOf(sdo("tool", 50, "2020-01-01T00:00:00.000Z"))
		mustStatus(t, e.req(http.MethodPost, "reader", objects, body), http.StatusForbidden)                                      // can read, cannot write
		mustStatus(t, e.req(http.MethodPost, "outsider", objects, body), http.StatusNotFound)                                     // cannot see
		mustStatus(t, e.req(http.MethodPost, "peer", e.root+"collections/"+collB+"/objects/", body), http.StatusAccepted)         // write-only
		mustStatus(t, e.get("peer", e.root+"collections/"+collB+"/objects/"), http.StatusNotFound)                                // write-only cannot read
		mustStatus(t, e.req(http.MethodPost, "operator", e.root+"collections/"+collInbox+"/objects/", body), http.StatusAccepted) // own inbox
	})
}

// Statuses are kept for the retention and removed after it (§4.3: at least 24 hours).
func TestStatusRetention(t *testing.T) {
	if err := (Config{StatusRetention: time.Hour, TokenKey: make([]byte, 32)}).Defaults().Validate(); err == nil {
		t.Fatal("a retention under 24h was accepted")
	}
	e := newEnv(t, Config{})
	st := e.post("admin", collA, sdo("tool", 1, "2020-01-01T00:00:00.000Z"))
	id := st["id"].(string)
	ctx := context.Background()
	// What the janitor does, 47 hours later: the status stays.
	if _, err := e.st.DeleteStatusesBefore(ctx, time.Now().Add(47*time.Hour).Add(-e.srv.cfg.StatusRetention)); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, e.get("admin", e.root+"status/"+id+"/"), http.StatusOK)
	if _, err := e.st.DeleteStatusesBefore(ctx, time.Now().Add(49*time.Hour).Add(-e.srv.cfg.StatusRetention)); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, e.get("admin", e.root+"status/"+id+"/"), http.StatusNotFound)
	if _, err := e.st.Status(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("status still stored: %v", err)
	}
}

// A full queue of background additions answers 503 with Retry-After and records
// nothing; a closed server refuses background work the same way.
func TestAsyncQueueFull(t *testing.T) {
	e := newEnv(t, Config{AsyncThreshold: 1, QueueSize: 2})
	ctx := context.Background()
	for range 2 { // two additions queued, not due for an hour: the queue is full
		if _, err := e.st.EnqueueJob(ctx, jobAdd, []byte("{}\n{}"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	body := envelopeOf(sdo("tool", 1, "2020-01-01T00:00:00.000Z"), sdo("tool", 2, "2020-01-01T00:00:00.000Z"))
	objects := e.root + "collections/" + collA + "/objects/"
	r := e.req(http.MethodPost, "admin", objects, body)
	mustStatus(t, r, http.StatusServiceUnavailable)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	// A small envelope is still processed at once.
	if st := e.post("admin", collA, sdo("tool", 3, "2020-01-01T00:00:00.000Z")); st["status"] != "complete" {
		t.Fatalf("small envelope: %v", st)
	}
	if err := e.srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, e.req(http.MethodPost, "admin", objects, body), http.StatusServiceUnavailable)
}

// An addition whose worker died (its lease runs out unextended) is taken over by
// another server on the same store and completed, as after a crash and restart.
func TestAsyncTakeover(t *testing.T) {
	e := newEnv(t, Config{AsyncThreshold: 1})
	ctx := context.Background()
	if err := e.srv.Close(ctx); err != nil { // the first process is gone
		t.Fatal(err)
	}
	raws := [][]byte{sdo("tool", 41, "2020-01-01T00:00:00.000Z"), sdo("tool", 42, "2020-01-01T00:00:00.000Z")}
	st := store.Status{ID: "5b0c3f3e-7d1a-4c1e-9f00-000000000001", Collection: collA, Owner: e.userID("admin"),
		RequestTimestamp: time.Now(), Total: 2, Pendings: []store.StatusDetail{peek(raws[0], 0), peek(raws[1], 1)}}
	if err := e.st.PutStatus(ctx, st); err != nil {
		t.Fatal(err)
	}
	payload, err := encodeAddJob(addJob{Status: st.ID, Collection: collA, Submitter: orgID("agency"), Actor: "user:" + e.userID("admin")}, envelopeOf(raws...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.EnqueueJob(ctx, jobAdd, payload, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.LeaseJob(ctx, "dead-worker", []string{jobAdd}, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	second, err := New(e.srv.cfg, e.st, e.srv.authz, e.srv.gate, e.srv.log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = second.Close(context.Background()) })
	// The worker writes the status, then completes the job: wait for both.
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := e.st.Status(ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		pending, err := e.st.PendingJobs(ctx, jobAdd)
		if err != nil {
			t.Fatal(err)
		}
		if got.Done && pending == 0 {
			if len(got.Successes) != 2 || len(got.Failures) != 0 {
				t.Fatalf("taken over: %+v", got)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the addition of the dead worker was not finished: status done %v, %d jobs pending", got.Done, pending)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// An addition whose status is gone (deleted while it was pending, as a retention
// counted from the request did before statuses expired from completion) is stored
// all the same, under its status made anew, which its poster can read.
func TestAsyncWithoutStatus(t *testing.T) {
	e := newEnv(t, Config{AsyncThreshold: 1})
	ctx := context.Background()
	raws := [][]byte{sdo("tool", 51, "2020-01-01T00:00:00.000Z"), sdo("tool", 52, "2020-01-01T00:00:00.000Z")}
	const id = "5b0c3f3e-7d1a-4c1e-9f00-000000000002"
	payload, err := encodeAddJob(addJob{Status: id, Collection: collA, Submitter: orgID("agency"),
		Actor: "user:" + e.userID("admin"), User: e.userID("admin")}, envelopeOf(raws...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.EnqueueJob(ctx, jobAdd, payload, time.Time{}); err != nil {
		t.Fatal(err)
	}
	e.srv.wakeWorker()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, serr := e.st.Status(ctx, id)
		if serr != nil && !errors.Is(serr, store.ErrNotFound) {
			t.Fatal(serr)
		}
		pending, err := e.st.PendingJobs(ctx, jobAdd)
		if err != nil {
			t.Fatal(err)
		}
		if pending == 0 && serr != nil {
			t.Fatal("the job ended without storing the addition or writing its status")
		}
		if got.Done && pending == 0 {
			if got.Total != 2 || len(got.Successes) != 2 || len(got.Failures) != 0 || got.Completed.IsZero() {
				t.Fatalf("status made anew: %+v", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the addition without a status was not stored: status %+v, %d jobs pending", got, pending)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, n := range []int{51, 52} {
		mustStatus(t, e.get("admin", e.root+"collections/"+collA+"/objects/"+sdoID("tool", n)+"/"), http.StatusOK)
	}
	mustStatus(t, e.get("admin", e.root+"status/"+id+"/"), http.StatusOK)
}

// A poster who receives a stored version only redacted learns nothing from its
// outcome either: the store compares the stored copy, so "already there" against
// "a different object" would confirm a guess at what was redacted.
func TestAddTellsNothingOfRedactedContent(t *testing.T) {
	e := newEnv(t, Config{})
	e.scrubDescriptions(t)
	obj := marked(5, gate.Identity(orgID("agency")), "seen from alice@grid.example", nil, tlpGreen)
	e.post("admin", collA, obj)
	if body := string(e.get("peer", e.root+"collections/"+collA+"/objects/").body); strings.Contains(body, "alice@") || !strings.Contains(body, sdoID("indicator", 5)) {
		t.Fatalf("the partner does not receive the object scrubbed: %s", body)
	}
	right := e.post("peer", collA, obj)
	wrong := e.post("peer", collA, []byte(strings.Replace(string(obj), "alice@", "bob@", 1)))
	for _, st := range []map[string]any{right, wrong} {
		if st["success_count"] != float64(1) || st["failure_count"] != float64(0) || st["successes"].([]any)[0].(map[string]any)["message"] != nil {
			t.Fatalf("a guess at scrubbed content: %v; want a plain success, whether right or wrong", st)
		}
	}
}

// failingPuts is a store whose Puts fail after the first ok.
type failingPuts struct {
	store.Store
	ok atomic.Int32
}

func (s *failingPuts) Put(ctx context.Context, collection, submitter string, objs []stix.Object) ([]store.PutResult, error) {
	if s.ok.Add(-1) < 0 {
		return nil, errors.New("disk full")
	}
	return s.Store.Put(ctx, collection, submitter, objs)
}

// TestAddStoreFails: when the store fails during a background addition, every
// object has one outcome (§4.3.1: the counts add up to total_count): those of
// the batches stored are successes, an invalid one has its reason, and a valid
// one of the failed batch or after it is a failure to send again.
func TestAddStoreFails(t *testing.T) {
	var fp *failingPuts
	e := newEnvOver(t, Config{AsyncThreshold: 2, MaxContentLength: 1 << 20}, func(st store.Store) store.Store {
		fp = &failingPuts{Store: st}
		fp.ok.Store(1)
		return fp
	})
	var objs [][]byte
	for i := range putBatch + 2 {
		objs = append(objs, sdo("tool", i+1, "2020-01-01T00:00:00.000Z"))
	}
	invalid := []byte(`{"type":"tool","id":"tool--00000009-0000-4000-8000-ffffffffffff"}`)
	objs[putBatch] = invalid // in the second batch, which fails
	st := e.post("admin", collA, objs...)
	done := e.waitStatus("admin", st["id"].(string))
	if done["total_count"] != float64(putBatch+2) || done["success_count"] != float64(putBatch) ||
		done["failure_count"] != float64(2) || done["pending_count"] != float64(0) {
		t.Fatalf("status: total %v, successes %v, failures %v %v, pending %v", done["total_count"], done["success_count"],
			done["failure_count"], done["failures"], done["pending_count"])
	}
	reasons := map[string]string{}
	for _, f := range done["failures"].([]any) {
		m := f.(map[string]any)
		reasons[m["id"].(string)] = m["message"].(string)
	}
	if len(reasons) != 2 || reasons[sdoID("tool", putBatch+2)] != notStored ||
		!strings.Contains(reasons["tool--00000009-0000-4000-8000-ffffffffffff"], "spec_version") {
		t.Errorf("failures %v: want the invalid one's reason, and the valid one not stored", reasons)
	}
}
