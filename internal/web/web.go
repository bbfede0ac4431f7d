// Package web is Vigil's HTTP API on the standard library's ServeMux:
// ingest, search, health and metrics. Every /api/ endpoint and /metrics
// require the bearer token; /healthz and /readyz answer anyone and reveal
// nothing but liveness.
package web

import (
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigil-siem/vigil/internal/store"
)

// Server holds the API's dependencies.
type Server struct {
	// Token authenticates API callers: "Authorization: Bearer <token>".
	Token    string
	Store    store.Store
	Gatherer prometheus.Gatherer
	Log      *slog.Logger
	// Ready reports whether the pipeline can take and serve events.
	Ready func() error
	// Handlers mounts further handlers, e.g. "POST /api/v1/ingest", all
	// behind the bearer token.
	Handlers map[string]http.Handler
	// Public mounts handlers that authenticate on their own terms (e.g.
	// Elasticsearch-compatible or Splunk HEC clients).
	Public map[string]http.Handler
	// Front, when set, wraps everything else: the console uses it to
	// answer browser navigations and serve its files
	// (console.Handler.Wrap).
	Front func(http.Handler) http.Handler
	// ExportDone is told about every export (GET /api/v1/export).
	ExportDone ExportDone
	Now        func() time.Time
}

// Handler returns the API's HTTP handler.
func (s *Server) Handler() http.Handler {
	if s.Now == nil {
		s.Now = time.Now
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if s.Ready != nil {
			if err := s.Ready(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				w.Write([]byte("not ready\n"))
				return
			}
		}
		w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", s.auth(promhttp.HandlerFor(s.Gatherer, promhttp.HandlerOpts{})))
	// Profiles for diagnosing performance, behind the token like the API.
	mux.Handle("GET /debug/pprof/", s.auth(http.HandlerFunc(pprof.Index)))
	mux.Handle("GET /debug/pprof/profile", s.auth(http.HandlerFunc(pprof.Profile)))
	mux.Handle("GET /debug/pprof/trace", s.auth(http.HandlerFunc(pprof.Trace)))
	mux.Handle("GET /api/v1/search", s.auth(http.HandlerFunc(s.search)))
	mux.Handle("POST /api/v1/search", s.auth(http.HandlerFunc(s.search)))
	mux.Handle("GET /api/v1/hits", s.auth(http.HandlerFunc(s.hits)))
	mux.Handle("GET /api/v1/fields", s.auth(http.HandlerFunc(s.fields)))
	mux.Handle("GET /api/v1/export", s.auth(http.HandlerFunc(s.export)))
	for pattern, h := range s.Handlers {
		mux.Handle(pattern, s.auth(h))
	}
	for pattern, h := range s.Public {
		mux.Handle(pattern, h)
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

// auth requires the bearer token.
func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.CheckToken(BearerToken(r)) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
			WriteError(w, http.StatusUnauthorized, "missing or wrong bearer token: send Authorization: Bearer <token>")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// CheckToken compares a presented token with the configured one in
// constant time.
func (s *Server) CheckToken(got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.Token)) == 1
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

// logged logs each request: method, path (never the query string, which
// may hold search terms naming patients), status, size and duration.
func (s *Server) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		level := slog.LevelDebug
		if sw.status >= 500 {
			level = slog.LevelWarn
		}
		s.Log.Log(r.Context(), level, "http request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"bytes", sw.bytes, "duration_ms", time.Since(start).Milliseconds(), "remote", r.RemoteAddr)
	})
}

// WriteError answers with a JSON error object.
func WriteError(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, map[string]string{"error": msg})
}

// WriteJSON answers with a JSON value.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
