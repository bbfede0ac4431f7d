package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/store"
)

// Limits of the search API.
const (
	defaultLimit = 1000
	maxLimit     = 100_000
	maxBuckets   = 10_000
)

// ParseTime reads a time parameter: RFC 3339, "now", or a duration relative
// to now ("-1h", "-30m", "-7d"; a bare "1h" also means one hour ago).
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "now" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := parseRelative(strings.TrimPrefix(s, "-")); err == nil && !strings.HasPrefix(s, "+") {
		return now.Add(-d), nil
	}
	if t, err := event.ParseTime(s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("invalid time %q: want RFC 3339 (2026-11-28T10:00:00Z), now, or relative like -1h, -30m, -7d", s)
}

func parseRelative(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.ParseFloat(n, 64)
		return time.Duration(v * float64(24*time.Hour)), err
	}
	if n, ok := strings.CutSuffix(s, "w"); ok {
		v, err := strconv.ParseFloat(n, 64)
		return time.Duration(v * float64(7*24*time.Hour)), err
	}
	return time.ParseDuration(s)
}

// request reads q, start and end (default: the last 24 hours).
func (s *Server) request(r *http.Request) (store.Request, error) {
	now := s.Now()
	req := store.Request{Query: r.FormValue("q")}
	var err error
	if req.End, err = ParseTime(r.FormValue("end"), now); err != nil {
		return req, fmt.Errorf("end: %w", err)
	}
	start := r.FormValue("start")
	if start == "" {
		req.Start = req.End.Add(-24 * time.Hour)
	} else if req.Start, err = ParseTime(start, now); err != nil {
		return req, fmt.Errorf("start: %w", err)
	}
	if !req.Start.Before(req.End) {
		return req, fmt.Errorf("start %s is not before end %s", req.Start.Format(time.RFC3339), req.End.Format(time.RFC3339))
	}
	return req, nil
}

// queryFailed answers a failed query: 400 with the parser's message and
// the position in the query where it stopped ("position", in characters)
// for a malformed query, 500 otherwise.
func (s *Server) queryFailed(w http.ResponseWriter, err error, query string) {
	var qe *store.QueryError
	if errors.As(err, &qe) {
		body := map[string]any{"error": qe.Error()}
		if p := qe.Position(query); p >= 0 {
			body["position"] = p
		}
		WriteJSON(w, http.StatusBadRequest, body)
		return
	}
	s.Log.Error("query failed", "err", err)
	WriteError(w, http.StatusInternalServerError, "query failed: "+err.Error())
}

// search streams matching events as NDJSON, newest first.
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	req, err := s.request(r)
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	req.Limit = defaultLimit
	if l := r.FormValue("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 || n > maxLimit {
			WriteError(w, http.StatusBadRequest, fmt.Sprintf("limit: want a number from 0 (no limit, unordered) to %d", maxLimit))
			return
		}
		req.Limit = n
	}
	started := false
	var buf []byte
	flusher, _ := w.(http.Flusher)
	err = s.Store.Search(r.Context(), req, func(row []event.Field) error {
		if !started {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		buf = append(buf, '{')
		for i, f := range row {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = event.AppendJSONString(buf, f.Name)
			buf = append(buf, ':')
			buf = event.AppendJSONString(buf, f.Value)
		}
		buf = append(buf, '}', '\n')
		if len(buf) > 32<<10 {
			_, err := w.Write(buf)
			buf = buf[:0]
			if flusher != nil {
				flusher.Flush()
			}
			return err
		}
		return nil
	})
	if err != nil && !started {
		s.queryFailed(w, err, req.Query)
		return
	}
	if !started {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
	}
	if err != nil {
		// Too late for a status: end the stream with an error line.
		buf = append(buf, `{"error":`...)
		buf = event.AppendJSONString(buf, err.Error())
		buf = append(buf, "}\n"...)
	}
	w.Write(buf)
}

// hits counts matching events over time buckets: step (default: the range
// divided into about 60 buckets) and optional field=… to group by.
func (s *Server) hits(w http.ResponseWriter, r *http.Request) {
	req, err := s.request(r)
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	span := req.End.Sub(req.Start)
	if st := r.FormValue("step"); st != "" {
		if req.Step, err = parseRelative(st); err != nil || req.Step <= 0 {
			WriteError(w, http.StatusBadRequest, fmt.Sprintf("step: invalid duration %q, want e.g. 1m, 1h, 1d", st))
			return
		}
	} else {
		req.Step = niceStep(span / 60)
	}
	if span/req.Step > maxBuckets {
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("step %s gives more than %d buckets over the range", req.Step, maxBuckets))
		return
	}
	req.GroupBy = r.Form["field"]
	series, err := s.Store.Hits(r.Context(), req)
	if err != nil {
		s.queryFailed(w, err, req.Query)
		return
	}
	if series == nil {
		series = []store.HitsSeries{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"step": req.Step.String(), "hits": series})
}

// niceStep rounds a bucket width up to a familiar one.
func niceStep(d time.Duration) time.Duration {
	for _, s := range []time.Duration{time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute,
		5 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour} {
		if d <= s {
			return s
		}
	}
	return d.Truncate(24*time.Hour) + 24*time.Hour
}

// fields lists field names of matching events with their top values.
func (s *Server) fields(w http.ResponseWriter, r *http.Request) {
	req, err := s.request(r)
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	req.TopValues = 5
	if t := r.FormValue("top"); t != "" {
		if req.TopValues, err = strconv.Atoi(t); err != nil || req.TopValues < 1 || req.TopValues > 100 {
			WriteError(w, http.StatusBadRequest, "top: want a number from 1 to 100")
			return
		}
	}
	fs, err := s.Store.Fields(r.Context(), req)
	if err != nil {
		s.queryFailed(w, err, req.Query)
		return
	}
	if fs == nil {
		fs = []store.FieldSummary{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"fields": fs})
}
