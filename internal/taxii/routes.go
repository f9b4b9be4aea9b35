package taxii

import (
	"net/http"
	"path"
	"strings"

	"quadshare/internal/auth"
	"quadshare/internal/gate"
	"quadshare/internal/httpx"
	"quadshare/internal/store"
)

// route is one endpoint of the server.
type route struct {
	pattern string
	h       httpx.HandlerFunc
}

// routes is every route of the server (TAXII 2.1 §3.1 table; paths end in "/" per
// §3.1). A test enumerates it and checks that no route lets out an object the
// sharing policy withholds, so a route added here is checked too.
func (s *Server) routes() []route {
	root := s.cfg.APIRoot
	coll := root + "collections/{collection}/"
	obj := coll + "objects/{object}/"
	return []route{
		{"GET /taxii2/{$}", s.getDiscovery},                   // §4.1
		{"GET " + root + "{$}", s.getAPIRoot},                 // §4.2
		{"GET " + root + "status/{status}/{$}", s.getStatus},  // §4.3
		{"GET " + root + "collections/{$}", s.getCollections}, // §5.1
		{"GET " + coll + "{$}", s.getCollection},              // §5.2
		{"GET " + coll + "manifest/{$}", s.getManifest},       // §5.3
		{"GET " + coll + "objects/{$}", s.getObjects},         // §5.4
		{"POST " + coll + "objects/{$}", s.postObjects},       // §5.5
		{"GET " + obj + "{$}", s.getObject},                   // §5.6
		{"DELETE " + obj + "{$}", s.deleteObject},             // §5.7
		{"GET " + obj + "versions/{$}", s.getVersions},        // §5.8
	}
}

// Handler returns the TAXII routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()

	for _, rt := range s.routes() {
		s.handle(mux, rt.pattern, rt.h)
	}

	// Everything else is a TAXII error too: 405 with Allow when the path exists under
	// another method, else 404.
	mux.Handle("/", httpx.Handle(s.log, func(w http.ResponseWriter, r *http.Request) error {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "/" && pattern != "" {
				allow = append(allow, m)
				if m == http.MethodGet { // the mux serves HEAD with GET's handler
					allow = append(allow, http.MethodHead)
				}
			}
		}
		if len(allow) == 0 {
			return httpx.NotFound()
		}
		e := httpx.Errorf(http.StatusMethodNotAllowed, "Use %s on this endpoint.", strings.Join(allow, ", "))
		e.Header = http.Header{"Allow": {strings.Join(allow, ", ")}}
		return e
	}))
	// §3.1: every endpoint path ends in "/". Paths that do not, or that are not clean,
	// get a TAXII 404 rather than the mux's redirect, whose body is not TAXII.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if !strings.HasSuffix(p, "/") || path.Clean(p)+"/" != p && p != "/" {
			httpx.WriteError(w, r, s.log, httpx.NotFound())
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// handle registers h behind content negotiation: a request whose Accept header does not
// admit application/taxii+json;version=2.1 gets 406 (§1.6.8, §3.1).
func (s *Server) handle(mux *http.ServeMux, pattern string, h httpx.HandlerFunc) {
	mux.Handle(pattern, httpx.Handle(s.log, func(w http.ResponseWriter, r *http.Request) error {
		if !acceptsTAXII21(strings.Join(r.Header.Values("Accept"), ",")) {
			return httpx.Errorf(http.StatusNotAcceptable,
				"The Accept header must include %s.", httpx.MediaType)
		}
		if p, ok := auth.FromContext(r.Context()); ok { // who acts, for the audit trail
			r = r.WithContext(store.WithActor(r.Context(), gate.Actor(p.User, p.Org)))
		}
		return h(w, r)
	}))
}
