// Package httpx assembles the HTTP server of a quadshare node: middleware (request ids,
// logging, panic recovery, authentication, body limits, timeouts) and the one place
// where errors become TAXII error objects (TAXII 2.1 §3.6.1).
package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
)

// MediaType is the media type of every TAXII 2.1 response, errors included
// (TAXII 2.1 §1.6.8.2, §3.1: "All TAXII responses MUST include the appropriate media
// type and version parameter in the Content-Type header").
const MediaType = "application/taxii+json;version=2.1"

// Error is an error that is safe to show to a client: its title and description are
// written for the client and say nothing about the inside of the server. The cause, when
// set, is logged and never shown.
type Error struct {
	Status      int
	Title       string
	Description string
	Header      http.Header // extra response headers, e.g. WWW-Authenticate
	Cause       error       // logged only
}

func (e *Error) Error() string {
	s := strconv.Itoa(e.Status) + " " + e.Title
	if e.Description != "" {
		s += ": " + e.Description
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Cause }

// Errorf returns a client-safe error with a description built from format.
func Errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Title: http.StatusText(status), Description: fmt.Sprintf(format, args...)}
}

// NotFound is the one answer for everything a client may not know exists: a missing
// collection and a collection the client may not see give byte-identical responses
// (TAXII 2.1 Appendix B: do not "leak info about existence of something").
func NotFound() *Error {
	return &Error{Status: http.StatusNotFound, Title: "Not Found",
		Description: "The requested resource does not exist or you do not have access to it."}
}

// Forbidden says the client may see the resource but not do this to it.
func Forbidden(desc string) *Error {
	return &Error{Status: http.StatusForbidden, Title: "Forbidden", Description: desc}
}

// errorBody is the TAXII error message (§3.6.1). http_status is a string and MUST match
// the status of the response.
type errorBody struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	ErrorID     string `json:"error_id,omitempty"`
	HTTPStatus  string `json:"http_status"`
}

// WriteError renders err as a TAXII error object. Errors that are not *Error become a
// generic 500 whose cause is logged with the request id, so a client learns nothing of
// the inside. A body larger than the limit becomes 413 (TAXII 2.1 §5.5).
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var he *Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
	case errors.As(err, &mbe):
		he = Errorf(http.StatusRequestEntityTooLarge,
			"The request body is larger than max_content_length (%d octets).", mbe.Limit)
	default:
		he = &Error{Status: http.StatusInternalServerError, Title: "Internal Server Error",
			Description: "The server could not complete the request. Quote the error_id when reporting it.", Cause: err}
	}
	id := RequestID(r.Context())
	level := slog.LevelDebug
	if he.Status >= 500 {
		level = slog.LevelError
	}
	log.LogAttrs(r.Context(), level, "request failed",
		slog.String("request_id", id), slog.Int("status", he.Status), slog.String("error", err.Error()))

	if sw, ok := w.(*statusWriter); ok && sw.status != 0 {
		return // the response has started: nothing more can be said to the client
	}
	h := w.Header()
	for k, vs := range he.Header {
		h[k] = vs
	}
	h.Set("Content-Type", MediaType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	h.Del("X-TAXII-Date-Added-First")
	h.Del("X-TAXII-Date-Added-Last")
	body, _ := json.Marshal(errorBody{Title: he.Title, Description: he.Description, ErrorID: id,
		HTTPStatus: strconv.Itoa(he.Status)})
	w.WriteHeader(he.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// HandlerFunc is a handler that returns its error instead of writing it.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handle adapts h: a returned error is rendered by WriteError.
func Handle(log *slog.Logger, h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			WriteError(w, r, log, err)
		}
	})
}
