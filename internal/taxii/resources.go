package taxii

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"quadshare/internal/httpx"
	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// stixMediaType is the media type of the objects this server keeps (§5.2.1 media_types,
// §5.3.1 media_type).
const stixMediaType = "application/stix+json;version=2.1"

// Resources (§4.1.1, §4.2.1, §5.1.1, §5.2.1, §5.8.1, §4.3.1). Optional lists are omitted
// when empty: "Empty lists are prohibited in TAXII" (§2 list).

type discoveryResource struct {
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Contact     string   `json:"contact,omitempty"`
	Default     string   `json:"default,omitempty"`
	APIRoots    []string `json:"api_roots,omitempty"`
}

type apiRootResource struct {
	Title            string   `json:"title"`
	Description      string   `json:"description,omitempty"`
	Versions         []string `json:"versions"`
	MaxContentLength int64    `json:"max_content_length"`
}

type collectionResource struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Alias       string   `json:"alias,omitempty"`
	CanRead     bool     `json:"can_read"`
	CanWrite    bool     `json:"can_write"`
	MediaTypes  []string `json:"media_types,omitempty"`
}

// collectionsResource is {} when there are none (§5.1.1).
type collectionsResource struct {
	Collections []collectionResource `json:"collections,omitempty"`
}

type manifestRecord struct {
	ID        string `json:"id"`
	DateAdded string `json:"date_added"`
	Version   string `json:"version"`
	MediaType string `json:"media_type,omitempty"`
}

// manifestResource and versionsResource also carry next, as the envelope does (§3.7),
// since both endpoints take the next parameter (§5.3, §5.8).
type manifestResource struct {
	More    bool             `json:"more,omitempty"`
	Next    string           `json:"next,omitempty"`
	Objects []manifestRecord `json:"objects,omitempty"`
}

type versionsResource struct {
	More     bool     `json:"more,omitempty"`
	Next     string   `json:"next,omitempty"`
	Versions []string `json:"versions,omitempty"`
}

type statusDetail struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Message string `json:"message,omitempty"`
}

type statusResource struct {
	ID               string         `json:"id"`
	Status           string         `json:"status"`
	RequestTimestamp string         `json:"request_timestamp,omitempty"`
	TotalCount       int            `json:"total_count"`
	SuccessCount     int            `json:"success_count"`
	Successes        []statusDetail `json:"successes,omitempty"`
	FailureCount     int            `json:"failure_count"`
	Failures         []statusDetail `json:"failures,omitempty"`
	PendingCount     int            `json:"pending_count"`
	Pendings         []statusDetail `json:"pendings,omitempty"`
}

// taxiiTime formats a TAXII timestamp: UTC, microsecond precision (§2 timestamp).
func taxiiTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

// writeJSON writes a TAXII resource.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeBody(w, status, b)
}

func writeBody(w http.ResponseWriter, status int, b []byte) error {
	h := w.Header()
	h.Set("Content-Type", httpx.MediaType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, err := w.Write(b)
	return err
}

// setDateAdded sets X-TAXII-Date-Added-First and -Last (§3.2), which every 200 of the
// objects, object, manifest and versions endpoints MUST carry. With no entries both are
// the lower bound of the query as the client knows it (the added_after given, or the
// last date_added the walk has shown, else the epoch): the value a client passes as
// added_after to continue from where it stands.
func setDateAdded(w http.ResponseWriter, entries []store.Entry, lower time.Time) {
	first, last := lower, lower
	if lower.IsZero() {
		first, last = time.Unix(0, 0), time.Unix(0, 0)
	}
	if len(entries) > 0 {
		first, last = entries[0].DateAdded, entries[len(entries)-1].DateAdded
	}
	w.Header().Set("X-TAXII-Date-Added-First", taxiiTime(first))
	w.Header().Set("X-TAXII-Date-Added-Last", taxiiTime(last))
}

// envelope writes the envelope (§3.7) without re-encoding the objects: each is the exact
// JSON it was stored as. No objects: {} ("An empty response with no objects property").
func envelope(entries []store.Entry, more bool, next string) []byte {
	n := 32 + len(next)
	for i := range entries {
		n += len(entries[i].Object.Raw) + 1
	}
	b := bytes.NewBuffer(make([]byte, 0, n))
	b.WriteByte('{')
	sep := false
	if more {
		b.WriteString(`"more":true`)
		sep = true
		if next != "" {
			b.WriteString(`,"next":`)
			q, _ := json.Marshal(next)
			b.Write(q)
		}
	}
	if len(entries) > 0 {
		if sep {
			b.WriteByte(',')
		}
		b.WriteString(`"objects":[`)
		for i := range entries {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(entries[i].Object.Raw)
		}
		b.WriteByte(']')
	}
	b.WriteByte('}')
	return b.Bytes()
}

// entryVersion is the TAXII version of an entry (§5.3.1, §4.3.1): modified, else
// created, else a value consistent for this server: the date it was added, to
// the microsecond, as the stores match it (§3.4.1).
func entryVersion(e store.Entry) stix.Timestamp {
	if v := e.Object.Version(); !v.IsZero() {
		return v
	}
	return stix.NewTimestamp(e.DateAdded, 6)
}

// entryMediaType is the media type of one stored object (§5.3.1).
func entryMediaType(e store.Entry) string {
	if e.Object.SpecVersion == "" || e.Object.SpecVersion == "2.1" {
		return stixMediaType
	}
	return "application/stix+json;version=" + e.Object.SpecVersion
}

func statusOf(st store.Status) statusResource {
	var requested string
	if !st.RequestTimestamp.IsZero() {
		requested = taxiiTime(st.RequestTimestamp)
	}
	res := statusResource{
		ID:               st.ID,
		Status:           "pending",
		RequestTimestamp: requested,
		TotalCount:       st.Total,
		SuccessCount:     len(st.Successes),
		Successes:        details(st.Successes, requested),
		FailureCount:     len(st.Failures),
		Failures:         details(st.Failures, requested),
		PendingCount:     len(st.Pendings),
		Pendings:         details(st.Pendings, requested),
	}
	if st.Done {
		res.Status = "complete"
	}
	return res
}

// details are the status-details of ds (§4.3.1), whose version is required: an
// object without one (an SCO not added, or not an object at all) gets the time
// of the request, "a value for the version that is consistent to the server".
func details(ds []store.StatusDetail, requested string) []statusDetail {
	if len(ds) == 0 {
		return nil
	}
	out := make([]statusDetail, len(ds))
	for i, d := range ds {
		out[i] = statusDetail(d)
		if out[i].Version == "" {
			out[i].Version = requested
		}
	}
	return out
}
