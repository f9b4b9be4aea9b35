package taxii

import (
	"net/http"
	"path"
	"strings"

	"quadshare/internal/httpx"
)

// Handler returns the TAXII routes. Every route of the server is declared here
// (TAXII 2.1 §3.1 table; paths end in "/" per §3.1).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	root := s.cfg.APIRoot
	coll := root + "collections/{collection}/"
	obj := coll + "objects/{object}/"

	s.handle(mux, "GET /taxii2/{$}", s.getDiscovery)               // §4.1
	s.handle(mux, "GET "+root+"{$}", s.getAPIRoot)                 // §4.2
	s.handle(mux, "GET "+root+"status/{status}/{$}", s.getStatus)  // §4.3
	s.handle(mux, "GET "+root+"collections/{$}", s.getCollections) // §5.1
	s.handle(mux, "GET "+coll+"{$}", s.getCollection)              // §5.2
	s.handle(mux, "GET "+coll+"manifest/{$}", s.getManifest)       // §5.3
	s.handle(mux, "GET "+coll+"objects/{$}", s.getObjects)         // §5.4
	s.handle(mux, "POST "+coll+"objects/{$}", s.postObjects)       // §5.5
	s.handle(mux, "GET "+obj+"{$}", s.getObject)                   // §5.6
	s.handle(mux, "DELETE "+obj+"{$}", s.deleteObject)             // §5.7
	s.handle(mux, "GET "+obj+"versions/{$}", s.getVersions)        // §5.8

	// Everything else is a TAXII error too: 405 with Allow when the path exists under
	// another method, else 404.
	mux.Handle("/", httpx.Handle(s.log, func(w http.ResponseWriter, r *http.Request) error {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "/" && pattern != "" {
				allow = append(allow, m)
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
		return h(w, r)
	}))
}
