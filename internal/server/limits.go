package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/fdlimit"
	"github.com/vigil-siem/vigil/internal/ingest/conns"
	"github.com/vigil-siem/vigil/internal/ingest/gelfin"
	"github.com/vigil-siem/vigil/internal/lifecycle"
	"github.com/vigil-siem/vigil/internal/store"
)

// limits are the connection limits of the listeners, fitted to the file
// descriptor budget at start.
type limits struct {
	fd                       fdlimit.Limits
	http, syslog, mllp, gelf int
	lowFDs                   atomic.Bool // the store writer waits for descriptors
	minHeadroom              int
}

// startLimits raises the soft RLIMIT_NOFILE to the hard limit and fits
// the listeners' connection limits into what is left after a reserve for
// the store, the bus and the database: a flood of connections can then
// never take the descriptors the store needs to write (the store exits
// when it cannot create a file).
func (s *Server) startLimits(context.Context) (lifecycle.StopFunc, error) {
	l, err := fdlimit.Raise()
	if err != nil {
		return nil, err
	}
	s.limits.fd = l
	s.limits.http, s.limits.syslog, s.limits.mllp = s.cfg.HTTP.MaxConns, s.cfg.Syslog.MaxConns, s.cfg.MLLP.MaxConns
	s.limits.gelf = gelfin.DefaultMaxConns
	var shares []fdlimit.Share
	for _, sh := range []struct {
		name string
		on   bool
		max  *int
	}{{"http.max_conns", s.cfg.HTTP.Addr != "", &s.limits.http}, {"syslog.max_conns", s.cfg.Syslog.TCPAddr != "" || s.cfg.Syslog.TLSAddr != "", &s.limits.syslog},
		{"mllp.max_conns", s.cfg.MLLP.Addr != "", &s.limits.mllp}, {"gelf (TCP)", s.cfg.GELF.TCPAddr != "", &s.limits.gelf}} {
		if sh.on {
			shares = append(shares, fdlimit.Share{Name: sh.name, Max: sh.max})
		}
	}
	if changed := l.Fit(shares...); len(changed) > 0 {
		s.log.Warn("connection limits lowered to fit the file descriptor limit; raise it (LimitNOFILE in systemd) to keep the configured ones",
			"nofile", l.Soft, "reserved", l.Reserve, "lowered", changed)
	}
	s.limits.minHeadroom = 64
	s.log.Info("file descriptors", "nofile_soft", l.Soft, "nofile_hard", l.Hard, "reserved_for_store_and_bus", l.Reserve,
		"http_max_conns", s.limits.http, "syslog_max_conns", s.limits.syslog, "mllp_max_conns", s.limits.mllp, "gelf_max_conns", s.limits.gelf)
	return nil, nil
}

var errLowFDs = errors.New("file descriptors exhausted: events are held on the bus until some are free")

// fdGuard holds the store writer back while the process is short of file
// descriptors (the store exits rather than fail a file it cannot create);
// the events wait on the bus and are written once descriptors are free.
type fdGuard struct {
	store.Store
	s *Server
}

// wait blocks while headroom is below the minimum, checking twice a
// second, and says so once.
func (g *fdGuard) wait() {
	for i := 0; ; i++ {
		h := fdlimit.Headroom()
		if h < 0 || h >= g.s.limits.minHeadroom {
			if g.s.limits.lowFDs.Swap(false) {
				g.s.log.Info("file descriptors available again; storing resumes", "headroom", h)
			}
			return
		}
		if !g.s.limits.lowFDs.Swap(true) {
			g.s.log.Error("too few file descriptors to write the store safely; storing waits (events stay on the bus)", "headroom", h)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (g *fdGuard) Add(events []event.Event) {
	g.wait()
	g.Store.Add(events)
}

func (g *fdGuard) Flush() {
	g.wait()
	g.Store.Flush()
}

// httpRefused is the last word to an HTTP connection beyond the limits.
func httpRefused(c net.Conn) {
	const body = "too many connections: try again shortly\n"
	_, _ = fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

// connOf finds the limited connection under an HTTP server's connection
// (TLS wraps it).
func connOf(c net.Conn) *conns.Conn {
	for {
		switch x := c.(type) {
		case *conns.Conn:
			return x
		case interface{ NetConn() net.Conn }:
			c = x.NetConn()
		default:
			return nil
		}
	}
}

type connKey struct{}

// trackAuth marks a connection authenticated once one of its requests
// carried credentials and was not refused for them: its idle time is then
// the longer http.idle_timeout.
func trackAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Context().Value(connKey{}).(*conns.Conn)
		if c == nil || (r.Header.Get("Authorization") == "" && r.Header.Get("Cookie") == "") {
			next.ServeHTTP(w, r)
			return
		}
		sw := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status != http.StatusUnauthorized && sw.status != http.StatusForbidden {
			c.MarkAuthenticated()
		}
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusRecorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
