// Package web is Vigil's HTTP API on the standard library's ServeMux:
// search, health and metrics, plus the routes of every feature package,
// all mounted through one middleware (Guard) that authenticates the
// caller, authorises by the permission each route declares, and audits.
// /healthz and /readyz answer anyone and reveal nothing but liveness.
package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/apierr"
	"github.com/vigil-siem/vigil/internal/audit"
	"github.com/vigil-siem/vigil/internal/store"
)

// Server holds the API's dependencies.
type Server struct {
	Store    store.Store
	Gatherer prometheus.Gatherer
	Log      *slog.Logger
	// Ready reports whether the pipeline can take and serve events.
	Ready func() error
	// Routes are the feature packages' routes, mounted beside the API's
	// own (OwnRoutes) through Guard.
	Routes []access.Route
	Guard  *Guard
	// Audit records searches (query text, time range, result count).
	Audit audit.Recorder
	// Mask hides PHI fields of search results from principals without
	// the phi permission (nil: access.DefaultPHIFields).
	Mask *access.Masker
	// Front, when set, wraps everything else: the console uses it to
	// answer browser navigations and serve its files
	// (console.Handler.Wrap).
	Front func(http.Handler) http.Handler
	// ExportDone is told about every export (GET /api/v1/export).
	ExportDone ExportDone
	Now        func() time.Time
}

// OwnRoutes are the routes this package serves itself.
func (s *Server) OwnRoutes() []access.Route {
	health := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	}
	ready := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if s.Ready != nil {
			if err := s.Ready(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				w.Write([]byte("not ready\n"))
				return
			}
		}
		w.Write([]byte("ready\n"))
	}
	return []access.Route{
		access.Handle("GET /healthz", access.Public, health),
		access.Handle("GET /readyz", access.Public, ready),
		{Pattern: "GET /metrics", Perm: access.MetricsRead, Handler: promhttp.HandlerFor(s.Gatherer, promhttp.HandlerOpts{})},
		// Profiles for diagnosing performance.
		access.Handle("GET /debug/pprof/", access.SystemRead, pprof.Index),
		access.Handle("GET /debug/pprof/profile", access.SystemRead, pprof.Profile),
		access.Handle("GET /debug/pprof/trace", access.SystemRead, pprof.Trace),
		access.Handle("GET /api/v1/search", access.EventsSearch, s.search),
		access.Handle("POST /api/v1/search", access.EventsSearch, s.search),
		access.Handle("GET /api/v1/hits", access.EventsSearch, s.hits),
		access.Handle("GET /api/v1/fields", access.EventsSearch, s.fields),
		access.Handle("GET /api/v1/export", access.EventsExport, s.export),
		access.Handle("POST /api/v1/events/reveal", access.PHIReveal, s.reveal),
	}
}

// AllRoutes is the whole route table: OwnRoutes and Routes.
func (s *Server) AllRoutes() []access.Route {
	return append(s.OwnRoutes(), s.Routes...)
}

// Handler returns the API's HTTP handler. A route without a valid
// permission is a programming error: it panics.
func (s *Server) Handler() http.Handler {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Mask == nil {
		s.Mask, _ = access.NewMasker(nil)
	}
	mux := http.NewServeMux()
	if err := s.Guard.Mount(mux, s.AllRoutes()); err != nil {
		panic("BUG: " + err.Error())
	}
	// An unknown API path is a JSON 404, not a request for whatever
	// handles the root (the Elasticsearch API, whose Basic challenge would
	// open a password box in a browser).
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path)
	})
	var h http.Handler = mux
	if s.Front != nil {
		h = s.Front(h)
	}
	return s.logged(h)
}

// BearerToken returns the token of an "Authorization: Bearer" header.
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logged logs each request: method, route (the pattern of an API route,
// e.g. /api/v1/patients/{id}: never the path itself, which may name a
// patient, nor the query string, which may hold search terms), status,
// size and duration. Requests that reached no API route (console assets,
// unknown paths) are logged with their path.
func (s *Server) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		note := &routeNote{}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), routeKey{}, note)))
		level := slog.LevelDebug
		if sw.status >= 500 {
			level = slog.LevelWarn
		}
		route := note.pattern
		if route == "" {
			route = r.URL.Path
		}
		s.Log.Log(r.Context(), level, "http request", "method", r.Method, "route", route, "status", sw.status,
			"bytes", sw.bytes, "duration_ms", time.Since(start).Milliseconds(), "remote", r.RemoteAddr)
	})
}

type routeKey struct{}

// routeNote is where the guard writes the route a request matched, for
// the request log.
type routeNote struct{ pattern string }

func noteRoute(ctx context.Context, pattern string) {
	if n, ok := ctx.Value(routeKey{}).(*routeNote); ok {
		n.pattern = pattern
	}
}

// WriteError answers with a JSON error object.
func WriteError(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, map[string]string{"error": msg})
}

// Fail answers an API call that failed with err as {"error": message},
// with the status err declares (apierr.Status: 404, 409, 400 for bad
// input, else 500).
func Fail(w http.ResponseWriter, err error) {
	WriteJSON(w, apierr.Status(err), map[string]string{"error": err.Error()})
}

// WriteJSON answers with a JSON value.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
